"""The national page's data: the national view of the report's analysis, as tables.

The statistics (participation counts, national funding at risk, fairness) are
:mod:`sct_engine.analysis.national`'s; this module picks the option systems are ranked by,
lays the systems out one row each for the ranked chart and table, and hands the workbook its
national sheets. The page itself is :mod:`.national_html`.
"""

from __future__ import annotations

import pandas as pd

from sct_engine.analysis.national import (
    JOINT_BASIS,
    RECOMMENDED_MIX,
    NationalView,
    sum_basis,
)
from sct_engine.analysis.paired import Z95
from sct_engine.report.data import ReportData

#: With at least this many systems the per-system material after the national page and the
#: inputs is folded in one ``<details>`` and the per-member charts are drawn only with
#: ``--system-detail``; with fewer (but more than one) it follows open. Any report with
#: several systems opens with the national page.
NATIONAL_FIRST_SYSTEMS = 10

#: The option systems are ranked by when the scenario offers it ("all or nothing").
RANKING_OPTION = "all_or_nothing"


def report_national_view(data: ReportData) -> NationalView:
    """The national view of the report's analysis (:attr:`ReportData.national`, simulated once
    per report)."""
    return data.national


def ranking_option(data: ReportData) -> str:
    """``all_or_nothing`` when offered, else the first option other than the baseline."""
    a = data.analysis
    names = [x for x in a.scheme_names if x != a.baseline]
    if RANKING_OPTION in names:
        return RANKING_OPTION
    base = RANKING_OPTION + "["  # a sweep point labels a changed option all_or_nothing[...]
    return next((x for x in names if x.startswith(base)), names[0] if names else a.baseline)


def ranked_systems(data: ReportData, view: NationalView) -> pd.DataFrame:
    """One row per system, ranked by its gain under :func:`ranking_option` (largest first).

    Columns: ``system``, ``system_name``, ``members``, ``sustainability_funding``,
    ``recommended_scheme``, then per option other than the baseline ``gain:<option>`` (expected
    income against the baseline, £m), ``ci95:<option>`` (its 95% half-width) and
    ``position:<option>`` (would sign, too close to call, would not sign).
    """
    a = data.analysis
    table = view.systems
    first = table[table["scheme"] == a.baseline].set_index("system")
    out = first[["system_name", "members", "sustainability_funding"]].copy()
    recommended = table[table["recommended"]].set_index("system")["scheme"]
    out["recommended_scheme"] = recommended.reindex(out.index)
    for name in a.scheme_names:
        if name == a.baseline:
            continue
        sub = table[table["scheme"] == name].set_index("system")
        out[f"gain:{name}"] = sub["diff_expected_income"]
        out[f"ci95:{name}"] = Z95 * sub["se_diff_expected_income"]
        out[f"position:{name}"] = sub["position"]
    key = ranking_option(data)
    if f"gain:{key}" in out:
        out = out.sort_values(f"gain:{key}", ascending=False, kind="stable")
    return out.reset_index()


def national_tables(data: ReportData) -> dict[str, pd.DataFrame]:
    """The national sheets of the board workbook (scenarios with several systems)."""
    view = report_national_view(data)
    recommended = pd.DataFrame(
        [
            {
                "scheme": RECOMMENDED_MIX,
                "basis": sum_basis(data.analysis.baseline),
                **view.recommended,
            }
        ]
    )
    tables = {"national_joint": view.joint} if view.joint is not None else {}
    return {
        **tables,
        "national_options": view.options,
        "national_recommended": recommended,
        "national_fairness": view.fairness,
        "national_systems": view.systems,
    }


def national_lines(data: ReportData) -> list[str]:
    """What ``sct report`` prints for a scenario with several systems, one line per option:
    how many systems would sign it under the decision rule and the national funding lost if
    every system signs it (with its 95% half-width), then the fairness headline (systems
    losing against the baseline, the worst 10%'s share of the loss) and the national loss if
    every system signs the option recommended to it."""
    a = data.analysis
    view = report_national_view(data)
    fair = view.fairness.set_index("scheme")
    lines = [f"National ({a.model.n_systems} systems, funding lost a year if every system signs):"]
    for r in view.options.itertuples(index=False):
        text = (
            f"  {r.scheme}: £{r.expected_funding_lost:,.1f}m ± {Z95 * r.se_expected_funding_lost:,.1f}m"
            f" lost; {r.systems_sign} would sign, {r.systems_too_close} too close to call, "
            f"{r.systems_refuse} would not, recommended to {r.systems_recommended}"
        )
        if r.scheme != a.baseline:
            f = fair.loc[r.scheme]
            share = f["loss_worst_decile_share"]
            text += f"; {int(f['systems_losing'])} lose against {a.baseline}" + (
                f" (worst 10% bear {share:.0%} of the loss)" if share == share else ""
            )
        lines.append(text)
    rec = view.recommended
    lines.append(
        f"  each system's recommendation, the systems' losses summed: "
        f"£{rec['expected_funding_lost']:,.1f}m lost "
        f"(± at most {rec['ci95_expected_funding_lost_bound']:,.1f}m)"
    )
    if view.joint is not None:
        money_word = a.gain_word
        lines.append(f"National, {JOINT_BASIS}; beside it the {sum_basis(a.baseline)}:")
        for r in view.joint.itertuples(index=False):
            lines.append(
                f"  {r.counterfactual}: £{r.expected_funding_lost:,.1f}m lost "
                f"(£{r.expected_funding_lost_net_of_bonus:,.1f}m net of bonus recycled); "
                f"{money_word} {r.diff_expected_income:+,.1f}m ± {r.ci95_diff_expected_income:,.1f}m"
                f" together, against {r.sum_of_system_gains:+,.1f}m summed one system at a time"
            )
    if not any(name != a.baseline for name in a.scheme_names):
        lines.append(f"  one option offered ({a.baseline}): no other option to sign instead")
    return lines


__all__ = [
    "NATIONAL_FIRST_SYSTEMS",
    "RANKING_OPTION",
    "national_lines",
    "national_tables",
    "ranked_systems",
    "ranking_option",
    "report_national_view",
]
