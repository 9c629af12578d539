#!/usr/bin/env python3
"""Generate ``scenarios/history_synthetic.csv``, or check it (``--check``).

A SYNTHETIC history of 200 NHS-like organisations over five financial years
(2014 = 2014/15 ... 2018 = 2018/19) for trying ``sct calibrate``. Nothing in it
is taken from any organisation's accounts. The deviation from plan is drawn from
the model that ``sct calibrate`` fits, with these TRUE parameters:

    r = 100 * (outturn - plan) / turnover = sd_pct[kind] * eps - J * L
    eps ~ N(0, 1),  J ~ Bernoulli(0.06),  L ~ LogNormal(log(2.5), 0.6)

    sd_pct:  acute 1.2, mental_health 0.8, community 0.9, ambulance 0.7, ccg 0.5
    tail:    probability 0.06, median_pct 2.5, sigma 0.6 (shared by all kinds)

Organisation-years are independent (no shock common to a year or a system).
Money is rounded to £0.01m, which moves ``r`` by at most 0.01% of turnover.

Usage (from the repository root)::

    python scenarios/tools/make_history.py            # (re)write the CSV
    python scenarios/tools/make_history.py --check    # fails if the CSV is stale; prints fitted vs true

The output depends only on this file and NumPy's PCG64 generator with a fixed
seed: no timestamps, so the same script always writes the same CSV.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "history_synthetic.csv"

SEED = 20190331
YEARS = (2014, 2015, 2016, 2017, 2018)
TURNOVER_GROWTH = 0.03  # a year

#: kind -> (organisations, true sd_pct, median turnover £m in 2014, turnover spread (log sd))
KINDS = {
    "acute": (85, 1.2, 380.0, 0.45),
    "mental_health": (35, 0.8, 220.0, 0.35),
    "community": (15, 0.9, 150.0, 0.40),
    "ambulance": (10, 0.7, 260.0, 0.25),
    "ccg": (55, 0.5, 330.0, 0.40),
}
TRUE_SD_PCT = {kind: spec[1] for kind, spec in KINDS.items()}
TRUE_TAIL = {"probability": 0.06, "median_pct": 2.5, "sigma": 0.6}

COLUMNS = ("organisation", "kind", "year", "plan", "outturn", "turnover", "control_total")


def build_csv() -> str:
    """The CSV text. All random numbers come from one generator, in a fixed order."""
    rng = np.random.default_rng(SEED)
    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\n")
    for kind, (count, sd_pct, turnover_median, turnover_spread) in KINDS.items():
        base_turnover = turnover_median * np.exp(turnover_spread * rng.standard_normal(count))
        # Control totals as % of turnover: providers around breakeven, CCGs mostly at breakeven.
        if kind == "ccg":
            ct_pct = np.where(rng.random(count) < 0.2, -rng.uniform(0.5, 2.0, count), 0.0)
        else:
            ct_pct = rng.normal(0.0, 1.0, count)
        for year_index, year in enumerate(YEARS):
            turnover = np.round(base_turnover * (1.0 + TURNOVER_GROWTH) ** year_index, 2)
            control_total = np.round(turnover * (ct_pct + rng.normal(0.0, 0.2, count)) / 100.0, 2)
            # Most plan to land on or a little above their control total; some plan below it.
            plan = np.round(control_total + turnover * rng.normal(0.1, 0.3, count) / 100.0, 2)
            eps = rng.standard_normal(count)
            event = rng.random(count) < TRUE_TAIL["probability"]
            size = TRUE_TAIL["median_pct"] * np.exp(TRUE_TAIL["sigma"] * rng.standard_normal(count))
            r = sd_pct * eps - np.where(event, size, 0.0)
            outturn = np.round(plan + turnover * r / 100.0, 2)
            for i in range(count):
                out.write(
                    f"{kind}_{i + 1:03d},{kind},{year},{plan[i]:.2f},{outturn[i]:.2f},"
                    f"{turnover[i]:.2f},{control_total[i]:.2f}\n"
                )
    return out.getvalue()


def check() -> int:
    """Fail if the CSV is stale; print the fit next to the true parameters."""
    expected = build_csv()
    if not OUT.exists() or OUT.read_text(encoding="utf-8") != expected:
        print(f"{OUT} is out of date: run python scenarios/tools/make_history.py", file=sys.stderr)
        return 1
    from sct_engine.calibration import calibrate

    cal = calibrate(OUT)
    fit = cal.shared
    if fit is None or not cal.tail_detected:
        print("calibration found no tail in a history generated with one", file=sys.stderr)
        return 1
    print(f"{OUT.name}: {cal.history.describe()}; {cal.tests[0]}")
    print(f"{'parameter':<24} {'true':>6} {'fitted':>8} {'SE':>7} {'z':>6}")
    rows = [(f"sd_pct[{k}]", TRUE_SD_PCT[k], fit.sd_pct[k]) for k in KINDS]
    rows += [(f"tail.{k}", v, getattr(fit.tail["all"], k)) for k, v in TRUE_TAIL.items()]
    worst = 0.0
    for name, true, est in rows:
        z = (est.value - true) / est.se
        worst = max(worst, abs(z))
        print(f"{name:<24} {true:>6g} {est.value:>8.3f} {est.se:>7.3f} {z:>6.2f}")
    return 0 if worst < 4.0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="check the CSV and print fitted vs true"
    )
    args = parser.parse_args()
    if args.check:
        return check()
    OUT.write_text(build_csv(), encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
