"""Per-system detail of a report with many systems: tables in place of one chart per member.

A scenario with at least ``NATIONAL_FIRST_SYSTEMS`` systems (England: 44 systems, 424
members) would otherwise carry a chart per member and two per system, most of the page's
weight, inside a folded section a national team rarely opens. Unless ``sct report
--system-detail`` asks for them (:func:`system_charts`), those charts are not drawn at all
(nothing is built that is not shown): the member funding section becomes one table of every
member's expected funding by option, the loss exceedance section one table of each system's
funding lost by option, and the attribution section keeps its tables without its charts.
"""

from __future__ import annotations

from sct_engine.report.data import ReportData
from sct_engine.report.html_parts import escape as _e
from sct_engine.report.html_parts import money
from sct_engine.report.html_parts import percent as _pct
from sct_engine.report.html_parts import table as _table
from sct_engine.report.national import NATIONAL_FIRST_SYSTEMS

#: What the charts left out say, where they would have been.
CHARTS_LEFT_OUT = (
    "The charts of this section are drawn only with <code>sct report --system-detail</code> "
    "for a scenario with {n} systems or more; this table gives their numbers."
)


def system_charts(data: ReportData) -> bool:
    """Whether the per-member and per-system charts are drawn: always with fewer than
    ``NATIONAL_FIRST_SYSTEMS`` systems, else only when the report's settings ask for them."""
    return data.settings.system_detail or data.analysis.model.n_systems < NATIONAL_FIRST_SYSTEMS


def _left_out() -> str:
    return f"<p class='note'>{CHARTS_LEFT_OUT.format(n=NATIONAL_FIRST_SYSTEMS)}</p>"


def member_funding_table_html(data: ReportData) -> str:
    """Every member's expected PSF/CSF received a year by option, one row per member, the
    recommended option in bold (the member charts' numbers)."""
    a = data.analysis
    m = a.model
    names = list(a.scheme_names)
    part = a.participation().set_index(["organisation", "scheme"])["expected_funding"]
    recommended = {r.system: r.scheme for r in data.recommendations}
    rows = []
    for s, sid in enumerate(m.system_ids):
        for i in range(m.system_start[s], m.system_start[s + 1]):
            cells = [
                f"{_e(m.system_names[s])}",
                f"{_e(m.org_names[i])} <span class='se'>{_e(m.org_ids[i])}</span>",
                money(float(m.funding[i])),
            ]
            for name in names:
                text = money(float(part.loc[(m.org_ids[i], name)]))
                cells.append(f"<strong>{text}</strong>" if recommended.get(sid) == name else text)
            rows.append(cells)
    return (
        _left_out()
        + "<p class='note'>Expected PSF/CSF received a year by each member under each option; "
        "the option recommended to its system in bold. Confidence intervals and income are in "
        "the workbook's Participation sheet.</p>"
        + _table(["System", "Member", "At stake", *[_e(x) for x in names]], rows)
    )


def system_losses_table_html(data: ReportData) -> str:
    """Each system's funding lost by option: expected, 1-in-20-year, CVaR95 and the chance of
    losing it all (the loss exceedance curves' numbers)."""
    a = data.analysis
    m = a.model
    systems = a.result.systems.set_index(["system", "scheme"])
    rows = []
    for s, sid in enumerate(m.system_ids):
        for name in a.scheme_names:
            r = systems.loc[(sid, name)]
            rows.append(
                [
                    _e(m.system_names[s]),
                    _e(name),
                    money(float(r["expected_funding_lost"]), 1),
                    money(float(r["funding_lost_p95"]), 1),
                    money(float(r["funding_lost_cvar95"]), 1),
                    _pct(float(r["p_all_funding_lost"]), 1),
                ]
            )
    return _left_out() + _table(
        [
            "System",
            "Option",
            "Expected funding lost",
            "1-in-20-year loss (p95)",
            "Average of worst 5% (CVaR95)",
            "P(loses all its funding)",
        ],
        rows,
    )


def cash_timing_table_html(data: ReportData) -> str:
    """Each system's expected funding received by the end of each quarter under the option
    recommended to it, summed over its members (the cash timing charts' numbers, by system)."""
    a = data.analysis
    orgs = a.result.organisations
    columns = [f"expected_funding_q{q}" for q in range(1, 5)]
    recommended = {r.system: r.scheme for r in data.recommendations}
    rows = []
    for s, sid in enumerate(a.model.system_ids):
        mine = orgs[(orgs["system"] == sid) & (orgs["scheme"] == recommended[sid])]
        received = mine[columns].sum().cumsum()  # paid each quarter -> received by its end
        rows.append(
            [_e(a.model.system_names[s]), _e(recommended[sid])]
            + [money(float(received[c]), 1) for c in columns]
        )
    return (
        _left_out()
        + "<p class='note'>Expected funding (PSF/CSF) each system's members have received by the "
        "end of each quarter under the option recommended to the system, summed over members.</p>"
        + _table(
            ["System", "Option", "By end of Q1", "By end of Q2", "By end of Q3", "By end of Q4"],
            rows,
        )
    )


__all__ = [
    "CHARTS_LEFT_OUT",
    "cash_timing_table_html",
    "member_funding_table_html",
    "system_charts",
    "system_losses_table_html",
]
