"""The report's data: the decision analysis, incentive gradient and solvers, computed once.

``prepare_report`` reads a scenario file or a folder written by ``sct run``,
runs the decision analysis (:mod:`sct_engine.analysis`) once, then the
incentive gradient and the solvers; ``report_tables`` lays the results out as
the tables that the HTML page (:mod:`.html`) and the workbook (:mod:`.workbook`)
both show.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sct_engine.analysis.decision import Analysis, Recommendation, analyse
from sct_engine.analysis.incentives import incentive_gradient
from sct_engine.analysis.inyear import InYear, actual_paid_so_far, reforecast, signed_option
from sct_engine.analysis.national import NationalView, national_view
from sct_engine.analysis.rule import DEFAULT_MAX_DRAWS, DecisionRule
from sct_engine.analysis.sensitivity import Sensitivity, plan_variants, run_sensitivity
from sct_engine.analysis.solvers import (
    control_total_buffer,
    largest_system_linked_share,
    mitigation_needed,
)
from sct_engine.analysis.submodels import DEFAULT_DETAIL_DRAWS
from sct_engine.errors import excerpt
from sct_engine.files import read_limited
from sct_engine.scenario import MAX_DRAWS, Scenario, load_scenario, load_variants

#: Draws of each run of the sensitivity table (at most the main analysis's): one run per
#: assumption variant, so its cost is about this times the number of variants.
DEFAULT_SENSITIVITY_DRAWS = 16_384

if TYPE_CHECKING:
    from sct_engine.report.agreement import SystemAgreement


class ReportSourceError(ValueError):
    """The report's input is neither a scenario file nor a folder written by ``sct run``."""


@dataclass(frozen=True)
class ReportSettings:
    """How much to simulate and which targets to solve for."""

    draws: int | None = None  # None: the run's draws (result folder) or the scenario's
    seed: int | None = None  # None: the run's or the scenario's seed
    detail_draws: int = DEFAULT_DETAIL_DRAWS  # incentive gradient and solvers
    target: float = 0.8  # probability every member passes / the system keeps funding
    loss_limit: float = 0.5  # share of a system's funding it can lose (linked-share solver)
    tail: bool = True  # the member's 1-in-20-year loss is part of the decision rule
    gradient: bool = True
    materiality: float | None = None  # £m; None: max(£0.01m, 0.1% of the member's allocation)
    max_draws: int = DEFAULT_MAX_DRAWS  # most draws behind any verdict of the decision rule
    engine: str = "kernel"
    system_detail: bool = False  # many systems: draw every member's and system's charts too
    sensitivity: bool = True  # the sensitivity table (analysis/sensitivity.py)
    sensitivity_draws: int = (
        DEFAULT_SENSITIVITY_DRAWS  # draws of each of its runs (at most the run's)
    )
    agreement: bool = True  # design each system's local risk-share agreement

    @property
    def rule(self) -> DecisionRule:
        """The decision rule these settings ask for."""
        return DecisionRule(materiality=self.materiality, tail=self.tail, max_draws=self.max_draws)


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, computed once."""

    analysis: Analysis
    recommendations: list[Recommendation]
    gradient: pd.DataFrame | None
    buffers: pd.DataFrame
    mitigation: pd.DataFrame
    linked_share: pd.DataFrame
    settings: ReportSettings
    source_note: str
    timings: dict[str, float] = field(default_factory=dict)
    sensitivity: Sensitivity | None = None  # None: made with --no-sensitivity
    agreements: list[SystemAgreement] = field(default_factory=list)
    in_year: InYear | None = None  # the in-year re-forecast, when the scenario has actuals

    @property
    def detail_draws(self) -> int:
        return min(self.settings.detail_draws, self.analysis.draws)

    @cached_property
    def national(self) -> NationalView:
        """The national view with the report's recommendations and the joint counterfactuals:
        simulated once per report, on the report's engine, so page 1, the national page, the
        workbook and the terminal lines share one joint simulation."""
        return national_view(
            self.analysis, self.recommendations, joint=True, engine=self.settings.engine
        )


# --- preparing ---------------------------------------------------------------------------


#: The record ``sct run`` writes beside a run's tables, and the index of a sweep's points.
RUN_RECORD, SWEEP_INDEX = "run.json", "sweep.json"
#: Largest run record or sweep index read (a real one is a few kilobytes).
MAX_RECORD_BYTES = 1024 * 1024
#: Endings of a scenario file that a run record may name.
_SCENARIO_SUFFIXES = (".yaml", ".yml", ".xlsx", ".xlsm")


def _read_record(path: Path) -> Any:
    """The JSON of a run record or sweep index: a regular file, bounded, any nesting refused
    with a named error (result folders come from other people)."""
    raw = read_limited(path, str(path), "", "re-run `sct run`", MAX_RECORD_BYTES)
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise ReportSourceError(
            f"{excerpt(path, 200)} is not a readable record of `sct run` (not JSON, or nested "
            "too deep); re-run `sct run`"
        ) from None


def _run_record(path: Path) -> dict[str, Any]:
    """A run record with the fields a report uses checked: a damaged one is a named error."""
    info = _read_record(path)
    shown = excerpt(path, 200)
    if not isinstance(info, dict):
        raise ReportSourceError(f"{shown} is not a record of `sct run`; re-run `sct run`")
    checks = {
        "scenario_file": lambda v: isinstance(v, str) and 0 < len(v) < 4096 and "\0" not in v,
        "draws": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_DRAWS,
        "seed": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0),
        "sweep_point": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
        "set": lambda v: v is None or (isinstance(v, list) and all(_is_set(c) for c in v)),
    }
    for name, ok in checks.items():
        if not ok(info.get(name)):
            raise ReportSourceError(
                f"{shown}: `{name}` is missing or not what `sct run` writes "
                f"(got {excerpt(json.dumps(info.get(name)), 40)}); re-run `sct run`"
            )
    return info


def _is_set(change: Any) -> bool:
    return isinstance(change, dict) and isinstance(change.get("path"), str) and "value" in change


def _point_folder(results: Path, written: Any) -> str:
    """A sweep point's folder named in ``sweep.json``: one plain folder name inside the results
    folder, never a path that leads elsewhere (``..``, an absolute path, a link out)."""
    name = written if isinstance(written, str) else ""
    real = Path(os.path.realpath(results / name)) if name else None
    inside = real is not None and Path(os.path.realpath(results)) in real.parents
    if not name or name in (".", "..") or Path(name).name != name or "\0" in name or not inside:
        raise ReportSourceError(
            f"{excerpt(results / SWEEP_INDEX, 200)} names the point folder "
            f"'{excerpt(written, 80)}', which is not a folder inside {excerpt(results, 120)}; "
            "a result folder's points are its own subfolders: re-run `sct run`"
        )
    return name


def resolve_source(
    path: str | os.PathLike, files_root: str | os.PathLike[str] | None = None
) -> tuple[Scenario, dict[str, Any]]:
    """A scenario YAML file, or a result folder of ``sct run`` (its run.json names scenario, seed, draws).

    ``files_root`` opens a folder beyond the scenario's own to its CSV tables (``--files-root``).
    A result folder's record is checked field by field; the scenario it names is the folder's
    own copy if it has one, else the scenario file ``sct run`` read (a scenario file by its
    ending, never any other kind of file).
    """
    p = Path(path)
    if not p.is_dir():
        return load_scenario(p, files_root), {"note": f"scenario file {p}"}
    run_json = p / RUN_RECORD
    if not run_json.is_file():
        raise ReportSourceError(
            f"{p} is a folder without run.json: give a scenario YAML file or a folder written by `sct run`"
        )
    info = _run_record(run_json)
    named = info["scenario_file"]
    candidates = [p / Path(named).name, Path(named)]
    found = next(
        (c for c in candidates if c.suffix.lower() in _SCENARIO_SUFFIXES and c.is_file()), None
    )
    if found is None:
        raise ReportSourceError(
            f"the scenario file {excerpt(named, 200)} named in {run_json} was not found; "
            "run `sct report` on the scenario file itself"
        )
    sets = {c["path"]: c["value"] for c in info.get("set") or []}
    if info.get("sweep_point") is None and not sets:
        scenario = load_scenario(found, files_root)
    else:  # a sweep point, or a what-if: the same changes to the same file
        (variant,) = load_variants(
            found, point=info.get("sweep_point"), sets=sets, files_root=files_root
        )
        scenario = variant.scenario
    note = f"re-created from the run in {p} (run.json: seed {info.get('seed')}, {info['draws']:,} draws)"
    if info.get("scenario_hash") and info["scenario_hash"] != scenario.content_hash:
        note += "; the scenario file has changed since that run, so the report uses the file as it is now"
        print(f"warning: {found} has changed since the run in {p}", file=sys.stderr)
    return scenario, {"seed": info.get("seed"), "draws": info["draws"], "note": note}


def resolve_sources(
    path: str | os.PathLike,
    point: int | None = None,
    sets: Mapping[str, Any] | None = None,
    files_root: str | os.PathLike[str] | None = None,
) -> list[tuple[Scenario, dict[str, Any], str]]:
    """(scenario, run, folder) for every run a path asks for.

    A scenario file gives one per sweep point (or the one ``point`` picks),
    with ``sets`` applied; ``folder`` is the point's subfolder name (empty
    without a sweep). A folder of ``sct run`` gives its run; the folder of a
    sweep run (with ``sweep.json``) gives each point's folder, which must be one of its own
    subfolders (:func:`_point_folder`). ``files_root``: as in :func:`resolve_source`.
    """
    p = Path(path)
    if not p.is_dir():
        return [
            (
                v.scenario,
                {"note": f"scenario file {p}" + (f", {v.label}" if v.label else "")},
                v.folder,
            )
            for v in load_variants(p, point=point, sets=sets, files_root=files_root)
        ]
    if sets:
        raise ReportSourceError(
            f"--set changes a scenario file, and {p} is a result folder: give the scenario file"
        )
    if (p / RUN_RECORD).is_file() or not (p / SWEEP_INDEX).is_file():
        if point is not None:
            raise ReportSourceError(f"--point picks a sweep point, and {p} holds one run")
        return [(*resolve_source(p, files_root), "")]
    index = _read_record(p / SWEEP_INDEX)
    try:
        folders = {int(e["point"]): _point_folder(p, e["folder"]) for e in index}
    except (TypeError, KeyError, OverflowError):
        raise ReportSourceError(f"{p / SWEEP_INDEX} is damaged; re-run `sct run`") from None
    except ValueError as err:
        if isinstance(err, ReportSourceError):
            raise
        raise ReportSourceError(f"{p / SWEEP_INDEX} is damaged; re-run `sct run`") from None
    if point is not None and point not in folders:
        raise ReportSourceError(f"{p} has no point {point} (it has {sorted(folders)})")
    chosen = sorted(folders) if point is None else [point]
    return [(*resolve_source(p / folders[k], files_root), folders[k]) for k in chosen]


def analyse_for_report(
    scenario: Scenario,
    settings: ReportSettings,
    run: Mapping[str, Any],
    progress: bool | None = None,
) -> Analysis:
    """The report's decision analysis alone (no incentive gradient or solvers), with the run's
    draws and seed unless ``settings`` name them: what a sweep's comparison needs of a point."""
    from sct_engine.progress import ProgressBar

    draws = settings.draws or run.get("draws") or scenario.simulation.draws
    seed = settings.seed if settings.seed is not None else run.get("seed")
    with ProgressBar(total=int(draws), label="analysis", enabled=progress) as bar:
        return analyse(
            scenario,
            draws=int(draws),
            seed=seed,
            progress=bar.update,
            engine=settings.engine,
            rule=settings.rule,
        )


def prepare_report(
    source: str | os.PathLike | Scenario,
    settings: ReportSettings | None = None,
    progress: bool | None = None,
    run: Mapping[str, Any] | None = None,
) -> ReportData:
    """Run the analysis, the incentive gradient and the solvers for the report.

    ``progress``: show progress bars (default: when stderr is a terminal).
    ``run``: for a scenario given in memory, what :func:`resolve_sources`
    found with it (the run's seed and draws, and a note on the source).
    """
    from sct_engine.progress import ProgressBar

    settings = settings or ReportSettings()
    if isinstance(source, Scenario):
        scenario, run = source, {"note": "scenario given in memory", **(run or {})}
    else:
        scenario, run = resolve_source(source)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    analysis = analyse_for_report(scenario, settings, run, progress)
    timings["analysis_s"] = time.perf_counter() - started
    model = analysis.model
    recommendations = analysis.recommend()
    detail = min(settings.detail_draws, analysis.draws)

    gradient = None
    if settings.gradient:
        started = time.perf_counter()
        with ProgressBar(
            total=detail * model.n_orgs, label="incentive gradient", enabled=progress
        ) as bar:
            gradient = incentive_gradient(
                model,
                analysis.seed,
                detail,
                baseline=analysis.baseline,
                progress=bar.update,
                engine=settings.engine,
            )
        timings["gradient_s"] = time.perf_counter() - started

    started = time.perf_counter()
    engine = settings.engine
    solved = dict.fromkeys([analysis.baseline, *(r.scheme for r in recommendations)])
    buffers = pd.concat(
        [
            control_total_buffer(
                model, analysis.seed, detail, scheme=name, target=settings.target, engine=engine
            )
            for name in solved
        ],
        ignore_index=True,
    )
    mitigation = pd.concat(
        [
            mitigation_needed(
                model, analysis.seed, detail, scheme=name, target=settings.target, engine=engine
            )
            for name in solved
        ],
        ignore_index=True,
    )
    linked_share = largest_system_linked_share(
        model,
        analysis.seed,
        detail,
        target=settings.target,
        loss_limit=settings.loss_limit,
        engine=engine,
    )
    timings["solvers_s"] = time.perf_counter() - started
    sensitivity = None
    if settings.sensitivity:
        started = time.perf_counter()
        draws = min(settings.sensitivity_draws, analysis.draws)
        planned = plan_variants(scenario)
        total = draws * (1 + len(planned[0]))
        with ProgressBar(total=total, label="sensitivity", enabled=progress) as bar:
            sensitivity = run_sensitivity(
                scenario,
                draws,
                seed=analysis.seed,
                baseline=analysis.baseline,
                reference=recommendations,
                rule=settings.rule,
                engine=engine,
                progress=bar.update,
                planned=planned,
            )
        timings["sensitivity_s"] = time.perf_counter() - started
    agreements = []
    if settings.agreement:
        from sct_engine.report.agreement import design_agreements

        started = time.perf_counter()
        agreements = design_agreements(
            analysis, {r.system: r.scheme for r in recommendations}, detail
        )
        timings["agreement_s"] = time.perf_counter() - started
    in_year = None
    if scenario.actuals is not None:
        started = time.perf_counter()
        option = signed_option(model, scenario.actuals.signed_option)
        in_year = reforecast(
            model,
            analysis.seed,
            detail,
            option,
            paid_so_far=actual_paid_so_far(scenario.actuals, model.org_ids),
            target=settings.target,
            engine=engine,
        )
        timings["in_year_s"] = time.perf_counter() - started
    return ReportData(
        analysis,
        recommendations,
        gradient,
        buffers,
        mitigation,
        linked_share,
        settings,
        run["note"],
        timings,
        sensitivity,
        agreements,
        in_year,
    )


# --- tables shared by the HTML page and the workbook ---------------------------------------


def recommendation_fields(r: Recommendation, option: str | None = None) -> dict[str, Any]:
    """A system's recommendation as one table row (the Recommendations sheet, and each point's
    row of a sweep's comparison); ``option``, where given, is the recommended option's name
    without its sweep label, placed after the scheme."""
    named = {"recommended_option": option} if option is not None else {}
    return {
        "system": r.system,
        "system_name": r.system_name,
        "recommended_scheme": r.scheme,
        **named,
        "baseline": r.baseline,
        "expected_funding": r.expected_funding,
        "expected_income": r.expected_income,
        "gain_vs_baseline": r.gain,
        "se_gain": r.se_gain,
        "options_the_rule_allows": ", ".join(r.eligible),
        "too_close_to_call": ", ".join(r.too_close),
        "changes_national_rules": ", ".join(r.national_rule_changes),
    }


def report_tables(data: ReportData) -> dict[str, pd.DataFrame]:
    """The report's tables by sheet name, plain numbers (money £m, probabilities as fractions)."""
    a = data.analysis
    recs = pd.DataFrame(
        [{**recommendation_fields(r), "reasons": " ".join(r.reasons)} for r in data.recommendations]
    )
    provenance = pd.DataFrame(
        [
            (k, json.dumps(v) if isinstance(v, list | dict) else v)
            for k, v in provenance_fields(data).items()
        ],
        columns=["field", "value"],
    )
    tables = {
        "recommendation": recs,
        "national": a.result.national,
        "systems": a.result.systems,
        "organisations": a.result.organisations,
        "comparison_systems": a.comparison("systems"),
        "comparison_organisations": a.comparison("organisations"),
        "participation": a.participation(),
        "finance_and_ae": a.finance_and_ae(),
        "attribution": a.attribution(),
        "contagion": a.contagion(),
        "buffers": data.buffers,
        "mitigation": data.mitigation,
        "linked_share": data.linked_share,
        "provenance": provenance,
    }
    if data.sensitivity is not None:  # before the provenance, which stays last
        from sct_engine.report.sensitivity import sensitivity_tables

        *body, last = tables.items()
        tables = dict([*body, *sensitivity_tables(data).items(), last])
    if data.gradient is not None:
        tables["incentive_gradient"] = data.gradient
    if data.agreements:
        from sct_engine.report.agreement import agreement_tables

        tables.update(agreement_tables(data.agreements))
    if a.model.n_systems > 1:  # the national page's tables, after the recommendation
        from sct_engine.report.national import national_tables

        first, *rest = tables.items()
        tables = dict([first, *national_tables(data).items(), *rest])
    return tables


def scenario_changes(data: ReportData) -> list[str]:
    """The report's opening notes on its scenario: the sweep point and each ``--set`` change."""
    p = data.analysis.result.provenance
    lines = []
    if p.get("sweep"):
        lines.append(f"sweep point {p.get('sweep_point')} of the file: {p['sweep']}")
    for change in p.get("set") or []:
        was = "the default" if change.get("was") is None else json.dumps(change["was"])
        lines.append(f"{change['path']} = {json.dumps(change['value'])} (the file: {was})")
    return lines


def provenance_fields(data: ReportData) -> dict[str, Any]:
    """The run's provenance plus the report's own settings and timings (one field each)."""
    s = data.settings
    return {
        **data.analysis.result.provenance,
        "source": data.source_note,
        "baseline": data.analysis.baseline,
        "detail_draws": data.detail_draws,
        "solver_target": s.target,
        "linked_share_loss_limit": s.loss_limit,
        "decision_materiality": data.analysis.rule.describe(),
        "decision_tail": s.tail,
        "decision_max_draws": s.max_draws,
        "sensitivity_draws": data.sensitivity.draws if data.sensitivity else 0,
        **{k: round(v, 2) for k, v in data.timings.items()},
    }
