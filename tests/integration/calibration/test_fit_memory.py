"""A fit's memory stays bounded on a history the tail's quadrature finds hardest (issue 17).

Most organisation-years exactly on plan drive the fitted spread to its lower bound, and one
year far off plan then stretches the tail integral over hundreds of thousands of nodes; the
(rows x nodes) arrays once held every row at once (1.9 GB for 400 rows, about 100 GB at the
history row limit). The oracle is the operating system's count of the fresh process's peak.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

PROBE = r"""
import json, resource, sys
import numpy as np, pandas as pd
from sct_engine.calibration import fit_history
from sct_engine.calibration.history import load_history
rng = np.random.default_rng(1)
rows = []
for i in range(400):
    deviation = -270.0 if i == 0 else (0.0 if i % 20 else float(rng.normal(0.0, 5.0)))
    rows.append(dict(organisation=f"o{i}", kind="acute", year=2010 + i % 8, plan=1.0,
                     outturn=1.0 + deviation, turnover=300.0))
pd.DataFrame(rows).to_csv(sys.argv[1], index=False)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
calibration = fit_history(load_history(sys.argv[1]))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"growth": after - before, "tail": calibration.shared is not None}))
"""


def test_a_fit_on_mostly_on_plan_years_stays_within_memory(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "history.csv")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    # 8 MB chunks, a few arrays alive at once: far below the 1.6 GB the unchunked fit grew by.
    assert found["growth"] < 400 * 2**20, found
