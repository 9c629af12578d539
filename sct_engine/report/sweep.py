"""The report comparing the points of a sweep: its data, as tables.

``sct report`` on a file with a ``sweep:`` block analyses every point (the decision analysis
of :mod:`sct_engine.analysis`, each point on its own draws of the same seed) and compares them:
how the recommendation, each option's expected income and each member's expected funding move
along the sweep, with the decision rule's verdicts at every point. A what-if is a sweep of one
field over its value in the file and the value asked about (``plan: [-0.3, -4.3]``).

:func:`sweep_tables` lays the points out as plain tables (money £m, probabilities as
fractions) that the sweep's HTML page (:mod:`.sweep_html`) and its workbook both show.
Options are matched across points by their position in the menu: a point that changes an
option's fields renames it (``flexible_25[system_linked_share=0.5]``), and ``option`` keeps
the name it has in the file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sct_engine.analysis.decision import Analysis, Recommendation
from sct_engine.analysis.rule import NOT_WORSE, UNRESOLVED, WORSE
from sct_engine.report.data import recommendation_fields

#: The status of an option at a point, as the sweep's tables spell it.
RECOMMENDED = "recommended"
ALLOWED = "allowed"
BASELINE = "baseline"
RULED_OUT = "ruled out"
TOO_CLOSE = "too close to call"
NATIONAL = "changes national rules"

_MEMBER_PATH = re.compile(r"^systems\[(\d+)\]\.organisations\[(\d+)\]\.(.+)$")
_SYSTEM_PATH = re.compile(r"^systems\[(\d+)\]\.(.+)$")
_SCHEME_PATH = re.compile(r"^schemes\[(\d+)\]\.(.+)$")


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep, analysed: its values and the decision analysis at it."""

    index: int
    label: str  # "systems[0].organisations[0].plan=-4.3"
    values: dict[str, Any]  # field path -> value at this point
    analysis: Analysis
    recommendations: list[Recommendation]
    folder: str = ""  # the point's own output folder name (its own report, if written)
    page: str = ""  # the file name of its own report, if written


def sweep_point(
    analysis: Analysis,
    recommendations: Sequence[Recommendation] | None = None,
    folder: str = "",
    page: str = "",
) -> SweepPoint:
    """A point from its analysis; its number and values are read from the run's provenance."""
    p = analysis.result.provenance
    return SweepPoint(
        index=int(p.get("sweep_point") or 0),
        label=str(p.get("sweep") or ""),
        values=dict(p.get("sweep_values") or {}),
        analysis=analysis,
        recommendations=list(recommendations or analysis.recommend()),
        folder=folder,
        page=page,
    )


@dataclass(frozen=True)
class SweepAxis:
    """How the points are laid out: along the swept value when one number is swept, else in order."""

    positions: list[float]
    ticks: list[str]
    title: str  # the axis's title: the swept field in a board's words
    numeric: bool
    paths: list[str] = field(default_factory=list)
    short: str = "sweep point"  # a short title, for small charts


def swept_paths(points: Sequence[SweepPoint]) -> list[str]:
    """The field paths the sweep varies, in the file's order."""
    return list(dict.fromkeys(path for point in points for path in point.values))


def describe_path(path: str, analysis: Analysis) -> str:
    """A field path in a board's words: ``systems[0].organisations[0].plan`` -> the member's
    name and the field (the path itself where it names nothing in the model)."""
    m = analysis.model
    if match := _MEMBER_PATH.match(path):
        s, j, rest = int(match[1]), int(match[2]), match[3]
        if s < m.n_systems and m.system_start[s] + j < m.system_start[s + 1]:
            i = m.system_start[s] + j
            return f"{m.org_names[i]} ({m.org_ids[i]}): {_field_words(rest)}"
    elif match := _SYSTEM_PATH.match(path):
        s, rest = int(match[1]), match[2]
        if s < m.n_systems:
            return f"{m.system_names[s]}: {_field_words(rest)}"
    elif match := _SCHEME_PATH.match(path):
        k, rest = int(match[1]), match[2]
        if k < len(m.schemes.names):
            return f"option {option_name(m.schemes.names[k])}: {_field_words(rest)}"
    return path


def _field_words(field_path: str) -> str:
    money = {"plan", "control_total", "sustainability_funding", "turnover", "sd", "mitigation"}
    words = field_path.replace("_", " ")
    return f"{words} (£m)" if field_path in money | {"control_total_uplift"} else words


def option_name(name: str) -> str:
    """An option's name in the file: ``flexible_25[system_linked_share=0.5]`` -> ``flexible_25``."""
    return name.split("[", 1)[0]


def sweep_axis(points: Sequence[SweepPoint]) -> SweepAxis:
    """Along the swept value when the sweep varies one field through numbers, else point by point."""
    paths = swept_paths(points)
    values = [point.values.get(paths[0]) for point in points] if len(paths) == 1 else []
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if numbers and len(numbers) == len(values) and len(set(numbers)) == len(numbers):
        return SweepAxis(
            positions=numbers,
            ticks=[f"{v:g}" for v in numbers],
            title=describe_path(paths[0], points[0].analysis),
            numeric=True,
            paths=paths,
            short=_field_words(paths[0].rsplit(".", 1)[-1]),
        )
    return SweepAxis(
        positions=[float(j) for j in range(len(points))],
        ticks=[f"point {p.index}" for p in points],
        title="sweep point",
        numeric=False,
        paths=paths,
    )


def option_status(rec: Recommendation, scheme: str) -> str:
    """What the decision rule made of an option at a point, for one system."""
    if scheme == rec.scheme:
        return RECOMMENDED
    if scheme == rec.baseline:
        return BASELINE
    if scheme in rec.national_rule_changes:
        return NATIONAL
    if scheme in rec.too_close:
        return TOO_CLOSE
    if scheme in rec.excluded:
        return RULED_OUT
    return ALLOWED


def sweep_tables(points: Sequence[SweepPoint]) -> dict[str, pd.DataFrame]:
    """The sweep's tables by sheet name.

    ``sweep_points`` (one row per point: its values), ``sweep_recommendation`` (point and
    system: the option to sign, its gain over the baseline and what the rule allows),
    ``sweep_options`` (point, system and option: expected funding and income, the difference
    from the baseline and the rule's status) and ``sweep_members`` (point, member and option:
    expected funding and income, the paired difference from the baseline and the verdict).
    """
    paths = swept_paths(points)
    rows_points, rows_rec, rows_opt, rows_mem = [], [], [], []
    for point in points:
        a = point.analysis
        m = a.model
        base = {"point": point.index, "sweep": point.label}
        rows_points.append(
            {**base, **{f"sweep.{path}": point.values.get(path) for path in paths}}
            | {"draws": a.draws, "folder": point.folder, "page": point.page}
        )
        recs = {r.system: r for r in point.recommendations}
        for r in point.recommendations:
            rows_rec.append({**base, **recommendation_fields(r, option_name(r.scheme))})
        systems = a.comparison("systems")
        income = a.system_expected_income()
        funding = a.paired.system_paid_sum / a.draws
        for row in systems.itertuples(index=False):
            k = a.scheme_names.index(row.scheme)
            s = m.system_ids.index(row.system)
            rec = recs[row.system]
            rows_opt.append(
                {
                    **base,
                    "system": row.system,
                    "scheme": row.scheme,
                    "option": option_name(row.scheme),
                    "expected_funding": float(funding[k, s]),
                    "expected_income": float(income[k, s]),
                    "diff_expected_income": row.diff_expected_income,
                    "se_diff_expected_income": row.se_diff_expected_income,
                    "status": option_status(rec, row.scheme),
                    "why": rec.excluded.get(row.scheme, ""),
                }
            )
        part = a.participation()
        for row in part.itertuples(index=False):
            rows_mem.append(
                {
                    **base,
                    "system": row.system,
                    "organisation": row.organisation,
                    "organisation_name": m.org_names[m.org_ids.index(row.organisation)],
                    "scheme": row.scheme,
                    "option": option_name(row.scheme),
                    "recommended": row.scheme == recs[row.system].scheme,
                    "expected_funding": row.expected_funding,
                    "diff_expected_funding": row.diff_expected_funding,
                    "se_diff_expected_funding": row.se_diff_expected_funding,
                    "expected_income": row.expected_income,
                    "diff_expected_income": row.diff_expected_income,
                    "se_diff_expected_income": row.se_diff_expected_income,
                    "verdict": _verdict(row.verdict, row.scheme == a.baseline),
                }
            )
    return {
        "sweep_points": pd.DataFrame(rows_points),
        "sweep_recommendation": pd.DataFrame(rows_rec),
        "sweep_options": pd.DataFrame(rows_opt),
        "sweep_members": pd.DataFrame(rows_mem),
    }


def _verdict(verdict: str, is_baseline: bool) -> str:
    if is_baseline:
        return BASELINE
    return {WORSE: WORSE, UNRESOLVED: TOO_CLOSE, NOT_WORSE: NOT_WORSE}.get(verdict, verdict)
