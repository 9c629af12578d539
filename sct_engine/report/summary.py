"""Page 1 of the board pack: the executive summary, in plain words.

A board reads page 1 only. It states, per system, the recommendation (or that the system should
stay with the baseline), what it gains with its 95% interval, who is worse off and by how much,
the risk in plain words (expected funding lost, the loss in a 1-in-20 bad year, the chance of
losing more than a tenth of the funding at stake) under the baseline and the recommendation, the
incentive caveat where the option weakens a member's own incentive, and the key assumptions. No
jargon: the method section at the end has the glossary (:data:`GLOSSARY`).

:func:`summary_section` is one section of the page, so it composes with any order of the others
(the per-system report's, or a national page first).
"""

from __future__ import annotations

import numpy as np

from sct_engine.analysis.decision import (
    HEAVY_LOSS_SHARE,
    Recommendation,
    over_appetite_but_lower,
)
from sct_engine.analysis.national import JOINT_BASIS, RECOMMENDED_MIX, sum_basis
from sct_engine.analysis.paired import Z95
from sct_engine.analysis.rule import UNRESOLVED, WORSE
from sct_engine.analysis.submodels import scheme_index
from sct_engine.engine.stats import SYSTEM_LOSS_SHARE
from sct_engine.report.data import ReportData, scenario_changes
from sct_engine.report.html_parts import escape as _e
from sct_engine.report.html_parts import money, plus_minus
from sct_engine.report.html_parts import percent as _pct
from sct_engine.report.html_parts import table as _table
from sct_engine.report.national import report_national_view

#: The section's anchor and title.
ANCHOR = "summary"
TITLE = "Summary for the board"

#: Stylesheet additions: the summary fills page 1 and the inputs start on page 2.
SUMMARY_CSS = """
section#summary .answer { font-size: 19px; font-weight: 700; margin: 6px 0; }
section#summary ul { margin: 4px 0 8px; padding-left: 20px; }
@media print {
  section#summary { break-after: page; }
  section#summary h2 { margin-top: 6pt; }
  section#summary .answer { font-size: 12.5pt; }
}
"""

#: Words of the method section, explained once (page 1 uses none of them).
GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "Funding",
        "Sustainability funding paid: PSF to trusts, CSF to commissioners (finance and A&E "
        "elements).",
    ),
    (
        "Income",
        "Funding plus incentive PSF and, where the regime pays one, the year-end bonus.",
    ),
    (
        "Baseline",
        "The national rules' organisation-only option: each member paid on its own control "
        "total. Every option is judged against it.",
    ),
    (
        "1-in-20-year loss (p95)",
        "The funding lost in a bad year that comes once in twenty: the 95th percentile of the "
        "simulated losses.",
    ),
    (
        "CVaR95",
        "Conditional value at risk: the average loss over the worst 5% of simulated years.",
    ),
    (
        "Co-CVaR (Euler allocation)",
        "A member's average loss in its system's worst 5% of years; the members' co-CVaRs add "
        "up to the system's CVaR95.",
    ),
    (
        "Materiality",
        "How much worse counts as worse: by default the larger of £0.01m and 0.1% of the "
        "member's allocation.",
    ),
    (
        "Paired comparison (common random numbers)",
        "Every option is applied to the same simulated years, so a difference between options "
        "is measured year by year and its interval is narrow.",
    ),
    (
        "95% confidence interval (±)",
        "The range within which the figure lies 19 times in 20 given the number of simulated "
        "years: ± 1.96 standard errors.",
    ),
    (
        "Too close to call",
        "The interval of a comparison straddles the materiality even after more simulated "
        "years: the draws cannot say whether the member is worse off.",
    ),
    (
        "Delta method",
        "The standard error of a solved figure (a buffer, a share) from the slope of the "
        "probability it solves for.",
    ),
    (
        "Gini coefficient",
        "A measure of how unevenly funding lost falls across systems: 0 even, 1 all on one.",
    ),
    (
        "Risk appetite",
        "The most a member says it can bear in a 1-in-20 year (scenario field risk_appetite); "
        "an option whose 1-in-20-year loss exceeds it is unacceptable to that member.",
    ),
    (
        "Local risk-share agreement",
        "A side agreement signed by the members on top of the national option: of each £1 of "
        "funding one member loses, the share another bears.",
    ),
)


def glossary_html() -> str:
    """The glossary as a definition list (placed in the method section)."""
    items = "".join(f"<dt>{_e(word)}</dt><dd>{_e(meaning)}</dd>" for word, meaning in GLOSSARY)
    return f"<h3>Glossary</h3><dl class='prov glossary'>{items}</dl>"


def money_word(data: ReportData) -> str:
    """The word for a gain between options (:attr:`Analysis.gain_word`)."""
    return data.analysis.gain_word


def headline(r: Recommendation, word: str) -> str:
    """The recommendation in one sentence: stay or sign, what it gains, a near tie said so."""
    low, high = r.gain - Z95 * r.se_gain, r.gain + Z95 * r.se_gain
    if r.stays:
        text = f"Stay with {r.scheme}."
        if r.runner_up:
            text += (
                f" The best alternative the rule allows, {r.runner_up}, gives "
                f"{money(-r.margin, sign=True)} a year of expected {word} against it "
                f"(95% interval {plus_minus(Z95 * r.se_margin)})."
            )
        return text
    text = (
        f"Sign {r.scheme}: {money(r.gain, sign=True)} a year of expected {word} for the system "
        f"against {r.baseline} (95% interval {money(low, sign=True)} to {money(high, sign=True)})."
    )
    if r.near_tie:
        text += (
            f" A near tie: {r.runner_up} is {money(r.margin)} a year behind "
            f"({plus_minus(Z95 * r.se_margin)}), within the simulation's error, so either is "
            "defensible."
        )
    elif r.runner_up and r.runner_up != r.baseline:
        text += f" It beats the next option the rule allows, {r.runner_up}, by {money(r.margin)} a year."
    return text


def _worse_off(data: ReportData, r: Recommendation, s: int) -> str:
    """Who is worse off under the recommendation, and by how much (any loss, material or not)."""
    a = data.analysis
    m = a.model
    if r.stays:
        return "Nobody changes arrangement, so nobody is worse off than today."
    d = a.decisions
    rows = d[(d["scheme"] == r.scheme) & (d["system"] == m.system_ids[s])]
    names = dict(zip(m.org_ids, m.org_names, strict=True))
    losers = rows[rows["diff_expected_income"] < 0].sort_values("diff_expected_income")
    if losers.empty:
        return f"No member expects less {money_word(data)} than under {r.baseline}."
    parts = [
        f"{names[row.organisation]} {money(row.diff_expected_income, sign=True)} a year "
        f"({plus_minus(Z95 * row.se_diff_expected_income)})"
        for row in losers.itertuples(index=False)
    ]
    material = set(losers.loc[losers["verdict"] == WORSE, "organisation"])
    close = set(losers.loc[losers["verdict"] == UNRESOLVED, "organisation"])
    verdict = (
        "none by more than the materiality the rule allows"
        if not material and not close
        else "too close to call for " + ", ".join(names[o] for o in sorted(close))
    )
    return (
        f"Expect less {money_word(data)} than under {r.baseline}: "
        + "; ".join(parts)
        + f" ({verdict})."
    )


def _still_over_appetite(data: ReportData, r: Recommendation, s: int) -> str:
    """Members the recommendation leaves over their risk appetite, though less so than the
    baseline (the rule allows it, and the board must know the appetite is still breached)."""
    a = data.analysis
    m = a.model
    if r.stays or m.risk_appetite is None or not np.isfinite(m.risk_appetite).any():
        return ""
    d = a.decisions
    rows = d[(d["scheme"] == r.scheme) & (d["system"] == m.system_ids[s])]
    names = dict(zip(m.org_ids, m.org_names, strict=True))
    return "".join(f" {x}." for x in over_appetite_but_lower(rows, names, r.baseline))


def _not_chosen(data: ReportData, r: Recommendation, s: int) -> str:
    """Options that would give the system more but the rule does not allow, in a few words."""
    a = data.analysis
    income = a.system_expected_income()[:, s]
    best = income[scheme_index(a.model, r.scheme)]
    better = [
        x for x in a.scheme_names if x in r.excluded and income[scheme_index(a.model, x)] > best
    ]
    if not better:
        return ""
    why = []
    for x in better:
        if x in r.national_rule_changes:
            why.append(f"{x} (changes a national rule)")
        elif x in r.too_close and "materially worse off" not in r.excluded[x]:
            why.append(f"{x} (too close to call whether it is within a member's risk appetite)")
        elif x in r.too_close:
            why.append(f"{x} (too close to call whether a member is worse off)")
        elif "risk appetite" in r.excluded[x] and "materially" not in r.excluded[x]:
            why.append(f"{x} (beyond a member's risk appetite)")
        elif "risk appetite" in r.excluded[x]:
            why.append(f"{x} (leaves a member worse off, or beyond its risk appetite)")
        else:
            why.append(f"{x} (leaves a member materially worse off)")
    return (
        "<p><strong>Not recommended, though worth more to the system:</strong> "
        + _e("; ".join(why))
        + ". The reasons, member by member, follow the inputs.</p>"
    )


def _agreement_line(data: ReportData, s: int) -> str:
    """One sentence on the local agreement designed for the system, if any."""
    sid = data.analysis.model.system_ids[s]
    found = [a for a in data.agreements if a.draws.system == sid]
    if not found:
        return ""
    a = found[0]
    if not a.agreement.feasible:
        text = a.agreement.message
    elif a.agreement.expected_moved < 0.005:
        text = (
            f"Under {a.draws.scheme} every member is already no worse off than going alone and "
            "within its risk limit in its worst years: no side agreement is needed."
        )
    else:
        text = (
            f"A local agreement on top of {a.draws.scheme} leaves every member no worse off "
            "than going alone and within its risk limit in its worst years, moving "
            f"{money(a.agreement.expected_moved)} a year of expected money between members: "
            "the table to sign follows the recommendation."
        )
    return f"<p><strong>Local agreement.</strong> {_e(text)}</p>"


def _risk_table(data: ReportData, r: Recommendation, s: int) -> str:
    """The system's risk under the baseline and the recommendation, in plain words."""
    a = data.analysis
    m = a.model
    sysf = a.result.systems
    sub = sysf[sysf["system"] == m.system_ids[s]].set_index("scheme")
    over = a.system_loss_over()
    shown = [r.baseline] if r.stays else [r.baseline, r.scheme]
    at_stake = float(m.system_funding()[s])
    rows = []
    for name in shown:
        k = scheme_index(m, name)
        row = sub.loc[name]
        rows.append(
            [
                ("class='text'", _e(name)),
                f"{money(row.expected_funding_lost)} "
                f"<span class='se'>{plus_minus(Z95 * row.se_expected_funding_lost)}</span>",
                money(row.funding_lost_p95),
                _pct(float(over[k, s, 1]), 0 if over[k, s, 1] >= 0.01 else 1),
            ]
        )
    return _table(
        [
            "Option",
            "Funding lost in an average year",
            "Funding lost in a 1-in-20 bad year",
            f"Chance of losing more than {SYSTEM_LOSS_SHARE:.0%} of the "
            f"{money(at_stake, 1)} at stake",
        ],
        rows,
    )


def _incentive_caveat(data: ReportData, r: Recommendation, s: int) -> str:
    """Members whose own incentive the recommendation weakens (from the incentive gradient)."""
    g = data.gradient
    if g is None or r.stays:
        return ""
    m = data.analysis.model
    rows = g[(g["scheme"] == r.scheme) & (g["system"] == m.system_ids[s])]
    base = g[(g["scheme"] == r.baseline) & (g["system"] == m.system_ids[s])].set_index(
        "organisation"
    )
    weaker = rows[rows["incentive"] == "weaker"]
    if weaker.empty:
        return ""
    names = dict(zip(m.org_ids, m.org_names, strict=True))
    parts = [
        f"{names[row.organisation]} £{row.own_gradient:.2f}m "
        f"(£{base.loc[row.organisation, 'own_gradient']:.2f}m on its own)"
        for row in weaker.itertuples(index=False)
    ]
    members = int(m.system_start[s + 1] - m.system_start[s])
    return (
        f"<p><strong>Incentive caveat.</strong> {_e(r.scheme)} weakens the own incentive to "
        f"deliver of {len(parts)} of the {members} members: of each £1m better outturn, a member "
        f"keeps {_e('; '.join(parts))}. The rest goes to the system. Each board should satisfy "
        "itself that its own delivery stays rewarded.</p>"
    )


def _appetite_lines(data: ReportData, r: Recommendation, s: int) -> str:
    """Members whose stated risk appetite the baseline or an option breaches."""
    a = data.analysis
    m = a.model
    if m.risk_appetite is None or not np.isfinite(m.risk_appetite).any():
        return ""
    d = a.decisions
    sid = m.system_ids[s]
    names = dict(zip(m.org_ids, m.org_names, strict=True))
    over = d[(d["system"] == sid) & (d["appetite"] == WORSE)]
    out = []
    base = over[over["scheme"] == r.baseline]
    if not base.empty:
        out.append(
            "Even on their own, "
            + "; ".join(
                f"{names[row.organisation]} risks {money(row.funding_lost_p95)} in a 1-in-20 "
                f"year against an appetite of {money(row.risk_appetite)}"
                for row in base.itertuples(index=False)
            )
            + "."
        )
    others = sorted(set(over.loc[over["scheme"] != r.baseline, "scheme"]))
    if others:
        out.append(
            "Ruled out because a member's 1-in-20-year loss would exceed its risk appetite: "
            + ", ".join(others)
            + "."
        )
    return "".join(f"<p>{_e(x)}</p>" for x in out)


def _assumptions(data: ReportData) -> str:
    a = data.analysis
    m = a.model
    extension = int(a.result.provenance.get("decision_extension_draws", 0) or 0)
    items = [
        f"{a.draws:,} simulated years (seed {a.seed})"
        + (f", and {extension:,} more where a comparison was close" if extension else "")
        + "; every option is applied to the same years.",
        "Each member's year-end outturn varies around its plan by its stated spread; members "
        f"move together ({_pct(m.national_share)} of the variation is national, "
        f"{_pct(m.system_share)} shared in the system unless the system gives its own "
        "correlations).",
        "Worse off means worse by more than "
        + a.rule.describe()
        + " a year"
        + (", in an average year or in a 1-in-20 bad year" if a.rule.tail else "")
        + ".",
    ]
    if np.any(m.tail_probability > 0):
        items.append("Large one-off adverse events are included, at the stated chance a year.")
    if np.any(m.mitigation > 0):
        items.append("Management actions recover shortfalls up to each member's stated amount.")
    if a.counts_bonus:
        items.append(
            "Income counts the year-end bonus with every other system staying with the baseline."
        )
    changes = scenario_changes(data)
    if changes:
        items.append(
            f"A what-if: {len(changes)} change{'s' if len(changes) > 1 else ''} from the "
            "scenario file (listed after this page)."
        )
    warnings = a.result.provenance.get("scenario_warnings") or []
    if warnings:
        items.append(
            f"{len(warnings)} warning{'s' if len(warnings) > 1 else ''} about the scenario's "
            "figures (listed after this page)."
        )
    items.append("All figures are illustrative unless the scenario holds real plans.")
    return "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in items) + "</ul>"


def _system_summary(data: ReportData, r: Recommendation, s: int) -> str:
    word = money_word(data)
    heavy = f"{HEAVY_LOSS_SHARE:.0%}"
    return (
        f"<p class='answer'>{_e(headline(r, word))}</p>"
        f"<p><strong>Who is worse off.</strong> "
        f"{_e(_worse_off(data, r, s) + _still_over_appetite(data, r, s))}</p>"
        + _appetite_lines(data, r, s)
        + _not_chosen(data, r, s)
        + "<p><strong>The risk.</strong> Funding the system can lose a year, with "
        f"{_e(r.baseline)}"
        + ("" if r.stays else f" and with {_e(r.scheme)}")
        + f" (a member losing more than {heavy} of its own allocation is in the tables that "
        "follow):</p>"
        + _risk_table(data, r, s)
        + _incentive_caveat(data, r, s)
        + _agreement_line(data, s)
    )


#: Most systems listed one per row on page 1; beyond, counts and the largest gains.
PAGE_ONE_SYSTEMS = 12


def _many_systems(data: ReportData) -> str:
    """Page 1 for many systems: how many are told to sign each option or to stay, and the ten
    largest gains (every system is in the national page and the per-system material)."""
    recs = data.recommendations
    word = money_word(data)
    counts: dict[str, int] = {}
    for r in recs:
        counts[r.action] = counts.get(r.action, 0) + 1
    lines = "".join(
        f"<li>{n} system{'s' if n > 1 else ''}: {_e(action)}</li>"
        for action, n in sorted(counts.items(), key=lambda x: -x[1])
    )
    signing = sorted((r for r in recs if not r.stays), key=lambda r: -r.gain)[:10]
    rows = [
        [
            ("class='text'", _e(r.system_name)),
            ("class='text'", _e(r.action)),
            f"{money(r.gain, sign=True)} <span class='se'>{plus_minus(Z95 * r.se_gain)}</span>",
        ]
        for r in signing
    ]
    near = sum(r.near_tie for r in recs)
    return (
        f"<p class='answer'>{len(recs)} systems: {len(recs) - counts.get(_stay(recs), 0)} would "
        f"sign a risk-sharing option.{_national_figure(data)}</p>"
        f"<ul>{lines}</ul>"
        + (
            f"<p>{near} recommendation{'s are near ties' if near > 1 else ' is a near tie'}: "
            "the runner-up is within the simulation's error.</p>"
            if near
            else ""
        )
        + (
            "<h3>The largest gains</h3>"
            + _table(["System", "Recommendation", f"Expected {word} gained a year"], rows)
            if rows
            else ""
        )
    )


def _national_figure(data: ReportData) -> str:
    """Page 1's national figure: every system on its recommendation, simulated together (the
    joint view the national page shows, :data:`JOINT_BASIS`), then the one-system-at-a-time sum
    under its own label (:func:`sum_basis`), both read from the same joint table's row."""
    a = data.analysis
    word = money_word(data)
    view = report_national_view(data)
    if view.joint is None or RECOMMENDED_MIX not in set(view.joint["counterfactual"]):
        summed = sum(r.gain for r in data.recommendations if not r.stays)
        return (
            f" The {_e(sum_basis(a.baseline))}: {money(summed, sign=True)} a year (no joint "
            "simulation was made, so this sum is not a national figure)."
        )
    row = view.joint.set_index("counterfactual").loc[RECOMMENDED_MIX]
    gain = float(row["diff_expected_income"])
    half = float(row["ci95_diff_expected_income"])
    summed = float(row["sum_of_system_gains"])
    summed_half = float(row["ci95_sum_of_system_gains_bound"])
    return (
        f" National figure, {_e(JOINT_BASIS)}, every system on its recommendation: "
        f"{money(gain, sign=True)} <span class='se'>{plus_minus(half)}</span> a year of "
        f"expected {word} against every system on {_e(a.baseline)} (95% interval)."
        f" For comparison, the {_e(sum_basis(a.baseline))}: {money(summed, sign=True)} "
        f"<span class='se'>{plus_minus(summed_half)}</span> a year (95% interval at most)."
    )


def _stay(recs: list[Recommendation]) -> str:
    return f"stay with {recs[0].baseline}" if recs else ""


def _in_year_note(data: ReportData) -> str:
    """Page 1's statement of the year to date, when the scenario has actuals: every figure is
    for the rest of the year, and under the option signed what each system may still receive."""
    r = data.in_year
    if r is None:
        return ""
    parts = [
        f"<strong>In year: Q{r.closed_quarters} is closed.</strong> Every figure in this report "
        "is for the rest of the year given the year to date in the scenario."
    ]
    if len(r.systems) <= PAGE_ONE_SYSTEMS:
        for row in r.systems.itertuples(index=False):
            d = row._asdict()
            parts.append(
                f"Under {_e(r.option)}, the option signed, {_e(d['system'])} has been paid "
                f"{money(d['funding_paid_so_far'])} and may expect {money(d['expected_funding_to_come'])} "
                f"more ({money(d['funding_to_come_ci_low'])} to "
                f"{money(d['funding_to_come_ci_high'])}, 95% confidence), with a "
                f"{_pct(d['p_year_end_pass'])} chance of passing its year-end system test."
            )
    parts.append("See the In year section for each member and what it takes.")
    return f"<p class='note'>{' '.join(parts)}</p>"


def summary_section(data: ReportData) -> str:
    """The executive summary as one ``<section>`` (page 1 when printed)."""
    a = data.analysis
    m = a.model
    recs = data.recommendations
    body: list[str] = [_in_year_note(data)]
    if m.n_systems == 1:
        body.append(_system_summary(data, recs[0], 0))
    elif m.n_systems > PAGE_ONE_SYSTEMS:
        body.append(_many_systems(data))
    else:
        word = money_word(data)
        rows = [
            [
                ("class='text'", _e(r.system_name)),
                ("class='text'", f"<strong>{_e(r.action)}</strong>"),
                "&ndash;"
                if r.stays
                else f"{money(r.gain, sign=True)} <span class='se'>{plus_minus(Z95 * r.se_gain)}</span>",
                ("class='text'", "near tie with " + _e(r.runner_up) if r.near_tie else ""),
            ]
            for r in recs
        ]
        body.append(
            _table(["System", "Recommendation", f"Expected {word} gained a year", "Note"], rows)
        )
        body.append(f"<p>{_national_figure(data).strip()}</p>")
    body.append("<h3>Key assumptions</h3>" + _assumptions(data))
    body.append(
        "<p class='small'>The inputs follow; the evidence for each system after them; the "
        "method, with a glossary of the technical terms, last.</p>"
    )
    return f"<section id='{ANCHOR}'><h2>{_e(TITLE)}</h2>{''.join(body)}</section>"


def summary_text(data: ReportData) -> list[str]:
    """The summary's headline per system as plain text lines (for the command line)."""
    word = money_word(data)
    return [f"{r.system_name}: {headline(r, word)}" for r in data.recommendations]


__all__ = [
    "ANCHOR",
    "GLOSSARY",
    "PAGE_ONE_SYSTEMS",
    "SUMMARY_CSS",
    "TITLE",
    "glossary_html",
    "headline",
    "money_word",
    "summary_section",
    "summary_text",
]
