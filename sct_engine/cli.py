"""The ``sct`` command: run, validate and schema, plus the commands the sub-packages register
(template, convert, compare, report, reforecast, batch, calibrate).

Every user-facing failure (a bad scenario, a bad option) ends in a short
message on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sct_engine.errors import OutputError, ScenarioError, excerpt

if TYPE_CHECKING:
    from sct_engine.scenario import Scenario, Variant

#: ``sct validate`` lists the points of a sweep up to this many.
MAX_POINTS_LISTED = 50

#: Modules that add their own subcommands through ``register_cli(subparsers)``.
#: Each keeps heavy imports (Dask, matplotlib) inside its command function.
COMMAND_MODULES: tuple[str, ...] = (
    "sct_engine.scenario.commands",
    "sct_engine.report.commands",
    "sct_engine.analysis.commands",
    "sct_engine.batch.commands",
    "sct_engine.calibration.commands",
)


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (underscores allowed, e.g. 1_000_000)."""
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number, got {excerpt(text)!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {excerpt(text)!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number greater than 0, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number, got {excerpt(text)!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _whole_number(text: str) -> Any:
    """The integer a command-line text writes, else the text (for the field's own message)."""
    digits = text.strip().replace("_", "")
    if digits.isdigit() and len(digits) > 4000:
        return 10**4000  # beyond any limit; Python refuses to convert longer texts
    try:
        return int(digits)
    except ValueError:
        return text


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _run_number(field: str, parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """argparse type for a run number (draws, seed, target_se): the file's limits and messages.

    ``--draws 3000000000`` is refused with the words ``simulation.draws: 3000000000``
    gets in a scenario file, so every number a run takes has one limit.
    """

    def parse_arg(text: str) -> Any:
        from sct_engine.scenario import check_run_numbers

        value = parse(text)
        try:
            check_run_numbers(**{field: value})
        except ScenarioError as err:
            problem = err.problems[0]
            raise argparse.ArgumentTypeError(f"{problem.message}. Fix: {problem.fix}") from None
        return value

    parse_arg.__name__ = field  # argparse names the type in some messages
    return parse_arg


#: argparse types of the numbers a run takes; shared by every command that runs a scenario.
draws_arg = _run_number("draws", _whole_number)
seed_arg = _run_number("seed", _whole_number)
target_se_arg = _run_number("target_se", _number)


def replicates_arg(text: str) -> int:
    """argparse type for ``--replicates``: a whole number from 2 to 1024."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 2 <= value <= 1024:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number of replicates from 2 to 1024 (a standard error "
            "needs at least two)"
        )
    return value


def existing_folder(text: str) -> str:
    """argparse type: a folder that exists (``--files-root``: an empty text, a file or a missing
    folder would open something other than what was meant)."""
    from sct_engine.scenario.limits import check_files_root

    try:
        check_files_root(text, "--files-root")
    except ScenarioError as err:
        problem = err.problems[0]
        raise argparse.ArgumentTypeError(f"{problem.message}. Fix: {problem.fix}") from None
    return text


def add_files_root_option(parser: argparse.ArgumentParser) -> None:
    """``--files-root DIR``: the opt-in that lets scenarios read files from a wider folder."""
    parser.add_argument(
        "--files-root",
        metavar="DIR",
        type=existing_folder,
        help="let scenarios read files (organisations_csv) anywhere under DIR, not only in their "
        "own folder; for trusted setups (default: $SCT_FILES_ROOT, else the scenario's folder)",
    )


def add_variant_options(parser: argparse.ArgumentParser) -> None:
    """``--point K`` and ``--set PATH=VALUE``: which sweep point, and what to change."""
    parser.add_argument(
        "--point",
        type=non_negative_int,
        metavar="K",
        help="only point K (from 0, as `sct validate` lists them) of the file's sweep: block "
        "(default: every point, each in its own subfolder)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        dest="sets",
        metavar="PATH=VALUE",
        help="change one field of the scenario first, e.g. systems[0].organisations[2].plan=-4 "
        "(repeatable; the paths of sweeps; recorded in run.json and the report)",
    )


def grouped_warnings(variants: Sequence[Variant]) -> list[str]:
    """Every variant's warnings, once each: those of every point bare, the rest naming their point."""
    texts = [[str(w) for w in v.scenario.warnings] for v in variants]
    common = [w for w in texts[0] if all(w in other for other in texts[1:])] if texts else []
    lines = list(common)
    for variant, found in zip(variants, texts, strict=True):
        lines += [f"point {variant.index} ({variant.label}): {w}" for w in found if w not in common]
    return lines


def write_sweep_index(out: Path, variants: Sequence[Variant]) -> None:
    """``sweep.json`` in a sweep's output folder: each point's number, label, values and folder.

    Points written earlier into the same folder (``--point K`` runs) stay listed.
    """
    from sct_engine.files import read_limited, write_file_atomically

    path = out / "sweep.json"
    entries: dict[int, dict] = {}
    try:
        # Bounded, and never a pipe or a device: the folder may have come from elsewhere.
        earlier = json.loads(read_limited(path, str(path), "", "", 1024 * 1024))
        entries = {int(e["point"]): e for e in earlier if isinstance(e, dict) and "point" in e}
    except (ScenarioError, ValueError, TypeError, KeyError, RecursionError, OverflowError):
        pass  # no index yet, or one this version cannot read: start afresh
    for v in variants:
        assert v.index is not None
        entries[v.index] = {
            "point": v.index,
            "sweep": v.label,
            "sweep_values": v.point,
            "folder": v.folder,
        }
    text = json.dumps([entries[k] for k in sorted(entries)], indent=2) + "\n"
    write_file_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), "--out")


def _cmd_run(args: argparse.Namespace) -> int:
    from sct_engine.engine.results import SAVED_FILES
    from sct_engine.engine.simulate import default_out_dir
    from sct_engine.files import check_destinations, check_output_folder
    from sct_engine.scenario import load_variants, parse_sets, scenario_inputs

    if args.replicates is not None and args.sampling != "sobol":
        print(
            f"warning: --replicates {args.replicates} is ignored: replicates belong to "
            "--sampling sobol, and this run uses pseudo-random draws (add --sampling sobol to "
            "use them)",
            file=sys.stderr,
        )
    base = Path(args.out) if args.out else default_out_dir(args.scenario)
    check_output_folder(base, "--out")  # before any work: a bad destination costs nothing
    variants = load_variants(
        args.scenario, point=args.point, sets=parse_sets(args.sets), files_root=args.files_root
    )
    swept = variants[0].index is not None
    # No file written may be one of the scenario's own files (`--out .` beside them).
    outputs = [("--out", base / "sweep.json")] if swept else []
    outputs += [
        ("--out", base / (v.folder if swept else "") / name)
        for v in variants
        for name in SAVED_FILES
    ]
    check_destinations(outputs, scenario_inputs(v.scenario for v in variants))
    for warning in grouped_warnings(variants):
        print(f"warning: {warning}", file=sys.stderr)
    if swept:
        write_sweep_index(base, variants)
    for variant in variants:
        out = base / variant.folder if swept else base
        if swept and not args.quiet:
            print(f"\n== point {variant.index} of {variant.of}: {variant.label}")
        _run_one(args, variant.scenario, out)
    if swept and not args.quiet:
        print(f"\n{len(variants)} sweep points written under {base}/ (index: sweep.json)")
    return 0


def _run_one(args: argparse.Namespace, scenario: Scenario, out: Path) -> None:
    """Simulate one scenario (one sweep point) and write its tables to ``out``."""
    from sct_engine.engine.sampling import DEFAULT_REPLICATES
    from sct_engine.engine.simulate import simulate
    from sct_engine.progress import ProgressBar

    draws = args.draws or scenario.simulation.draws
    replicates = args.replicates or DEFAULT_REPLICATES
    if args.sampling == "sobol":  # every replicate gets the same draws: rounded up
        draws = -(-draws // replicates) * replicates
    with ProgressBar(total=draws, label=Path(args.scenario).name) as bar:
        result = simulate(
            scenario,
            draws=args.draws,
            seed=args.seed,
            engine=args.engine,
            progress=bar.update,
            target_se=args.target_se,
            sampling=args.sampling,
            replicates=replicates,
        )
    result.save(out)
    reached = result.provenance.get("max_standard_error")
    # Sobol': the target is met by the SE times the t factor (its R - 1 degrees of freedom)
    factor = result.provenance.get("target_se_factor", 1.0)
    if args.target_se is not None and (reached is None or reached * factor > args.target_se):
        shown = "unknown" if reached is None else f"{reached:.3g}"
        print(
            f"warning: target standard error {args.target_se:g} not reached within {result.draws:,} draws "
            f"(largest is {shown}); raise --draws to go further",
            file=sys.stderr,
        )
    if not args.quiet:
        print(result.summary())
        print(
            f"\nTables written to {out}/ (organisations, systems, national as CSV and Parquet; run.json)"
        )


def _cmd_validate(args: argparse.Namespace) -> int:
    from sct_engine.engine.simulate import check_run_memory
    from sct_engine.errors import MAX_PROBLEMS_SHOWN
    from sct_engine.scenario import check_variants

    bad = 0
    for path in args.files:
        try:
            variants, count = check_variants(path, files_root=args.files_root)
            # What `sct run` refuses for memory is refused here (a sweep never changes the
            # numbers of options, members or systems, so one point stands for all).
            check_run_memory(variants[0].scenario)
        except ScenarioError as exc:
            bad += 1
            n = len(exc.problems)
            print(f"{path}: INVALID ({n:,} problem{'s' if n > 1 else ''})")
            for problem in exc.problems[:MAX_PROBLEMS_SHOWN]:
                print(f"  - {problem}")
            if n > MAX_PROBLEMS_SHOWN:
                print(f"  ... and {n - MAX_PROBLEMS_SHOWN:,} more problems")
            continue
        warnings = grouped_warnings(variants)
        n = len(warnings)
        swept = variants[0].index is not None
        notes = [f"sweep of {count:,} points"] if swept else []
        if swept and len(variants) < count:
            notes += [f"{len(variants):,} checked, every value of every path among them"]
        notes += [f"{n} warning{'s' if n > 1 else ''}"] if n else []
        print(f"{path}: ok" + (f" ({', '.join(notes)})" if notes else ""))
        if swept and count <= MAX_POINTS_LISTED:
            for variant in variants:
                print(f"  - point {variant.index}: {variant.label}")
        for warning in warnings[:MAX_PROBLEMS_SHOWN]:
            print(f"  - warning: {warning}")
        if n > MAX_PROBLEMS_SHOWN:
            print(f"  ... and {n - MAX_PROBLEMS_SHOWN:,} more warnings")
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
    run.add_argument("scenario", help="scenario file: YAML or Excel workbook (.xlsx)")
    run.add_argument("--draws", type=draws_arg, help="Monte Carlo draws (default: the scenario's)")
    run.add_argument("--seed", type=seed_arg, help="random seed (default: the scenario's)")
    run.add_argument(
        "--out",
        help="output folder (default: out/<scenario name>; a sweep writes one subfolder per point)",
    )
    run.add_argument(
        "--engine",
        default="kernel",
        choices=["kernel", "reference"],
        help="kernel: fused numba kernel (default); reference: plain numpy oracle",
    )
    run.add_argument(
        "--target-se",
        type=target_se_arg,
        metavar="X",
        help="add draws until every probability and expected loss has a standard error below X "
        "(--draws is then the cap; with --sampling sobol the SE times t(R-1, 0.975) / 1.96, as "
        "its SE has R - 1 degrees of freedom)",
    )
    run.add_argument(
        "--sampling",
        default="pseudo",
        choices=["pseudo", "sobol"],
        help="pseudo: pseudo-random draws (default); sobol: randomised quasi-Monte Carlo for the "
        "national and system factors, standard errors from independent replicates "
        "(docs/results.md#sampling)",
    )
    run.add_argument(
        "--replicates",
        type=replicates_arg,
        default=None,
        metavar="R",
        help="with --sampling sobol: independent replicates, 2 to 1024 (default 16); the draws "
        "are rounded up to a multiple of R",
    )
    run.add_argument("--quiet", action="store_true", help="do not print the summary")
    add_variant_options(run)
    add_files_root_option(run)
    run.set_defaults(func=_cmd_run)

    validate = sub.add_parser("validate", help="check scenario files and explain every problem")
    validate.add_argument("files", nargs="+", help="scenario files: YAML or Excel workbooks")
    add_files_root_option(validate)
    validate.set_defaults(func=_cmd_validate)

    schema = sub.add_parser("schema", help="print the JSON Schema of a scenario file")
    schema.set_defaults(func=_cmd_schema)

    for module in COMMAND_MODULES:
        import_module(module).register_cli(sub)
    return parser


#: Top-level modules that only an optional extra installs, and the extra that brings them.
#: Dask distributed is a core dependency since issue 27 (``sct batch`` runs on a plain install).
OPTIONAL_EXTRAS: dict[str, str] = {
    "mkdocs": "docs",
}


def missing_extra(err: ModuleNotFoundError) -> str | None:
    """The extra that would install the module ``err`` is about, or ``None`` if none does."""
    top = (err.name or "").split(".")[0]
    return OPTIONAL_EXTRAS.get(top)


def missing_module_message(command: str, err: ModuleNotFoundError) -> str | None:
    """One line for a third-party module this install lacks: the extra or reinstall that brings it.

    ``None`` for a module of sct_engine itself or of the standard library: that is
    a bug or a broken Python, and its traceback is what a developer needs.
    """
    top = (err.name or "").split(".")[0]
    if not top or top == "sct_engine" or top in sys.stdlib_module_names:
        return None
    extra = missing_extra(err)
    if extra is not None:
        return (
            f"sct {command} needs the optional `{extra}` extra ({err.name} is not installed): "
            f"pip install 'sct_engine[{extra}]' (or, in a clone, pip install -e \".[{extra}]\")"
        )
    return (
        f"sct {command} needs {err.name}, a dependency of sct_engine that is not installed here "
        "(an incomplete install): pip install sct_engine again to bring its dependencies back "
        "(or, in a clone, pip install .)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sct`` console script."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # a mistyped option: the subcommand's own usage, not the top-level one
        command = str(getattr(args, "command", ""))
        if command in ("compare", "report") and any(u.startswith("--sampling") for u in unknown):
            print(
                f"error: sct {command} has no --sampling: decisions always use pseudo-random "
                "draws (docs/decisions.md, Statistics behind it, explains why); "
                "--sampling sobol is an option of sct run",
                file=sys.stderr,
            )
            return 2
        choices = next(
            (
                a.choices
                for a in parser._actions  # argparse keeps its subparsers here
                if isinstance(a, argparse._SubParsersAction)
            ),
            {},
        )
        (choices.get(command) or parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.func(args) or 0)
    except ScenarioError as err:
        print(str(err), file=sys.stderr)
        return 2
    except OutputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as err:
        message = missing_module_message(args.command, err)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
