"""The report as an Excel workbook for a board: inputs first, then every table of the report.

Every table sheet has plain-English headers with units (row 1) over the column names of
docs/results.md (row 2), both frozen with the leading key columns; money shows as £m, shares
and probabilities as percentages; the funding-at-risk sheet carries a native Excel chart of
funding lost by option. :func:`write_board_workbook` takes plain tables, so it serves any
caller; :func:`write_workbook` feeds it the report's data.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sct_engine.files import text_cell
from sct_engine.report.data import ReportData, provenance_fields, report_tables
from sct_engine.report.inputs import input_tables
from sct_engine.report.sweep import SweepPoint, sweep_tables

MONEY_FORMAT = '"£"#,##0.00"m";[Red]-"£"#,##0.00"m"'
PERCENT_FORMAT = "0.0%"
RATIO_FORMAT = "0.00"
COUNT_FORMAT = "#,##0"
#: Sheet title of each report table; tables not listed keep a title made from their key.
SHEET_TITLES: dict[str, str] = {
    "recommendation": "Recommendation",
    "national": "Funding at risk",
    "systems": "Systems",
    "organisations": "Organisations",
    "comparison_systems": "Compare systems",
    "comparison_organisations": "Compare organisations",
    "participation": "Participation",
    "finance_and_ae": "Finance and A&E",
    "attribution": "Attribution",
    "contagion": "Contagion",
    "buffers": "Plan buffers",
    "mitigation": "Mitigation needed",
    "linked_share": "Largest linked share",
    "incentive_gradient": "Incentive gradient",
    "provenance": "Provenance",
    "sweep_points": "Points",
    "sweep_recommendation": "Recommendation by point",
    "sweep_options": "Options by point",
    "sweep_members": "Members by point",
    "sweep_failed": "Points not analysed",
    "national_joint": "National together",
    "national_options": "National by option",
    "national_recommended": "National recommended",
    "national_fairness": "National fairness",
    "national_systems": "National by system",
    "sensitivity_options": "Sensitivity by option",
    "sensitivity_systems": "Sensitivity by system",
}
INPUTS_SHEET = "Inputs"
CHART_TABLE = "national"
#: Columns identifying a row, kept in view when scrolling right.
KEY_COLUMNS = ("scheme", "system", "organisation")

#: Plain-English names of columns (without units); others are built by :func:`header`.
HEADERS: dict[str, str] = {
    "scheme": "Option",
    "system": "System",
    "system_name": "System name",
    "organisation": "Organisation",
    "organisation_name": "Organisation name",
    "kind": "Kind",
    "baseline": "Baseline option",
    "recommended_scheme": "Recommended option",
    "expected_funding": "Expected funding received",
    "expected_funding_lost": "Expected funding lost",
    "funding_lost_p95": "Funding lost in a 1-in-20 bad year, 95th percentile",
    "funding_lost_cvar95": "Average funding lost in the worst 5% of years, CVaR95",
    "sustainability_funding": "Funding at stake, PSF/CSF",
    "p_meet_control_total": "Probability of meeting own control total",
    "p_meet_system_control_total": "Probability of meeting the system control total",
    "p_any_funding_lost": "Probability of losing any funding",
    "p_all_funding_lost": "Probability of losing all funding",
    "p_any_member_loses_funding": "Probability any member loses funding",
    "p_any_organisation_loses_funding": "Probability any organisation loses funding",
    "p_system_test_passed": "Probability the system test is passed",
    "p_pass_after_redistribution": "Probability of passing after redistribution",
    "expected_outturn": "Expected outturn",
    "quantile_bin_width": "Precision of the 95th percentile",
    "expected_incentive": "Expected incentive PSF",
    "expected_bonus": "Expected year-end bonus",
    "control_total_uplift": "Control total uplift",
    "control_total": "Control total",
    "system_control_total": "System control total",
    "plan": "Plan",
    "turnover": "Turnover",
    "sd": "Outturn standard deviation",
    "sd_pct": "Outturn standard deviation (% of turnover)",
    "provider_type": "Type of trust",
    "change": "Change",
    "was": "In the scenario file",
    "ae_share": "Share of funding on A&E",
    "p_ae": "Probability A&E element earned",
    "mitigation": "Management actions",
    "tail_probability": "Large adverse event: probability a year",
    "tail_median_pct": "Large adverse event: median size, % of turnover",
    "gain_vs_baseline": "Gain against the baseline",
    "se_gain": "Standard error of the gain",
    "options_nobody_worse_off": "Options leaving nobody worse off",
    "options_the_rule_allows": "Options the decision rule allows",
    "too_close_to_call": "Too close to call",
    "changes_national_rules": "Changes national rules",
    "expected_income": "Expected income: funding, incentive and bonus",
    "expected_funding_and_bonus": "Expected funding and bonus received",
    "expected_funding_and_bonus_alone": "Expected funding and bonus received going alone",
    "funding_and_bonus_lost_p95": "Funding and bonus lost in a 1-in-20 bad year, 95th percentile",
    "funding_and_bonus_lost_p95_alone": (
        "Funding and bonus lost in a 1-in-20 bad year going alone, 95th percentile"
    ),
    "funding_and_bonus_lost_cvar95": (
        "Average funding and bonus lost in the worst 5% of years, CVaR95"
    ),
    "materiality": "Materiality: how much worse counts as worse",
    "decision_draws": "Draws behind the verdict",
    "expectation": "Verdict in expectation",
    "tail": "Verdict on the 1-in-20-year loss",
    "over_appetite": "1-in-20-year loss against the risk appetite",
    "lower_than_baseline": "1-in-20-year loss against the baseline's",
    "appetite": "Verdict on the risk appetite",
    "verdict": "Verdict",
    "funding_lost_p95_low": "Funding lost in a 1-in-20 bad year, low end of its 95% interval",
    "funding_lost_p95_high": "Funding lost in a 1-in-20 bad year, high end of its 95% interval",
    "p_lose_over_1m": "Probability of losing more than £1m in a year",
    "p_lose_over_10pct": "Probability of losing more than 10% of the funding at stake",
    "finance_element": "Finance element",
    "expected_finance_lost": "Expected finance element lost",
    "ae_element": "A&E element",
    "expected_ae_lost": "Expected A&E element lost",
    "reasons": "Why",
    "would_sign": "Would sign",
    "better_in_expectation": "Better off in expectation",
    "worse_in_expectation": "Materially worse off in expectation",
    "worse_in_tail": "Materially worse off in a bad year",
    "share_of_expected_loss": "Share of the system's expected loss",
    "co_cvar": "Contribution to the system's CVaR95",
    "share_of_cvar": "Share of the system's CVaR95",
    "system_expected_funding_lost": "System expected funding lost",
    "system_funding_lost_cvar": "System CVaR95",
    "p_miss_control_total": "Probability of missing own control total",
    "p_system_miss": "Probability the system misses",
    "p_system_miss_given_miss": "Probability the system misses when this member misses",
    "lift": "Lift: times the system's miss probability",
    "p_pivotal": "Probability pivotal",
    "p_pivotal_given_system_miss": "Probability pivotal when the system misses",
    "target": "Target probability",
    "p_pass_at_plan": "Probability of passing at plan",
    "buffer": "Plan improvement needed",
    "p_pass_with_buffer": "Probability of passing with the improvement",
    "plan_with_buffer": "Plan with the improvement",
    "p_pass_with_mitigation": "Probability of passing with the actions",
    "current_mitigation": "Management actions in the scenario",
    "loss_limit": "Loss limit, share of funding",
    "largest_share": "Largest linked share meeting the target",
    "feasible": "Feasible",
    "p_at_share": "Probability at that share",
    "p_at_zero": "Probability with nothing linked",
    "p_at_one": "Probability with everything linked",
    "own_gradient": "Own funding per £1 better outturn",
    "system_gradient": "System funding per £1 better outturn",
    "diff_own_gradient": "Change in own funding per £1 better outturn",
    "ratio_to_baseline": "Ratio to the baseline",
    "incentive": "Incentive",
    "members": "Members",
    "system_linked_share": "Share linked to the system",
    "redistribution": "Redistribution",
    "share_cap": "Cap on headroom given",
    "system_test": "System test",
    "ae_gateway": "A&E behind the national gateway",
    "setting": "Setting",
    "value": "Value",
    "unit": "Unit",
    "field": "Field",
    "warning": "Warning",
    "point": "Sweep point",
    "sweep": "Sweep point's values",
    "option": "Option, as named in the file",
    "recommended_option": "Recommended option, as named in the file",
    "status": "Under the decision rule",
    "why": "Why it is ruled out",
    "draws": "Draws",
    "folder": "Folder of the point's run",
    "page": "The point's own report",
    "systems": "Systems",
    "position": "Position under the decision rule",
    "members_worse": "Members materially worse off",
    "members_too_close": "Members too close to call",
    "recommended": "Recommended to it",
    "systems_sign": "Systems that would sign",
    "systems_too_close": "Systems too close to call",
    "systems_refuse": "Systems that would not sign",
    "systems_recommended": "Systems recommended it",
    "gain_signing": "Expected income gained by the systems that would sign",
    "ci95_gain_signing_bound": "95% confidence interval ± at most: gain of the signing systems",
    "funding_gain_signing": "Expected funding gained by the systems that would sign",
    "gain_too_close": "Expected income the too-close systems would gain",
    "gain_refusing": "Expected income the other systems would gain",
    "expected_funding_lost_with_participation": "Expected funding lost, only the systems that would sign signing",
    "ci95_expected_funding_lost_with_participation_bound": "95% confidence interval ± at most: funding lost with participation",
    "ci95_expected_funding_lost_bound": "95% confidence interval ± at most: expected funding lost",
    "gain": "Expected income gained against the baseline",
    "ci95_gain_bound": "95% confidence interval ± at most: gain",
    "systems_losing": "Systems losing against the baseline",
    "share_systems_losing": "Share of systems losing",
    "systems_losing_significantly": "Systems losing beyond the 95% interval",
    "gross_loss": "Lost by the losing systems",
    "gross_gain": "Gained by the gaining systems",
    "loss_worst_decile_share": "Share of that loss borne by the worst 10% of systems",
    "loss_gini": "Gini coefficient of losses",
    "funding_lost_worst_decile_share": "Share of funding lost borne by the worst 10% of systems",
    "funding_lost_rate_gini": "Gini coefficient of loss rates",
    # The joint counterfactuals (analysis.national.joint_national): the same words as the page.
    "counterfactual": "Counterfactual",
    "basis": "Basis of the national figures",
    "sum_basis": "Basis of the per-system sum",
    "sum_of_system_gains": "Sum of one-system-at-a-time gains in expected income",
    "ci95_sum_of_system_gains_bound": "95% confidence interval ± at most: sum of one-system-at-a-time gains",
    "funding_lost_p5": "Funding lost in a good year, 5th percentile",
    "expected_psf_lost": "Expected PSF lost (trusts)",
    "expected_csf_lost": "Expected CSF lost (commissioners)",
    "expected_bonus_recycled": "Expected bonus recycled (paid out of the pool)",
    "expected_funding_lost_net_of_bonus": "Expected funding lost net of bonus recycled",
    "bonus": "bonus",
    "variant": "Assumption variant",
    "assumption": "Assumption changed",
    "reference_scheme": "Option the report recommends",
    "gain_vs_reference": "Gain of the variant's option over the report's",
    "survives": "Does the report's recommendation survive?",
}
_PREFIXES = (
    ("se_", "Standard error: "),
    ("ci95_", "95% confidence interval ±: "),
    ("diff_", "Change in "),
    ("baseline_", "Baseline: "),
    ("held_out_", "Held-out years: "),  # an agreement checked on years it was not designed on
)
_RATIO = re.compile(r"gradient|^lift$|ratio|gini")
_PERCENT = re.compile(r"(^|_)p_|^p_|share|^target$|^loss_limit$|^p_ae$|probability")
_MONEY = re.compile(
    r"funding|outturn|gain|cvar|buffer|mitigation|incentive|bonus|control_total|uplift|plan"
    r"|turnover|^sd$|bin_width|income|materiality|element|_lost|^gross_"
)


def header(name: str) -> str:
    """A plain-English header for a column name (without its unit)."""
    if name in HEADERS:
        return HEADERS[name]
    if name.startswith("sweep."):
        return f"Swept field {name.removeprefix('sweep.')}"
    for prefix, words in _PREFIXES:
        if name.startswith(prefix):
            rest = header(name[len(prefix) :])
            return words + (rest[:1].lower() + rest[1:] if words.endswith(" ") else rest)
    match = re.fullmatch(r"(.*)_q([1-4])", name)
    if match:
        return f"{header(match.group(1))}, Q{match.group(2)}"
    words = name.replace("_", " ")
    return words[:1].upper() + words[1:]


def unit(name: str, column: pd.Series) -> str:
    """``£m``, ``%``, ``ratio``, ``count`` or ``""`` (text) for a column of a report table."""
    if not (pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)):
        return ""
    if _RATIO.search(name):
        return "ratio"
    if _PERCENT.search(name):
        return "%"
    if _MONEY.search(name):
        return "£m"
    return "count" if pd.api.types.is_integer_dtype(column) else ""


def _format(kind: str) -> str:
    return {"£m": MONEY_FORMAT, "%": PERCENT_FORMAT, "ratio": RATIO_FORMAT}.get(
        kind, COUNT_FORMAT if kind == "count" else "General"
    )


def _title(name: str, kind: str) -> str:
    text = header(name)
    return f"{text} ({kind})" if kind in ("£m", "%") else text


def _cell(value: Any) -> Any:
    """A table value as Excel holds it: numbers, text, Yes/No, blank for missing."""
    if isinstance(value, bool | np.bool_):
        return "Yes" if value else "No"
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return None if not np.isfinite(value) else float(value)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value if isinstance(value, int | str) else str(value)


# --- writing -------------------------------------------------------------------------------


def write_workbook(data: ReportData, path: str | os.PathLike[str]) -> Path:
    """The report's inputs and tables in a board workbook (see :func:`write_board_workbook`)."""
    provenance = provenance_fields(data)
    return write_board_workbook(
        report_tables(data),
        input_tables(data.analysis.model, provenance),
        path,
        title=str(provenance.get("scenario_name", "")),
    )


def write_sweep_workbook(
    points: Sequence[SweepPoint],
    path: str | os.PathLike[str],
    failed: Sequence[tuple[str, str]] = (),
) -> Path:
    """The sweep's tables (:func:`~sct_engine.report.sweep.sweep_tables`) in a board workbook,
    with the inputs at the first point on the Inputs sheet and, when some points could not be
    analysed, a sheet naming them and why."""
    first = points[0].analysis
    provenance = first.result.provenance
    tables = dict(sweep_tables(points))
    if failed:
        tables["sweep_failed"] = pd.DataFrame(failed, columns=["folder", "error"])
    return write_board_workbook(
        tables,
        input_tables(first.model, {**provenance, "baseline": first.baseline}),
        path,
        title=f"{provenance.get('scenario_name', '')}, {len(points)} sweep points",
    )


def write_board_workbook(
    tables: Mapping[str, pd.DataFrame],
    inputs: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    title: str = "",
) -> Path:
    """Write ``inputs`` (titled blocks on the first sheet) and ``tables`` (one sheet each, by
    :data:`SHEET_TITLES`) to an Excel workbook formatted for a board."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    _inputs_sheet(book.create_sheet(INPUTS_SHEET), inputs, title)
    for key, frame in tables.items():
        sheet = book.create_sheet(_sheet_title(key))
        _table_sheet(sheet, frame)
        if key == CHART_TABLE:
            _funding_chart(sheet, frame)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return out


def _sheet_title(key: str) -> str:
    text = SHEET_TITLES.get(key) or key.replace("_", " ").capitalize()
    return re.sub(r"[\\/*?:\[\]]", " ", text)[:31]


def _styles() -> dict[str, Any]:
    from openpyxl.styles import Alignment, Font, PatternFill

    return {
        "head_font": Font(bold=True, color="FFFFFF"),
        "head_fill": PatternFill("solid", fgColor="005EB8"),
        "field_font": Font(italic=True, size=9, color="595959"),
        "field_fill": PatternFill("solid", fgColor="E8EDEE"),
        "wrap": Alignment(wrap_text=True, vertical="top"),
        "title_font": Font(bold=True, size=14, color="005EB8"),
        "section_font": Font(bold=True, size=12, color="005EB8"),
    }


def _table_sheet(sheet: Any, frame: pd.DataFrame) -> None:
    """One table: plain-English header row, field-name row, values with number formats."""
    style = _styles()
    kinds = [unit(str(name), frame[name]) for name in frame.columns]
    _write_block(sheet, frame, 1, kinds, style, field_row=True)
    keys = sum(1 for name in frame.columns[:3] if name in KEY_COLUMNS)
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = f"{get_column_letter(keys + 1)}3"


def _write_block(
    sheet: Any,
    frame: pd.DataFrame,
    top: int,
    kinds: list[str],
    style: dict[str, Any],
    field_row: bool,
) -> int:
    """Write a header (and field-name) row and the rows of ``frame`` from row ``top``;
    widen columns to fit; return the first row after the block."""
    from openpyxl.utils import get_column_letter

    for c, (name, kind) in enumerate(zip(frame.columns, kinds, strict=True), start=1):
        head = text_cell(sheet.cell(top, c), _title(str(name), kind))
        head.font, head.fill, head.alignment = style["head_font"], style["head_fill"], style["wrap"]
        if field_row:
            field = sheet.cell(top + 1, c, str(name))
            field.font, field.fill = style["field_font"], style["field_fill"]
    first = top + (2 if field_row else 1)
    formats = [_format(kind) for kind in kinds]
    for r, row in enumerate(frame.itertuples(index=False), start=first):
        for c, value in enumerate(row, start=1):
            cell = text_cell(sheet.cell(r, c), _cell(value))
            cell.number_format = formats[c - 1]
    sheet.row_dimensions[top].height = 45
    for c, name in enumerate(frame.columns, start=1):
        letter = get_column_letter(c)
        width = _width(str(name), frame[name], kinds[c - 1])
        current = sheet.column_dimensions[letter].width or 0
        sheet.column_dimensions[letter].width = max(current, width)
        if width >= 60:
            for r in range(first, first + len(frame)):
                sheet.cell(r, c).alignment = style["wrap"]
    return first + len(frame)


def _width(name: str, column: pd.Series, kind: str) -> float:
    """Wide enough for the values as formatted, and for the header wrapped on two lines."""
    sample = column.head(500)
    if kind == "£m":
        longest = max((len(f"£{abs(v):,.2f}m") + 1 for v in sample if pd.notna(v)), default=6)
    elif kind == "%":
        longest = 7
    else:
        longest = max((len(str(_cell(v) or "")) for v in sample), default=4)
    head = len(_title(name, kind))
    return float(min(max(longest + 2, head / 2 + 2, 10), 60))


#: Words of the scenario format shown with spaces on the Inputs sheet, as on the page.
_WORDS = frozenset({"finance_earned", "own_test", "student_t", "skew_normal", "every_member"})


def _inputs_sheet(sheet: Any, inputs: Mapping[str, pd.DataFrame], title: str) -> None:
    """Titled blocks, one under the other: settings as setting | value | unit, then tables,
    with the headers, number formats and widths of the other sheets."""
    from openpyxl.styles import Alignment

    style = _styles()
    sheet.cell(1, 1, f"Inputs and assumptions: {title}" if title else "Inputs and assumptions")
    sheet.cell(1, 1).font = style["title_font"]
    sheet.cell(
        2,
        1,
        "Money in £m a year (surplus +, deficit -, before sustainability funding); shares and "
        "probabilities as percentages. The figures simulated, as the scenario gives them.",
    )
    row = 4
    for block, frame in inputs.items():
        sheet.cell(row, 1, block).font = style["section_font"]
        row += 1
        if frame.empty:
            sheet.cell(row, 1, "None.")
            row += 2
            continue
        if list(frame.columns) == ["setting", "value", "unit"]:
            kinds = ["", "", ""]
            end = _write_block(sheet, frame, row, kinds, style, field_row=False)
            for r, u in enumerate(frame["unit"], start=row + 1):
                cell = sheet.cell(r, 2)
                cell.number_format = {
                    "%": PERCENT_FORMAT,
                    "£m": MONEY_FORMAT,
                    "£ per £1": '"£"0.00" per £1"',
                }.get(u, "General")
                value = cell.value
                if isinstance(value, int) and not isinstance(value, bool) and u not in ("%",):
                    # counts (draws, members) with thousands separators; a seed as it is
                    cell.number_format = (
                        "0" if sheet.cell(r, 1).value == "Random seed" else COUNT_FORMAT
                    )
                elif isinstance(value, float) and u == "":
                    cell.number_format = "0.00"
                elif isinstance(value, str) and value in _WORDS:
                    cell.value = value.replace("_", " ")
                cell.alignment = Alignment(
                    horizontal="right" if not isinstance(value, str) else "left"
                )
        else:
            kinds = [unit(str(name), frame[name]) for name in frame.columns]
            end = _write_block(sheet, frame, row, kinds, style, field_row=False)
        row = end + 1
    sheet.freeze_panes = "A3"


def _funding_chart(sheet: Any, frame: pd.DataFrame) -> None:
    """A clustered bar chart of funding lost by option: expected, 1-in-20 year, CVaR95."""
    from openpyxl.chart import BarChart, Reference, Series
    from openpyxl.chart.data_source import AxDataSource, StrRef

    columns = list(frame.columns)
    if "scheme" not in columns or frame.empty:
        return
    first, last = 3, 2 + len(frame)
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = "Funding at risk by option (£m a year)"
    chart.y_axis.title = "£m a year"
    chart.y_axis.numFmt = '"£"#,##0.0"m"'
    chart.y_axis.majorGridlines = None
    chart.x_axis.title = "Option"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    for name in ("expected_funding_lost", "funding_lost_p95", "funding_lost_cvar95"):
        if name in columns:
            c = columns.index(name) + 1
            values = Reference(sheet, min_col=c, min_row=first, max_row=last)
            chart.series.append(Series(values, title=_title(name, "£m")))
    c = columns.index("scheme") + 1
    options = Reference(sheet, min_col=c, min_row=first, max_row=last)
    for series in chart.series:  # the option names are text: a string reference
        series.cat = AxDataSource(strRef=StrRef(f=str(options)))
    chart.height, chart.width = 9, 20
    from openpyxl.utils import get_column_letter

    sheet.add_chart(chart, f"{get_column_letter(len(columns) + 2)}3")
