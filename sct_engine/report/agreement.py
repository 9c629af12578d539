"""The report's local risk-share agreement: designed per system, shown as a table to sign.

For each system the agreement sits on top of the national option worth most to the system that
changes no national rule (the recommendation, or an option ruled out only because a member
would be worse off: the agreement is what could make it signable). The designer and the
formulas are in :mod:`sct_engine.analysis.agreement`; this module picks the option, runs them
on a bounded number of the run's simulated years, and lays out the tables and the HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sct_engine.analysis.agreement import (
    AGREEMENT_DRAWS,
    HELD_OUT_BLOCK,
    OVER_LIMIT,
    TOO_CLOSE,
    WORSE_OFF,
    Agreement,
    SystemDraws,
    agreement_draws,
    agreement_table,
    design_agreement,
    formula_table,
    held_out_check,
    money_columns,
)
from sct_engine.analysis.decision import Analysis
from sct_engine.analysis.rule import changes_national_rules
from sct_engine.report.html_parts import escape as _e
from sct_engine.report.html_parts import money, plus_minus
from sct_engine.report.html_parts import percent as _pct
from sct_engine.report.html_parts import table as _table

#: Systems beyond which agreements are not designed in one report (a national file: run the
#: report on one system's file, or cut it with ``submodels.system_model``).
MAX_AGREEMENT_SYSTEMS = 10


@dataclass(frozen=True)
class SystemAgreement:
    """One system's agreement: the draws it was designed on, the design, why that option, and
    the design's outcome on held-out years (None where no agreement exists)."""

    draws: SystemDraws
    agreement: Agreement
    why: str
    held_out: pd.DataFrame | None = None


def agreement_option(analysis: Analysis, system: int) -> str | None:
    """The option the agreement is designed for: the most expected income for the system among
    options other than the baseline that change no national rule (None if there is none)."""
    income = analysis.system_expected_income()[:, system]
    national = changes_national_rules(analysis.model)
    options = [
        (float(income[k]), name)
        for k, name in enumerate(analysis.scheme_names)
        if name != analysis.baseline and not national[k]
    ]
    return max(options)[1] if options else None


def design_agreements(
    analysis: Analysis, recommended: dict[str, str], draws: int
) -> list[SystemAgreement]:
    """Every system's agreement (none beyond :data:`MAX_AGREEMENT_SYSTEMS` systems), on at most
    ``draws`` simulated years of the run's seed. ``recommended``: system id -> option."""
    m = analysis.model
    if m.n_systems > MAX_AGREEMENT_SYSTEMS:
        return []
    out = []
    for s, sid in enumerate(m.system_ids):
        scheme = agreement_option(analysis, s)
        if scheme is None:
            continue
        n = min(draws, AGREEMENT_DRAWS)
        d = agreement_draws(m, s, scheme, analysis.baseline, analysis.seed, n, analysis.rule)
        why = (
            "the recommended option"
            if recommended.get(sid) == scheme
            else f"the option worth most to the system, not recommended on its own "
            f"(the recommendation is {recommended.get(sid)})"
        )
        agreement = design_agreement(d)
        held_out = None
        if agreement.feasible:  # checked on as many years again, none of them the design's
            fresh = agreement_draws(
                m, s, scheme, analysis.baseline, analysis.seed, n, analysis.rule, HELD_OUT_BLOCK
            )
            held_out = held_out_check(fresh, agreement)
        out.append(SystemAgreement(d, agreement, why, held_out))
    return out


#: The held-out check's columns in the workbook's agreement table (prefixed ``held_out_``).
HELD_OUT_COLUMNS = ("change_vs_alone", "ci95_change_vs_alone", "expectation", "tail")


def agreement_tables(agreements: list[SystemAgreement]) -> dict[str, pd.DataFrame]:
    """The workbook's tables: the designed tables and every formula's outcome, per system."""
    if not agreements:
        return {}
    designed, compared = [], []
    for a in agreements:
        frame = (
            agreement_table(a.draws, a.agreement)
            if a.agreement.feasible
            else pd.DataFrame({"organisation": list(a.draws.organisations)})
        )
        if a.held_out is not None:
            for column in HELD_OUT_COLUMNS:
                frame[f"held_out_{column}"] = a.held_out[column].to_numpy()
        frame.insert(0, "feasible", a.agreement.feasible)
        frame.insert(0, "scheme", a.draws.scheme)
        frame.insert(0, "system", a.draws.system)
        frame["statement"] = a.agreement.message
        designed.append(frame)
        compared.append(formula_table(a.draws, a.agreement))
    return {
        "agreement": pd.concat(designed, ignore_index=True),
        "agreement_formulas": pd.concat(compared, ignore_index=True),
    }


def _share(value: float) -> str:
    return "&ndash;" if value < 5e-4 else _pct(value, 1)


def _signable(a: SystemAgreement) -> str:
    d, table = a.draws, a.agreement.table
    short = list(d.organisations)
    head = [
        "Member bearing the loss",
        *[f"Of each £1 lost by <span class='text'>{_e(x)}</span>" for x in short],
        "Fixed payment a year: received (+) or paid (&minus;)",
    ]
    payment = a.agreement.payment
    rows = [
        [
            ("class='text'", _e(d.names[i])),
            *[_share(float(table[i, j])) for j in range(len(short))],
            money(float(payment[i]), sign=True) if abs(payment[i]) >= 0.005 else "&ndash;",
        ]
        for i in range(len(short))
    ]
    return _table(head, rows)


def _outcome(a: SystemAgreement) -> str:
    t = agreement_table(a.draws, a.agreement)
    col = money_columns(a.draws)
    rows = []
    for _, r in t.iterrows():
        limit = (
            f"{money(r.risk_appetite)} (its appetite)"
            if np.isfinite(r.risk_appetite)
            else f"{money(r.tail_limit)} (alone, plus materiality)"
        )
        rows.append(
            [
                ("class='text'", _e(r.organisation_name)),
                money(r[col["expected_alone"]]),
                money(r[col["expected"]]),
                f"{money(r.change_vs_alone, sign=True)} <span class='se'>"
                f"{plus_minus(r.ci95_change_vs_alone)}</span>",
                money(r[col["p95_alone"]]),
                money(r[col["p95"]]),
                money(r[col["cvar95"]]),
                limit,
            ]
        )
    money_words = _e(a.draws.money)
    return _table(
        [
            "Member",
            f"Expected {money_words} alone",
            f"Expected {money_words} with {_e(a.draws.scheme)} and the agreement",
            "Change against alone",
            f"1-in-20-year {money_words} lost alone",
            f"1-in-20-year {money_words} lost with the agreement",
            f"Average {money_words} lost in its worst 5% of years",
            "Limit on that average",
        ],
        rows,
    )


def _held_out(a: SystemAgreement) -> str:
    """The agreement checked on years it was not designed on, in plain words: what the held-out
    years show as materially worse or over a limit, and what they cannot resolve."""
    t = a.held_out
    if t is None:
        return ""
    n = len(a.draws.alone)
    names = dict(zip(a.draws.organisations, a.draws.names, strict=True))

    def change(r: Any) -> str:
        return (
            f"{_e(names[r.organisation])} ({money(r.change_vs_alone, sign=True)} "
            f"<span class='se'>{plus_minus(r.ci95_change_vs_alone)}</span> a year against alone)"
        )

    rows = list(t.itertuples(index=False))
    worse = [change(r) for r in rows if r.expectation == WORSE_OFF]
    over = [_e(names[r.organisation]) for r in rows if r.tail == OVER_LIMIT]
    close = [change(r) for r in rows if r.expectation == TOO_CLOSE]
    close += [
        f"{_e(names[r.organisation])} (worst years against its limit)"
        for r in rows
        if r.tail == TOO_CLOSE
    ]
    parts = []
    if worse:
        parts.append("materially worse off than alone: " + "; ".join(worse))
    if over:
        parts.append("over its limit in its worst years: " + ", ".join(over))
    if close:
        parts.append("too close to call on these years: " + "; ".join(close))
    if not parts:
        verdict = (
            "every member is still not materially worse off than going alone in expectation "
            "and within its limit in its worst years."
        )
    else:
        verdict = "; ".join(parts) + (
            ". The table is fitted to its own years: where a member's margin is this thin, add "
            "a margin before signing or run the report with more draws."
        )
    return (
        f"<p class='small'>Checked on {n:,} further simulated years not used to design it: "
        + verdict
        + "</p>"
    )


def _formulas(a: SystemAgreement) -> str:
    t = formula_table(a.draws, a.agreement)
    n = len(a.draws.organisations)
    rows = []
    for name, g in t.groupby("agreement", sort=False):
        worst = g.loc[g["change_vs_alone"].idxmin()]
        rows.append(
            [
                ("class='text'", _e(name)),
                f"{int(g['not_worse_in_expectation'].sum())} of {n}",
                f"{int(g['within_tail_limit'].sum())} of {n}",
                f"{_e(worst.organisation_name)} {money(worst.change_vs_alone, sign=True)}",
            ]
        )
    return _table(
        [
            "Agreement",
            "Members not worse off than alone",
            "Members within their limit in their worst years",
            f"Worst-placed member: expected {_e(a.draws.money)} against alone",
        ],
        rows,
    )


def agreement_html(agreements: list[SystemAgreement], n_systems: int) -> str:
    """The section's body: per system, the table to sign (or why none exists) and the formulas."""
    if not agreements:
        return (
            "<p class='note'>No agreement designed: "
            + (
                f"more than {MAX_AGREEMENT_SYSTEMS} systems in one report (run the report on "
                "one system's file)."
                if n_systems > MAX_AGREEMENT_SYSTEMS
                else "no option other than the baseline can be signed without changing a "
                "national rule."
            )
            + "</p>"
        )
    out = [
        "<p class='note'>Members may sign a side agreement on top of the national option: each "
        "year, part of one member's funding lost is borne by another. The table is designed on "
        "the simulated years to move as little money as possible while leaving every member "
        "no worse off than going alone in expectation, and the average of its worst 5% of "
        "years within its limit (its stated risk appetite, or its own average going alone), so "
        "its 1-in-20-year loss is within it too. Read each column: of "
        "each £1 of funding that member loses, the rows say who bears it; the last column is a "
        "fixed yearly payment between members (needed where going alone pays a member more than "
        "its allocation, through the year-end bonus). The common formulas "
        "are evaluated on the same years below it.</p>"
    ]
    for a in agreements:
        d = a.draws
        title = f"{d.system_name}: on top of {d.scheme} ({a.why})"
        out.append(f"<h3>{_e(title)}</h3>")
        if d.money != "funding":
            out.append(
                f"<p class='small'>Money here is {_e(d.money)}: the bonus each member would "
                "receive with every other system staying with the baseline, as the decision "
                "rule counts it; a member's loss is its allocation less that money.</p>"
            )
        if a.agreement.feasible and a.agreement.expected_moved < 0.005:
            out.append(
                f"<p>No transfers are needed: under {_e(d.scheme)} every member is already not "
                "materially worse off than going alone in expectation and within its limit in "
                f"its worst years ({len(d.alone):,} simulated years).</p>" + _outcome(a)
            )
        elif a.agreement.feasible:
            out.append(
                f"<p>Expected money moved between members (losses borne by others and fixed "
                "payments): "
                f"{money(a.agreement.expected_moved)} a year, on {len(d.alone):,} simulated "
                "years.</p>" + _signable(a) + _outcome(a)
            )
        else:
            out.append(f"<p><strong>{_e(a.agreement.message)}</strong></p>")
        if a.held_out is not None:
            out.append(_held_out(a))
        out.append("<h3>Common formulas on the same years</h3>" + _formulas(a))
    return "".join(out)


def agreement_lines(agreements: list[SystemAgreement]) -> list[str]:
    """Each designed table as plain text (a line per member bearing), for the closing note."""
    lines = []
    for a in agreements:
        d = a.draws
        lines.append(f"{d.system_name}, on top of {d.scheme}:")
        if not a.agreement.feasible:
            lines.append("  " + a.agreement.message)
            continue
        lines.append("  bearer \\ loss of: " + ", ".join(d.organisations))
        for i, org in enumerate(d.organisations):
            shares = " ".join(
                f"{a.agreement.table[i, j]:6.1%}" for j in range(len(d.organisations))
            )
            lines.append(f"  {org:>32}: {shares}  fixed {a.agreement.payment[i]:+.2f}m a year")
        lines.append(f"  expected money moved: £{a.agreement.expected_moved:.2f}m a year")
    return lines


__all__ = [
    "HELD_OUT_COLUMNS",
    "MAX_AGREEMENT_SYSTEMS",
    "SystemAgreement",
    "agreement_html",
    "agreement_lines",
    "agreement_option",
    "agreement_tables",
    "design_agreements",
]
