"""The national page of the report (scenarios with several systems), and where it goes.

One section for a national policy team: national funding at risk by option with confidence
bars, how many systems would sign each option under the decision rule and what they gain,
every system ranked by what "all or nothing" and the flexible options are worth to it (one
chart, one table with a sort control made of radio buttons and CSS, so the page stays free of
scripts), and fairness across systems. :func:`arrange_pages` places it: first, before the inputs,
with the rest of the per-system material collapsed under them when the scenario has many systems.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sct_engine.analysis.national import (
    JOINT_BASIS,
    RECOMMENDED_MIX,
    REFUSES,
    SIGNS,
    TOO_CLOSE,
    WORST_SHARE,
    sum_basis,
)
from sct_engine.analysis.paired import Z95
from sct_engine.report.data import ReportData
from sct_engine.report.html_parts import escape as _e
from sct_engine.report.html_parts import money
from sct_engine.report.html_parts import percent as _pct
from sct_engine.report.html_parts import table as _table
from sct_engine.report.national import (
    NATIONAL_FIRST_SYSTEMS,
    ranked_systems,
    ranking_option,
    report_national_view,
)

ANCHOR = "national"

#: The per-system report's inputs section: it follows the national page, outside any fold.
INPUTS_ANCHOR = "inputs"
TITLE = "National view: which option each system would sign"

#: Sort keys of the ranked table: one radio button each (``ns-0`` ...), at most this many.
MAX_SORT_KEYS = 12

#: Colours of the three positions (the report's traffic-light hues, darker for print).
POSITION_COLOURS = {SIGNS: "#009E73", TOO_CLOSE: "#E69F00", REFUSES: "#D55E00"}

NATIONAL_CSS = """
.natsort { margin-top: 10px; }
.natsort .control { font-size: 13px; color: var(--muted); margin-right: 4px; }
.natsort input { position: absolute; opacity: 0; width: 1px; height: 1px; }
.natsort label { display: inline-block; border: 1px solid var(--line); border-radius: 4px;
                 padding: 1px 8px; margin: 2px 2px 6px; font-size: 12px; cursor: pointer; }
.natsort input:checked + label { background: var(--accent); border-color: var(--accent); color: #fff; }
.natsort input:focus-visible + label { outline: 2px solid var(--accent); outline-offset: 1px; }
table.ranked { display: block; }
table.ranked thead, table.ranked tbody { display: flex; flex-direction: column; }
table.ranked tr { display: grid; grid-template-columns: var(--cols); }
table.ranked th, table.ranked td { overflow-wrap: anywhere; }
details.per-system { margin-top: 40px; border-top: 2px solid var(--accent); }
details.per-system > summary { cursor: pointer; color: var(--accent); font-size: 20px;
                               font-weight: 600; padding: 10px 0; }
dl.defs { font-size: 13px; }
dl.defs dt { font-weight: 600; margin-top: 4px; }
dl.defs dd { margin: 0 0 0 16px; color: var(--muted); }
@media print { .natsort .control, .natsort label { display: none; } }
""" + "".join(
    f"#ns-{j}:checked ~ table.ranked tbody tr {{ order: var(--o{j}); }}\n"
    for j in range(MAX_SORT_KEYS)
)


def _gain_cell(gain: float, ci: float, position: str) -> tuple[str, str]:
    mark = {SIGNS: "✓", TOO_CLOSE: "?", REFUSES: "✗"}[position]
    if position == REFUSES:
        cls = "worse"
    elif position == TOO_CLOSE:
        cls = "close"
    else:
        cls = "better" if gain - ci > 0 else ""
    return (
        f"class='{cls}'",
        f"{gain:+,.2f} <span class='se'>±{ci:.2f}</span> <span class='flag'>{mark}</span>",
    )


def _ranks(values: Sequence[Any], descending: bool) -> list[int]:
    """1-based position of each row when sorted by ``values`` (ties keep the page's order)."""
    order = sorted(
        range(len(values)),
        key=lambda i: (
            (-values[i] if descending else values[i], i)
            if not isinstance(values[i], str)
            else (values[i].lower(), i)
        ),
    )
    ranks = [0] * len(values)
    for position, i in enumerate(order):
        ranks[i] = position + 1
    return ranks


def _summary_html(data: ReportData, view: Any) -> str:
    a = data.analysis
    m = a.model
    opts = view.options
    counts = opts.set_index("scheme")["systems_recommended"]
    chosen = ", ".join(
        f"<strong>{_e(name)}</strong> {int(counts[name])}"
        for name in a.scheme_names
        if counts[name] > 0
    )
    money_word = a.gain_word
    base = opts.set_index("scheme").loc[a.baseline]
    lede = (
        f"<p class='lede'>{m.n_systems} systems, {m.n_orgs} organisations, "
        f"{money(float(m.funding.sum()), 1)} of PSF/CSF at stake. Recommended under the "
        f"decision rule: {chosen} (systems).</p>"
    )
    if view.joint is None:
        return lede
    mix = view.joint.set_index("counterfactual").loc[RECOMMENDED_MIX]
    return lede + (
        f"<p>If every system signs the option recommended to it, "
        f"<strong>{_e(JOINT_BASIS)}</strong>: the country is expected to lose "
        f"{money(float(mix['expected_funding_lost']), 1)} of PSF/CSF a year "
        f"<span class='se'>(± {money(float(mix['ci95_expected_funding_lost']), 1)})</span>, "
        f"{money(float(mix['expected_funding_lost_net_of_bonus']), 1)} net of the bonus recycled, "
        f"against {money(float(base['expected_funding_lost']), 1)} if every system stays with "
        f"{_e(a.baseline)}; national {money_word} changes by "
        f"<strong>{money(float(mix['diff_expected_income']), 1, sign=True)}</strong> "
        f"<span class='se'>(± {money(float(mix['ci95_diff_expected_income']), 1)})</span>. "
        f"For comparison, the <em>{_e(sum_basis(a.baseline))}</em>: "
        f"{money(float(mix['sum_of_system_gains']), 1, sign=True)} "
        f"<span class='se'>(± at most {money(float(mix['ci95_sum_of_system_gains_bound']), 1)})"
        "</span>; it is not a national figure (each system's gain is computed as if it alone "
        "moved).</p>"
    )


def _joint_html(data: ReportData, view: Any) -> str:
    """The joint counterfactuals beside the per-system sums, with funding lost split."""
    a = data.analysis
    joint = view.joint
    if joint is None:
        return ""
    money_word = a.gain_word

    def pm(value: float, ci: float, sign: bool = False, bound: bool = False) -> str:
        word = "± at most" if bound else "±"
        return f"{money(value, 1, sign=sign)} <span class='se'>{word} {money(ci, 1)}</span>"

    rows = [
        [
            f"<strong>{_e(r.counterfactual)}</strong>",
            pm(r.expected_funding_lost, r.ci95_expected_funding_lost),
            money(r.expected_psf_lost, 1),
            money(r.expected_csf_lost, 1),
            money(r.expected_finance_lost, 1),
            money(r.expected_ae_lost, 1),
            money(r.expected_bonus_recycled, 1),
            pm(r.expected_funding_lost_net_of_bonus, r.ci95_expected_funding_lost_net_of_bonus),
            pm(r.diff_expected_income, r.ci95_diff_expected_income, sign=True),
            pm(r.sum_of_system_gains, r.ci95_sum_of_system_gains_bound, sign=True, bound=True),
        ]
        for r in joint.itertuples(index=False)
    ]
    draws = int(joint["draws"].iloc[0])
    return (
        f"<h3>National figures: {_e(JOINT_BASIS)}</h3>"
        + _table(
            [
                "Counterfactual",
                "Expected funding lost (gross)",
                "… PSF (trusts)",
                "… CSF (commissioners)",
                "… finance element",
                "… A&amp;E element",
                "Bonus recycled",
                "Funding lost net of bonus recycled",
                f"Change in expected {money_word}: {_e(JOINT_BASIS)}",
                f"For comparison: {_e(sum_basis(a.baseline))}",
            ],
            rows,
        )
        + f"<p class='note'>£m a year. Every row but the last column is <strong>"
        f"{_e(JOINT_BASIS)}</strong>: every system on the option the row names at once, on "
        f"the run's first {draws:,} draws (common random numbers), with the year-end bonus pool "
        "formed from every trust's unearned finance funding and paid to every trust that passed. "
        "Funding lost is PSF/CSF not paid; split by payer (PSF to trusts, CSF to commissioners) "
        "and by element (finance, A&amp;E). Bonus recycled: the part of the unearned PSF paid "
        "back to trusts as bonus; net of it is what leaves the system. The change in "
        f"{money_word} is against every system on {_e(a.baseline)}, jointly, with its paired 95% "
        f"interval ({money_word} = funding paid plus bonus; the incentive PSF is the same under "
        f"every option). The last column is the <em>{_e(sum_basis(a.baseline))}</em>: each "
        "system's gain computed as if it alone moved, summed; it counts the bonus pool each "
        "system would share were the others to stay, so it is not a national figure.</p>"
    )


def _funding_html(data: ReportData, view: Any) -> str:
    from sct_engine.report.charts import funding_at_risk_svg

    a = data.analysis
    opts = view.options
    svg = funding_at_risk_svg(
        list(opts["scheme"]),
        opts["expected_funding_lost"].to_numpy(),
        opts["se_expected_funding_lost"].to_numpy(),
        opts["funding_lost_p95"].to_numpy(),
        float(a.model.funding.sum()),
        "National funding lost if every system signs, with 95% confidence bars",
        "natfar",
    )
    rows = [
        [
            f"<strong>{_e(r.scheme)}</strong>"
            + (
                " <span class='se'>changes national rules</span>"
                if r.changes_national_rules
                else ""
            ),
            f"{money(r.expected_funding_lost, 1)} <span class='se'>± "
            f"{money(Z95 * r.se_expected_funding_lost, 1)}</span>",
            money(r.funding_lost_p95, 1),
            money(r.funding_lost_cvar95, 1),
            f"{money(r.expected_funding_lost_with_participation, 1)} <span class='se'>± at most "
            f"{money(r.ci95_expected_funding_lost_with_participation_bound, 1)}</span>",
        ]
        for r in opts.itertuples(index=False)
    ]
    rec = view.recommended
    rows.append(
        [
            "<em>each system's recommendation</em> <span class='se'>(the systems' losses "
            "summed)</span>",
            f"{money(rec['expected_funding_lost'], 1)} <span class='se'>± at most "
            f"{money(rec['ci95_expected_funding_lost_bound'], 1)}</span>",
            "&ndash;",
            "&ndash;",
            "&ndash;",
        ]
    )
    return (
        f"<h3>Funding at risk nationally</h3><figure>{svg}<figcaption>Bars: expected PSF/CSF "
        "lost a year in England (the scenario) if every system signs the option, with 95% "
        "confidence bars; diamonds: the national loss in a 1-in-20 bad year.</figcaption></figure>"
        + _table(
            [
                "Option",
                "Expected funding lost, every system signs",
                "1-in-20-year loss (p95)",
                "Average of worst 5% (CVaR95)",
                "Expected funding lost if only the systems that would sign it do",
            ],
            rows,
        )
        + "<p class='note'>The first three columns are the run's national table (every system "
        "on the option). The last: systems that would sign the option take it, the others stay "
        f"with {_e(a.baseline)}. Sums over systems carry a bound on their 95% interval (the sum "
        "of the systems' half-widths, valid however systems are correlated).</p>"
    )


def _participation_html(data: ReportData, view: Any) -> str:
    from sct_engine.report.charts import participation_svg

    a = data.analysis
    opts = view.options[view.options["scheme"] != a.baseline]
    svg = participation_svg(
        list(opts["scheme"]),
        {
            SIGNS: opts["systems_sign"].to_numpy(),
            TOO_CLOSE: opts["systems_too_close"].to_numpy(),
            REFUSES: opts["systems_refuse"].to_numpy(),
        },
        POSITION_COLOURS,
        "natpart",
    )
    money_word = a.gain_word
    rows = [
        [
            f"<strong>{_e(r.scheme)}</strong>",
            f"{r.systems_sign}",
            f"{r.systems_too_close}",
            f"{r.systems_refuse}",
            f"{r.systems_recommended}",
            f"{money(r.gain_signing, 1, sign=True)} <span class='se'>± at most "
            f"{money(r.ci95_gain_signing_bound, 1)}</span>",
            money(r.gain_too_close, 1, sign=True),
            money(r.gain_refusing, 1, sign=True),
        ]
        for r in opts.itertuples(index=False)
    ]
    return (
        f"<h3>How many systems would sign each option</h3><figure>{svg}<figcaption>Systems by "
        f"position against {_e(a.baseline)} under the decision rule.</figcaption></figure>"
        + _table(
            [
                "Option",
                "Would sign",
                "Too close to call",
                "Would not sign",
                "Recommended",
                f"Expected {money_word} gained by the systems that would sign",
                "… by the too-close systems, were they to sign",
                "… by the others, were they to sign",
            ],
            rows,
        )
        + f"<p class='note'>A system <strong>would sign</strong> an option when every member is "
        f"resolved as not materially worse off than under {_e(a.baseline)} (by more than "
        f"{_e(a.rule.describe())}, in expectation"
        + (" and in its 1-in-20-year loss" if a.rule.tail else "")
        + "); <strong>too close to call</strong> when no member is materially worse off but some "
        "comparison is unresolved after the rule's extra draws; <strong>would not sign</strong> "
        f"when some member is materially worse off. Gains are expected {money_word} against "
        f"{_e(a.baseline)}, each system's computed with every other system staying with "
        f"{_e(a.baseline)} (the decision rule's money), summed over the systems. "
        "Recommended: the systems for which it is the option the rule recommends.</p>"
    )


def _ranked_html(data: ReportData, view: Any) -> str:
    from sct_engine.report.charts import scheme_colour, system_gains_svg

    a = data.analysis
    ranked = ranked_systems(data, view)
    key = ranking_option(data)
    options = [x for x in a.scheme_names if x != a.baseline]
    colours = {name: scheme_colour(k) for k, name in enumerate(a.scheme_names)}
    money_word = a.gain_word
    svg = system_gains_svg(
        list(ranked["system_name"]),
        {name: ranked[f"gain:{name}"].to_numpy() for name in options},
        colours,
        f"expected {money_word} against {a.baseline}, £m a year",
        f"Every system, ranked by what {key} is worth to it",
        "natrank",
    )
    # Sort keys: the ranking option first (the page's order), the other options, then
    # funding at stake and name.
    keys: list[tuple[str, list[Any], bool]] = [
        (f"{name}", list(ranked[f"gain:{name}"]), True)
        for name in [key, *(x for x in options if x != key)]
    ]
    keys += [
        ("funding at stake", list(ranked["sustainability_funding"]), True),
        ("system name", list(ranked["system_name"]), False),
    ]
    keys = keys[:MAX_SORT_KEYS]
    ranks = [_ranks(values, descending) for _, values, descending in keys]
    control = "<span class='control'>Sort by:</span>" + "".join(
        f"<input type='radio' name='natsort' id='ns-{j}'{' checked' if j == 0 else ''}>"
        f"<label for='ns-{j}'>{_e(label)}</label>"
        for j, (label, _, _) in enumerate(keys)
    )
    head = [
        "System",
        "At stake",
        "Recommended",
        *[f"{_e(name)}{' (ranked by)' if name == key else ''}" for name in options],
    ]
    body = []
    for r in range(len(ranked)):
        record = ranked.iloc[r]
        order = ";".join(f"--o{j}:{ranks[j][r]}" for j in range(len(keys)))
        cells = [
            f"<td>{_e(record['system_name'])}<br><span class='se'>{_e(record['system'])} · "
            f"{int(record['members'])} members</span></td>",
            f"<td>{money(float(record['sustainability_funding']), 1)}</td>",
            f"<td class='text'>{_e(record['recommended_scheme'])}</td>",
        ]
        for name in options:
            attrs, text = _gain_cell(
                float(record[f"gain:{name}"]),
                float(record[f"ci95:{name}"]),
                str(record[f"position:{name}"]),
            )
            cells.append(f"<td {attrs}>{text}</td>")
        body.append(f"<tr style='{order}'>" + "".join(cells) + "</tr>")
    cols = "minmax(10em, 2.2fr) minmax(5em, 1fr) minmax(7em, 1.3fr)" + (
        f" repeat({len(options)}, minmax(6em, 1.2fr))"
    )
    table = (
        f"<table class='ranked' style='--cols: {cols}'><thead><tr>"
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )
    return (
        f"<h3>Every system: what each option is worth to it</h3><figure>{svg}<figcaption>Expected "
        f"{money_word} a year under each option against {_e(a.baseline)}, each system's computed "
        f"with every other system staying with {_e(a.baseline)}; systems ranked by {_e(key)}, "
        "largest gain at the top.</figcaption></figure>"
        f"<div class='natsort'>{control}{table}</div>"
        f"<p class='note'>£m a year against {_e(a.baseline)}, ± 95% paired confidence interval. "
        "✓ would sign (green: better off beyond the interval), ? too close to call (amber), "
        "✗ would not sign: some member materially worse off (red). The sort buttons reorder the "
        f"table; printed, it keeps the order chosen (by default by {_e(key)}).</p>"
    )


def _fairness_html(data: ReportData, view: Any) -> str:
    a = data.analysis
    fair = view.fairness[view.fairness["scheme"] != a.baseline]
    money_word = a.gain_word

    def share(p: float) -> str:
        return "&ndash;" if not np.isfinite(p) else _pct(p)

    def coefficient(g: float) -> str:
        return "&ndash;" if not np.isfinite(g) else f"{g:.2f}"

    rows = [
        [
            f"<strong>{_e(r.scheme)}</strong>",
            f"{r.systems_losing} of {r.systems} ({_pct(r.share_systems_losing)})",
            f"{r.systems_losing_significantly}",
            money(r.gross_loss, 1),
            money(r.gross_gain, 1),
            share(r.loss_worst_decile_share),
            coefficient(r.loss_gini),
            share(r.funding_lost_worst_decile_share),
            coefficient(r.funding_lost_rate_gini),
        ]
        for r in fair.itertuples(index=False)
    ]
    worst = f"{WORST_SHARE:.0%}"
    return (
        "<h3>Fairness across systems</h3>"
        + _table(
            [
                "Option",
                "Systems losing",
                "… beyond the 95% interval",
                "Lost by the losing systems",
                "Gained by the others",
                f"Share of that loss borne by the worst {worst}",
                "Gini of losses",
                f"Share of national funding lost borne by the worst {worst}",
                "Gini of loss rates",
            ],
            rows,
        )
        + "<dl class='defs'>"
        f"<dt>Systems losing</dt><dd>systems whose expected {money_word} is lower under the "
        f"option than under {_e(a.baseline)} (point estimates; the next column: those whose 95% "
        "interval is wholly below zero), were every system to sign it.</dd>"
        f"<dt>Share of that loss borne by the worst {worst}</dt><dd>the amount lost by the "
        f"{worst} of systems losing most, as a share of the amount lost by all losing systems; "
        "read off the Lorenz curve, a fraction of a system counting fractionally (with 44 "
        "systems: the worst 4 and 0.4 of the fifth). 100% when one system bears it all.</dd>"
        "<dt>Gini of losses</dt><dd>the Gini coefficient of the systems' losses against "
        f"{_e(a.baseline)} (systems that gain count as losing 0): the mean absolute difference "
        "between two systems' losses over twice the mean loss, from 0 (every system loses the "
        "same) to (n - 1)/n (one system bears it all).</dd>"
        f"<dt>Share of national funding lost borne by the worst {worst}</dt><dd>the same "
        "reading of the systems' expected PSF/CSF lost under the option (the level, not the "
        "change): how concentrated the national loss is.</dd>"
        "<dt>Gini of loss rates</dt><dd>the Gini coefficient of the systems' expected PSF/CSF "
        "lost as a share of their funding at stake: 0 when every system loses the same share "
        "of what it has at stake.</dd></dl>"
    )


def national_html(data: ReportData) -> str:
    """The national page's body (its section heading is added by :func:`arrange_pages`).

    A scenario offering no option but the baseline has nothing to sign: the page then gives
    the national funding at risk and says, in one line, why the rest is left out.
    """
    view = report_national_view(data)
    a = data.analysis
    head = _summary_html(data, view) + _joint_html(data, view) + _funding_html(data, view)
    if not any(name != a.baseline for name in a.scheme_names):
        return head + (
            f"<p class='note'>The scenario offers one option, {_e(a.baseline)}, and nothing "
            "to compare it with: which systems would sign each option, the systems ranked by "
            "what each option is worth to them and fairness across systems are left out.</p>"
        )
    from sct_engine.report.sensitivity_html import national_sensitivity_html

    return (
        head
        + _participation_html(data, view)
        + national_sensitivity_html(data)
        + _ranked_html(data, view)
        + _fairness_html(data, view)
    )


def arrange_pages(
    data: ReportData, sections: Sequence[tuple[str, str, str]]
) -> tuple[list[tuple[str, str]], str]:
    """The report's contents and body with the national page placed in them.

    ``sections`` are the per-system report's ``(anchor, title, html)`` in order, the inputs
    (:data:`INPUTS_ANCHOR`) first and the method and provenance last. A report with several
    systems opens with the national page (what a national team reads first), then the inputs
    (outside any fold, so they print); with at least :data:`NATIONAL_FIRST_SYSTEMS` systems
    every other section but the last is collapsed in one ``<details>``, with fewer they follow
    open; the method and provenance close the report. Returns the contents ``(anchor, title)``
    and the body's HTML.
    """
    national = f"<section id='{ANCHOR}'><h2>{_e(TITLE)}</h2>{national_html(data)}</section>"
    *per_system, last = sections
    opening = [s for s in per_system if s[0] == INPUTS_ANCHOR]
    rest = [s for s in per_system if s[0] != INPUTS_ANCHOR]
    inner = "".join(html for _, _, html in rest)
    if data.analysis.model.n_systems >= NATIONAL_FIRST_SYSTEMS:
        inner = (
            "<details class='per-system'><summary>Per-system material: recommendation and "
            f"evidence for each of the {data.analysis.model.n_systems} systems (click to "
            "open; closed, it is left out of a printout)</summary>" + inner + "</details>"
        )
    body = national + "".join(html for _, _, html in opening) + inner + last[2]
    order = [
        (ANCHOR, TITLE),
        *((anchor, title) for anchor, title, _ in opening),
        *((anchor, title) for anchor, title, _ in rest),
        (last[0], last[1]),
    ]
    return order, body


__all__ = ["ANCHOR", "INPUTS_ANCHOR", "NATIONAL_CSS", "TITLE", "arrange_pages", "national_html"]
