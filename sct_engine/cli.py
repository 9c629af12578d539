"""The ``sct`` command: run, validate and schema, plus the commands the sub-packages register.

Every user-facing failure (a bad scenario, a bad option) ends in a short
message on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path

from sct_engine.errors import ScenarioError

#: Modules that add their own subcommands through ``register_cli(subparsers)``.
#: Each keeps heavy imports (Dask, matplotlib) inside its command function.
COMMAND_MODULES: tuple[str, ...] = (
    "sct_engine.report.commands",
    "sct_engine.batch.commands",
    "sct_engine.calibration.commands",
)


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (underscores allowed, e.g. 1_000_000)."""
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: a whole number >= 0 (a seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _cmd_run(args: argparse.Namespace) -> int:
    from sct_engine.engine.simulate import default_out_dir, simulate
    from sct_engine.progress import ProgressBar
    from sct_engine.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    for warning in scenario.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    draws = args.draws or scenario.simulation.draws
    with ProgressBar(total=draws, label=Path(args.scenario).name) as bar:
        result = simulate(
            scenario,
            draws=args.draws,
            seed=args.seed,
            engine=args.engine,
            progress=bar.update,
            target_se=args.target_se,
        )
    out = Path(args.out) if args.out else default_out_dir(args.scenario)
    result.save(out)
    reached = result.provenance.get("max_standard_error", 0.0)
    if args.target_se is not None and reached > args.target_se:
        print(
            f"warning: target standard error {args.target_se:g} not reached within {result.draws:,} draws "
            f"(largest is {reached:.3g}); raise --draws to go further",
            file=sys.stderr,
        )
    if not args.quiet:
        print(result.summary())
        print(
            f"\nTables written to {out}/ (organisations, systems, national as CSV and Parquet; run.json)"
        )
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from sct_engine.scenario import load_scenario

    bad = 0
    for path in args.files:
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            bad += 1
            n = len(exc.problems)
            print(f"{path}: INVALID ({n} problem{'s' if n > 1 else ''})")
            for problem in exc.problems:
                print(f"  - {problem}")
            continue
        warnings = scenario.warnings
        n = len(warnings)
        print(f"{path}: ok" + (f" ({n} warning{'s' if n > 1 else ''})" if n else ""))
        for warning in warnings:
            print(f"  - warning: {warning}")
    return 1 if bad else 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from sct_engine.scenario import scenario_json_schema

    print(json.dumps(scenario_json_schema(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sct",
        description="Sustainability funding at risk under 2018/19 system control total options.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="simulate a scenario and write the result tables")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument(
        "--draws", type=positive_int, help="Monte Carlo draws (default: the scenario's)"
    )
    run.add_argument("--seed", type=non_negative_int, help="random seed (default: the scenario's)")
    run.add_argument("--out", help="output folder (default: out/<scenario name>)")
    run.add_argument(
        "--engine",
        default="kernel",
        choices=["kernel", "reference"],
        help="kernel: fused numba kernel (default); reference: plain numpy oracle",
    )
    run.add_argument(
        "--target-se",
        type=positive_float,
        metavar="X",
        help="add draws until every probability and expected loss has a standard error below X "
        "(--draws is then the cap)",
    )
    run.add_argument("--quiet", action="store_true", help="do not print the summary")
    run.set_defaults(func=_cmd_run)

    validate = sub.add_parser("validate", help="check scenario files and explain every problem")
    validate.add_argument("files", nargs="+", help="scenario YAML files")
    validate.set_defaults(func=_cmd_validate)

    schema = sub.add_parser("schema", help="print the JSON Schema of a scenario file")
    schema.set_defaults(func=_cmd_schema)

    for module in COMMAND_MODULES:
        import_module(module).register_cli(sub)
    return parser


#: Top-level modules that only an optional extra installs, and the extra that brings them.
OPTIONAL_EXTRAS: dict[str, str] = {
    "dask": "distributed",
    "distributed": "distributed",
    "mkdocs": "docs",
}


def missing_extra(err: ModuleNotFoundError) -> str | None:
    """The extra that would install the module ``err`` is about, or ``None`` if none does."""
    top = (err.name or "").split(".")[0]
    return OPTIONAL_EXTRAS.get(top)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sct`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ScenarioError as err:
        print(str(err), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as err:
        extra = missing_extra(err)
        if extra is None:
            raise
        print(
            f"sct {args.command} needs the optional `{extra}` extra ({err.name} is not installed): "
            f"pip install 'sct_engine[{extra}]' (or, in a clone, pip install -e \".[{extra}]\")",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
