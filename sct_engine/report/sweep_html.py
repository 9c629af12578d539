"""The sweep's report: one self-contained HTML page comparing the points of a sweep.

How the recommendation, each option's expected income for the system and each member's
expected funding move along the sweep (a chart and a table each), with the decision rule's
verdicts at every point, then the inputs at the first point and the provenance. The page
shares the per-point report's style and print rules (:mod:`.html`); its numbers come from
:func:`~sct_engine.report.sweep.sweep_tables`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from sct_engine.analysis.paired import Z95
from sct_engine.analysis.rule import WORSE
from sct_engine.report.html import inputs_section
from sct_engine.report.html_parts import STYLESHEET as _CSS
from sct_engine.report.html_parts import escape as _e
from sct_engine.report.html_parts import money
from sct_engine.report.html_parts import option_header as _opt
from sct_engine.report.html_parts import table as _table
from sct_engine.report.sweep import (
    ALLOWED,
    BASELINE,
    NATIONAL,
    RECOMMENDED,
    RULED_OUT,
    TOO_CLOSE,
    SweepPoint,
    describe_path,
    sweep_axis,
    sweep_tables,
    swept_paths,
)

SWEEP_SECTIONS = (
    ("sweep-points", "What the sweep changes"),
    ("sweep-recommendation", "The recommendation along the sweep"),
    ("sweep-members", "Each member's expected funding along the sweep"),
    ("sweep-verdicts", "The decision rule's verdicts at each point"),
    ("inputs", "Inputs and assumptions at the first point"),
    ("method", "Method and provenance"),
)

#: The class of a table cell holding an option's status at a point.
_STATUS_CLASS = {
    RECOMMENDED: "better",
    ALLOWED: "",
    BASELINE: "",
    RULED_OUT: "worse",
    TOO_CLOSE: "close",
    NATIONAL: "muted",
}


def _point_head(point: SweepPoint, paths: list[str]) -> str:
    values = " · ".join(_e(_value(point.values.get(path))) for path in paths)
    return f"Point {point.index}<br><span class='se'>{values}</span>"


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _points_html(points: Sequence[SweepPoint], tables: dict[str, pd.DataFrame]) -> str:
    paths = swept_paths(points)
    first = points[0].analysis
    head = ["Point", *[_e(describe_path(path, first)) for path in paths], "Option to sign"]
    rec = tables["sweep_recommendation"]
    rows = []
    for point in points:
        signed = rec[rec["point"] == point.index]
        words = "; ".join(
            (f"{r.system_name}: " if len(signed) > 1 else "")
            + f"<strong>{_e(r.recommended_scheme)}</strong>"
            for r in signed.itertuples(index=False)
        )
        rows.append(
            [
                f"{point.index}",
                *[_e(_value(point.values.get(path))) for path in paths],
                ("class='text'", words),
            ]
        )
    fields = "".join(
        f"<li><code>{_e(path)}</code>: {_e(describe_path(path, first))}</li>" for path in paths
    )
    p = first.result.provenance
    sets = [c for c in p.get("set") or []]
    set_words = (
        "<p class='note'>At every point, also changed from the file with <code>--set</code>: "
        + "; ".join(f"<code>{_e(c['path'])} = {_e(_value(c['value']))}</code>" for c in sets)
        + ".</p>"
        if sets
        else ""
    )
    return (
        f"<p class='note'>The sweep varies</p><ul>{fields}</ul>"
        + _table(head, rows)
        + set_words
        + "<p class='note'>Each point is a scenario of its own, analysed as <code>sct report</code> "
        f"analyses one: {first.draws:,} simulated years from seed {first.seed}, the same decision "
        "rule, every option applied to the same simulated years.</p>"
    )


def _warnings_html(points: Sequence[SweepPoint]) -> str:
    seen: dict[str, list[int]] = {}
    for point in points:
        for w in point.analysis.result.provenance.get("scenario_warnings") or []:
            seen.setdefault(str(w), []).append(point.index)
    if not seen:
        return ""
    items = "".join(
        f"<li>{_e(w)}"
        + (
            ""
            if len(at) == len(points)
            else f" <span class='se'>(points {', '.join(map(str, at))})</span>"
        )
        + "</li>"
        for w, at in seen.items()
    )
    return (
        "<div class='card warnings'><h3>Warnings about the scenario's figures</h3>"
        f"<ul>{items}</ul></div>"
    )


def _recommendation_html(points: Sequence[SweepPoint], tables: dict[str, pd.DataFrame]) -> str:
    from sct_engine.report.charts import sweep_lines_svg

    axis = sweep_axis(points)
    first = points[0].analysis
    m = first.model
    opts = tables["sweep_options"]
    rec = tables["sweep_recommendation"]
    money_word = first.level_word
    gain_word = first.gain_word  # incentive PSF cancels in a gain
    options = list(dict.fromkeys(opts["option"]))
    out = []
    for s, (sid, sname) in enumerate(zip(m.system_ids, m.system_names, strict=True)):
        here = opts[opts["system"] == sid]
        series = []
        for option in options:
            line = (
                here[here["option"] == option].set_index("point").reindex([p.index for p in points])
            )
            series.append(
                (
                    option,
                    line["expected_income"].to_numpy(),
                    Z95 * line["se_diff_expected_income"].fillna(0.0).to_numpy(),
                )
            )
        signed = rec[rec["system"] == sid].set_index("point")
        marked = [options.index(str(signed.loc[p.index, "recommended_option"])) for p in points]
        svg = sweep_lines_svg(
            axis.positions,
            axis.ticks,
            axis.title,
            series,
            marked,
            f"{sname}: expected {money_word} of the system under each option",
            "£m a year",
            f"sws{s}",
        )
        out.append(
            f"<figure>{svg}<figcaption>Expected {money_word} of {_e(sname)} a year under each "
            f"option at each point; the ring marks the option the decision rule recommends there. "
            f"Confidence bars: the 95% paired interval of the difference from {_e(first.baseline)} "
            "at that point.</figcaption></figure>"
        )
        head = [
            "Point",
            "Sign",
            f"Expected {gain_word} vs {_e(first.baseline)}",
            "Options the rule allows",
            "Too close to call",
        ]
        rows: list[Any] = []
        for point in points:
            r = signed.loc[point.index]
            rows.append(
                [
                    _point_head(point, axis.paths),
                    ("class='text'", f"<strong>{_e(r.recommended_scheme)}</strong>"),
                    f"{money(r.gain_vs_baseline, sign=True)} <span class='se'>± {money(Z95 * r.se_gain)}</span>",
                    ("class='text'", _e(r.options_the_rule_allows)),
                    ("class='text'", _e(r.too_close_to_call) or "&ndash;"),
                ]
            )
        changed = signed["recommended_option"].nunique() > 1
        verdict = (
            "The recommendation changes along the sweep."
            if changed
            else f"The recommendation is the same at every point: {_e(signed['recommended_option'].iloc[0])}."
        )
        out.append(
            f"<p class='lede'><strong>{_e(sname)}</strong>: {verdict}</p>" + _table(head, rows)
        )
    return "".join(out)


def _members_html(points: Sequence[SweepPoint], tables: dict[str, pd.DataFrame]) -> str:
    from sct_engine.report.charts import sweep_lines_svg

    axis = sweep_axis(points)
    first = points[0].analysis
    m = first.model
    mem = tables["sweep_members"]
    options = list(dict.fromkeys(mem["option"]))
    index = [p.index for p in points]
    signed_by_point = {
        int(r.point): str(r.recommended_scheme)
        for r in tables["sweep_recommendation"].itertuples(index=False)
    }
    head = [
        "Member",
        *[
            _point_head(p, axis.paths)
            + (f"<br>sign {_opt(signed_by_point[p.index])}" if m.n_systems == 1 else "")
            for p in points
        ],
    ]
    if len(points) > 1:
        head.append(f"Change, point {points[0].index} to {points[-1].index}")
    rows: list[Any] = []
    figures = []
    for i, (oid, oname) in enumerate(zip(m.org_ids, m.org_names, strict=True)):
        here = mem[mem["organisation"] == oid]
        signed = here[here["recommended"]].set_index("point").reindex(index)
        cells: list[Any] = [f"{_e(oname)}<br><span class='se'>{_e(oid)}</span>"]
        for point in points:
            r = signed.loc[point.index]
            option = "" if m.n_systems == 1 else f"{_e(r.option)} · "
            cells.append(
                f"{money(r.expected_funding)}<br><span class='se'>{option}"
                f"{r.diff_expected_funding:+.2f} ±{Z95 * r.se_diff_expected_funding:.2f}</span>"
            )
        if len(points) > 1:
            cells.append(
                money(
                    float(signed["expected_funding"].iloc[-1] - signed["expected_funding"].iloc[0]),
                    sign=True,
                )
            )
        rows.append(cells)
        series = []
        for option in options:
            o = here[here["option"] == option].set_index("point").reindex(index)
            series.append(
                (
                    option,
                    o["expected_funding"].to_numpy(),
                    Z95 * o["se_diff_expected_funding"].fillna(0.0).to_numpy(),
                )
            )
        marked = [options.index(str(signed.loc[p, "option"])) for p in index]
        svg = sweep_lines_svg(
            axis.positions,
            axis.ticks,
            axis.short,
            series,
            marked,
            oname,
            "£m a year",
            f"swm{i}",
            small=True,
        )
        figures.append(f"<figure class='member'>{svg}<figcaption>{_e(oid)}</figcaption></figure>")
    legend = " ".join(
        f"<span class='key' style='border-color:{_colour(j)}'>{_e(option)}</span>"
        for j, option in enumerate(options)
    )
    return (
        "<p class='note'>Expected PSF/CSF a year of each member under the option its system is "
        "recommended to sign at each point (named in the column's header), and under it, in "
        f"grey, the change against {_e(first.baseline)} at that point (£m, ± 95% paired "
        "confidence interval). The last column: how the member's expected funding under the "
        "option signed moves from the first point to the last.</p>"
        + _table(head, rows)
        + "<p class='note'>Each member under every option along the sweep; the ring marks the "
        f"option its system is recommended to sign. Confidence bars: the 95% paired interval of "
        f"the difference from {_e(first.baseline)}. Options: {legend}</p>"
        + f"<div class='members'>{''.join(figures)}</div>"
    )


def _colour(j: int) -> str:
    from sct_engine.report.charts import scheme_colour

    return scheme_colour(j)


def _verdicts_html(points: Sequence[SweepPoint], tables: dict[str, pd.DataFrame]) -> str:
    axis = sweep_axis(points)
    first = points[0].analysis
    m = first.model
    opts = tables["sweep_options"]
    mem = tables["sweep_members"]
    names = dict(zip(m.org_ids, m.org_names, strict=True))
    options = list(dict.fromkeys(opts["option"]))
    out = []
    for sid, sname in zip(m.system_ids, m.system_names, strict=True):
        if m.n_systems > 1:
            out.append(f"<h3>{_e(sname)}</h3>")
        head = ["Option", *[_point_head(p, axis.paths) for p in points]]
        rows: list[Any] = []
        for option in options:
            cells: list[Any] = [f"<strong>{_opt(option)}</strong>"]
            for point in points:
                row = opts[
                    (opts["system"] == sid)
                    & (opts["point"] == point.index)
                    & (opts["option"] == option)
                ]
                if row.empty:
                    cells.append("&ndash;")
                    continue
                status = str(row["status"].iloc[0])
                members = mem[
                    (mem["system"] == sid)
                    & (mem["point"] == point.index)
                    & (mem["option"] == option)
                ]
                who = ""
                if status == RULED_OUT:
                    worse = [
                        names[o] for o in members.loc[members["verdict"] == WORSE, "organisation"]
                    ]
                    who = "materially worse off: " + ", ".join(worse) if worse else ""
                elif status == TOO_CLOSE:
                    close = [
                        names[o]
                        for o in members.loc[members["verdict"] == TOO_CLOSE, "organisation"]
                    ]
                    who = "too close to call for " + ", ".join(close)
                text = f"<strong>{_e(status)}</strong>" if status == RECOMMENDED else _e(status)
                if who:
                    text += f"<br><span class='se'>{_e(who)}</span>"
                cells.append((f"class='text {_STATUS_CLASS[status]}'", text))
            rows.append(cells)
        out.append(_table(head, rows))
    return (
        "<p class='note'>At each point: the option recommended, the options the rule allows (no "
        "member materially worse off than under the baseline, in expectation and in its "
        "1-in-20-year loss), options ruled out (and who would be worse off), options too close "
        "to call, and options that change national rules (never recommended).</p>"
        + "".join(out)
        + f"<p class='small'>{_e(first.rule_text())}</p>"
    )


def _page_link(page: str) -> str:
    """A link to a point's own report (a path relative to this page), or a dash if none."""
    if not page:
        return "&ndash;"
    return f"<a href='{_e(quote(Path(page).as_posix()))}'>{_opt(page)}</a>"


def _method_html(points: Sequence[SweepPoint]) -> str:
    first = points[0].analysis
    p = first.result.provenance
    rows = []
    for point in points:
        a = point.analysis
        extra = a.result.provenance.get("decision_extension_draws", 0)
        rows.append(
            [
                f"{point.index}",
                ("class='text'", f"<code>{_opt(point.label)}</code>"),
                f"{a.draws:,}",
                f"{extra:,}",
                ("class='text'", _e(a.result.provenance.get("scenario_hash", ""))[:16]),
                ("class='text'", _page_link(point.page)),
            ]
        )
    return (
        "<p class='note'>Every point runs on the engine of <code>sct run</code> with the same "
        "seed and draws; its tables are those of <code>sct run</code> on that point. Extra "
        "draws: those the decision rule added to settle comparisons too close to call. Money in "
        "£ millions a year.</p>"
        + _table(
            ["Point", "Values", "Draws", "Extra draws", "Scenario hash", "Its own report"],
            rows,
        )
        + f"<p class='small'>Scenario file: {_e(p.get('scenario_file') or '')} · sct_engine "
        f"{_e(p.get('package_version', ''))} · engine {_e(p.get('engine', ''))}.</p>"
    )


def _failed_html(failed: Sequence[tuple[str, str]]) -> str:
    """The points that could not be analysed, one line each: the point and why."""
    if not failed:
        return ""
    items = "".join(f"<li><strong>{_e(folder)}</strong>: {_e(why)}</li>" for folder, why in failed)
    return (
        "<div class='card warnings'><h3>Points not analysed (left out of this comparison)</h3>"
        f"<ul>{items}</ul></div>"
    )


def render_sweep_html(points: Sequence[SweepPoint], failed: Sequence[tuple[str, str]] = ()) -> str:
    """The sweep's report as one HTML document (inline CSS and SVG, no scripts).

    ``failed`` names the points that could not be analysed, with why (one line each): the
    comparison holds the points that finished and says which are missing.
    """
    tables = sweep_tables(points)
    first = points[0].analysis
    m = first.model
    p = first.result.provenance
    name = p.get("scenario_name") or "Scenario"
    paths = swept_paths(points)
    bodies = {
        "sweep-points": lambda: _points_html(points, tables),
        "sweep-recommendation": lambda: _recommendation_html(points, tables),
        "sweep-members": lambda: _members_html(points, tables),
        "sweep-verdicts": lambda: _verdicts_html(points, tables),
        "inputs": lambda: inputs_section(
            m,
            p,
            first.baseline,
            {x for r in points[0].recommendations for x in r.national_rule_changes},
        ),
        "method": lambda: _method_html(points),
    }
    sections = "".join(
        f"<section id='{anchor}'><h2>{_e(title)}</h2>{bodies[anchor]()}</section>"
        for anchor, title in SWEEP_SECTIONS
    )
    toc = "".join(f"<li><a href='#{a}'>{_e(t)}</a></li>" for a, t in SWEEP_SECTIONS)
    what = ", ".join(describe_path(path, first) for path in paths)
    return (
        "<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(name)}: the sweep compared</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(name)}</h1>"
        f"<p class='lede'>What changes when {_e(what)} moves: the option to sign, the system's "
        f"expected {first.gain_word} and each member's, at "
        f"{len(points)} points.</p>"
        f"<p class='meta'>{len(points)} points · {first.draws:,} simulated years each · seed "
        f"{first.seed} · {m.n_orgs} organisations in {m.n_systems} system"
        f"{'s' if m.n_systems > 1 else ''} · sct_engine {_e(p.get('package_version', ''))}</p>"
        f"{_failed_html(failed)}{_warnings_html(points)}</header>"
        f"<nav aria-label='Contents'><ol>{toc}</ol></nav>{sections}"
        "<footer>Produced by sct_engine. Money in £ millions a year; surplus positive. "
        "Probabilities from Monte Carlo simulation: see Method and provenance.</footer>"
        "</body></html>"
    )


def write_sweep_html(
    points: Sequence[SweepPoint],
    path: str | os.PathLike[str],
    failed: Sequence[tuple[str, str]] = (),
) -> Path:
    """Render and write the sweep's report, creating the folder if needed."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_sweep_html(points, failed), encoding="utf-8")
    return out
