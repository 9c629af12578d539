"""The ``sct compare`` and ``sct report`` commands: paired comparison text, the report files.

Destinations are checked before any analysis starts and written whole or not at
all (:mod:`sct_engine.files`); an analysis is refused up front when it would not
fit in memory (:mod:`sct_engine.engine.memory`).
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from sct_engine.analysis.decision import Analysis, analyse
from sct_engine.analysis.rule import DEFAULT_MAX_DRAWS, DecisionRule
from sct_engine.analysis.submodels import DEFAULT_DETAIL_DRAWS
from sct_engine.engine.memory import check_memory
from sct_engine.engine.model import build_model
from sct_engine.errors import OutputError, ScenarioError, excerpt
from sct_engine.files import (
    check_destinations,
    check_output_file,
    check_output_folder,
    write_csv,
    write_file_atomically,
    write_folder_atomically,
)
from sct_engine.report.data import (
    DEFAULT_SENSITIVITY_DRAWS,
    RUN_RECORD,
    SWEEP_INDEX,
    ReportSettings,
    analyse_for_report,
    prepare_report,
    resolve_sources,
)
from sct_engine.report.html import write_html
from sct_engine.report.sweep import SweepPoint, sweep_point
from sct_engine.report.sweep_html import write_sweep_html
from sct_engine.report.workbook import write_sweep_workbook, write_workbook
from sct_engine.scenario import Scenario, parse_sets, scenario_inputs

_LEVELS = ("organisations", "systems", "national")


def _comparison_text(analysis: Analysis, names: list[str] | None, level: str) -> str:
    fmt = {"float_format": lambda v: f"{v:,.3f}"}
    p = analysis.result.provenance
    lines = [
        f"{p.get('scenario_name', '')}: {analysis.draws:,} draws, seed {analysis.seed}; differences from "
        f"{analysis.baseline} on the same draws, ± 95% paired confidence interval. Money in £m a year, "
        "probabilities in percentage points.",
        "",
        *[f"- {line}" for line in analysis.headlines(names)],
        "",
        *[f"Recommendation for {r.system_name}: {r.action}." for r in analysis.recommend()],
        f"Decision rule: {analysis.rule_text()}",
    ]
    if level in ("national", "all"):
        nat = analysis.comparison("national", names)
        view = pd.DataFrame(
            {
                "scheme": nat["scheme"],
                "diff_expected_funding": nat["diff_expected_funding"],
                "ci95": nat["ci95_expected_funding"],
            }
        )
        lines += ["", "National", view.to_string(index=False, **fmt)]
    if level in ("systems", "all"):
        sysf = analysis.comparison("systems", names)
        view = pd.DataFrame(
            {
                "scheme": sysf["scheme"],
                "system": sysf["system"],
                "diff_expected_funding": sysf["diff_expected_funding"],
                "ci95": sysf["ci95_expected_funding"],
                "diff_expected_income": sysf["diff_expected_income"],
                "diff_p_lose_over_1m_pts": 100 * sysf["diff_p_lose_over_1m"],
                "ci95_pts": 100 * sysf["ci95_p_lose_over_1m"],
                "diff_p_lose_over_10pct_pts": 100 * sysf["diff_p_lose_over_10pct"],
                "ci95_10pct_pts": 100 * sysf["ci95_p_lose_over_10pct"],
            }
        )
        lines += ["", "Systems", view.to_string(index=False, **fmt)]
    if level in ("organisations", "all"):
        org = analysis.comparison("organisations", names)
        cell = (
            org["diff_expected_funding"].map("{:+.3f}".format)
            + " ±"
            + org["ci95_expected_funding"].map("{:.3f}".format)
        )
        table = org.assign(cell=cell).pivot(index="organisation", columns="scheme", values="cell")
        table = table.loc[list(analysis.model.org_ids), list(dict.fromkeys(org["scheme"]))]
        lines += [
            "",
            "Organisations: change in expected funding (£m a year, ± 95% CI)",
            table.to_string(),
        ]
    return "\n".join(lines)


def _option_names(text: str | None, offered: Sequence[str]) -> list[str] | None:
    """``--schemes`` as option names; a changed option may be named as in the file (``flexible_25``)."""
    if not text:
        return None
    names = [x.strip() for x in text.split(",") if x.strip()]
    if len(names) < 2:
        raise ValueError("--schemes needs at least two options, the first being the baseline")
    labelled = {name.split("[", 1)[0]: name for name in offered if "[" in name}
    chosen = [name if name in offered else labelled.get(name, name) for name in names]
    for name in chosen:
        if name not in offered:
            close = difflib.get_close_matches(name, [*offered, *labelled], n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else "."
            raise ValueError(
                f"--schemes: unknown scheme {name!r}{hint} This scenario offers "
                f"{', '.join(offered)}"
            )
    return chosen


def _print_warnings(scenario: Scenario, label: str) -> None:
    for warning in scenario.warnings:
        print(f"warning: {label}{warning}", file=sys.stderr)


def _check_analysis_memory(scenario: Scenario, engine: str) -> None:
    """Refuse, before allocating, an analysis larger than the memory limit (engine/memory.py)."""
    file = str(scenario.source) if scenario.source else "<scenario>"
    threads = 1
    if engine == "kernel":  # numba is imported only for the kernel
        import numba

        threads = numba.get_num_threads()
    check_memory(build_model(scenario), engine, threads, file, paired=True)


def _cmd_compare(args: argparse.Namespace) -> int:
    if args.out:
        check_output_folder(args.out, "--out")  # before any work: a bad destination costs nothing
    try:
        sources = resolve_sources(
            args.scenario, args.point, parse_sets(args.sets), files_root=args.files_root
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.out:  # no comparison table may replace one of the scenario's files
        written = [
            ("--out", Path(args.out) / folder / f"comparison_{level}.csv")
            for _, _, folder in sources
            for level in _LEVELS
        ]
        check_destinations(written, scenario_inputs(scenario for scenario, _, _ in sources))
    failed: list[str] = []  # a sweep's points that could not be compared
    for scenario, run, folder in sources:
        if folder:
            print(f"\n== {folder}")
        _print_warnings(scenario, f"{folder}: " if folder else "")
        try:
            names = _option_names(args.schemes, [option.name for option in scenario.schemes])
            _check_analysis_memory(scenario, args.engine)
            analysis = _compare_one(args, scenario, run, names)
            analysis.result.check_finite()  # every figure finite before anything is printed
            text = _comparison_text(analysis, names, args.level)
            print(text)
            if args.out:
                out = Path(args.out) / folder
                tables = {level: analysis.comparison(level, names) for level in _LEVELS}
                write_folder_atomically(
                    out,
                    {
                        f"comparison_{level}.csv": partial(write_csv, frame)
                        for level, frame in tables.items()
                    },
                    "--out",
                )
                print(f"\nComparison tables written to {out}/")
        except (ValueError, ScenarioError, OutputError) as err:
            if not folder and not isinstance(err, ValueError):
                raise  # one scenario: the command's usual message
            print(f"error: {folder + ': ' if folder else ''}{err}", file=sys.stderr)
            if not folder:
                return 2
            # A sweep goes on: the points that finish keep their tables.
            failed.append(folder)
    if failed:
        print(
            f"error: {len(failed)} of {len(sources)} sweep points could not be compared "
            f"({', '.join(failed)}); the others are written",
            file=sys.stderr,
        )
        return 2
    return 0


def _compare_one(
    args: argparse.Namespace, scenario: Scenario, run: dict[str, Any], names: list[str] | None
) -> Analysis:
    from sct_engine.progress import ProgressBar

    draws = args.draws or run.get("draws") or scenario.simulation.draws
    seed = args.seed if args.seed is not None else run.get("seed")
    with ProgressBar(total=int(draws), label="compare") as bar:
        return analyse(
            scenario,
            draws=int(draws),
            seed=seed,
            baseline=names[0] if names else None,
            progress=bar.update,
            engine=args.engine,
            rule=DecisionRule(
                materiality=args.materiality, tail=not args.no_tail, max_draws=args.max_draws
            ),
        )


def _report_paths(args: argparse.Namespace, source: Path, folder: str) -> tuple[Path, Path | None]:
    """Where one report (and its workbook) goes; a sweep point's carry its folder name."""
    xlsx = Path(args.xlsx) if args.xlsx else None
    if args.out:
        out = Path(args.out)
        if folder:
            out = out.with_name(f"{out.stem}.{folder}{out.suffix or '.html'}")
    elif source.is_dir():
        out = source / folder / "report.html"
    else:
        out = Path("out") / source.stem / folder / "report.html"
    if xlsx is not None and folder:
        xlsx = xlsx.with_name(f"{xlsx.stem}.{folder}{xlsx.suffix or '.xlsx'}")
    return out, xlsx


def _sweep_paths(args: argparse.Namespace, source: Path) -> tuple[Path, Path | None]:
    """Where the report comparing a sweep's points (and its workbook) goes: ``--out`` and
    ``--xlsx`` themselves, else ``report.html`` beside the points' folders."""
    xlsx = Path(args.xlsx) if args.xlsx else None
    if args.out:
        return Path(args.out), xlsx
    if source.is_dir():
        return source / "report.html", xlsx
    return Path("out") / source.stem / "report.html", xlsx


#: Each report option's example name and the endings of the format it writes.
_FORMATS = {"--out": ("report.html", (".html", ".htm")), "--xlsx": ("report.xlsx", (".xlsx",))}


def _inputs(source: Path, sources: Sequence[tuple[Scenario, Any, str]]) -> list[tuple[str, Path]]:
    """Every file a report reads: the scenarios' files and, from a result folder, its records."""
    found = scenario_inputs(scenario for scenario, _, _ in sources)
    if source.is_dir():
        records = [source / SWEEP_INDEX, *(source / f / RUN_RECORD for _, _, f in sources)]
        found += [("a record of the run", path) for path in records if path.is_file()]
    return found


def _cmd_report(args: argparse.Namespace) -> int:
    settings = ReportSettings(
        draws=args.draws,
        seed=args.seed,
        detail_draws=args.detail_draws,
        target=args.target,
        loss_limit=args.loss_limit,
        tail=not args.no_tail,
        gradient=not args.no_gradient,
        materiality=args.materiality,
        max_draws=args.max_draws,
        engine=args.engine,
        system_detail=args.system_detail,
        sensitivity=not args.no_sensitivity,
        sensitivity_draws=args.sensitivity_draws,
    )
    source = Path(args.source)
    try:
        sources = resolve_sources(
            source, args.point, parse_sets(args.sets), files_root=args.files_root
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # A sweep (every point, not one picked with --point) gets a report comparing its points;
    # with --sweep-only, that report alone.
    sweep = args.point is None and any(folder for _, _, folder in sources)
    sweep_only = sweep and args.sweep_only
    sweep_out, sweep_xlsx = _sweep_paths(args, source)
    points: list[SweepPoint] = []
    # Every destination is checked before the first (long) analysis, and written whole: each
    # in its format, none an input (the scenario, its tables, the run's record) nor another.
    destinations: list[tuple[str, Path]] = []
    if sweep:
        destinations.append(("--out", sweep_out))
        if sweep_xlsx is not None:
            destinations.append(("--xlsx", sweep_xlsx))
    for _, _, folder in [] if sweep_only else sources:
        out, xlsx = _report_paths(args, source, folder)
        destinations.append(("--out", out))
        if xlsx is not None:
            destinations.append(("--xlsx", xlsx))
    for option, path in destinations:
        check_output_file(path, option, *_FORMATS[option])
    check_destinations(destinations, _inputs(source, sources))
    failed: list[tuple[str, str]] = []  # a sweep's points that could not be analysed, and why
    for scenario, run, folder in sources:
        out, xlsx = _report_paths(args, source, folder)
        _print_warnings(scenario, f"{folder}: " if folder else "")
        try:
            _check_analysis_memory(scenario, args.engine)
            if sweep_only:
                analysis = analyse_for_report(scenario, settings, run)
                analysis.result.check_finite()  # every figure finite before anything is written
                points.append(sweep_point(analysis, folder=folder))
                _print_recommendations(args, folder, analysis.recommend(), analysis.gain_word)
                continue
            data = prepare_report(scenario, settings, run=run)
            data.analysis.result.check_finite()  # every figure finite before anything is written
            write_file_atomically(out, partial(write_html, data), "--out")
            if xlsx is not None:
                write_file_atomically(xlsx, partial(write_workbook, data), "--xlsx")
        except (ValueError, ScenarioError, OutputError) as err:
            if not sweep:
                print(f"error: {err}", file=sys.stderr)
                return 2
            # A sweep keeps the points that finished: the others are named in the comparison.
            failed.append((folder, excerpt(err, 400)))
            print(f"error: {folder}: {err}", file=sys.stderr)
            continue
        if sweep:
            page = os.path.relpath(out, sweep_out.parent)
            points.append(sweep_point(data.analysis, data.recommendations, folder, page))
        _print_recommendations(args, folder, data.recommendations, data.analysis.gain_word)
        if not args.quiet:
            if data.analysis.model.n_systems > 1:
                from sct_engine.report.national import national_lines

                print("\n".join(national_lines(data)))
            print(f"Report written to {out}" + (f"; tables to {xlsx}" if xlsx else ""))
    if points:
        write_file_atomically(sweep_out, partial(write_sweep_html, points, failed=failed), "--out")
        if sweep_xlsx is not None:
            write_file_atomically(
                sweep_xlsx, partial(write_sweep_workbook, points, failed=failed), "--xlsx"
            )
        if not args.quiet or failed:
            print(
                f"The {len(points)} points compared in {sweep_out}"
                + (f"; tables to {sweep_xlsx}" if sweep_xlsx else ""),
                file=sys.stderr if failed else sys.stdout,
            )
    if failed:
        print(
            f"error: {len(failed)} of {len(sources)} sweep points could not be analysed "
            f"({', '.join(folder for folder, _ in failed)})"
            + ("; the comparison holds the others" if points else "; no comparison written"),
            file=sys.stderr,
        )
        return 2
    return 0


def _print_recommendations(
    args: argparse.Namespace, folder: str, recommendations: Sequence[Any], word: str
) -> None:
    if args.quiet:
        return
    if folder:
        print(f"== {folder}")
    from sct_engine.report.summary import headline

    for r in recommendations:
        print(
            f"{r.system_name}: {headline(r, word)}"
            + (f" Too close to call: {', '.join(r.too_close)}." if r.too_close else "")
        )


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1, got {value}")
    return value


def _decision_options(parser: argparse.ArgumentParser) -> None:
    """The decision rule's and the engine's options, shared by ``compare`` and ``report``."""
    from sct_engine.cli import draws_arg, positive_float

    parser.add_argument(
        "--materiality",
        type=positive_float,
        help="£m by which a member must be worse off to count as worse off "
        "(default: the larger of £0.01m and 0.1%% of its allocation)",
    )
    parser.add_argument(
        "--max-draws",
        type=draws_arg,
        default=DEFAULT_MAX_DRAWS,
        help="most draws behind any verdict: unresolved comparisons get more draws up to this "
        f"(default {DEFAULT_MAX_DRAWS:,})",
    )
    parser.add_argument(
        "--no-tail",
        action="store_true",
        help="leave each member's 1-in-20-year loss out of the decision rule",
    )
    parser.add_argument(
        "--engine",
        choices=["kernel", "reference"],
        default="kernel",
        help="simulation engine, as for `sct run` (default kernel)",
    )


def register_cli(subparsers: Any) -> None:
    """Add ``compare`` and ``report`` to the ``sct`` command."""
    from sct_engine.cli import add_files_root_option, add_variant_options, draws_arg, seed_arg

    compare = subparsers.add_parser(
        "compare",
        help="paired differences between options on the same draws, with confidence intervals",
    )
    compare.add_argument(
        "scenario", help="scenario file (YAML or .xlsx), or a result folder written by `sct run`"
    )
    compare.add_argument(
        "--schemes",
        help="comma-separated options; the first is the baseline "
        "(default: every option against organisation_only)",
    )
    compare.add_argument(
        "--draws",
        type=draws_arg,
        help="draws (default: the run's, or the scenario's, as `sct run`)",
    )
    compare.add_argument("--seed", type=seed_arg, help="random seed (default: the scenario's)")
    compare.add_argument(
        "--level", choices=["organisations", "systems", "national", "all"], default="all"
    )
    compare.add_argument(
        "--out",
        help="also write comparison_*.csv to this folder (a sweep: one subfolder per point)",
    )
    add_variant_options(compare)
    _decision_options(compare)
    add_files_root_option(compare)
    compare.set_defaults(func=_cmd_compare)

    report = subparsers.add_parser(
        "report", help="write a self-contained HTML report for the board"
    )
    report.add_argument(
        "source", help="scenario file (YAML or .xlsx), or a result folder written by `sct run`"
    )
    report.add_argument(
        "--out",
        help="HTML file (default: out/<scenario>/report.html, or inside the result folder). A "
        "sweep: this file compares the points, and each point's own report is "
        "out/<scenario>/<point folder>/report.html, or OUT.<point folder>.html",
    )
    report.add_argument(
        "--xlsx",
        help="also write the tables to this Excel workbook (a sweep: the points compared; "
        "each point's tables to XLSX.<point folder>.xlsx)",
    )
    report.add_argument(
        "--sweep-only",
        action="store_true",
        help="with a sweep: write only the report comparing the points (no page per point, "
        "no incentive gradient or solvers)",
    )
    report.add_argument(
        "--draws",
        type=draws_arg,
        help="draws of the main analysis (default: the run's, or the scenario's, as `sct run`)",
    )
    report.add_argument(
        "--seed", type=seed_arg, help="random seed (default: the scenario's or run's)"
    )
    report.add_argument(
        "--detail-draws",
        type=draws_arg,
        default=DEFAULT_DETAIL_DRAWS,
        help=f"draws of the incentive gradient and solvers (default {DEFAULT_DETAIL_DRAWS:,})",
    )
    report.add_argument(
        "--target", type=_probability, default=0.8, help="solver target probability (default 0.8)"
    )
    report.add_argument(
        "--loss-limit",
        type=_probability,
        default=0.5,
        help="share of a system's funding it can lose, for the linked-share solver (default 0.5)",
    )
    _decision_options(report)
    report.add_argument(
        "--no-gradient", action="store_true", help="skip the (slow) incentive gradient"
    )
    report.add_argument(
        "--system-detail",
        action="store_true",
        help="with 10 systems or more: also draw every member's and system's charts (by "
        "default their numbers are tables, which keeps the page small)",
    )
    report.add_argument(
        "--no-sensitivity",
        action="store_true",
        help="leave out the sensitivity table (the analysis re-run under each assumption "
        "variant: sd x 0.8 / 1.2, variance shares +-10 points, p_ae +-0.15, A&E gateway)",
    )
    report.add_argument(
        "--sensitivity-draws",
        type=draws_arg,
        default=DEFAULT_SENSITIVITY_DRAWS,
        help="draws of each run of the sensitivity table, at most the main analysis's "
        f"(default {DEFAULT_SENSITIVITY_DRAWS:,})",
    )
    report.add_argument("--quiet", action="store_true", help="print nothing but errors")
    add_variant_options(report)
    add_files_root_option(report)
    report.set_defaults(func=_cmd_report)
