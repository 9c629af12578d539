"""A stale kernel cache cannot be loaded: after a rule is edited, the kernel computes the new rule.

numba alone would load the cached machine code of the kernel's loops after an
edit of the knapsack cover in ``rules/cover.py`` (a file the loops call but do
not live in), and give the old rule's answer. The test compiles and caches the
kernel from a copy of the package in a fresh process, edits the cover in the
copy so that it covers nobody, runs a fresh process again with the same
``NUMBA_CACHE_DIR``, and requires the kernel to agree with the numpy reference
(which calls the edited rule as plain Python) both times, and the answers to
differ. Two compilations: about a minute or two.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sct_engine.version import PACKAGE_DIR

pytestmark = pytest.mark.integration

#: One system of four members under a capped option, where the cover always decides.
SCRIPT = """
import json, sys
import sct_engine
from sct_engine import simulate
from sct_engine.engine.kernel import cache_folder, cache_key
from sct_engine.scenario import parse_scenario

members = [
    {"id": f"trust_{j}", "kind": "provider", "plan": 0.0, "control_total": 0.0,
     "sustainability_funding": 2.0 + j, "sd": 1.0 + 0.5 * j}
    for j in range(4)
]
scenario = parse_scenario({
    "name": "cache check",
    "schemes": [{"name": "capped", "system_linked_share": 0.5, "redistribution": "capped",
                 "share_cap": 0.8}],
    "systems": [{"id": "ics", "organisations": members}],
})
lost = {
    engine: simulate(scenario, draws=20_000, seed=3, engine=engine)
    .organisations["expected_funding_lost"].tolist()
    for engine in ("kernel", "reference")
}
json.dump({"file": sct_engine.__file__, "folder": str(cache_folder(cache_key())), **lost},
          sys.stdout)
"""


def run_copy(root: Path, cache: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "NUMBA_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert Path(out["file"]).is_relative_to(root), out["file"]  # the copy, not this checkout
    return out


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_editing_a_rule_is_never_answered_from_a_stale_cache(tmp_path):
    root, cache = tmp_path / "src", tmp_path / "numba"
    shutil.copytree(PACKAGE_DIR, root / "sct_engine", ignore=shutil.ignore_patterns("__pycache__"))

    first = run_copy(root, cache)
    np.testing.assert_allclose(first["kernel"], first["reference"], rtol=0, atol=1e-9)
    folder = Path(first["folder"])
    assert folder.parent == cache
    assert list(folder.rglob("*.nbi")), "the first run cached nothing: the test would prove nothing"

    cover = root / "sct_engine" / "rules" / "cover.py"
    text = cover.read_text()
    assert "    if n == 0 or headroom <= 0.0:\n        return\n" in text
    cover.write_text(text.replace("if n == 0 or headroom <= 0.0:", "if n >= 0:  # covers nobody"))

    second = run_copy(root, cache)
    assert Path(second["folder"]) != folder
    np.testing.assert_allclose(second["kernel"], second["reference"], rtol=0, atol=1e-9)
    assert all(b > a for a, b in zip(first["reference"], second["reference"], strict=True))
