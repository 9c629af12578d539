"""Fewer draws for the same precision? Sobol' sampling against pseudo-random (issue 24 part 3).

    python benchmarks/bench_sampling.py [--replicates 32] [--per-replicate 16384]
        [--england-per-replicate 8192] [--scenarios example_ics wave1_2018_19 england_2018_19]

For each scenario, on the kernel, both samplings run as ``R`` independent replicates of the
same size (``ReplicatedRun``; pseudo-random replicates are exactly a plain run's draws, split
into ``R`` independent parts), same seed, alternated in this process (seconds: best of ``--repeats``), the
numba cache warmed first. Per figure, its variance per draw is ``SE^2 x draws`` with the SE from
the replicates (the SD of the ``R`` replicate means / sqrt(R)), so both samplings are judged
the same way. The figures are the key ones of the issue:

- expected funding lost per option: national (one per option), per system, per organisation;
- the paired option difference: each option's expected funding lost minus the first
  option's, on the same draws, national and per organisation.

Reported per kind of figure: the median over its figures of the variance reduction factor
``VRF = variance per draw (pseudo) / variance per draw (Sobol')`` (national: also the least
and the most), the CPU time per draw of Sobol' over pseudo-random (``time ratio``, CPU seconds
of every thread: wall seconds on a shared machine moved by 1.8x between identical runs;
Sobol' pays for generating and inverting its points and saves drawing those factors), and what both mean for the same standard error:
``1 / VRF`` of the draws and ``time ratio / VRF`` of the time. Each replicate SE^2 has
``R - 1`` degrees of freedom (relative spread ``sqrt(2 / (R - 1))``, 25% at R = 32), so one
figure's VRF is rough; the medians over many figures are steadier.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numba
import numpy as np

from sct_engine.engine.kernel import KernelRun
from sct_engine.engine.model import Model, build_model
from sct_engine.engine.rng import BLOCK_DRAWS
from sct_engine.engine.sampling import ReplicatedRun
from sct_engine.engine.uncertainty import sobol_common_factors
from sct_engine.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "example_ics": ROOT / "scenarios" / "example_ics.yaml",
    "wave1_2018_19": ROOT / "scenarios" / "wave1_2018_19.yaml",
    "england_2018_19": ROOT / "scenarios" / "england_2018_19.yaml",
}
SEED = 20180401


def run(
    model: Model, sampling: str, replicates: int, each: int
) -> tuple[ReplicatedRun, float, float]:
    """A replicated kernel run, its wall seconds and its CPU seconds (all threads)."""
    rep = ReplicatedRun(lambda r: KernelRun(model, SEED, replicate=r), model, sampling, replicates)
    wall, cpu = time.perf_counter(), time.process_time()
    rep.extend(replicates * each)
    return rep, time.perf_counter() - wall, time.process_time() - cpu


def figures(rep: ReplicatedRun, model: Model) -> dict[str, np.ndarray]:
    """Replicate means of the key figures, ``(R, figures)`` per kind."""
    org = rep.replicate_means("org_lost_sum")  # (R, K, N)
    system = rep.replicate_means("system_lost_sum")  # (R, K, S)
    national = rep.replicate_means("national_lost_sum")  # (R, K)
    return {
        "national loss": national,
        "system loss": system.reshape(system.shape[0], -1),
        "organisation loss": org.reshape(org.shape[0], -1),
        "national difference": national[:, 1:] - national[:, :1],
        "organisation difference": (org[:, 1:] - org[:, :1]).reshape(org.shape[0], -1),
    }


def variance_per_draw(means: np.ndarray, draws: int) -> np.ndarray:
    """Variance per draw of each figure's estimate: replicate SE^2 x draws."""
    r = means.shape[0]
    return means.var(axis=0, ddof=1) / r * draws


def sobol_seconds(model: Model, replicates: int, each: int) -> float:
    """Seconds spent making the Sobol' points of such a run (part of its time)."""
    started = time.perf_counter()
    for r in range(replicates):
        for first in range(0, each, BLOCK_DRAWS):
            sobol_common_factors(model, SEED, r, first, min(BLOCK_DRAWS, each - first))
    return time.perf_counter() - started


def bench(name: str, replicates: int, each: int, repeats: int) -> list[str]:
    model = build_model(load_scenario(SCENARIOS[name]))
    draws = replicates * each
    run(model, "sobol", 2, 16)  # warm: numba cache, scipy
    # Alternated, best of ``repeats`` each: the machine is shared. The numbers are the same
    # every time (the seed fixes them); only the seconds move. CPU seconds (every thread of
    # this process) are what a draw costs; wall seconds move with the other users' load.
    best = {"pseudo": (np.inf, np.inf), "sobol": (np.inf, np.inf)}
    runs = {}
    for _ in range(repeats):
        for sampling in best:
            runs[sampling], wall, cpu = run(model, sampling, replicates, each)
            best[sampling] = (min(best[sampling][0], wall), min(best[sampling][1], cpu))
    pseudo, sobol = runs["pseudo"], runs["sobol"]
    t_points = sobol_seconds(model, replicates, each)
    time_ratio = best["sobol"][1] / best["pseudo"][1]
    print(
        f"{name}: {model.n_orgs} organisations, {model.n_systems} systems, "
        f"{len(model.schemes)} options, {'quarterly' if model.quarterly else 'year end'}; "
        f"{replicates} x {each:,} = {draws:,} draws each; CPU (wall) seconds: pseudo "
        f"{best['pseudo'][1]:.1f} ({best['pseudo'][0]:.1f}), Sobol' {best['sobol'][1]:.1f} "
        f"({best['sobol'][0]:.1f}), of which its points {t_points:.1f}",
        flush=True,
    )
    rows = []
    fp, fs = figures(pseudo, model), figures(sobol, model)
    for kind in fp:
        vp, vs = variance_per_draw(fp[kind], draws), variance_per_draw(fs[kind], draws)
        keep = (vp > 0) & (vs > 0)  # figures that vary under both (not an org with no funding)
        vrf = vp[keep] / vs[keep]
        if vrf.size == 0:
            continue
        med = float(np.median(vrf))
        spread = f" ({vrf.min():.2f}-{vrf.max():.2f})" if kind.startswith("national") else ""
        rows.append(
            f"| {name} | {kind} ({vrf.size}) | {med:.2f}{spread} | {time_ratio:.2f} | "
            f"{1 / med:.2f} | {time_ratio / med:.2f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=32)
    parser.add_argument("--per-replicate", type=int, default=2 * BLOCK_DRAWS)
    parser.add_argument("--england-per-replicate", type=int, default=BLOCK_DRAWS)
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument("--repeats", type=int, default=2, help="timings: best of this many")
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"numba threads {numba.get_num_threads()}, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rows = []
    for name in args.scenarios:
        each = args.england_per_replicate if name.startswith("england") else args.per_replicate
        rows += bench(name, args.replicates, each, args.repeats)
    print()
    print(
        "| scenario | figure (how many) | VRF, median (national: least-most) | CPU time per "
        "draw Sobol'/pseudo | draws for equal SE | time for equal SE |"
    )
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
