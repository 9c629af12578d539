"""Where the kernel's time goes, per thread and phase (issue 24): drawing, tests, cover, scoring.

    python benchmarks/profile.py [--draws 131072] [--england-draws 32768]

The loops count CPU cycles (the time-stamp counter) per thread and phase
(``loops.PHASES``: drawing, own and system tests, the cover, scoring with the run's
accumulators, the bonus, the decision statistics; the quarterly pass pays the bonus
inside its scoring, so there it counts under scoring) when run with
``KernelRun(profile=True)``; the counter is converted to seconds against the wall
clock. ``block`` is the thread's time inside blocks: against the wall time of the
loops it gives how busy each thread was; ``host`` is the driver's time between waves
(generators, merging). Accumulation alone is the difference between a run with the
run's statistics and one without (same draws). Cases: the synthetic 300-organisation
model (seven options, normal shocks) at year end and quarterly, and England
(quarterly, every option of the file). The machine and its load average are printed:
on a shared machine every figure moves with the load; read the shares.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import synthetic_scenario

from sct_engine.engine.kernel import KernelRun
from sct_engine.engine.kernel.loops import PHASES, cycle_counter
from sct_engine.engine.model import Model, build_model
from sct_engine.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def cycles_per_second() -> float:
    """The time-stamp counter's rate, measured against ``time.perf_counter`` over 0.3 s."""
    c0, t0 = cycle_counter(), time.perf_counter()
    time.sleep(0.3)
    return (cycle_counter() - c0) / (time.perf_counter() - t0)


def profile_case(label: str, model: Model, draws: int, rate: float) -> None:
    """Profile one model: phases per thread, busy share, host time, accumulation's cost."""
    KernelRun(model, seed=0, profile=True).extend(8192)  # compile or load the cache
    run = KernelRun(model, seed=1, profile=True)
    started = time.perf_counter()
    run.extend(draws)
    wall = time.perf_counter() - started
    bare = KernelRun(model, seed=1, profile=True)
    bare._stats = False  # the same draws and rules, the run's statistics not accumulated
    bare_started = time.perf_counter()
    bare.extend(draws)
    bare_wall = time.perf_counter() - bare_started
    seconds = run.phase_cycles / rate
    org_draws = model.n_orgs * draws
    print(
        f"\n{label}: {model.n_orgs} organisations, {model.n_systems} systems, "
        f"{len(model.schemes)} options, {draws:,} draws; wall {wall:.2f} s "
        f"(loops {run.wave_seconds:.2f} s, driver between waves {run.host_seconds:.2f} s)"
    )
    head = f"{'thread':<8}" + "".join(f"{p:>10}" for p in PHASES) + f"{'busy':>8}"
    print(head + "   (seconds; ns per organisation-draw on the last line)")
    for tid, row in enumerate(seconds):
        busy = row[-1] / run.wave_seconds if run.wave_seconds else 0.0
        print(f"{tid:<8}" + "".join(f"{v:>10.2f}" for v in row) + f"{busy:>8.0%}")
    total = seconds.sum(axis=0)
    print(f"{'ns/o-d':<8}" + "".join(f"{v / org_draws * 1e9:>10.1f}" for v in total))
    accumulation = seconds[:, 3].sum() - bare.phase_cycles[:, 3].sum() / rate
    print(
        f"accumulation (scoring with the run's statistics minus without): "
        f"{accumulation / org_draws * 1e9:.1f} ns per organisation-draw "
        f"(whole run without them: wall {bare_wall:.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=131_072)
    parser.add_argument("--quarterly-draws", type=int, default=32_768)
    parser.add_argument("--england-draws", type=int, default=32_768)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cores={os.cpu_count()} "
        f"numba threads={numba.get_num_threads()} numpy={np.__version__} "
        f"numba={numba.__version__} load average before: {os.getloadavg()[0]:.2f}"
    )
    rate = cycles_per_second()
    print(f"time-stamp counter: {rate / 1e9:.3f} GHz")
    synthetic = build_model(synthetic_scenario())
    profile_case("synthetic, year end", synthetic, args.draws, rate)
    quarterly = dataclasses.replace(synthetic, quarterly=True)
    profile_case("synthetic, quarterly", quarterly, args.quarterly_draws, rate)
    england = build_model(load_scenario(ROOT / "scenarios" / "england_2018_19.yaml"))
    profile_case("England, quarterly", england, args.england_draws, rate)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
