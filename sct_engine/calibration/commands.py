"""The ``sct calibrate`` command: fit a history, print the fit table and the YAML snippet."""

from __future__ import annotations

import argparse

from sct_engine.calibration.fit import TailMode, calibrate
from sct_engine.calibration.history import REQUIRED_COLUMNS
from sct_engine.files import check_destinations, check_output_file, write_file_atomically

#: Endings of the YAML snippet ``--out`` writes.
SNIPPET_SUFFIXES = (".yaml", ".yml")


def _cmd_calibrate(args: argparse.Namespace) -> int:
    mode: TailMode = "none" if args.no_tail else "by_kind" if args.tail_by_kind else "shared"
    if args.out:
        # Before the fit: a bad destination costs nothing, and the history is never replaced.
        check_output_file(args.out, "--out", "calibration.yaml", SNIPPET_SUFFIXES)
        check_destinations([("--out", args.out)], [("the history", args.history)])
    calibration = calibrate(args.history, tail=mode)
    print(calibration.table())
    snippet = calibration.snippet()
    if args.out:
        write_file_atomically(
            args.out, lambda path: path.write_text(snippet, encoding="utf-8"), "--out"
        )
        print(f"\nYAML snippet written to {args.out}")
    else:
        print("\n" + snippet, end="")
    return 0


def register_cli(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``sct calibrate HISTORY.csv [--out FILE] [--tail-by-kind | --no-tail]``."""
    parser = subparsers.add_parser(
        "calibrate",
        help="fit sd_pct by kind and the large-adverse-event tail to a history of plans and outturns",
        description=(
            "Fit sd as % of turnover by kind and the tail (probability, median_pct, sigma) by "
            "maximum likelihood to HISTORY.csv (columns: "
            + ", ".join(REQUIRED_COLUMNS)
            + "; optional control_total), print the fit with its uncertainty, and write a YAML "
            "snippet to paste into a scenario."
        ),
    )
    parser.add_argument("history", metavar="HISTORY.csv", help="one row per organisation and year")
    parser.add_argument(
        "--out", metavar="FILE", help="write the YAML snippet here (default: print it)"
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--tail-by-kind",
        action="store_true",
        help="also fit a tail per kind and test it against the shared tail",
    )
    group.add_argument("--no-tail", action="store_true", help="fit the normal model only")
    parser.set_defaults(func=_cmd_calibrate)
