"""The ``sct reforecast`` command: the in-year re-forecast of a scenario with actuals.

It prints the table of :func:`sct_engine.analysis.inyear.format_table` and writes its CSV
files into ``--out`` whole or not at all, never over one of the scenario's own files
(:mod:`sct_engine.files`). See docs/in-year.md.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import Any

from sct_engine.analysis.inyear import (
    actual_paid_so_far,
    format_table,
    reforecast,
    signed_option,
)
from sct_engine.engine.model import build_model
from sct_engine.files import check_destinations, check_output_folder, write_csv
from sct_engine.files import write_folder_atomically as write_folder

#: The files ``sct reforecast`` writes into ``--out``.
REFORECAST_FILES = (
    "reforecast_members.csv",
    "reforecast_systems.csv",
    "reforecast_what_it_takes.csv",
)


def _cmd_reforecast(args: argparse.Namespace) -> int:
    from sct_engine.scenario import load_scenario, scenario_inputs

    out = Path(args.out) if args.out else Path("out") / f"{Path(args.scenario).stem}_reforecast"
    check_output_folder(out, "--out")  # before any work: a bad destination costs nothing
    scenario = load_scenario(args.scenario, files_root=args.files_root)
    check_destinations(
        [("--out", out / name) for name in REFORECAST_FILES], scenario_inputs([scenario])
    )
    for warning in scenario.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    actuals = scenario.actuals
    if actuals is None:
        print(
            f"error: {args.scenario}: actuals: the scenario has no year to date, so there is "
            "nothing to re-forecast. Fix: add an `actuals:` section (closed_quarters and each "
            "organisation's ytd_outturn; see docs/in-year.md)",
            file=sys.stderr,
        )
        return 2
    model = build_model(scenario)
    try:
        option = signed_option(model, actuals.signed_option, args.option)
    except ValueError as err:
        print(f"error: --option: {err}", file=sys.stderr)
        return 2
    paid_so_far = actual_paid_so_far(actuals, model.org_ids)
    draws = args.draws or scenario.simulation.draws
    seed = scenario.simulation.seed if args.seed is None else args.seed
    result = reforecast(
        model,
        seed,
        draws,
        option,
        paid_so_far=paid_so_far,
        target=None if args.target == 0 else args.target,
        solver_draws=args.solver_draws,
        engine=args.engine,
    )
    for note in result.warnings:
        print(f"warning: {note}", file=sys.stderr)
    tables = {
        "reforecast_members.csv": result.members,
        "reforecast_systems.csv": result.systems,
        "reforecast_what_it_takes.csv": result.what_it_takes,
    }
    for table in tables.values():
        table.insert(0, "option", option)
    write_folder(out, {name: partial(write_csv, table) for name, table in tables.items()}, "--out")
    print(format_table(result))
    print(f"\nTables written to {out}/ ({', '.join(REFORECAST_FILES)})")
    return 0


def _target(text: str) -> float:
    """argparse type: a probability strictly between 0 and 1, or 0 for no solver."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
    if not (value == 0 or 0 < value < 1):
        raise argparse.ArgumentTypeError(
            f"must be strictly between 0 and 1 (0: no what-it-takes), got {value}"
        )
    return value


def register_cli(subparsers: Any) -> None:
    """Add ``reforecast`` to the ``sct`` command."""
    from sct_engine.cli import add_files_root_option, draws_arg, positive_int, seed_arg

    cmd = subparsers.add_parser(
        "reforecast",
        help="in year: for the option signed, given the closed quarters, the chance of each "
        "remaining instalment and of a year-end pass, funding still to come, what it takes",
    )
    cmd.add_argument(
        "scenario", help="quarterly scenario (YAML or .xlsx) with a year to date (`actuals`)"
    )
    cmd.add_argument(
        "--option",
        help="the option signed (default: actuals.signed_option, else organisation_only)",
    )
    cmd.add_argument("--draws", type=draws_arg, help="draws (default: the scenario's)")
    cmd.add_argument("--seed", type=seed_arg, help="random seed (default: the scenario's)")
    cmd.add_argument(
        "--target",
        type=_target,
        default=0.8,
        help="P(year-end pass) each member's what-it-takes aims at (default 0.8; 0: none)",
    )
    cmd.add_argument(
        "--solver-draws",
        type=positive_int,
        help="draws of the what-it-takes solver (default: --draws)",
    )
    cmd.add_argument(
        "--engine",
        default="kernel",
        choices=["kernel", "reference"],
        help="engine of the what-it-takes solver (the table itself is drawn by the reference, "
        "which the kernel matches draw for draw)",
    )
    cmd.add_argument(
        "--out",
        help="output folder (default: out/<scenario>_reforecast); never one of the scenario's files",
    )
    add_files_root_option(cmd)
    cmd.set_defaults(func=_cmd_reforecast)
