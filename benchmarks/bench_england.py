"""England at scale (issue 16 part 4): linear scaling against wave 1, peak memory, report time.

    python benchmarks/bench_england.py [--draws 100000] [--report-draws 100000] [--no-report]

Everything is measured in this run on this machine, the numba cache warmed first:

- seconds per organisation-draw of ``scenarios/england_2018_19.yaml`` and of
  ``scenarios/wave1_2018_19.yaml`` at the same draws and seed (both quarterly, every option of
  the file), for the run (``simulate``, what ``sct run`` computes) and for the decision pass
  (``analyse`` with the rule capped at the run's draws: the paired statistics, bonus held at
  the baseline included), the two scenarios in turn, best of three, and the ratio England /
  wave 1 (target at most 1.3x: linear in organisations, the systems adding no term of their
  own);
- ``sct run`` on England in a fresh process: wall seconds and peak memory (VmHWM);
- ``sct report`` on England with its workbook (decision rule, incentive gradient and solvers,
  the national page), wall seconds, with the parts the report records, and the same for wave 1;
  the national lines the report prints follow each.

The machine, its cores and numba threads, and the load average before and after are printed
with the numbers: on a shared machine they move by 10% or more from run to run.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np

from sct_engine.analysis import DecisionRule, analyse
from sct_engine.engine.model import build_model
from sct_engine.engine.simulate import simulate
from sct_engine.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "wave1_2018_19": ROOT / "scenarios" / "wave1_2018_19.yaml",
    "england_2018_19": ROOT / "scenarios" / "england_2018_19.yaml",
}

CLI_SCRIPT = """
import resource, sys
from sct_engine.cli import main
code = main(sys.argv[1:])
try:  # this process's own peak (ru_maxrss can carry the parent's peak over fork and exec)
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"VmHWM_kB {peak}")
sys.exit(code)
"""


def cli_command(argv: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak memory (MB) and output of one ``sct`` command in a fresh process."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CLI_SCRIPT, *argv], capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - start
    peak = next(
        int(line.split()[1]) for line in out.stdout.splitlines() if line.startswith("VmHWM_kB")
    )
    return seconds, peak / 1024.0, out.stdout


def per_org_draw(draws: int, repeats: int = 3) -> None:
    """Seconds per organisation-draw, England against wave 1, run and decision pass: the two
    scenarios timed in turn within each repeat (a load change on a shared machine then falls
    on both), the best of ``repeats`` kept."""
    scenarios = {name: load_scenario(path) for name, path in SCENARIOS.items()}
    n_orgs = {name: build_model(s).n_orgs for name, s in scenarios.items()}
    for scenario in scenarios.values():  # compile or load the cache
        simulate(scenario, draws=4096, seed=1)
        analyse(scenario, draws=4096, seed=1, rule=DecisionRule(max_draws=4096))
    rule = DecisionRule(max_draws=draws)
    best = {name: [np.inf, np.inf] for name in scenarios}
    for _ in range(repeats):
        for name, scenario in scenarios.items():
            start = time.perf_counter()
            simulate(scenario, draws=draws, seed=1)
            middle = time.perf_counter()
            analyse(scenario, draws=draws, seed=1, rule=rule)
            end = time.perf_counter()
            best[name][0] = min(best[name][0], middle - start)
            best[name][1] = min(best[name][1], end - middle)
    rows = {name: (n_orgs[name], *best[name]) for name in scenarios}
    print(
        f"{'scenario':<18} {'orgs':>5} {'run s':>7} {'ns/org-draw':>12} {'decide s':>9} {'ns/org-draw':>12}"
    )
    for name, (n_orgs, run_s, decide_s) in rows.items():
        unit = 1e9 / (n_orgs * draws)
        print(
            f"{name:<18} {n_orgs:>5} {run_s:>7.2f} {run_s * unit:>12.1f} {decide_s:>9.2f} "
            f"{decide_s * unit:>12.1f}"
        )
    (wn, wr, wd), (en, er, ed) = rows["wave1_2018_19"], rows["england_2018_19"]
    print(
        f"England / wave 1 per organisation-draw: run {er / en / (wr / wn):.2f}x, decision pass "
        f"{ed / en / (wd / wn):.2f}x (target <= 1.3x), {draws:,} draws each"
    )


def commands(draws: int, report_draws: int, report: bool) -> None:
    """``sct run`` (time, peak memory) and ``sct report`` (time, parts) in fresh processes."""
    out = Path(os.environ.get("TMPDIR", "/tmp")) / "sct_bench_england"
    england = str(SCENARIOS["england_2018_19"])
    run_s, run_mb, _ = cli_command(
        ["run", england, "--draws", str(draws), "--out", str(out / "run"), "--quiet"]
    )
    print(f"sct run england_2018_19 --draws {draws:,}: {run_s:.1f} s, peak memory {run_mb:,.0f} MB")
    if not report:
        return
    import pandas as pd

    for name, path in SCENARIOS.items():
        html, xlsx = out / f"{name}.html", out / f"{name}.xlsx"
        argv = ["report", str(path), "--draws", str(report_draws), "--out", str(html)]
        seconds, peak, printed = cli_command([*argv, "--xlsx", str(xlsx)])
        prov = pd.read_excel(xlsx, sheet_name="Provenance", header=1).set_index("field")["value"]
        parts = ", ".join(
            f"{k} {float(prov[k]):.1f}"
            for k in ("analysis_s", "gradient_s", "solvers_s")
            if k in prov.index
        )
        extension = int(prov.get("decision_extension_draws", 0))
        print(
            f"sct report {name} --draws {report_draws:,}: {seconds:.1f} s, peak {peak:,.0f} MB "
            f"({parts}; decision extension {extension:,} draws; page {html.stat().st_size / 1e6:.1f} MB)"
        )
        national = printed[printed.find("National (") : printed.find("Report written")]
        print(national.rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100_000)
    parser.add_argument("--report-draws", type=int, default=100_000)
    parser.add_argument("--no-report", action="store_true", help="skip the sct report timings")
    parser.add_argument("--no-commands", action="store_true", help="only the per-org-draw ratio")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cores={os.cpu_count()} "
        f"numba threads={numba.get_num_threads()} python={platform.python_version()} "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    per_org_draw(args.draws, args.repeats)
    if not args.no_commands:
        commands(args.draws, args.report_draws, not args.no_report)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
