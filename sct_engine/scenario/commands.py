"""The ``sct template`` and ``sct convert`` commands: scenario workbooks and YAML files."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from sct_engine.files import check_destinations, check_output_file, write_file_atomically
from sct_engine.scenario.dumping import scenario_yaml
from sct_engine.scenario.loading import load_scenario, scenario_inputs
from sct_engine.scenario.workbook.layout import SHEETS
from sct_engine.scenario.workbook.reader import WORKBOOK_SUFFIXES

YAML_SUFFIXES = (".yaml", ".yml")


def _refuse_overwrite(out: Path, force: bool) -> str | None:
    if os.path.lexists(out) and not force:
        return f"{out} already exists; choose another name, or add --force to replace it"
    return None


def _cmd_template(args: argparse.Namespace) -> int:
    out = Path(args.out)
    problem = (
        f"{out} must end in .xlsx"
        if out.suffix.lower() != ".xlsx"
        else _refuse_overwrite(out, args.force)
    )
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    check_output_file(out, "", "my_ics.xlsx")  # before any work: a bad destination costs nothing
    from sct_engine.scenario.workbook.writer import write_scenario_workbook

    scenario = load_scenario(args.source) if args.source else None
    check_destinations([("", out)], scenario_inputs([scenario] if scenario else []))
    write_file_atomically(out, lambda tmp: write_scenario_workbook(tmp, scenario), "")
    what = f"the scenario of {args.source}" if args.source else "a small example system"
    print(
        f"Wrote {out} ({what}; sheets {', '.join(SHEETS)}). Fill it in, then check it with "
        f"`sct validate {out}` and make the board pack with `sct report {out}`."
    )
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    source, out = Path(args.source), Path(args.out)
    suffix = out.suffix.lower()
    problem = None
    if suffix not in (*YAML_SUFFIXES, *WORKBOOK_SUFFIXES):
        problem = f"{out} must end in .yaml, .yml or .xlsx (the format to write)"
    else:
        problem = _refuse_overwrite(out, args.force)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    # Before any work: a bad destination costs nothing.
    check_output_file(out, "", f"my_ics{suffix}")
    from sct_engine.scenario.workbook.writer import write_scenario_workbook

    scenario = load_scenario(source)
    check_destinations([("", out)], scenario_inputs([scenario]))
    if suffix in YAML_SUFFIXES:
        text = scenario_yaml(scenario, source.name)
        write_file_atomically(out, lambda tmp: tmp.write_text(text, encoding="utf-8"), "")
    else:
        write_file_atomically(out, lambda tmp: write_scenario_workbook(tmp, scenario), "")
    print(f"Wrote {out} from {source}")
    return 0


def register_cli(subparsers: Any) -> None:
    """Add ``template`` and ``convert`` to the ``sct`` command."""
    template = subparsers.add_parser(
        "template", help="write an Excel workbook to fill in as a scenario"
    )
    template.add_argument("out", help="workbook to write (.xlsx)")
    template.add_argument(
        "--from",
        dest="source",
        metavar="SCENARIO",
        help="fill it from this scenario (YAML or workbook) instead of a small example",
    )
    template.add_argument("--force", action="store_true", help="replace an existing file")
    template.set_defaults(func=_cmd_template)

    convert = subparsers.add_parser(
        "convert", help="convert a scenario between YAML and an Excel workbook"
    )
    convert.add_argument("source", help="scenario file to read (YAML or .xlsx)")
    convert.add_argument("out", help="file to write; its ending (.yaml or .xlsx) picks the format")
    convert.add_argument("--force", action="store_true", help="replace an existing file")
    convert.set_defaults(func=_cmd_convert)
