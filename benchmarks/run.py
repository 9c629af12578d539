"""Throughput of the kernel against the reference and the random-number limit, one table.

    python benchmarks/run.py [--draws 1000000] [--reference-draws 20000]
                             [--quarterly-draws 200000] [--quarterly-reference-draws 4000]
    python benchmarks/run.py --report [--report-draws 100000]   # report vs run ratios only

Everything is measured in this run on this machine: kernel and reference
organisation-draws per second (300 organisations in 10 systems, seven schemes,
normal and Student-t year-end shocks, and normal shocks in quarterly mode, the
2018/19 regime's year-to-date tests that the shipped scenarios use), numpy's
one-thread ``standard_normal`` fill rate as the random-number limit, the ratios,
and peak memory (VmHWM of a fresh process) at 100,000 and 10,000,000 draws.

``--report`` measures instead the wall time of the commands a user runs, each in a fresh
process with the kernel already cached: ``sct run`` and ``sct report`` (decision rule,
incentive gradient and solvers included) of ``scenarios/example_ics.yaml`` and
``scenarios/wave1_2018_19.yaml`` at the same draws, and their ratios (issue 13: at most 3x
and 5x), with the machine and its load average.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import synthetic_scenario

from sct_engine.engine.kernel import simulate_kernel
from sct_engine.engine.model import build_model
from sct_engine.engine.reference import simulate_reference


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def rng_fill_rate(values: int = 20_000_000) -> float:
    """Normals per second from numpy's Generator (SFC64) filling an array on one thread."""
    rng = np.random.Generator(np.random.SFC64(1))
    out = np.empty(values)
    seconds = best_of(3, lambda: rng.standard_normal(out=out))
    return values / seconds


MEMORY_SCRIPT = """
import dataclasses, resource, sys
sys.path.insert(0, {bench!r})
from synthetic import synthetic_scenario
from sct_engine.engine.model import build_model
from sct_engine.engine.kernel import simulate_kernel
model = dataclasses.replace(build_model(synthetic_scenario()), quarterly=sys.argv[2] == "1")
simulate_kernel(model, int(sys.argv[1]), seed=1)
try:  # this process's own peak (ru_maxrss can carry the parent's peak over fork and exec)
    with open("/proc/self/status") as status:
        print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")))
except OSError:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_memory_mb(draws: int, quarterly: bool = False) -> float:
    """Peak resident memory (MB) of a fresh process running ``draws`` draws of the model."""
    script = MEMORY_SCRIPT.format(bench=str(Path(__file__).resolve().parent))
    out = subprocess.run(
        [sys.executable, "-c", script, str(draws), "1" if quarterly else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip().splitlines()[-1]) / 1024.0


def timed_command(argv: list[str]) -> float:
    """Wall seconds of one command in a fresh process (its output discarded)."""
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def report_ratios(draws: int) -> None:
    """``sct report`` against ``sct run`` on the shipped scenarios, same draws and seed."""
    root = Path(__file__).resolve().parents[1]
    sct = [sys.executable, "-m", "sct_engine.cli"]
    out = Path(os.environ.get("TMPDIR", "/tmp")) / "sct_bench_report"
    print(
        f"machine: {platform.machine()} cores={os.cpu_count()} numba threads="
        f"{numba.get_num_threads()} load average before: {os.getloadavg()[0]:.2f}"
    )
    # Warm the numba cache (a source change means one compile) outside the timings.
    timed_command(
        [
            *sct,
            "run",
            str(root / "scenarios/example_ics.yaml"),
            "--draws",
            "8192",
            "--out",
            str(out / "warm"),
            "--quiet",
        ]
    )
    print(
        f"{'scenario':<22} {'run s':>8} {'report s':>9} {'ratio':>6} {'capped s':>9} "
        f"{'ratio':>6}  report parts (s)"
    )
    for name, target in (("example_ics", 3.0), ("wave1_2018_19", 5.0)):
        scenario = str(root / "scenarios" / f"{name}.yaml")
        run_s = timed_command(
            [*sct, "run", scenario, "--draws", str(draws), "--out", str(out / name), "--quiet"]
        )
        html, xlsx = out / f"{name}.html", out / f"{name}.xlsx"
        report_s = timed_command(
            [
                *sct,
                "report",
                scenario,
                "--draws",
                str(draws),
                "--out",
                str(html),
                "--xlsx",
                str(xlsx),
                "--quiet",
            ]
        )
        # The same report with the decision rule capped at the run's draws (no extension):
        # the cost of the analysis machinery alone.
        capped_s = timed_command(
            [
                *sct,
                "report",
                scenario,
                "--draws",
                str(draws),
                "--max-draws",
                str(draws),
                "--out",
                str(out / f"{name}_capped.html"),
                "--quiet",
            ]
        )
        import pandas as pd

        # The board workbook's sheet has a plain-English header row above the field names.
        provenance = pd.read_excel(xlsx, sheet_name="Provenance", header=1)
        prov = provenance.set_index("field")["value"]
        parts = ", ".join(
            f"{k} {float(prov[k]):.1f}"
            for k in ("analysis_s", "gradient_s", "solvers_s")
            if k in prov.index
        )
        extension = int(prov.get("decision_extension_draws", 0))
        print(
            f"{name:<22} {run_s:>8.1f} {report_s:>9.1f} {report_s / run_s:>6.1f} "
            f"{capped_s:>9.1f} {capped_s / run_s:>6.1f}  {parts}; "
            f"decision extension {extension:,} draws (target <= {target:g}x)"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1_000_000)
    parser.add_argument("--reference-draws", type=int, default=20_000)
    parser.add_argument("--quarterly-draws", type=int, default=200_000)
    parser.add_argument("--quarterly-reference-draws", type=int, default=4_000)
    parser.add_argument("--no-memory", action="store_true", help="skip the 10M-draw memory runs")
    parser.add_argument(
        "--report", action="store_true", help="only the sct report / sct run ratios (issue 13)"
    )
    parser.add_argument("--report-draws", type=int, default=100_000)
    args = parser.parse_args()
    if args.report:
        report_ratios(args.report_draws)
        return

    limit = rng_fill_rate()
    rows = []
    cases = [
        ("normal", False, args.draws, args.reference_draws),
        ("student_t", False, args.draws, args.reference_draws),
        ("normal", True, args.quarterly_draws, args.quarterly_reference_draws),
    ]
    for distribution, quarterly, draws, reference_draws in cases:
        model = build_model(synthetic_scenario(distribution=distribution))
        model = dataclasses.replace(model, quarterly=quarterly)
        simulate_kernel(model, 8192, seed=0)  # compile or load from cache
        kernel_s = best_of(2, lambda m=model, n=draws: simulate_kernel(m, n, seed=1))
        reference_s = best_of(
            1, lambda m=model, n=reference_draws: simulate_reference(m, n, seed=1)
        )
        kernel_rate = model.n_orgs * draws / kernel_s
        reference_rate = model.n_orgs * reference_draws / reference_s
        label = distribution + (" quarterly" if quarterly else "")
        rows.append((label, kernel_rate, reference_rate, kernel_s, draws))

    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cores={os.cpu_count()} "
        f"numba threads={numba.get_num_threads()} python={platform.python_version()} "
        f"numpy={np.__version__} numba={numba.__version__}"
    )
    print(
        f"model: 300 organisations in 10 systems, 7 schemes; kernel {args.draws:,} draws "
        f"({args.quarterly_draws:,} quarterly), reference {args.reference_draws:,} draws "
        f"({args.quarterly_reference_draws:,} quarterly)"
    )
    print(
        f"random-number limit (numpy standard_normal fill, 1 thread): {limit / 1e6:,.1f} M values/s\n"
    )
    header = (
        f"{'shocks':<18} {'kernel Morg-draws/s':>20} {'reference':>10} {'kernel/ref':>10} "
        f"{'kernel/RNG':>10} {'kernel s':>9} {'draws':>10}"
    )
    print(header)
    print("-" * len(header))
    for label, kernel_rate, reference_rate, kernel_s, draws in rows:
        print(
            f"{label:<18} {kernel_rate / 1e6:>20.2f} {reference_rate / 1e6:>10.3f} "
            f"{kernel_rate / reference_rate:>10.1f} {kernel_rate / limit:>10.2f} {kernel_s:>9.2f} "
            f"{draws:>10,}"
        )
    print(
        "kernel/RNG: organisation-draws per second over one-thread normals per second "
        "(a quarterly organisation-draw takes four normals and four uniforms)"
    )
    if not args.no_memory:
        # A fresh process may still compile (e.g. first run after a source change): its LLVM
        # memory is not the run's, so one throwaway process per mode fills the numba cache first.
        peak_memory_mb(8192)
        peak_memory_mb(8192, quarterly=True)
        small, large = peak_memory_mb(100_000), peak_memory_mb(10_000_000)
        quarterly = peak_memory_mb(100_000, quarterly=True)
        print(
            f"\npeak memory (VmHWM of a fresh process): 100,000 draws {small:,.0f} MB; "
            f"10,000,000 draws {large:,.0f} MB; ratio {large / small:.2f}; "
            f"quarterly mode, 100,000 draws {quarterly:,.0f} MB"
        )


if __name__ == "__main__":
    main()
