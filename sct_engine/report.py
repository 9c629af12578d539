"""The board report and the ``sct compare`` / ``sct report`` commands.

``prepare_report`` runs the decision analysis (``analysis.py``) once;
``render_html`` turns it into one self-contained HTML page (inline CSS and
SVG charts, no scripts, no external assets) that also prints well;
``write_workbook`` puts the same tables in an Excel workbook for finance teams.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sct_engine.analysis import (
    DEFAULT_ANALYSIS_DRAWS,
    TAIL_LEVEL,
    Analysis,
    Recommendation,
    analyse,
)
from sct_engine.incentives import incentive_gradient
from sct_engine.paired import Z95
from sct_engine.scenario import Scenario, load_scenario
from sct_engine.solvers import control_total_buffer, largest_system_linked_share, mitigation_needed
from sct_engine.stats import proportion_se
from sct_engine.submodels import DEFAULT_DETAIL_DRAWS

#: Traffic lights on the probability of losing some funding: green below the
#: first bound, amber below the second, red above.
TRAFFIC_LIGHTS = (0.2, 0.4)

SECTIONS = (
    ("recommendation", "Recommendation"),
    ("funding-at-risk", "Funding at risk by option"),
    ("organisations", "Organisations: chance of losing funding"),
    ("loss-exceedance", "Loss exceedance curves"),
    ("participation", "Participation: better or worse off than going alone"),
    ("attribution", "Attribution and contagion: who puts the system at risk"),
    ("incentives", "Incentives: does the option blunt each member's own incentive?"),
    ("solvers", "What it would take"),
    ("assumptions", "Assumptions and provenance"),
)


class ReportSourceError(ValueError):
    """The report's input is neither a scenario file nor a folder written by ``sct run``."""


@dataclass(frozen=True)
class ReportSettings:
    """How much to simulate and which targets to solve for."""

    draws: int | None = None  # None: the run's draws (result folder) or DEFAULT_ANALYSIS_DRAWS
    seed: int | None = None  # None: the run's or the scenario's seed
    detail_draws: int = DEFAULT_DETAIL_DRAWS  # incentive gradient and solvers
    target: float = 0.8  # probability every member passes / the system keeps funding
    loss_limit: float = 0.5  # share of a system's funding it can lose (linked-share solver)
    tail: bool = False  # also require nobody worse off in a 1-in-20 bad year
    gradient: bool = True


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

    @property
    def detail_draws(self) -> int:
        return min(self.settings.detail_draws, self.analysis.draws)


# --- preparing ---------------------------------------------------------------------------


def resolve_source(path: str | os.PathLike) -> tuple[Scenario, dict[str, Any]]:
    """A scenario YAML file, or a result folder of ``sct run`` (its run.json names scenario, seed, draws)."""
    p = Path(path)
    if not p.is_dir():
        return load_scenario(p), {"note": f"scenario file {p}"}
    run_json = p / "run.json"
    if not run_json.is_file():
        raise ReportSourceError(
            f"{p} is a folder without run.json: give a scenario YAML file or a folder written by `sct run`"
        )
    try:
        info = json.loads(run_json.read_text())
    except json.JSONDecodeError as err:
        raise ReportSourceError(
            f"{run_json} is not valid JSON ({err.msg}); re-run `sct run`"
        ) from None
    named = info.get("scenario_file")
    if not named:
        raise ReportSourceError(f"{run_json} does not name its scenario_file; re-run `sct run`")
    candidates = [Path(named), p / Path(named).name]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise ReportSourceError(
            f"the scenario file {named} named in {run_json} was not found; "
            "run `sct report` on the scenario file itself"
        )
    scenario = load_scenario(found)
    note = f"re-created from the run in {p} (run.json: seed {info.get('seed')}, {info.get('draws'):,} draws)"
    if info.get("scenario_hash") and info["scenario_hash"] != scenario.content_hash:
        note += "; the scenario file has changed since that run, so the report uses the file as it is now"
        print(f"warning: {found} has changed since the run in {p}", file=sys.stderr)
    return scenario, {"seed": info.get("seed"), "draws": info.get("draws"), "note": note}


def prepare_report(
    source: str | os.PathLike | Scenario,
    settings: ReportSettings | None = None,
    progress: bool | None = None,
) -> ReportData:
    """Run the analysis, the incentive gradient and the solvers for the report.

    ``progress``: show progress bars (default: when stderr is a terminal).
    """
    from sct_engine.progress import ProgressBar

    settings = settings or ReportSettings()
    run: dict[str, Any]
    if isinstance(source, Scenario):
        scenario, run = source, {"note": "scenario given in memory"}
    else:
        scenario, run = resolve_source(source)
    draws = settings.draws or run.get("draws") or DEFAULT_ANALYSIS_DRAWS
    seed = settings.seed if settings.seed is not None else run.get("seed")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with ProgressBar(total=int(draws), label="analysis", enabled=progress) as bar:
        analysis = analyse(scenario, draws=int(draws), seed=seed, progress=bar.update)
    timings["analysis_s"] = time.perf_counter() - started
    model = analysis.model
    recommendations = analysis.recommend(tail=settings.tail)
    detail = min(settings.detail_draws, analysis.draws)

    gradient = None
    if settings.gradient:
        started = time.perf_counter()
        with ProgressBar(
            total=detail * model.n_orgs, label="incentive gradient", enabled=progress
        ) as bar:
            gradient = incentive_gradient(
                model, analysis.seed, detail, baseline=analysis.baseline, progress=bar.update
            )
        timings["gradient_s"] = time.perf_counter() - started

    started = time.perf_counter()
    solved = dict.fromkeys([analysis.baseline, *(r.scheme for r in recommendations)])
    buffers = pd.concat(
        [
            control_total_buffer(model, analysis.seed, detail, scheme=name, target=settings.target)
            for name in solved
        ],
        ignore_index=True,
    )
    mitigation = pd.concat(
        [
            mitigation_needed(model, analysis.seed, detail, scheme=name, target=settings.target)
            for name in solved
        ],
        ignore_index=True,
    )
    linked_share = largest_system_linked_share(
        model, analysis.seed, detail, target=settings.target, loss_limit=settings.loss_limit
    )
    timings["solvers_s"] = time.perf_counter() - started
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
    )


# --- tables shared by the HTML page and the workbook ---------------------------------------


def report_tables(data: ReportData) -> dict[str, pd.DataFrame]:
    """The report's tables by sheet name, plain numbers (money £m, probabilities as fractions)."""
    a = data.analysis
    recs = pd.DataFrame(
        [
            {
                "system": r.system,
                "system_name": r.system_name,
                "recommended_scheme": r.scheme,
                "baseline": r.baseline,
                "expected_funding": r.expected_funding,
                "gain_vs_baseline": r.gain,
                "se_gain": r.se_gain,
                "options_nobody_worse_off": ", ".join(r.eligible),
                "reasons": " ".join(r.reasons),
            }
            for r in data.recommendations
        ]
    )
    provenance = pd.DataFrame(
        [
            (k, json.dumps(v) if isinstance(v, list | dict) else v)
            for k, v in _provenance(data).items()
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
        "attribution": a.attribution(),
        "contagion": a.contagion(),
        "buffers": data.buffers,
        "mitigation": data.mitigation,
        "linked_share": data.linked_share,
        "provenance": provenance,
    }
    if data.gradient is not None:
        tables["incentive_gradient"] = data.gradient
    return tables


def _provenance(data: ReportData) -> dict[str, Any]:
    s = data.settings
    return {
        **data.analysis.result.provenance,
        "source": data.source_note,
        "baseline": data.analysis.baseline,
        "detail_draws": data.detail_draws,
        "solver_target": s.target,
        "linked_share_loss_limit": s.loss_limit,
        "tail_constraint": s.tail,
        **{k: round(v, 2) for k, v in data.timings.items()},
    }


def write_workbook(data: ReportData, path: str | os.PathLike) -> Path:
    """The report's tables in an Excel workbook (one sheet each, header frozen)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        for name, frame in report_tables(data).items():
            frame.to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            sheet.freeze_panes = "A2"
            for col, title in zip(sheet.columns, frame.columns, strict=False):
                width = max([len(str(title))] + [len(f"{v}") for v in frame[title].head(200)])
                sheet.column_dimensions[col[0].column_letter].width = min(max(10, width + 2), 60)
    return out


# --- HTML --------------------------------------------------------------------------------

_CSS = """
:root { --ink:#1d1d1b; --muted:#5b5b5b; --line:#d5d9de; --accent:#005eb8; --soft:#eef4fa;
        --green:#d9f0dd; --amber:#fff0c2; --red:#f8d5d3; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink);
       max-width: 1080px; margin: 0 auto; padding: 28px 24px 60px; line-height: 1.45; font-size: 15px; }
h1 { color: var(--accent); font-size: 28px; margin: 0 0 6px; }
h2 { color: var(--accent); border-bottom: 2px solid var(--accent); padding-bottom: 4px; margin-top: 40px; }
h3 { margin: 18px 0 6px; }
p.lede { font-size: 17px; margin: 4px 0; }
p.meta, p.note, figcaption, .small { color: var(--muted); font-size: 13px; }
nav { background: var(--soft); padding: 10px 16px; border-radius: 6px; margin: 18px 0; }
nav ol { margin: 0; padding-left: 20px; columns: 2; }
nav a { color: var(--accent); text-decoration: none; }
.card { border-left: 6px solid var(--accent); background: var(--soft); padding: 12px 18px; margin: 14px 0;
        break-inside: avoid; }
.card h3 { margin-top: 4px; }
.card .big { font-size: 20px; font-weight: 600; margin: 4px 0 8px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums;
        margin: 8px 0 4px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: right; vertical-align: top; }
th { background: #f5f6f7; font-weight: 600; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
tr.group td { background: #f5f6f7; font-weight: 600; text-align: left; }
.tl-green { background: var(--green); }
.tl-amber { background: var(--amber); }
.tl-red { background: var(--red); }
.tl-label { font-size: 10px; color: var(--muted); margin-left: 3px; }
.worse { background: var(--red); }
.better { background: var(--green); }
.se { color: var(--muted); font-size: 11px; }
.flag { font-weight: 600; }
figure { margin: 14px 0; break-inside: avoid; }
svg.chart { width: 100%; height: auto; max-width: 860px; display: block; }
dl.prov { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: 13px; }
dl.prov dt { color: var(--muted); }
dl.prov dd { margin: 0; word-break: break-all; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  h2 { break-after: avoid; margin-top: 18pt; }
  h3 { break-after: avoid; }
  tr, figure, .card, dl.prov { break-inside: avoid; }
  table { font-size: 8pt; }
  a { color: inherit; text-decoration: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  svg.chart { max-width: 100%; }
}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _money(value: float, dp: int = 2, sign: bool = False) -> str:
    text = f"£{abs(value):,.{dp}f}m"
    return ("+" if value >= 0 else "-") + text if sign else text


def _pct(p: float, dp: int = 0) -> str:
    return "&ndash;" if p is None or not np.isfinite(p) else f"{100 * p:.{dp}f}%"


def _table(head: list[str], rows: list[Any], caption: str = "") -> str:
    """An HTML table; cells are HTML already (a cell may carry attributes as ``(attrs, html)``)."""
    out = ["<table>"]
    if caption:
        out.append(f"<caption class='small'>{caption}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>")
    for row in rows:
        if isinstance(row, str):
            out.append(row)
            continue
        cells = []
        for cell in row:
            if isinstance(cell, tuple):
                cells.append(f"<td {cell[0]}>{cell[1]}</td>")
            else:
                cells.append(f"<td>{cell}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _group_row(text: str, span: int) -> str:
    return f"<tr class='group'><td colspan='{span}'>{_e(text)}</td></tr>"


def _light(p: float) -> tuple[str, str]:
    if p < TRAFFIC_LIGHTS[0]:
        return "tl-green", "low"
    if p < TRAFFIC_LIGHTS[1]:
        return "tl-amber", "medium"
    return "tl-red", "high"


def _org_label(model: Any, i: int) -> str:
    return f"{_e(model.org_names[i])}<br><span class='se'>{_e(model.org_ids[i])}</span>"


def _section(anchor: str, body: str) -> str:
    title = dict(SECTIONS)[anchor]
    return f"<section id='{anchor}'><h2>{_e(title)}</h2>{body}</section>"


def _recommendation_html(data: ReportData) -> str:
    a = data.analysis
    parts = []
    if len(data.recommendations) > 1:
        rows = [
            [
                _e(r.system_name),
                f"<strong>{_e(r.scheme)}</strong>",
                f"{_money(r.gain, sign=True)} <span class='se'>± {_money(Z95 * r.se_gain)}</span>",
                ("class='text'", _e(", ".join(r.eligible))),
            ]
            for r in data.recommendations
        ]
        parts.append(
            _table(
                [
                    "System",
                    "Sign",
                    f"Expected funding vs {_e(a.baseline)}",
                    "<span class='text'>Options leaving nobody worse off</span>",
                ],
                rows,
            )
        )
    for r in data.recommendations:
        reasons = "".join(f"<li>{_e(x)}</li>" for x in r.reasons)
        headline = (
            f"{_money(r.gain, sign=True)} a year of expected funding against {_e(r.baseline)} "
            f"<span class='se'>(95% CI ± {_money(Z95 * r.se_gain)})</span>"
        )
        parts.append(
            f"<div class='card'><h3>{_e(r.system_name)}: sign <strong>{_e(r.scheme)}</strong></h3>"
            f"<p class='big'>{headline}</p><ul>{reasons}</ul>"
            f"<p class='small'>Options that leave no member worse off"
            f"{' (in expectation and in a 1-in-20 year)' if data.settings.tail else ' in expectation'}: "
            f"{_e(', '.join(r.eligible))}.</p></div>"
        )
    criterion = (
        "the most expected sustainability funding for the system, among the options under which "
        "no member expects less funding than going alone (organisation_only)"
    )
    if data.settings.tail:
        criterion += " and no member loses more in a 1-in-20 bad year"
    parts.append(
        f"<p class='note'>Rule: {criterion}. \"Worse off\" means lower by more than 1.96 paired "
        "standard errors on the same simulated years.</p>"
    )
    return "".join(parts)


def _funding_at_risk_html(data: ReportData) -> str:
    from sct_engine.charts import funding_at_risk_svg

    a = data.analysis
    nat = a.result.national
    names = list(a.scheme_names)
    title = "All organisations" if a.model.n_systems > 1 else a.model.system_names[0]
    svg = funding_at_risk_svg(
        names,
        nat["expected_funding_lost"].to_numpy(),
        nat["se_expected_funding_lost"].to_numpy(),
        nat["funding_lost_p95"].to_numpy(),
        float(a.model.funding.sum()),
        f"{title}: expected funding lost with 95% confidence bars",
        "far",
    )
    p_any = a.paired.national_any / a.draws
    rows = []
    for k, row in enumerate(nat.itertuples(index=False)):
        rows.append(
            [
                f"<strong>{_e(row.scheme)}</strong>",
                f"{_money(row.expected_funding_lost)} <span class='se'>± {_money(Z95 * row.se_expected_funding_lost)}</span>",
                _money(row.funding_lost_p95),
                _money(row.funding_lost_cvar95),
                _money(row.expected_funding),
                f"{_pct(float(p_any[k]), 1)} <span class='se'>± {_pct(Z95 * proportion_se(p_any[k] * a.draws, a.draws), 1)}</span>",
            ]
        )
    table = _table(
        [
            "Option",
            "Expected funding lost",
            "1-in-20-year loss (p95)",
            "Average of worst 5% (CVaR95)",
            "Expected funding received",
            "P(some organisation loses funding)",
        ],
        rows,
    )
    out = [
        f"<figure>{svg}<figcaption>Bars: expected sustainability funding lost a year, with 95% confidence "
        f"bars; diamonds: the loss in a 1-in-20 bad year. £{a.model.funding.sum():,.1f}m is at stake."
        "</figcaption></figure>",
        table,
    ]
    if a.model.n_systems > 1:
        sysf = a.result.systems
        head = ["System", *[_e(x) for x in names]]
        rows = []
        for sid, sname in zip(a.model.system_ids, a.model.system_names, strict=True):
            cells = [_e(sname)]
            sub = sysf[sysf["system"] == sid].set_index("scheme")
            for name in names:
                cells.append(
                    f"{_money(sub.loc[name, 'expected_funding_lost'])} "
                    f"<span class='se'>± {Z95 * sub.loc[name, 'se_expected_funding_lost']:.2f}</span>"
                )
            rows.append(cells)
        out.append("<h3>Expected funding lost per system</h3>" + _table(head, rows))
    return "".join(out)


def _organisations_html(data: ReportData) -> str:
    a = data.analysis
    m, n = a.model, a.draws
    orgs = a.result.organisations
    names = list(a.scheme_names)
    head = [
        "Organisation",
        "Funding at stake",
        "P(meets its control total)",
        *[f"{_e(x)}" for x in names],
    ]
    rows: list[Any] = []
    for s, sname in enumerate(m.system_names):
        if m.n_systems > 1:
            rows.append(_group_row(sname, len(head)))
        for i in range(m.system_start[s], m.system_start[s + 1]):
            sub = orgs[orgs["organisation"] == m.org_ids[i]].set_index("scheme")
            p_meet = float(sub["p_meet_control_total"].iloc[0])
            cells: list[Any] = [
                _org_label(m, i),
                _money(m.funding[i], 1),
                f"{_pct(p_meet)} <span class='se'>±{_pct(proportion_se(p_meet * n, n), 1)}</span>",
            ]
            for name in names:
                p = float(sub.loc[name, "p_any_funding_lost"])
                cls, label = _light(p)
                se = proportion_se(p * n, n)
                cells.append(
                    (
                        f"class='{cls}'",
                        f"{_pct(p)} <span class='se'>±{_pct(se, 1)}</span>"
                        f"<span class='tl-label'>{label}</span>",
                    )
                )
            rows.append(cells)
    legend = (
        f"Each option's cells: probability that the organisation loses some of its sustainability "
        f"funding in the year (± one standard error). Green below {_pct(TRAFFIC_LIGHTS[0])}, "
        f"amber below {_pct(TRAFFIC_LIGHTS[1])}, red above; the word repeats the colour for "
        "black-and-white printing."
    )
    return f"<p class='note'>{legend}</p>" + _table(head, rows)


def _loss_exceedance_html(data: ReportData) -> str:
    from sct_engine.charts import loss_exceedance_svg

    a = data.analysis
    figures = []
    for s in range(a.model.n_systems):
        svg = loss_exceedance_svg(a.result, s, f"lec{s}")
        figures.append(
            f"<figure>{svg}<figcaption>Probability that {_e(a.model.system_names[s])} loses more "
            "than the amount on the horizontal axis, by option. Lower and further left is "
            "safer.</figcaption></figure>"
        )
    return "".join(figures)


def _participation_html(data: ReportData) -> str:
    a = data.analysis
    m = a.model
    part = a.participation()
    names = [x for x in a.scheme_names if x != a.baseline]
    head = ["Organisation", f"Expected funding under {_e(a.baseline)}", *[_e(x) for x in names]]
    rows: list[Any] = []
    for s, sname in enumerate(m.system_names):
        if m.n_systems > 1:
            rows.append(_group_row(sname, len(head)))
        for i in range(m.system_start[s], m.system_start[s + 1]):
            sub = part[part["organisation"] == m.org_ids[i]].set_index("scheme")
            cells: list[Any] = [
                _org_label(m, i),
                _money(float(sub["baseline_expected_funding"].iloc[0])),
            ]
            for name in names:
                r = sub.loc[name]
                text = f"{r.diff_expected_funding:+.2f} <span class='se'>±{Z95 * r.se_diff_expected_funding:.2f}</span>"
                flags = []
                if r.worse_in_expectation:
                    flags.append("worse off")
                if r.worse_in_tail:
                    flags.append(f"tail +{r.funding_lost_p95 - r.baseline_funding_lost_p95:.1f}")
                if flags:
                    text += (
                        f"<br><span class='flag'>✗ would not sign ({_e(', '.join(flags))})</span>"
                    )
                cls = "worse" if flags else ("better" if r.better_in_expectation else "")
                cells.append((f"class='{cls}'", text))
            rows.append(cells)
    nobody = a.options_nobody_worse_off(tail=data.settings.tail)
    summary = "".join(
        f"<li><strong>{_e(m.system_names[s])}</strong>: {_e(', '.join(nobody[sid]) or 'none')}</li>"
        for s, sid in enumerate(m.system_ids)
    )
    return (
        f"<p class='note'>Change in each organisation's expected sustainability funding (£m a year) against "
        f"{_e(a.baseline)}, on the same simulated years, ± 95% paired confidence interval. Green: better off; "
        f"red: worse off in expectation or in a 1-in-20 bad year (its p95 loss higher by more than one "
        f"histogram bin), so it would not sign.</p>"
        + _table(head, rows)
        + f"<h3>Options that leave nobody worse off</h3><ul>{summary}</ul>"
    )


def _attribution_html(data: ReportData) -> str:
    from sct_engine.charts import attribution_svg

    a = data.analysis
    m = a.model
    attribution = a.attribution()
    contagion = a.contagion()
    recommended = {r.system: r.scheme for r in data.recommendations}
    out = []
    for s, (sid, sname) in enumerate(zip(m.system_ids, m.system_names, strict=True)):
        if m.n_systems > 1:
            out.append(f"<h3>{_e(sname)}</h3>")
        svg = attribution_svg(attribution, sid, sname, f"attr{s}")
        out.append(
            f"<figure>{svg}<figcaption>Euler (co-CVaR) allocation: each member's average loss in the "
            f"system's worst {_pct(1 - TAIL_LEVEL)} of years; the bar length is the system's "
            "CVaR95.</figcaption></figure>"
        )
        con = contagion[contagion["system"] == sid]
        top = con.sort_values("p_pivotal", ascending=False).iloc[0]
        i_top = m.org_ids.index(top.organisation)
        out.append(
            f"<p><strong>{_e(m.org_names[i_top])}</strong> is most often pivotal: in "
            f"{_pct(top.p_pivotal_given_system_miss)} of the years in which {_e(sname)} misses its system "
            f"control total, it would have met it had this member met its own control total.</p>"
        )
        base, rec = a.baseline, recommended[sid]
        att = attribution[attribution["system"] == sid]
        head = [
            "Member",
            "P(misses its control total)",
            "P(system misses | it misses)",
            "Lift",
            "P(pivotal)",
            f"Share of expected loss ({_e(rec)})",
            f"Share of worst-5% loss ({_e(rec)})",
            f"Share of worst-5% loss ({_e(base)})",
        ]
        rows = []
        for row in con.itertuples(index=False):
            i = m.org_ids.index(row.organisation)
            r_rec = att[(att["scheme"] == rec) & (att["organisation"] == row.organisation)].iloc[0]
            r_base = att[(att["scheme"] == base) & (att["organisation"] == row.organisation)].iloc[
                0
            ]
            rows.append(
                [
                    _org_label(m, i),
                    _pct(row.p_miss_control_total),
                    f"{_pct(row.p_system_miss_given_miss)} <span class='se'>±{_pct(row.se_p_system_miss_given_miss, 1)}</span>",
                    "&ndash;" if not np.isfinite(row.lift) else f"{row.lift:.2f}&times;",
                    f"{_pct(row.p_pivotal, 1)} <span class='se'>±{_pct(row.se_p_pivotal, 1)}</span>",
                    _pct(r_rec.share_of_expected_loss),
                    _pct(r_rec.share_of_cvar),
                    _pct(r_base.share_of_cvar),
                ]
            )
        out.append(_table(head, rows))
    out.append(
        "<p class='note'>Contagion uses the control total tests, the same under every option. Lift: how much "
        "likelier the system is to miss when this member misses. Pivotal: the system misses but would have "
        "met had this member reached its own control total (others unchanged). Shares of loss add up to "
        "100% of the system's loss.</p>"
    )
    return "".join(out)


def _incentives_html(data: ReportData) -> str:
    if data.gradient is None:
        return "<p class='note'>Not computed for this report (run without <code>--no-gradient</code>).</p>"
    a = data.analysis
    m = a.model
    g = data.gradient
    names = list(a.scheme_names)
    rec = {r.system: r.scheme for r in data.recommendations}
    head = ["Organisation", *[_e(x) for x in names], "System gain per £1m (recommended option)"]
    rows: list[Any] = []
    for s, sname in enumerate(m.system_names):
        if m.n_systems > 1:
            rows.append(_group_row(sname, len(head)))
        for i in range(m.system_start[s], m.system_start[s + 1]):
            sub = g[g["organisation"] == m.org_ids[i]].set_index("scheme")
            cells: list[Any] = [_org_label(m, i)]
            for name in names:
                r = sub.loc[name]
                arrow = {"weaker": " ↓ weaker", "stronger": " ↑ stronger"}.get(r.incentive, "")
                cls = {"weaker": "worse", "stronger": "better"}.get(r.incentive, "")
                cells.append(
                    (
                        f"class='{cls}'",
                        f"{r.own_gradient:.2f} <span class='se'>±{Z95 * r.se_own_gradient:.2f}</span>"
                        f"<span class='flag'>{arrow}</span>",
                    )
                )
            r = sub.loc[rec[m.system_ids[s]]]
            cells.append(
                f"{r.system_gradient:.2f} <span class='se'>±{Z95 * r.se_system_gradient:.2f}</span>"
            )
            rows.append(cells)
    return (
        "<p class='note'>£m of its own sustainability funding an organisation gains, in expectation, for each "
        "£1m better outturn (central difference of ±£0.5m on the same simulated years, ± 95% CI). "
        f"↓ weaker: the option blunts the member's own incentive against {_e(a.baseline)} (moral hazard); "
        "↑ stronger: it sharpens it. The last column is what the whole system gains.</p>"
        + _table(head, rows)
        + f"<p class='small'>{data.detail_draws:,} simulated years.</p>"
    )


def _solved_cell(value: float, se: float) -> Any:
    if value <= 0:
        return ("class='better'", "none")
    return f"{_money(value)} <span class='se'>± {Z95 * se:.2f}</span>"


def _solvers_html(data: ReportData) -> str:
    a = data.analysis
    m = a.model
    s = data.settings
    b, mit = data.buffers, data.mitigation
    solved = list(dict.fromkeys(b["scheme"]))
    head = ["Organisation"]
    for name in solved:
        head += [
            f"P(passes) as planned: {_e(name)}",
            f"Plan improvement needed: {_e(name)}",
            f"Mitigation needed: {_e(name)}",
        ]
    rows: list[Any] = []
    for sy, sname in enumerate(m.system_names):
        if m.n_systems > 1:
            rows.append(_group_row(sname, len(head)))
        for i in range(m.system_start[sy], m.system_start[sy + 1]):
            cells: list[Any] = [_org_label(m, i)]
            for name in solved:
                r = b[(b["scheme"] == name) & (b["organisation"] == m.org_ids[i])].iloc[0]
                q = mit[(mit["scheme"] == name) & (mit["organisation"] == m.org_ids[i])].iloc[0]
                cells += [
                    _pct(r.p_pass_at_plan),
                    _solved_cell(r.buffer, r.se_buffer),
                    _solved_cell(q.mitigation - q.current_mitigation, q.se_mitigation),
                ]
            rows.append(cells)
    share_rows = []
    for r in data.linked_share.itertuples(index=False):
        sname = m.system_names[m.system_ids.index(r.system)]
        if not r.feasible:
            answer = "not reachable, even with nothing linked"
        else:
            answer = (
                f"{_pct(r.largest_share)} <span class='se'>± {_pct(Z95 * r.se_share, 1)}</span>"
            )
        share_rows.append([_e(sname), answer, _pct(r.p_at_zero), _pct(r.p_at_one)])
    template = data.linked_share["scheme"].iloc[0]
    return (
        f"<h3>What each member needs to pass its finance test with probability {_pct(s.target)}</h3>"
        "<p class='note'>Each member on its own, the others as planned. Plan improvement (control-total "
        "buffer): how much better its own outturn must be planned. Mitigation: management actions held "
        "in reserve that recover a shortfall up to that amount (shown as the extra needed beyond any in "
        "the scenario). Passing means its own control total under organisation_only and the finance test "
        "after redistribution under a risk-sharing option. Bisection on the same simulated years; "
        "± 95% CI by the delta method.</p>"
        + _table(head, rows)
        + "<h3>Largest share of funding to link to the system</h3>"
        f"<p class='note'>With {_e(template)}'s rules (redistribution, system test) and only the linked share "
        f"varying: the largest system_linked_share that keeps the system's funding lost within "
        f"{_pct(s.loss_limit)} of its funding with probability at least {_pct(s.target)}.</p>"
        + _table(
            ["System", "Largest linked share", "P(target met) at 0%", "P(target met) at 100%"],
            share_rows,
        )
        + f"<p class='small'>{data.detail_draws:,} simulated years.</p>"
    )


def _model_notes(m: Any) -> str:
    notes = []
    if np.any(m.tail_probability > 0):
        notes.append(
            "Large adverse events: some organisations face, each year, a chance of a one-off loss "
            "(a share of turnover) on top of the ordinary variation."
        )
    if np.any(m.mitigation > 0):
        notes.append(
            "Mitigation: management actions recover a shortfall against the control total up to "
            "each organisation's stated amount."
        )
    if np.any(m.correlated) or not np.allclose(m.system_loading, np.sqrt(m.system_share)):
        notes.append(
            "Dependence inside systems is the scenario's own: signed loadings on the system factor "
            "and/or a full correlation matrix per system replace the system share for those members "
            "(a provider and its commissioner can move against each other on the contract line)."
        )
    if np.any(m.control_total_uplift != 0):
        notes.append(
            "Incentive uplifts are included in the control totals used for the tests; the "
            "incentive payments are not counted in the comparisons."
        )
    if m.bonus:
        notes.append(
            "The year-end bonus of unearned funding is paid but not counted in the comparisons, "
            "the participation test or the recommendation, which use PSF/CSF received."
        )
    return "".join(f"<li>{_e(n)}</li>" for n in notes)


def _assumptions_html(data: ReportData) -> str:
    a = data.analysis
    m = a.model
    dist = {
        0: "normal",
        1: f"Student-t ({m.dof:g} degrees of freedom, heavy tails)",
        2: f"skew-normal (shape {m.skew:g})",
    }[m.distribution]
    from sct_engine.schemes import REDISTRIBUTION_CODES, SYSTEM_TEST_CODES

    redis = {v: k for k, v in REDISTRIBUTION_CODES.items()}
    tests = {v: k for k, v in SYSTEM_TEST_CODES.items()}
    sa = m.schemes
    scheme_rows = [
        [
            f"<strong>{_e(name)}</strong>",
            _pct(sa.system_linked_share[k]),
            _e(redis[int(sa.redistribution[k])]),
            _e(tests[int(sa.system_test[k])]),
            "yes" if sa.ae_gateway[k] else "no",
        ]
        for k, name in enumerate(sa.names)
    ]
    prov = "".join(
        f"<dt>{_e(k)}</dt><dd>{_e(json.dumps(v) if isinstance(v, list | dict) else v)}</dd>"
        for k, v in _provenance(data).items()
    )
    return (
        "<ul>"
        f"<li>Year-end outturn of each organisation (before sustainability funding) varies around its plan: "
        f"{_pct(m.national_share)} of its variance from one national factor, {_pct(m.system_share)} from its "
        f"system's factor, the rest its own; shocks are {dist}.</li>"
        "<li>Funding splits into a finance element (paid on the control total tests) and, for providers with "
        "a type-1 A&amp;E, an A&amp;E element earned with probability p_ae behind the finance gateway; the "
        "rules are those of the 2018/19 scheme as documented in scheme-2018-19.md.</li>"
        "<li>Every option is applied to the same simulated years (common random numbers), so differences "
        "between options are paired; ± figures are 95% confidence intervals (1.96 standard errors) unless "
        "marked as one standard error.</li>"
        "<li>1-in-20-year losses (p95) come from 1,000-bin histograms and are at most one bin (funding at "
        "stake / 1,000) above the exact value; CVaR95 is the average of the worst 5% of years.</li>"
        + _model_notes(m)
        + "<li>All figures are illustrative unless the scenario holds real plans and control totals.</li>"
        "</ul>"
        + _table(
            ["Option", "Linked to system", "Redistribution", "System test", "A&amp;E gateway"],
            scheme_rows,
        )
        + f"<h3>Provenance</h3><dl class='prov'>{prov}</dl>"
    )


def render_html(data: ReportData) -> str:
    """The whole report as one HTML document (inline CSS and SVG, no scripts, no external assets)."""
    a = data.analysis
    m = a.model
    p = a.result.provenance
    name = p.get("scenario_name") or "Scenario"
    bodies = {
        "recommendation": _recommendation_html,
        "funding-at-risk": _funding_at_risk_html,
        "organisations": _organisations_html,
        "loss-exceedance": _loss_exceedance_html,
        "participation": _participation_html,
        "attribution": _attribution_html,
        "incentives": _incentives_html,
        "solvers": _solvers_html,
        "assumptions": _assumptions_html,
    }
    toc = "".join(f"<li><a href='#{anchor}'>{_e(title)}</a></li>" for anchor, title in SECTIONS)
    sections = "".join(_section(anchor, bodies[anchor](data)) for anchor, _ in SECTIONS)
    return (
        "<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(name)}: which option to sign</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(name)}</h1>"
        "<p class='lede'>Which 2018/19 system control total option to sign: sustainability funding (PSF/CSF) "
        "at risk, who is better or worse off inside the scheme, and who puts the system at risk.</p>"
        f"<p class='meta'>{a.draws:,} simulated years · seed {a.seed} · {m.n_orgs} organisations in "
        f"{m.n_systems} system{'s' if m.n_systems > 1 else ''} · £{m.funding.sum():,.1f}m at stake · "
        f"sct_engine {_e(p.get('package_version', ''))} · {_e(p.get('created_utc', ''))}</p></header>"
        f"<nav aria-label='Contents'><ol>{toc}</ol></nav>"
        f"{sections}"
        "<footer>Produced by sct_engine. Money in £ millions a year; surplus positive. Probabilities from "
        "Monte Carlo simulation: see Assumptions and provenance.</footer>"
        "</body></html>"
    )


def write_html(data: ReportData, path: str | os.PathLike) -> Path:
    """Render and write the report, creating the folder if needed."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(data), encoding="utf-8")
    return out


# --- command line ----------------------------------------------------------------------------


def _comparison_text(analysis: Analysis, names: list[str] | None, level: str) -> str:
    fmt = {"float_format": lambda v: f"{v:,.3f}"}
    p = analysis.result.provenance
    lines = [
        f"{p.get('scenario_name', '')}: {analysis.draws:,} draws, seed {analysis.seed}; differences from "
        f"{analysis.baseline} on the same draws, ± 95% paired confidence interval. Money in £m a year, "
        "probabilities in percentage points.",
        "",
        *[f"- {line}" for line in analysis.headlines(names)],
    ]
    if level in ("national", "all"):
        nat = analysis.comparison("national", names)
        view = pd.DataFrame(
            {
                "scheme": nat["scheme"],
                "diff_expected_funding": nat["diff_expected_funding"],
                "ci95": nat["ci95_expected_funding"],
                "diff_p_any_org_loses_pts": 100 * nat["diff_p_any_organisation_loses_funding"],
                "ci95_pts": 100 * nat["ci95_p_any_organisation_loses_funding"],
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
                "diff_p_any_member_loses_pts": 100 * sysf["diff_p_any_member_loses_funding"],
                "ci95_pts": 100 * sysf["ci95_p_any_member_loses_funding"],
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


def _cmd_compare(args: argparse.Namespace) -> int:
    from sct_engine.progress import ProgressBar

    try:
        scenario, run = resolve_source(args.scenario)
        names = [x.strip() for x in args.schemes.split(",") if x.strip()] if args.schemes else None
        if names is not None and len(names) < 2:
            raise ValueError("--schemes needs at least two options, the first being the baseline")
        draws = args.draws or run.get("draws") or DEFAULT_ANALYSIS_DRAWS
        seed = args.seed if args.seed is not None else run.get("seed")
        with ProgressBar(total=int(draws), label="compare") as bar:
            analysis = analyse(
                scenario,
                draws=int(draws),
                seed=seed,
                baseline=names[0] if names else None,
                progress=bar.update,
            )
        text = _comparison_text(analysis, names, args.level)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for level in ("organisations", "systems", "national"):
            analysis.comparison(level, names).to_csv(out / f"comparison_{level}.csv", index=False)
        print(f"\nComparison tables written to {out}/")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    settings = ReportSettings(
        draws=args.draws,
        seed=args.seed,
        detail_draws=args.detail_draws,
        target=args.target,
        loss_limit=args.loss_limit,
        tail=args.tail,
        gradient=not args.no_gradient,
    )
    source = Path(args.source)
    out = (
        Path(args.out)
        if args.out
        else (
            source / "report.html" if source.is_dir() else Path("out") / source.stem / "report.html"
        )
    )
    try:
        data = prepare_report(source, settings)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_html(data, out)
    if args.xlsx:
        write_workbook(data, args.xlsx)
    if not args.quiet:
        for r in data.recommendations:
            print(
                f"{r.system_name}: sign {r.scheme} ({_money(r.gain, sign=True)} a year of expected funding "
                f"against {r.baseline}, ± {_money(Z95 * r.se_gain)})"
            )
        print(f"Report written to {out}" + (f"; tables to {args.xlsx}" if args.xlsx else ""))
    return 0


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1, got {value}")
    return value


def register_cli(subparsers: Any) -> None:
    """Add ``compare`` and ``report`` to the ``sct`` command."""
    from sct_engine.cli import non_negative_int, positive_int

    compare = subparsers.add_parser(
        "compare",
        help="paired differences between options on the same draws, with confidence intervals",
    )
    compare.add_argument(
        "scenario", help="scenario YAML file, or a result folder written by `sct run`"
    )
    compare.add_argument(
        "--schemes",
        help="comma-separated options; the first is the baseline "
        "(default: every option against organisation_only)",
    )
    compare.add_argument(
        "--draws",
        type=positive_int,
        help=f"draws (default {DEFAULT_ANALYSIS_DRAWS:,}, or the run's)",
    )
    compare.add_argument(
        "--seed", type=non_negative_int, help="random seed (default: the scenario's)"
    )
    compare.add_argument(
        "--level", choices=["organisations", "systems", "national", "all"], default="all"
    )
    compare.add_argument("--out", help="also write comparison_*.csv to this folder")
    compare.set_defaults(func=_cmd_compare)

    report = subparsers.add_parser(
        "report", help="write a self-contained HTML report for the board"
    )
    report.add_argument(
        "source", help="scenario YAML file, or a result folder written by `sct run`"
    )
    report.add_argument(
        "--out", help="HTML file (default: out/<scenario>/report.html, or inside the result folder)"
    )
    report.add_argument("--xlsx", help="also write the tables to this Excel workbook")
    report.add_argument(
        "--draws",
        type=positive_int,
        help=f"draws of the main analysis (default {DEFAULT_ANALYSIS_DRAWS:,}, or the run's)",
    )
    report.add_argument(
        "--seed", type=non_negative_int, help="random seed (default: the scenario's or run's)"
    )
    report.add_argument(
        "--detail-draws",
        type=positive_int,
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
    report.add_argument(
        "--tail",
        action="store_true",
        help="recommend only options leaving nobody worse off in a 1-in-20 year too",
    )
    report.add_argument(
        "--no-gradient", action="store_true", help="skip the (slow) incentive gradient"
    )
    report.add_argument("--quiet", action="store_true", help="print nothing but errors")
    report.set_defaults(func=_cmd_report)
