"""report/workbook.py: a board workbook's stable contract.

Inputs first, then one sheet per table with plain-English headers and units over the
column names, frozen header rows and key columns, £m and % number formats, a native
chart of funding at risk, and text that is never a live formula. Layout details (widths,
colours, which tables a report holds) are left to the report's own tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from sct_engine.report.workbook import (
    INPUTS_SHEET,
    MONEY_FORMAT,
    PERCENT_FORMAT,
    SHEET_TITLES,
    header,
    unit,
    write_board_workbook,
)

pytestmark = pytest.mark.unit

NATIONAL = pd.DataFrame(
    {
        "scheme": ["organisation_only", "flexible_25"],
        "expected_funding_lost": [18.86, 9.28],
        "funding_lost_p95": [36.91, 23.97],
        "funding_lost_cvar95": [40.6, 29.66],
    }
)
ORGANISATIONS = pd.DataFrame(
    {
        "scheme": ["organisation_only"] * 2,
        "system": ["ics_a"] * 2,
        "organisation": ["acute_a", "ccg_a"],
        "p_meet_control_total": [0.61, 0.9],
        "expected_funding_lost": [1.25, np.nan],
        "draws": np.array([2000, 2000], dtype=np.int64),
        "has_ae": [True, False],
    }
)
INPUTS = {
    "Settings": pd.DataFrame(
        {"setting": ["draws", "national share"], "value": [2000, 0.2], "unit": ["", "%"]}
    ),
    "Organisations": pd.DataFrame({"organisation": ["acute_a"], "plan": [-3.0]}),
    "Nothing here": pd.DataFrame(),
}


@pytest.fixture
def book(tmp_path):
    path = write_board_workbook(
        {"national": NATIONAL, "organisations": ORGANISATIONS},
        INPUTS,
        tmp_path / "sub" / "board.xlsx",
        title="Example ICS",
    )
    assert path == tmp_path / "sub" / "board.xlsx"
    return load_workbook(path)


def test_inputs_come_first_then_one_titled_sheet_per_table(book):
    assert book.sheetnames == [
        INPUTS_SHEET,
        SHEET_TITLES["national"],
        SHEET_TITLES["organisations"],
    ]
    inputs = book[INPUTS_SHEET]
    assert "Example ICS" in inputs["A1"].value
    texts = [c.value for c in inputs["A"] if isinstance(c.value, str)]
    assert {"Settings", "Organisations", "Nothing here", "None."} <= set(texts)


def test_table_sheets_have_headers_with_units_over_the_field_names(book):
    sheet = book[SHEET_TITLES["organisations"]]
    names = [c.value for c in sheet[2]]
    assert names == list(ORGANISATIONS.columns)
    heads = {name: c.value for name, c in zip(names, sheet[1], strict=True)}
    assert heads["expected_funding_lost"].endswith("(£m)")
    assert heads["p_meet_control_total"].endswith("(%)")
    assert all(isinstance(h, str) and h for h in heads.values())


def test_number_formats_money_percent_and_yes_no(book):
    sheet = book[SHEET_TITLES["organisations"]]
    col = {c.value: c.column for c in sheet[2]}
    money = sheet.cell(3, col["expected_funding_lost"])
    assert money.value == pytest.approx(1.25) and money.number_format == MONEY_FORMAT
    assert "£" in MONEY_FORMAT and "m" in MONEY_FORMAT
    share = sheet.cell(3, col["p_meet_control_total"])
    assert share.value == pytest.approx(0.61) and share.number_format == PERCENT_FORMAT
    assert sheet.cell(4, col["expected_funding_lost"]).value is None  # NaN: blank, not "nan"
    assert [sheet.cell(r, col["has_ae"]).value for r in (3, 4)] == ["Yes", "No"]
    assert sheet.cell(3, col["draws"]).value == 2000


def test_header_rows_and_key_columns_are_frozen(book):
    assert book[SHEET_TITLES["organisations"]].freeze_panes == "D3"  # scheme, system, member
    assert book[SHEET_TITLES["national"]].freeze_panes == "B3"
    assert book[INPUTS_SHEET].freeze_panes == "A3"


def test_funding_at_risk_carries_a_native_chart(book):
    charts = book[SHEET_TITLES["national"]]._charts
    assert len(charts) == 1
    assert len(charts[0].series) == 3


def test_text_is_never_a_live_formula(tmp_path):
    """A name from someone's scenario such as `=HYPERLINK(...)` stays text in the board's file."""
    hostile = ['=HYPERLINK("http://example.org","x")', "=1+1", "+SUM(A1)", "@cmd"]
    tables = {
        "national": NATIONAL.assign(scheme=hostile[:2]),
        "notes": pd.DataFrame({"n": hostile}),
    }
    inputs = {"Settings": pd.DataFrame({"setting": ["name"], "value": ["=2+2"], "unit": [""]})}
    book = load_workbook(write_board_workbook(tables, inputs, tmp_path / "b.xlsx", title="=3+3"))
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate}: {cell.value}"
    assert book["Notes"]["A3"].value == hostile[0]


def test_headers_and_units_by_name():
    assert header("se_expected_funding_lost").startswith("Standard error: ")
    assert header("expected_funding_q2").endswith(", Q2")
    assert header("sweep.schemes[2].system_linked_share").startswith("Swept field")
    numbers = pd.Series([1.0, 2.0])
    assert unit("expected_funding_lost", numbers) == "£m"
    assert unit("p_meet_control_total", numbers) == "%"
    assert unit("scheme", pd.Series(["a"])) == ""
    assert unit("draws", pd.Series([1, 2])) == "count"
