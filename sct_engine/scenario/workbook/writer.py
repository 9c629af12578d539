"""Writing a scenario workbook (``sct template``, ``sct convert``): the sheets of :mod:`.layout`
filled from a scenario, with Excel's own data validation and a Guide to every column.

Written with openpyxl; what it writes, :mod:`.reader` reads back to the same scenario.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from sct_engine.files import text_cell
from sct_engine.scenario.models import Scenario
from sct_engine.scenario.workbook.layout import (
    CORRELATION,
    CORRELATION_LABEL,
    FIELD_ROW,
    FIRST_DATA_ROW,
    GUIDE,
    NOTES_PREFIX,
    SETTINGS,
    SETTINGS_HEADER,
    SYSTEMS,
    TITLE_ROW,
    Column,
    Table,
    actuals_table,
    options_table,
    organisations_table,
    settings_rows,
    systems_table,
)

#: Rows below the data that still carry validation and formats, for members added later.
SPARE_ROWS = 500
MONEY_FORMAT = "#,##0.0##"
PERCENT_FORMAT = "0.0#%"
INTEGER_FORMAT = "#,##0"
CORRELATION_FORMAT = "0.00##"

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="005EB8")  # NHS blue
_FIELD_FONT = Font(italic=True, size=9, color="595959")
_FIELD_FILL = PatternFill("solid", fgColor="E8EDEE")
_SECTION_FONT = Font(bold=True, size=12, color="005EB8")
_WRAP = Alignment(wrap_text=True, vertical="top")

#: What ``sct template`` without ``--from`` starts from: one system, a provider and a
#: commissioner, to be replaced by the user's own members.
STARTER: dict[str, Any] = {
    "name": "My ICS 2018/19",
    "description": "Replace the example rows with your system's members (figures in £m).",
    "systems": [
        {
            "id": "my_ics",
            "name": "My ICS",
            "organisations": [
                {
                    "id": "acute_trust",
                    "name": "Example Acute NHS Trust (replace)",
                    "kind": "provider",
                    "plan": -3.0,
                    "control_total": -4.0,
                    "sustainability_funding": 18.6,
                    "turnover": 620.0,
                    "sd_pct": 1.2,
                    "has_ae": True,
                    "mitigation": 3.5,
                },
                {
                    "id": "ccg",
                    "name": "NHS Example CCG (replace)",
                    "kind": "commissioner",
                    "plan": -7.0,
                    "control_total": -10.0,
                    "sustainability_funding": 10.0,
                    "turnover": 950.0,
                    "sd_pct": 0.6,
                },
            ],
        }
    ],
}


def write_scenario_workbook(path: str | os.PathLike[str], scenario: Scenario | None = None) -> Path:
    """Write ``scenario`` (default: a small starter) as a scenario workbook at ``path``."""
    scenario = scenario if scenario is not None else Scenario.model_validate(STARTER)
    data = scenario.model_dump(mode="python")
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    members = [
        {"system": system["id"], **org}
        for system in data["systems"]
        for org in system["organisations"]
    ]
    _table_sheet(book, organisations_table(), members)
    _table_sheet(book, systems_table(), data["systems"])
    _table_sheet(book, options_table(), data["schemes"])
    _settings_sheet(book, data)
    _correlation_sheet(book, scenario)
    _table_sheet(book, actuals_table(), (data.get("actuals") or {}).get("organisations", []))
    _guide_sheet(book)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return out


# --- cells ---------------------------------------------------------------------------------


def _get(record: Any, path: Iterable[str | int]) -> Any:
    """The value at ``path`` in dumped scenario data, None where anything on the way is."""
    node = record
    for step in path:
        if node is None:
            return None
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and step < len(node) else None
        else:
            node = node.get(step) if isinstance(node, dict) else None
    return node


def _cell_value(value: Any) -> Any:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value


def number_format(column: Column) -> str:
    """The Excel number format of a column's cells."""
    if column.percent:
        return PERCENT_FORMAT
    if column.unit == "£m":
        return MONEY_FORMAT
    if column.kind == "integer":
        return INTEGER_FORMAT
    if column.kind in ("text", "choice", "list"):
        return "@"
    return "General"


def validation(column: Column) -> DataValidation | None:
    """Excel's own check of a column: a drop-down list or a number range."""
    rule: dict[str, Any]
    if column.choices or column.kind == "boolean":
        values = column.choices or ("TRUE", "FALSE")
        rule = {"type": "list", "formula1": '"' + ",".join(values) + '"'}
    elif column.kind in ("number", "integer"):
        kind = "whole" if column.kind == "integer" else "decimal"
        bounds: tuple[str, float, float | None]
        if column.minimum is not None and column.maximum is not None:
            bounds = ("between", column.minimum, column.maximum)
        elif column.minimum is not None:
            bounds = ("greaterThanOrEqual", column.minimum, None)
        elif column.exclusive_minimum is not None:
            bounds = ("greaterThan", column.exclusive_minimum, None)
        else:  # any number, but not text
            bounds = ("between", -1e12, 1e12)
        operator, low, high = bounds
        rule = {"type": kind, "operator": operator, "formula1": f"{low:g}"}
        if high is not None:
            rule["formula2"] = f"{high:g}"
    else:
        return None
    return DataValidation(
        **rule,
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorTitle=column.label[:32],
        error=f"{column.title}: {column.allowed()}."[:255],
        promptTitle=column.label[:32],
        prompt=_prompt(column),
    )


def _prompt(column: Column) -> str:
    text = f"{column.description} Allowed: {column.allowed()}. Default: {column.shown_default()}."
    return text if len(text) <= 255 else text[:252] + "..."


# --- sheets --------------------------------------------------------------------------------


def _table_sheet(book: Workbook, table: Table, records: list[dict[str, Any]]) -> None:
    sheet = book.create_sheet(table.sheet)
    last = FIRST_DATA_ROW + len(records) + SPARE_ROWS
    for c, column in enumerate(table.columns, start=1):
        letter = get_column_letter(c)
        title = sheet.cell(TITLE_ROW, c, column.title)
        title.font, title.fill, title.alignment = _HEADER_FONT, _HEADER_FILL, _WRAP
        name = sheet.cell(FIELD_ROW, c, column.name)
        name.font, name.fill = _FIELD_FONT, _FIELD_FILL
        fmt = number_format(column)
        sheet.column_dimensions[letter].number_format = fmt
        for r, record in enumerate(records, start=FIRST_DATA_ROW):
            value = _get(record, column.path)
            if value is not None:
                text_cell(sheet.cell(r, c), _cell_value(value)).number_format = fmt
        check = validation(column)
        if table.sheet != SYSTEMS and column.name == "system":
            check = _system_list(column)
        if check is not None:
            check.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last}")
            sheet.add_data_validation(check)
        sheet.column_dimensions[letter].width = _width(column)
    sheet.row_dimensions[TITLE_ROW].height = 48
    sheet.freeze_panes = table.freeze


def _system_list(column: Column) -> DataValidation:
    """The system column offers the ids of the Systems sheet."""
    letter = get_column_letter(
        next(i for i, c in enumerate(systems_table().columns, start=1) if c.name == "id")
    )
    return DataValidation(
        type="list",
        formula1=f"={SYSTEMS}!${letter}${FIRST_DATA_ROW}:${letter}$1000",
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorTitle=column.label[:32],
        error="Pick a system id from the Systems sheet.",
        promptTitle=column.label[:32],
        prompt=_prompt(column),
    )


def _width(column: Column) -> float:
    if column.name in ("name", "description"):
        return 40
    if column.name in ("id", "system"):
        return 22
    return max(12.0, min(24.0, len(column.title) / 2 + 4))


def _settings_sheet(book: Workbook, data: dict[str, Any]) -> None:
    sheet = book.create_sheet(SETTINGS)
    for c, text in enumerate(SETTINGS_HEADER, start=1):
        cell = sheet.cell(1, c, text)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
    row = 2
    for section, columns in settings_rows():
        sheet.cell(row, 1, section).font = _SECTION_FONT
        row += 1
        for column in columns:
            sheet.cell(row, 1, column.label)
            value = _get(data, column.path)
            cell = text_cell(sheet.cell(row, 2), None if value is None else _cell_value(value))
            cell.number_format = number_format(column)
            sheet.cell(row, 3, column.unit)
            sheet.cell(row, 4, column.name).font = _FIELD_FONT
            meaning = sheet.cell(
                row,
                5,
                f"{column.description} Allowed: {column.allowed()}. "
                f"Default: {column.shown_default()}.",
            )
            meaning.alignment = _WRAP
            check = validation(column)
            if check is not None:
                check.add(cell.coordinate)
                sheet.add_data_validation(check)
            row += 1
        row += 1
    for letter, width in zip("ABCDE", (42, 24, 14, 34, 90), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"


def _correlation_sheet(book: Workbook, scenario: Scenario) -> None:
    sheet = book.create_sheet(CORRELATION)
    sheet["A1"] = (
        "Optional: a correlation matrix of a system's members' year-end outturns (national "
        f"factor included). One block per system: `{CORRELATION_LABEL}` in column A and the "
        "system id in column B, then the member ids across and down, then the correlations "
        "(1 on the diagonal, symmetric). No block: the one-factor default. See the Guide."
    )
    sheet["A1"].font = Font(italic=True, color="595959")
    row = 3
    widest = 0
    for system in scenario.systems:
        if system.correlation is None:
            continue
        order = system.correlation.organisations or [org.id for org in system.organisations]
        label = sheet.cell(row, 1, CORRELATION_LABEL)
        label.font = _SECTION_FONT
        text_cell(sheet.cell(row, 2), system.id).font = _SECTION_FONT
        corner = sheet.cell(row + 1, 1, "organisation")
        corner.font = _FIELD_FONT
        for k, member in enumerate(order, start=2):
            head = text_cell(sheet.cell(row + 1, k), member)
            head.font, head.fill, head.alignment = _HEADER_FONT, _HEADER_FILL, _WRAP
        for i, (member, values) in enumerate(zip(order, system.correlation.matrix, strict=True)):
            text_cell(sheet.cell(row + 2 + i, 1), member).font = Font(bold=True)
            for j, value in enumerate(values, start=2):
                sheet.cell(row + 2 + i, j, value).number_format = CORRELATION_FORMAT
        check = DataValidation(
            type="decimal", operator="between", formula1="-1", formula2="1", allow_blank=True
        )
        check.error = "A correlation lies between -1 and 1."
        check.showErrorMessage = True
        last = get_column_letter(len(order) + 1)
        check.add(f"B{row + 2}:{last}{row + 1 + len(order)}")
        sheet.add_data_validation(check)
        widest = max(widest, len(order))
        row += len(order) + 3
    sheet.column_dimensions["A"].width = 26
    for k in range(2, widest + 2):
        sheet.column_dimensions[get_column_letter(k)].width = 14


def _guide_sheet(book: Workbook) -> None:
    sheet = book.create_sheet(GUIDE)
    intro = [
        "How to fill in this scenario workbook",
        "Money is in £ millions (-3.5 is a £3.5m deficit); plans and control totals are before "
        "sustainability funding. Shares and probabilities show as percentages.",
        "Row 1 of each sheet is the plain-English header; row 2 holds the field names the "
        "engine reads (keep them). Blank cells take the default shown below.",
        "Organisations: one row per member, naming its system (a row of Systems). Options: one "
        "row per risk-sharing option (leave it empty for the built-in 2018/19 menu). Settings: "
        "the scenario name, draws and seed, uncertainty and regime. Correlation: optional. "
        "Actuals: optional, the year to date for `sct reforecast` (one row per organisation, "
        "figures for the closed quarters separated by ;; closed quarters in Settings).",
        f"Sheets whose names start with '{NOTES_PREFIX}' are never read: keep workings there. "
        "Formulas are fine: the values Excel saved are read.",
        "Check it with `sct validate FILE.xlsx` (every problem names its cell), then "
        "`sct report FILE.xlsx --out board.html --xlsx board.xlsx`.",
    ]
    for r, text in enumerate(intro, start=1):
        cell = sheet.cell(r, 1, text)
        cell.font = _SECTION_FONT if r == 1 else Font()
    header_row = len(intro) + 2
    header = (
        "Sheet",
        "Column header",
        "Field name",
        "Meaning",
        "Unit",
        "Default",
        "Allowed values",
    )
    for c, text in enumerate(header, start=1):
        cell = sheet.cell(header_row, c, text)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
    rows: list[tuple[str, Column]] = [
        (table.sheet, column)
        for table in (organisations_table(), systems_table(), options_table(), actuals_table())
        for column in table.columns
    ]
    rows += [(SETTINGS, column) for _, columns in settings_rows() for column in columns]
    r = header_row + 1
    for sheet_name, column in rows:
        values = (
            sheet_name,
            column.title,
            column.name,
            column.description,
            column.unit,
            column.shown_default(),
            column.allowed(),
        )
        for c, value in enumerate(values, start=1):
            sheet.cell(r, c, value).alignment = _WRAP
        r += 1
    sheet.cell(r, 1, CORRELATION).alignment = _WRAP
    sheet.cell(r, 2, "Correlation of two members' outturns").alignment = _WRAP
    sheet.cell(r, 3, "systems[].correlation.matrix")
    sheet.cell(
        r,
        4,
        "One block per system with a matrix: System | id, the member ids across and down, then "
        "the correlations of the members' year-end outturns, national factor included. One that "
        "is not a valid correlation matrix is replaced by the nearest valid one, with a warning.",
    ).alignment = _WRAP
    sheet.cell(r, 5, "correlation")
    sheet.cell(r, 6, "no block: one-factor model")
    sheet.cell(r, 7, "-1 to 1, 1 on the diagonal, symmetric")
    for letter, width in zip("ABCDEFG", (16, 36, 30, 80, 14, 14, 30), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = f"A{header_row + 1}"
