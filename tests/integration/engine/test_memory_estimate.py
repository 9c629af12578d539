"""The memory estimate a run is refused by (engine/memory.py) is close to what runs really use.

Each case runs in a fresh process and compares the estimate with the growth of the
process's peak resident memory during the run (after a warm-up that loads the kernel; the
peak is reset through ``/proc/self/clear_refs`` just before the run, so import-time peaks do
not hide it), so the oracle is the operating system's own count (Linux). A refusal only needs the right order
of magnitude: the estimate must be within a factor of two.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

PROBE = r"""
import json, sys
from sct_engine.engine.memory import run_memory_bytes
from sct_engine.engine.model import build_model
from sct_engine.engine.simulate import _threads, simulate
from sct_engine.scenario import parse_scenario

engine, options, systems, members = sys.argv[1], *map(int, sys.argv[2:5])
paired = sys.argv[5] == "analyse"
def data(options, systems, members):
    return {"name": "memory", "regime": {"bonus": True},
            # x0 the national organisation-only option: analyse judges the others against it
            "schemes": [{"name": f"x{k}", "system_linked_share": 0.5 if k else 0.0,
                         "redistribution": "full" if k else "none"} for k in range(options)],
            "systems": [{"id": f"s{i}", "organisations": [
                {"id": f"o{i}_{j}", "kind": "provider", "plan": 0.0, "control_total": 0.0,
                 "sustainability_funding": 1.0, "sd": 1.0, "has_ae": True}
                for j in range(members)]} for i in range(systems)]}
simulate(parse_scenario(data(1, 1, 1)), draws=1, engine=engine)  # imports, kernel loaded
scenario = parse_scenario(data(options, systems, members))
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as reset:
    reset.write("5")  # the peak (VmHWM) starts again from the current size
if paired:  # the decision pass of sct compare / sct report, on exactly these draws
    from sct_engine.analysis import analyse
    from sct_engine.analysis.rule import DecisionRule
    analyse(scenario, draws=3 * 8192, engine=engine, rule=DecisionRule(max_draws=3 * 8192))
else:
    simulate(scenario, draws=3 * 8192, engine=engine, memory_limit=2**40)
after = status("VmHWM")
estimate = run_memory_bytes(build_model(scenario), engine, _threads(engine), paired)
print(json.dumps({"estimate": estimate, "measured": after - before}))
"""


@pytest.mark.parametrize(
    ("engine", "options", "systems", "members", "mode"),
    [
        ("reference", 6, 10, 10, "run"),
        ("kernel", 6, 300, 1, "run"),
        ("kernel", 6, 30, 10, "analyse"),
        ("reference", 6, 10, 10, "analyse"),
    ],
)
def test_memory_estimate_is_within_a_factor_of_two(engine, options, systems, members, mode):
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("needs Linux's /proc/self/clear_refs to reset the peak resident size")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, engine, str(options), str(systems), str(members), mode],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    ratio = found["estimate"] / found["measured"]
    assert 0.5 < ratio < 2.0, found
