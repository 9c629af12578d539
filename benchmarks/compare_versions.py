"""This checkout's kernel against another checkout's, in one run (issue 24): the same cases
timed in turn, each in a fresh process, so that the load of a shared machine falls on both.

    python benchmarks/compare_versions.py OTHER_ROOT [--draws 262144] [--quarterly-draws 32768]
                                         [--england-draws 32768] [--repeats 2]

``OTHER_ROOT`` holds another version's ``sct_engine`` (e.g. ``git archive main sct_engine
scenarios | tar -x -C /tmp/main``). Per case and version: organisation-draws per second of the
kernel (best of ``--repeats``, after a warm-up run that compiles or loads the cache) and, in
the same process, numpy's one-thread ``standard_normal`` fill rate, so that each figure is
also a ratio to the random-number limit measured alongside it. Cases: the synthetic
300-organisation model with seven options at year end (normal shocks) and quarterly, and
England (quarterly, every option of the file, Student-t shocks).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CASE_SCRIPT = """
import dataclasses, json, sys, time
sys.path.insert(0, {bench!r})
import numpy as np
from synthetic import synthetic_scenario
from sct_engine.engine.kernel import simulate_kernel
from sct_engine.engine.model import build_model
from sct_engine.scenario import load_scenario
case, draws, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if case == "england":
    model = build_model(load_scenario({england!r}))
else:
    model = dataclasses.replace(build_model(synthetic_scenario()), quarterly=case == "quarterly")
simulate_kernel(model, 8192, seed=0)  # compile or load the cache
best = np.inf
for _ in range(repeats):
    t0 = time.perf_counter()
    simulate_kernel(model, draws, seed=1)
    best = min(best, time.perf_counter() - t0)
rng = np.random.Generator(np.random.SFC64(1))
out = np.empty(20_000_000)
fill = np.inf
for _ in range(3):
    t0 = time.perf_counter()
    rng.standard_normal(out=out)
    fill = min(fill, time.perf_counter() - t0)
import sct_engine
print(json.dumps({{"file": sct_engine.__file__, "seconds": best,
                  "rate": model.n_orgs * draws / best, "rng": out.size / fill}}))
"""


def measure(root: Path, case: str, draws: int, repeats: int) -> dict:
    script = CASE_SCRIPT.format(
        bench=str(HERE), england=str(ROOT / "scenarios" / "england_2018_19.yaml")
    )
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", script, case, str(draws), str(repeats)],
        env=env,
        cwd=root,  # a ``-c`` script puts its working folder first on sys.path
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(result["file"]).is_relative_to(root), result["file"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="root of the other version (holds sct_engine/)")
    parser.add_argument("--draws", type=int, default=262_144)
    parser.add_argument("--quarterly-draws", type=int, default=32_768)
    parser.add_argument("--england-draws", type=int, default=32_768)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--cases", default="year_end,quarterly,england", help="comma-separated subset"
    )
    args = parser.parse_args()
    versions = {"other": args.other.resolve(), "this": ROOT}
    cases = {
        "year_end": args.draws,
        "quarterly": args.quarterly_draws,
        "england": args.england_draws,
    }
    cases = {case: cases[case] for case in args.cases.split(",")}
    print(f"load average before: {os.getloadavg()[0]:.2f}; other = {versions['other']}")
    print(
        f"{'case':<10} {'version':<6} {'draws':>8} {'kernel s':>9} {'M org-draws/s':>14} "
        f"{'RNG M/s':>8} {'kernel/RNG':>10}"
    )
    for case, draws in cases.items():
        rates = {}
        for name, root in versions.items():
            r = measure(root, case, draws, args.repeats)
            rates[name] = r["rate"]
            print(
                f"{case:<10} {name:<6} {draws:>8,} {r['seconds']:>9.2f} {r['rate'] / 1e6:>14.2f} "
                f"{r['rng'] / 1e6:>8.1f} {r['rate'] / r['rng']:>10.3f}",
                flush=True,
            )
        print(f"{case:<10} this / other: {rates['this'] / rates['other']:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
