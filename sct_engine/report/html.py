"""The board report as one self-contained HTML page (inline CSS and SVG, no scripts) that prints well."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sct_engine.analysis.decision import HEAVY_LOSS_SHARE, TAIL_LEVEL
from sct_engine.analysis.paired import Z95
from sct_engine.analysis.rule import LOWER, UNRESOLVED, WORSE
from sct_engine.engine.model import Model
from sct_engine.engine.stats import SYSTEM_LOSS_ABS, SYSTEM_LOSS_SHARE, proportion_se
from sct_engine.report.data import ReportData, provenance_fields, scenario_changes
from sct_engine.report.html_parts import STYLESHEET as _CSS
from sct_engine.report.html_parts import escape as _e
from sct_engine.report.html_parts import money, plus_minus
from sct_engine.report.html_parts import option_header as _opt
from sct_engine.report.html_parts import percent as _pct
from sct_engine.report.html_parts import table as _table

#: Traffic lights on the probability that a member loses more than 10% of its allocation in a
#: year: green below the first bound, amber below the second, red above.
TRAFFIC_LIGHTS = (0.2, 0.4)

SECTIONS = (
    ("summary", "Summary for the board"),
    ("inputs", "Inputs and assumptions"),
    ("recommendation", "Recommendation"),
    ("agreement", "Local risk-share agreement: a table the members can sign"),
    ("decision-rule", "How the recommendation is made"),
    ("sensitivity", "Sensitivity: does the recommendation survive other assumptions?"),
    ("funding-at-risk", "Funding at risk by option"),
    ("member-funding", "Each member's expected funding by option"),
    ("cash-timing", "Quarterly cash timing: funding received by quarter"),
    ("organisations", "Organisations: chance of a heavy loss"),
    ("elements", "Finance and A&E elements"),
    ("loss-exceedance", "Loss exceedance curves"),
    ("participation", "Participation: better or worse off than going alone"),
    ("attribution", "Attribution and contagion: who puts the system at risk"),
    ("incentives", "Incentives: does the option blunt each member's own incentive?"),
    ("solvers", "What it would take"),
    ("assumptions", "Method, glossary and provenance"),
)


def _group_row(text: str, span: int) -> str:
    return f"<tr class='group'><td colspan='{span}'>{_e(text)}</td></tr>"


def _light(p: float) -> tuple[str, str]:
    if p < TRAFFIC_LIGHTS[0]:
        return "tl-green", "low"
    if p < TRAFFIC_LIGHTS[1]:
        return "tl-amber", "medium"
    return "tl-red", "high"


def _org_label(model: Any, i: int) -> str:
    kind = model.org_types[i].replace("_", " ") if i < len(model.org_types) else ""
    detail = f"{model.org_ids[i]} · {kind}" if kind else model.org_ids[i]
    return f"{_e(model.org_names[i])}<br><span class='se'>{_e(detail)}</span>"


def _scenario_notes_html(data: ReportData) -> str:
    """What-if changes and plausibility warnings, stated before anything else."""
    changes = scenario_changes(data)
    warnings = data.analysis.result.provenance.get("scenario_warnings") or []
    out = ""
    if changes:
        items = "".join(f"<li><code>{_e(line)}</code></li>" for line in changes)
        out += (
            "<div class='card changes'><h3>Changed from the scenario file</h3>"
            f"<ul>{items}</ul><p class='small'>Every figure below is for the scenario with "
            "these changes.</p></div>"
        )
    if warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in warnings)
        out += (
            "<div class='card warnings'><h3>Warnings about the scenario's figures</h3>"
            f"<ul>{items}</ul></div>"
        )
    return out


def _section(anchor: str, body: str) -> str:
    title = dict(SECTIONS)[anchor]
    return f"<section id='{anchor}'><h2>{_e(title)}</h2>{body}</section>"


def _setting_value(value: Any, unit: str) -> str:
    """A setting of the inputs tables as a board reads it: 30%, yes, 100,000, £2 per £1."""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if unit == "%" and isinstance(value, int | float | np.number):
        return _pct(float(value), 1 if float(value) * 100 % 1 else 0)
    if isinstance(value, int | np.integer):
        return f"{int(value):,}" if unit else str(int(value))
    if isinstance(value, float | np.floating):
        text = f"{float(value):g}"
        return f"£{text} per £1" if unit == "£ per £1" else text
    return _e(str(value).replace("_", " ") if unit == "" and value in _WORDY else value)


#: Settings whose values are words of the scenario format, shown with spaces.
_WORDY = {"finance_earned", "student_t", "skew_normal"}


def _settings_table(frame: Any, caption: str) -> str:
    rows = [
        [("class='text'", _e(r.setting)), ("class='text'", _setting_value(r.value, r.unit))]
        for r in frame.itertuples(index=False)
        if r.value not in ("", None)
    ]
    return f"<div><h3>{_e(caption)}</h3>" + _table(["Setting", "Value"], rows) + "</div>"


def _member_label(row: Any) -> str:
    what = row.provider_type.replace("_", " ") if row.provider_type else row.kind
    return (
        f"{_e(row.organisation_name)}<br><span class='se'>{_e(row.organisation)} · "
        f"{_e(what)}</span>"
    )


def _inputs_html(data: ReportData) -> str:
    return inputs_section(
        data.analysis.model,
        provenance_fields(data),
        data.analysis.baseline,
        {x for r in data.recommendations for x in r.national_rule_changes},
    )


def inputs_section(
    m: Model, provenance: Mapping[str, Any], baseline: str, national: set[str]
) -> str:
    """What was simulated, before any result: the systems, every member's figures, any change
    from the file, the run, the uncertainty and national rules, and the options (the tables of
    :func:`~sct_engine.report.inputs.input_tables`, which the workbook's Inputs sheet shows
    too). ``national``: the options that change a national rule."""
    from sct_engine.report.inputs import CHANGES, input_tables

    tables = input_tables(m, provenance)
    orgs = tables["Organisations"]
    out = [
        "<p class='note'>The figures simulated, as the scenario gives them (after any change "
        "stated above). Money in £m a year; plans and control totals are surpluses (+) or "
        "deficits (&minus;) before sustainability funding. The uncertainty is the standard "
        "deviation of year-end outturn around plan.</p>",
    ]
    sys_rows = []
    for r in tables["Systems"].itertuples(index=False):
        members = orgs[orgs["system"] == r.system]
        plans = float(members["plan"].sum())
        sys_rows.append(
            [
                ("class='text'", _e(r.system_name)),
                f"{int(r.members)}",
                money(plans, 1, sign=True),
                money(r.system_control_total, 1, sign=True),
                money(plans - r.system_control_total, 1, sign=True),
                money(r.sustainability_funding, 1),
            ]
        )
    out.append(
        "<h3>Systems</h3>"
        + _table(
            [
                "System",
                "Members",
                "Plans summed",
                "System control total",
                "Plans less control total",
                "Funding at stake",
            ],
            sys_rows,
        )
    )
    if not tables[CHANGES].empty:
        rows = [
            [
                _e(r.change),
                ("class='text'", f"<code>{_opt(r.field)}</code>"),
                _e(r.value),
                _e(r.was) or "&ndash;",
            ]
            for r in tables[CHANGES].itertuples(index=False)
        ]
        out.append(
            f"<h3>{_e(CHANGES)}</h3>" + _table(["Change", "Field", "Value", "In the file"], rows)
        )
    out.append("<h3>Members</h3>" + _members_inputs_table(orgs, m.n_systems > 1, tables))
    out += [
        "<div class='cols2'>",
        _settings_table(tables["Run"], "The run"),
        _settings_table(tables["Uncertainty and regime"], "Uncertainty and national rules"),
        "</div>",
    ]
    opt_rows = [
        [
            ("class='text'", f"<strong>{_e(r.scheme)}</strong>"),
            _pct(r.system_linked_share),
            ("class='text'", _e(r.redistribution)),
            _pct(r.share_cap) if r.redistribution == "capped" else "&ndash;",
            ("class='text'", _e(r.system_test.replace("_", " "))),
            ("yes" if r.ae_gateway else "no")
            + (" (changes a national rule)" if r.scheme in national else ""),
        ]
        for r in tables["Options compared"].itertuples(index=False)
    ]
    out.append(
        "<h3>Options compared</h3>"
        + _table(
            [
                "Option",
                "Funding linked to the system",
                "Redistribution",
                "Cap on headroom given",
                "System test",
                "A&amp;E behind the national gateway",
            ],
            opt_rows,
        )
        + f"<p class='small'>Every option is compared with {_e(baseline)} on the "
        "same simulated years.</p>"
    )
    warnings = tables["Warnings"]
    count = (
        f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}"
        if len(warnings)
        else "No warnings"
    )
    out.append(
        f"<p class='small'>{count} about the scenario's figures"
        + (" (stated at the top)." if len(warnings) else ".")
        + "</p>"
    )
    return "".join(out)


def _members_inputs_table(orgs: Any, grouped: bool, tables: dict[str, Any]) -> str:
    """Every member's figures: plan, control total, funding at stake, uncertainty, and the
    optional inputs (uplift, management actions, A&E, large adverse events) where any member
    has them."""
    uplift = bool((orgs["control_total_uplift"] != 0).any())
    mitigation = bool((orgs["mitigation"] > 0).any())
    ae = bool((orgs["ae_share"] > 0).any())
    tail = bool((orgs["tail_probability"] > 0).any())
    head = ["Member", "Plan", "Control total"]
    head += ["Uplift"] if uplift else []
    head += ["Plan less control total", "At stake", "Turnover", "SD £m", "SD % of turnover"]
    head += ["Actions"] if mitigation else []
    head += ["A&amp;E share · P(earned)"] if ae else []
    head += ["Large event: P(a year) · median % of turnover"] if tail else []
    names = dict(zip(tables["Systems"]["system"], tables["Systems"]["system_name"], strict=True))
    rows: list[Any] = []
    current = None
    for r in orgs.itertuples(index=False):
        if grouped and r.system != current:
            current = r.system
            rows.append(_group_row(names[r.system], len(head)))
        judged = r.control_total + r.control_total_uplift
        cells: list[Any] = [
            _member_label(r),
            money(r.plan, 1, sign=True),
            money(r.control_total, 1, sign=True),
        ]
        if uplift:
            cells.append(money(r.control_total_uplift, 1) if r.control_total_uplift else "&ndash;")
        cells += [
            money(r.plan - judged, 1, sign=True),
            money(r.sustainability_funding, 1),
            money(r.turnover, 0) if np.isfinite(r.turnover) else "&ndash;",
            money(r.sd, 2),
            f"{r.sd_pct:.2f}%" if np.isfinite(r.sd_pct) else "&ndash;",
        ]
        if mitigation:
            cells.append(money(r.mitigation, 1) if r.mitigation > 0 else "&ndash;")
        if ae:
            cells.append(f"{_pct(r.ae_share)} · {_pct(r.p_ae)}" if r.ae_share > 0 else "&ndash;")
        if tail:
            cells.append(
                f"{_pct(r.tail_probability)} · {r.tail_median_pct:.1f}%"
                if r.tail_probability > 0
                else "&ndash;"
            )
        rows.append([cells[0], *[("class='num'", c) for c in cells[1:]]])
    note = (
        "Plan less control total: the member's planned headroom against the control total it is "
        "judged on"
        + (" (with its uplift)" if uplift else "")
        + "; negative means it plans to miss. SD: the standard deviation of its year-end "
        "outturn around plan."
        + (
            " Actions: management actions that recover a shortfall up to that amount."
            if mitigation
            else ""
        )
        + (
            " Large event: the chance a year of a one-off loss, and its median size."
            if tail
            else ""
        )
    )
    return _table(head, rows) + f"<p class='small'>{note}</p>"


def _member_funding_html(data: ReportData) -> str:
    """One chart per member: expected funding (and income) under each option, 95% bars."""
    from sct_engine.report.charts import member_funding_svg
    from sct_engine.report.system_detail import member_funding_table_html, system_charts

    if not system_charts(data):  # many systems: a table, the charts only with --system-detail
        return member_funding_table_html(data)
    a = data.analysis
    m = a.model
    part = a.participation()
    names = list(a.scheme_names)
    with_income = a.level_word == "income"
    recommended = {r.system: r.scheme for r in data.recommendations}
    out = []
    for s, (sid, sname) in enumerate(zip(m.system_ids, m.system_names, strict=True)):
        if m.n_systems > 1:
            out.append(f"<h3>{_e(sname)}</h3>")
        figures = []
        for i in range(m.system_start[s], m.system_start[s + 1]):
            rows = part[part["organisation"] == m.org_ids[i]].set_index("scheme").loc[names]
            funding = rows["expected_funding"].to_numpy()
            income = rows["expected_income"].to_numpy()
            shown = with_income and not np.allclose(income, funding, rtol=0.0, atol=1e-9)
            svg = member_funding_svg(
                names,
                funding,
                Z95 * rows["se_diff_expected_funding"].to_numpy(),
                float(m.funding[i]),
                m.org_names[i],
                f"mf{i}",
                income=income if shown else None,
                income_ci=Z95 * rows["se_diff_expected_income"].to_numpy() if shown else None,
                recommended=names.index(recommended[sid]),
            )
            figures.append(
                f"<figure class='member' id='member-{_e(m.org_ids[i])}'>{svg}"
                f"<figcaption>{_e(m.org_ids[i])} · £{m.funding[i]:,.1f}m at stake"
                + ("" if m.funding[i] > 0 else ": no funding at stake")
                + "</figcaption>"
                "</figure>"
            )
        out.append(f"<div class='members'>{''.join(figures)}</div>")
    income_words = (
        " Hatched bars, for members whose income differs from their funding: expected income, "
        "the funding plus " + " and ".join(a.income_parts) + "."
        if with_income
        else ""
    )
    return (
        "<p class='note'>Expected PSF/CSF received a year by each member under each option "
        f"(solid bars).{income_words} The confidence bars are the 95% paired confidence "
        f"interval of the difference from {_e(a.baseline)}, on the same simulated years, which "
        f"is what decides the comparison ({_e(a.baseline)} has none). The dashed line is the "
        "member's funding at stake; the recommended option is in bold.</p>" + "".join(out)
    )


def _cash_timing_html(data: ReportData) -> str:
    """One chart per member: expected funding received by the end of each quarter, by option."""
    from sct_engine.report.charts import cash_timing_svg
    from sct_engine.report.system_detail import cash_timing_table_html, system_charts

    a = data.analysis
    m = a.model
    orgs = a.result.organisations
    names = list(a.scheme_names)
    columns = [f"expected_funding_q{q}" for q in range(1, 5)]
    if not all(c in orgs.columns for c in columns):
        return "<p class='note'>This run keeps no quarterly payments.</p>"
    if not system_charts(data):  # many systems: a table, the charts only with --system-detail
        return cash_timing_table_html(data)
    recommended = {r.system: r.scheme for r in data.recommendations}
    out = []
    for s, (sid, sname) in enumerate(zip(m.system_ids, m.system_names, strict=True)):
        if m.n_systems > 1:
            out.append(f"<h3>{_e(sname)}</h3>")
        figures = []
        for i in range(m.system_start[s], m.system_start[s + 1]):
            if m.funding[i] <= 0:
                continue
            rows = orgs[orgs["organisation"] == m.org_ids[i]].set_index("scheme").loc[names]
            svg = cash_timing_svg(
                names,
                rows[columns].to_numpy(),
                float(m.funding[i]),
                m.org_names[i],
                f"cash{i}",
                recommended=names.index(recommended[sid]),
            )
            figures.append(
                f"<figure class='member cash'>{svg}<figcaption>{_e(m.org_ids[i])} · "
                f"£{m.funding[i]:,.1f}m at stake</figcaption></figure>"
            )
        out.append(f"<div class='members'>{''.join(figures)}</div>")
    timing = (
        "PSF is paid on the year-to-date tests of each quarter (15/20/30/35%), with finance "
        "money missed in a quarter recovered at year end (Q4) where the regime allows it; CSF "
        "on each quarter's own test."
        if m.quarterly
        else "This run tests the year end only, so all funding is received in Q4."
    )
    return (
        "<p class='note'>Expected funding (PSF/CSF) each member has received by the end of "
        f"each quarter, by option: when the cash arrives, not only how much. {timing} The "
        "dashed line is the funding at stake; the recommended option's line is thicker. "
        "Members with no funding at stake are left out.</p>" + "".join(out)
    )


#: The In-year section, after the recommendation, in a report whose scenario has actuals.
IN_YEAR = ("in-year", "In year: what is still at risk under the option signed")


def _in_year_html(data: ReportData) -> str:
    """The in-year re-forecast (analysis/inyear.py): per member and system, the chance of
    passing each remaining quarter's test, funding paid and still to come, what it takes."""
    r = data.in_year
    if r is None:
        return ""
    k = r.closed_quarters
    quarters = [f"Q{q + 1}" for q in range(k, 4)]
    head = ["Member", "Year to date (£m)", "Paid so far (£m)"]
    head += [f"P(pass {q})" for q in quarters]
    head += ["Funding still to come (£m)", "95% CI"]
    rows = []
    for m in r.members.itertuples(index=False):
        d = m._asdict()
        rows.append(
            [
                _e(d["organisation"]),
                f"{d['ytd_outturn']:,.2f}",
                f"{d['funding_paid_so_far']:,.2f}",
                *(_pct(d[f"p_own_test_q{q + 1}"], 1) for q in range(k, 4)),
                f"{d['expected_funding_to_come']:,.2f}",
                f"{d['funding_to_come_ci_low']:,.2f} to {d['funding_to_come_ci_high']:,.2f}",
            ]
        )
    for sy in r.systems.itertuples(index=False):
        d = sy._asdict()
        rows.append(
            [
                f"<strong>System {_e(d['system'])}</strong>",
                f"{d['ytd_outturn']:,.2f}",
                f"{d['funding_paid_so_far']:,.2f}",
                *(_pct(d[f"p_system_test_q{q + 1}"], 1) for q in range(k, 4)),
                f"{d['expected_funding_to_come']:,.2f}",
                f"{d['funding_to_come_ci_low']:,.2f} to {d['funding_to_come_ci_high']:,.2f}",
            ]
        )
    out = (
        f"<p>The year to date is known to the end of Q{k}. Under <strong>{_e(r.option)}</strong>, "
        "the option signed, this is the chance that each member passes each remaining quarter's "
        "year-to-date finance test (after redistribution; for the system, the option's system "
        "test), and the funding (PSF/CSF) paid so far and still to come. Q4 is the year-end "
        "pass, on which PSF finance money missed earlier is recovered. "
        f"{r.draws:,} simulated rests of the year; the interval is the 95% confidence interval "
        "of the expectation.</p>" + _table(head, rows)
    )
    takes = r.what_it_takes
    if not takes.empty:
        target = float(takes["target"].iloc[0])
        needs = [
            [
                _e(t["organisation"]),
                _pct(t["p_year_end_pass_now"], 1),
                f"{t['improvement_needed']:,.2f} ± {Z95 * t['se_improvement_needed']:,.2f}",
                f"{t['mitigation_needed']:,.2f} ± {Z95 * t['se_mitigation_needed']:,.2f} "
                f"(has {t['current_mitigation']:,.2f})",
            ]
            for t in (row._asdict() for row in takes.itertuples(index=False))
        ]
        out += (
            f"<h3>What it takes: a year-end pass with a chance of {target:.0%}</h3>"
            "<p>Each member alone, the others as forecast: the improvement over the remaining "
            "quarters (£m of year-to-date surplus by year end), or instead the management "
            "actions held for the year end (£m in total, against what it has now); each with "
            "its 95% interval.</p>"
            + _table(
                [
                    "Member",
                    "P(year-end pass) now",
                    "Improvement needed (£m)",
                    "Or management actions (£m)",
                ],
                needs,
            )
        )
    out += (
        "<p class='note'>Caveats: the figures are conditional on the year to date in the "
        "scenario's <code>actuals</code> and on the model's independent quarterly increments "
        "(docs/in-year.md). Every other section of this report is conditioned on the same year "
        "to date. In the closed quarters the A&amp;E element is taken as earned where it was "
        "paid.</p>"
    )
    return out


def _recommendation_html(data: ReportData) -> str:
    a = data.analysis
    money_word = a.gain_word
    parts = []
    if len(data.recommendations) > 1:
        rows = [
            [
                _e(r.system_name),
                f"{'stay with' if r.stays else 'sign'} <strong>{_e(r.scheme)}</strong>",
                "&ndash;"
                if r.stays
                else f"{money(r.gain, sign=True)} <span class='se'>{plus_minus(Z95 * r.se_gain)}</span>",
                ("class='text'", _e(", ".join(r.eligible))),
                ("class='text'", _e(", ".join(r.too_close)) or "&ndash;"),
            ]
            for r in data.recommendations
        ]
        parts.append(
            _table(
                [
                    "System",
                    "Recommendation",
                    f"Expected {money_word} vs {_e(a.baseline)}",
                    "<span class='text'>Options the rule allows</span>",
                    "<span class='text'>Too close to call</span>",
                ],
                rows,
            )
        )
    for r in data.recommendations:
        reasons = "".join(f"<li>{_e(x)}</li>" for x in r.reasons)
        headline = (
            f"Stay with {_e(r.baseline)}: no option the rule allows gives more expected {money_word}"
            if r.stays
            else f"{money(r.gain, sign=True)} a year of expected {money_word} against "
            f"{_e(r.baseline)} <span class='se'>(95% CI {plus_minus(Z95 * r.se_gain)})</span>"
        )
        if r.near_tie:
            headline += (
                f"<br><span class='se'>A near tie: {_e(r.runner_up)} is {money(r.margin)} "
                f"({plus_minus(Z95 * r.se_margin)}) a year behind.</span>"
            )
        notes = [f"Options the rule allows: {_e(', '.join(r.eligible))}."]
        if r.too_close:
            notes.append(
                f"Too close to call (not recommended, never read as nobody worse off): "
                f"{_e(', '.join(r.too_close))}."
            )
        if r.national_rule_changes:
            notes.append(
                f"Shown but never recommended, because they change national rules: "
                f"{_e(', '.join(r.national_rule_changes))}."
            )
        parts.append(
            f"<div class='card'><h3>{_e(r.system_name)}: {'stay with' if r.stays else 'sign'} "
            f"<strong>{_e(r.scheme)}</strong></h3>"
            f"<p class='big'>{headline}</p><ul>{reasons}</ul>"
            + "".join(f"<p class='small'>{n}</p>" for n in notes)
            + "</div>"
        )
    return "".join(parts)


def _decision_rule_html(data: ReportData) -> str:
    a = data.analysis
    extension = a.result.provenance.get("decision_extension_draws", 0)
    settled = (
        f"Comparisons left unresolved by the {a.draws:,} draws of the run were given "
        f"{extension:,} more draws (the same simulated years the run would have gone on to)."
        if extension
        else f"Every comparison was settled on the {a.draws:,} draws of the run."
    )
    headlines = "".join(f"<li>{_e(x)}</li>" for x in a.headlines())
    return (
        f"<p>{_e(a.rule_text())}</p>"
        f"<p class='note'>{_e(settled)} The participation section below shows every member's "
        "verdict under every option; the recommendation is read from the same verdicts, so the "
        "two cannot disagree.</p>"
        f"<h3>Each option against {_e(a.baseline)}</h3><ul>{headlines}</ul>"
    )


def _sensitivity_html(data: ReportData) -> str:
    from sct_engine.report.sensitivity_html import sensitivity_section

    return sensitivity_section(data)


def _funding_at_risk_html(data: ReportData) -> str:
    from sct_engine.report.charts import funding_at_risk_svg

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
    hist = a.result.stats.national_hist
    first = round(SYSTEM_LOSS_SHARE * (hist.shape[-1] - 1)) + 1
    p_heavy = hist[:, first:].sum(axis=-1) / a.draws
    rows = []
    for k, row in enumerate(nat.itertuples(index=False)):
        rows.append(
            [
                f"<strong>{_e(row.scheme)}</strong>",
                f"{money(row.expected_funding_lost)} <span class='se'>{plus_minus(Z95 * row.se_expected_funding_lost)}</span>",
                money(row.funding_lost_p95),
                money(row.funding_lost_cvar95),
                money(row.expected_funding),
                f"{_pct(float(p_heavy[k]), 1)} <span class='se'>± {_pct(Z95 * proportion_se(p_heavy[k] * a.draws, a.draws), 1)}</span>",
            ]
        )
    table = _table(
        [
            "Option",
            "Expected funding lost",
            "1-in-20-year loss (p95)",
            "Average of worst 5% (CVaR95)",
            "Expected funding received",
            f"P(more than {SYSTEM_LOSS_SHARE:.0%} of the funding at stake lost)",
        ],
        rows,
    )
    out = [
        f"<figure>{svg}<figcaption>Bars: expected sustainability funding lost a year, with 95% confidence "
        f"bars; diamonds: the loss in a 1-in-20 bad year. £{a.model.funding.sum():,.1f}m is at stake."
        "</figcaption></figure>",
        table,
    ]
    sysf = a.result.systems
    over = a.system_loss_over()
    head = ["System", *[_opt(x) for x in names]]
    rows = []
    for s, (sid, sname) in enumerate(zip(a.model.system_ids, a.model.system_names, strict=True)):
        cells = [_e(sname)]
        sub = sysf[sysf["system"] == sid].set_index("scheme")
        for k, name in enumerate(names):
            cells.append(
                f"{money(sub.loc[name, 'expected_funding_lost'])} "
                f"<span class='se'>{plus_minus(Z95 * sub.loc[name, 'se_expected_funding_lost'])}</span>"
                f"<br><span class='small'>P(&gt; £{SYSTEM_LOSS_ABS:g}m) {_pct(over[k, s, 0])} · "
                f"P(&gt; {SYSTEM_LOSS_SHARE:.0%}) {_pct(over[k, s, 1])}</span>"
            )
        rows.append(cells)
    out.append(
        "<h3>Per system: expected funding lost, and the chance of losing more than "
        f"£{SYSTEM_LOSS_ABS:g}m and more than {SYSTEM_LOSS_SHARE:.0%} of its funding at stake</h3>"
        + _table(head, rows)
    )
    return "".join(out)


def _organisations_html(data: ReportData) -> str:
    from sct_engine.analysis.submodels import scheme_index

    a = data.analysis
    m, n = a.model, a.draws
    orgs = a.result.organisations
    heavy = a.heavy_loss_probability()
    names = list(a.scheme_names)
    head = [
        "Organisation",
        "Funding at stake",
        "P(meets its control total)",
        *[_opt(x) for x in names],
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
                money(m.funding[i], 1),
                f"{_pct(p_meet)} <span class='se'>±{_pct(proportion_se(p_meet * n, n), 1)}</span>",
            ]
            for name in names:
                p = float(heavy[scheme_index(m, name), i])
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
        f"What the colours measure: the chance that the organisation loses more than "
        f"{HEAVY_LOSS_SHARE:.0%} of its sustainability funding allocation in the year under each "
        f"option (± one standard error). Green below {_pct(TRAFFIC_LIGHTS[0])}, amber below "
        f"{_pct(TRAFFIC_LIGHTS[1])}, red above; the word repeats the colour for black-and-white "
        "printing. The colours show how often a heavy loss happens, not how much money is expected: "
        "an option can turn a member's cell redder while raising its expected funding (it then loses "
        "a little more often but much less often everything), which the participation section "
        "weighs. For a trust with a type-1 A&E, part of the loss is its A&E element, earned on "
        "performance whatever option is signed (see Finance and A&E elements)."
    )
    return f"<p class='note'>{legend}</p>" + _table(head, rows)


def _loss_exceedance_html(data: ReportData) -> str:
    from sct_engine.report.charts import loss_exceedance_svg
    from sct_engine.report.system_detail import system_charts, system_losses_table_html

    if not system_charts(data):  # many systems: a table, the charts only with --system-detail
        return system_losses_table_html(data)
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
    money_word = a.level_word
    with_income = money_word == "income"
    income_note = (
        " Income is the PSF/CSF received (funding) plus "
        + " and ".join(a.income_parts)
        + (
            "; incentive PSF is the same under every option, so the changes are changes of "
            "funding" + (" and bonus." if a.counts_bonus else ".")
            if a.counts_incentive
            else "."
        )
        if with_income
        else ""
    )
    extension = int(a.result.provenance.get("decision_extension_draws", 0) or 0)
    amber = (
        f"too close to call even after {extension:,} more draws"
        if extension
        else "too close to call at the run's draws (no more were drawn: the comparison could "
        "not change the recommendation)"
    )
    names = [x for x in a.scheme_names if x != a.baseline]
    head = [
        "Organisation",
        f"Expected {money_word} under {_e(a.baseline)}",
        *[_opt(x) for x in names],
    ]
    rows: list[Any] = []
    for s, sname in enumerate(m.system_names):
        if m.n_systems > 1:
            rows.append(_group_row(sname, len(head)))
        for i in range(m.system_start[s], m.system_start[s + 1]):
            sub = part[part["organisation"] == m.org_ids[i]].set_index("scheme")
            cells: list[Any] = [
                _org_label(m, i),
                money(float(sub["baseline_expected_income"].iloc[0])),
            ]
            for name in names:
                r = sub.loc[name]
                text = (
                    f"{r.diff_expected_income:+.2f} "
                    f"<span class='se'>{plus_minus(Z95 * r.se_diff_expected_income)}</span>"
                )
                flags = []
                if r.expectation == WORSE:
                    flags.append("worse off")
                if data.settings.tail and r.tail == WORSE:
                    flags.append(f"tail +{r.funding_lost_p95 - r.baseline_funding_lost_p95:.1f}")
                if r.appetite == WORSE:
                    flags.append(f"1-in-20 loss over its appetite of {money(r.risk_appetite)}")
                if flags:
                    text += (
                        f"<br><span class='flag'>✗ would not sign ({_e(', '.join(flags))})</span>"
                    )
                    cls = "worse"
                elif r.verdict == UNRESOLVED:
                    text += (
                        f"<br><span class='flag'>? too close to call "
                        f"(on {r.decision_draws:,} draws)</span>"
                    )
                    cls = "close"
                else:
                    cls = "better" if r.better_in_expectation else ""
                if r.over_appetite == WORSE and r.lower_than_baseline == LOWER:
                    text += (
                        "<br><span class='flag'>"
                        + _e(
                            f"! over its risk appetite of {money(r.risk_appetite)} in a 1-in-20 "
                            f"year ({money(r.funding_lost_p95)}), but less so than under "
                            f"{a.baseline} ({money(r.baseline_funding_lost_p95)})"
                        )
                        + "</span>"
                    )
                cells.append((f"class='{cls}'", text))
            rows.append(cells)
    allowed = {r.system: r for r in data.recommendations}
    summary = "".join(
        f"<li><strong>{_e(m.system_names[s])}</strong>: {_e(', '.join(allowed[sid].eligible))}"
        + (
            f" (too close to call: {_e(', '.join(allowed[sid].too_close))})"
            if allowed[sid].too_close
            else ""
        )
        + "</li>"
        for s, sid in enumerate(m.system_ids)
    )
    tail_words = (
        ", or in its 1-in-20-year loss (p95, by more than the same amount, on 95% "
        "order-statistic intervals)"
        if data.settings.tail
        else ""
    )
    return (
        f"<p class='note'>Change in each organisation's expected {money_word} (£m a year) against "
        f"{_e(a.baseline)}, on the same simulated years, ± 95% paired confidence interval.{income_note} "
        f"Red: materially worse off (by more than {_e(a.rule.describe())}) in expectation{tail_words}"
        + (
            ", or its 1-in-20-year loss over its stated risk appetite and not lower than under "
            f"{_e(a.baseline)} by more than the materiality (! marks an option that leaves it "
            "over its appetite but lower than the baseline does, which the rule allows)"
            if a.model.risk_appetite is not None and np.isfinite(a.model.risk_appetite).any()
            else ""
        )
        + f", so it would not sign. Amber: {amber}. Green: materially better off.</p>"
        + _table(head, rows)
        + f"<h3>Options the rule allows</h3><ul>{summary}</ul>"
    )


def _elements_html(data: ReportData) -> str:
    a = data.analysis
    m = a.model
    split = a.finance_and_ae()
    names = list(a.scheme_names)
    head = ["Organisation", "Finance element", "A&amp;E element", *[_opt(x) for x in names]]
    rows: list[Any] = []
    for s, sname in enumerate(m.system_names):
        if m.n_systems > 1:
            rows.append(_group_row(sname, len(head)))
        for i in range(m.system_start[s], m.system_start[s + 1]):
            sub = split[split["organisation"] == m.org_ids[i]].set_index("scheme")
            cells: list[Any] = [_org_label(m, i), money(m.finance[i]), money(m.ae[i])]
            for name in names:
                r = sub.loc[name]
                ae_part = (
                    f" <span class='se'>A&amp;E {money(r.expected_ae_lost)}</span>"
                    if m.ae[i] > 0
                    else ""
                )
                cells.append(f"{money(r.expected_finance_lost)}{ae_part}")
            rows.append(cells)
    return (
        "<p class='note'>Expected loss a year by element under each option: the finance element "
        "(paid on the control total tests, and what the options move) and, for trusts with a "
        "type-1 A&amp;E, the A&amp;E element (earned on A&amp;E performance whatever is signed, "
        "behind the finance gateway).</p>" + _table(head, rows)
    )


def _attribution_html(data: ReportData) -> str:
    from sct_engine.report.charts import attribution_svg
    from sct_engine.report.system_detail import system_charts

    a = data.analysis
    m = a.model
    attribution = a.attribution()
    contagion = a.contagion()
    recommended = {r.system: r.scheme for r in data.recommendations}
    out = []
    for s, (sid, sname) in enumerate(zip(m.system_ids, m.system_names, strict=True)):
        if m.n_systems > 1:
            out.append(f"<h3>{_e(sname)}</h3>")
        if system_charts(data):  # many systems: the charts only with --system-detail
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
    head = ["Organisation", *[_opt(x) for x in names], "System gain per £1m (recommended option)"]
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
                        f"{r.own_gradient:.2f} <span class='se'>{plus_minus(Z95 * r.se_own_gradient)}</span>"
                        f"<span class='flag'>{arrow}</span>",
                    )
                )
            r = sub.loc[rec[m.system_ids[s]]]
            cells.append(
                f"{r.system_gradient:.2f} <span class='se'>{plus_minus(Z95 * r.se_system_gradient)}</span>"
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
    return f"{money(value)} <span class='se'>{plus_minus(Z95 * se)}</span>"


def _solvers_html(data: ReportData) -> str:
    a = data.analysis
    m = a.model
    s = data.settings
    b, mit = data.buffers, data.mitigation
    solved = list(dict.fromkeys(b["scheme"]))
    head = ["Organisation"]
    for name in solved:
        head += [
            f"P(passes) as planned: {_opt(name)}",
            f"Plan improvement needed: {_opt(name)}",
            f"Mitigation needed: {_opt(name)}",
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
            "Incentive uplifts are included in the control totals used for the tests; incentive "
            "PSF counts in each member's and system's expected income, and is the same under "
            "every option."
        )
    if m.bonus:
        notes.append(
            "The year-end bonus of unearned funding counts in expected income in the "
            "participation test and the recommendation: a system's option is evaluated with every "
            "other system staying with the baseline, so one system's choice cannot move another "
            "system's bonus in the comparison. The funding tables report PSF/CSF alone."
        )
    return "".join(f"<li>{_e(n)}</li>" for n in notes)


def _assumptions_html(data: ReportData) -> str:
    from sct_engine.report.summary import glossary_html

    a = data.analysis
    m = a.model
    dist = {
        0: "normal",
        1: f"Student-t ({m.dof:g} degrees of freedom, heavy tails)",
        2: f"skew-normal (shape {m.skew:g})",
    }[m.distribution]
    prov = "".join(
        f"<dt>{_e(k)}</dt><dd>{_e(json.dumps(v) if isinstance(v, list | dict) else v)}</dd>"
        for k, v in provenance_fields(data).items()
    )
    return (
        "<ul>"
        f"<li>Year-end outturn of each organisation (before sustainability funding) varies around its plan: "
        f"{_pct(m.national_share)} of its variance from one national factor, {_pct(m.system_share)} from its "
        f"system's factor, the rest its own; shocks are {dist}.</li>"
        "<li>Funding splits into a finance element (paid on the control total tests) and, for providers with "
        "a type-1 A&amp;E, an A&amp;E element earned with probability p_ae behind the finance gateway; the "
        "rules are those of the 2018/19 scheme as documented in docs/rules-2018-19.md.</li>"
        "<li>Every option is applied to the same simulated years (common random numbers), so differences "
        "between options are paired; ± figures are 95% confidence intervals (1.96 standard errors) unless "
        "marked as one standard error.</li>"
        "<li>1-in-20-year losses (p95) come from 1,000-bin histograms and are at most one bin (funding at "
        "stake / 1,000) above the exact value; CVaR95 is the average of the worst 5% of years.</li>"
        + _model_notes(m)
        + "<li>All figures are illustrative unless the scenario holds real plans and control totals.</li>"
        "<li>The options compared, every member's figures and the national rules are in "
        "Inputs and assumptions, at the start.</li>"
        "</ul>" + glossary_html() + f"<h3>Provenance</h3><dl class='prov'>{prov}</dl>"
    )


def render_html(data: ReportData) -> str:
    """The whole report as one HTML document (inline CSS and SVG, no scripts, no external assets)."""
    a = data.analysis
    m = a.model
    p = a.result.provenance
    name = p.get("scenario_name") or "Scenario"
    from sct_engine.report.agreement import agreement_html
    from sct_engine.report.summary import SUMMARY_CSS, summary_section

    bodies = {
        "inputs": _inputs_html,
        "recommendation": _recommendation_html,
        "agreement": lambda d: agreement_html(d.agreements, d.analysis.model.n_systems),
        "decision-rule": _decision_rule_html,
        "sensitivity": _sensitivity_html,
        "funding-at-risk": _funding_at_risk_html,
        "member-funding": _member_funding_html,
        "cash-timing": _cash_timing_html,
        "organisations": _organisations_html,
        "elements": _elements_html,
        "loss-exceedance": _loss_exceedance_html,
        "participation": _participation_html,
        "attribution": _attribution_html,
        "incentives": _incentives_html,
        "solvers": _solvers_html,
        "assumptions": _assumptions_html,
    }
    # Page 1 is the summary (report/summary.py); the other sections follow in their order,
    # which the national page may rearrange: the summary is put before whatever it gives.
    opening, *rest = SECTIONS
    parts = [(anchor, title, _section(anchor, bodies[anchor](data))) for anchor, title in rest]
    if data.in_year is not None:  # after the recommendation
        at = next(i for i, (anchor, _, _) in enumerate(parts) if anchor == "recommendation") + 1
        body = (
            f"<section id='{IN_YEAR[0]}'><h2>{_e(IN_YEAR[1])}</h2>{_in_year_html(data)}</section>"
        )
        parts.insert(at, (*IN_YEAR, body))
        rest.insert(at, IN_YEAR)
    contents, sections, extra_css = list(rest), "".join(p[2] for p in parts), SUMMARY_CSS
    if m.n_systems > 1:  # the national page, and where it goes: report/national_html.py
        from sct_engine.report.national_html import NATIONAL_CSS, arrange_pages

        contents, sections = arrange_pages(data, parts)
        extra_css += NATIONAL_CSS
    contents, sections = [opening, *contents], summary_section(data) + sections
    toc = "".join(f"<li><a href='#{anchor}'>{_e(title)}</a></li>" for anchor, title in contents)
    return (
        "<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(name)}: which option to sign</title><style>{_CSS}{extra_css}</style></head><body>"
        f"<header><h1>{_e(name)}</h1>"
        "<p class='lede'>Which 2018/19 system control total option to sign: sustainability funding (PSF/CSF) "
        "at risk, who is better or worse off inside the scheme, and who puts the system at risk.</p>"
        f"<p class='meta'>{a.draws:,} simulated years · seed {a.seed} · {m.n_orgs} organisations in "
        f"{m.n_systems} system{'s' if m.n_systems > 1 else ''} · £{m.funding.sum():,.1f}m at stake · "
        f"sct_engine {_e(p.get('package_version', ''))} · {_e(p.get('created_utc', ''))}</p>"
        f"{_scenario_notes_html(data)}</header>"
        f"<nav aria-label='Contents'><ol>{toc}</ol></nav>"
        f"{sections}"
        "<footer>Produced by sct_engine. Money in £ millions a year; surplus positive. Probabilities from "
        "Monte Carlo simulation: see Method and provenance.</footer>"
        "</body></html>"
    )


def write_html(data: ReportData, path: str | os.PathLike) -> Path:
    """Render and write the report, creating the folder if needed."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(data), encoding="utf-8")
    return out
