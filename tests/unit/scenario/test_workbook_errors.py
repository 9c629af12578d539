"""Malformed scenario workbooks: every problem names the sheet, the row and the column (or
cell) and the field, with a fix, never a traceback; Excel's quirks are read as a user means."""

from __future__ import annotations

import datetime
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from sct_engine import files
from sct_engine.errors import Problem, ScenarioError
from sct_engine.scenario import limits, load_scenario
from sct_engine.scenario.workbook import reader
from sct_engine.scenario.workbook.layout import FIELD_ROW
from sct_engine.scenario.workbook.writer import write_scenario_workbook

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "scenarios" / "example_ics.yaml"
# Rows of the example's members on the Organisations sheet (data starts on row 3).
ACUTE_NORTH, ACUTE_SOUTH, CCG_CITY, CCG_COUNTY = 3, 4, 8, 9


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("book") / "example.xlsx"
    return write_scenario_workbook(path, load_scenario(EXAMPLE))


def letter(sheet: Any, name: str) -> str:
    """The column letter of a field on a table sheet (found by its row-2 field name)."""
    return next(c.column_letter for c in sheet[FIELD_ROW] if c.value == name)


def at(sheet: Any, name: str, row: int) -> str:
    return f"{letter(sheet, name)}{row}"


def edited(good: Path, tmp_path: Path, edit: Callable[[Any], None]) -> Path:
    book = load_workbook(good)
    edit(book)
    path = tmp_path / "edited.xlsx"
    book.save(path)
    return path


def problems(path: Path) -> list[Problem]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    found = caught.value.problems
    assert found and all(p.file == str(path) and p.fix for p in found)
    return found


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def test_text_in_a_money_cell_names_sheet_cell_and_field(good, tmp_path):
    cell = {}

    def edit(book):
        sheet = book["Organisations"]
        cell["at"] = at(sheet, "sustainability_funding", 7)
        sheet[cell["at"]] = "£5m"

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field == f"Organisations!{cell['at']} (sustainability_funding)"
    assert problem.message == "must be a number in £m (got '£5m')"
    assert "£m" in problem.fix
    assert str(problem).startswith(f"{tmp_path / 'edited.xlsx'}: Organisations!{cell['at']}")


def test_unknown_kind(good, tmp_path):
    def edit(book):
        book["Organisations"][at(book["Organisations"], "kind", ACUTE_SOUTH)] = "trust"

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field.startswith("Organisations!") and problem.field.endswith(
        f"{ACUTE_SOUTH} (kind)"
    )
    assert "provider, commissioner" in problem.message and "'trust'" in problem.message


def test_blank_required_cell(good, tmp_path):
    spot = {}

    def edit(book):
        sheet = book["Organisations"]
        spot["at"] = at(sheet, "control_total", 5)
        sheet[spot["at"]] = None

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field == f"Organisations!{spot['at']} (control_total)"
    assert problem.message == "is blank but required"
    assert problem.fix.startswith("fill in this cell")


def test_missing_column_names_the_header_row(good, tmp_path):
    def edit(book):
        sheet = book["Organisations"]
        column = next(c.column for c in sheet[FIELD_ROW] if c.value == "plan")
        sheet.delete_cols(column)

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field == "Organisations!2:2"
    assert "no column `plan`" in problem.message and "(£m)" in problem.message


def test_unknown_column_suggests_the_field(good, tmp_path):
    spot = {}

    def edit(book):
        sheet = book["Organisations"]
        spot["at"] = at(sheet, "sd_pct", FIELD_ROW)
        sheet[spot["at"]] = "sd_pc"

    found = problems(edited(good, tmp_path, edit))
    problem = next(p for p in found if p.field == f"Organisations!{spot['at']}")
    assert "unknown column `sd_pc`" in problem.message and "sd_pct" in problem.fix


def test_merged_cells(good, tmp_path):
    def edit(book):
        book["Organisations"].merge_cells("B5:C5")

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field == "Organisations!B5:C5" and "merged" in problem.message
    assert "unmerge" in problem.fix


def test_extra_sheet_is_refused_but_notes_sheets_are_not_read(good, tmp_path):
    def edit(book):
        book.create_sheet("Sheet1")["A1"] = 1

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field == "Sheet1" and "not a sheet of a scenario workbook" in problem.message
    assert "Notes" in problem.fix

    def notes(book):
        book.create_sheet("Notes workings")["A1"] = "=Organisations!E3*2"

    assert load_scenario(edited(good, tmp_path, notes)).name == "Example ICS 2018/19"


def test_hidden_sheet(good, tmp_path):
    def edit(book):
        book["Options"].sheet_state = "hidden"

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field == "Options" and "hidden" in problem.message and "Unhide" in problem.fix


def test_renamed_sheet(good, tmp_path):
    def edit(book):
        book["Organisations"].title = "Organisation"

    found = problems(edited(good, tmp_path, edit))
    assert {p.field for p in found} == {"Organisation", "Organisations"}
    renamed = next(p for p in found if p.field == "Organisation")
    assert "did you mean `Organisations`" in renamed.fix
    missing = next(p for p in found if p.field == "Organisations")
    assert missing.message == "the sheet is missing"


def test_formula_without_a_saved_value_is_refused(good, tmp_path):
    spot = {}

    def edit(book):
        sheet = book["Organisations"]
        spot["at"] = at(sheet, "plan", 6)
        sheet[spot["at"]] = f"={at(sheet, 'control_total', 6)}+1"

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field == f"Organisations!{spot['at']} (plan)"
    assert "formula with no saved value" in problem.message and "save" in problem.fix


def test_formula_is_read_through_the_value_excel_saved(good):
    """A workbook saved by Excel holds each formula and its value: the value is read.

    openpyxl cannot calculate, so the two views of such a file are built here: the values
    (what ``data_only=True`` gives) and the formulas.
    """
    formulas = load_workbook(good)
    sheet = formulas["Organisations"]
    spot = at(sheet, "plan", ACUTE_NORTH)
    formula = f"{at(sheet, 'control_total', ACUTE_NORTH)}+3.7"
    sheet[spot] = f"={formula}"
    written = good.parent / "formula.xlsx"
    formulas.save(written)
    # Excel saves the formula's value beside it (openpyxl, which cannot calculate, leaves it out).
    saved = good.parent / "saved.xlsx"
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(saved, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(
                item,
                data.replace(
                    f"<f>{formula}</f><v />".encode(), f"<f>{formula}</f><v>0.7</v>".encode()
                ),
            )
    assert saved.stat().st_size and b"<v>0.7</v>" in b"".join(
        zipfile.ZipFile(saved).read(n) for n in zipfile.ZipFile(saved).namelist()
    )
    data = reader.read_workbook(saved, "book.xlsx").data
    assert data["systems"][0]["organisations"][0]["plan"] == pytest.approx(0.7)


def test_excel_error_value(good, tmp_path):
    spot = {}

    def edit(book):
        sheet = book["Organisations"]
        spot["at"] = at(sheet, "turnover", 4)
        sheet[spot["at"]] = "#N/A"

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field == f"Organisations!{spot['at']} (turnover)"
    assert problem.message == "holds the Excel error #N/A"


def test_date_in_a_number_cell(good, tmp_path):
    def edit(book):
        sheet = book["Organisations"]
        sheet[at(sheet, "mitigation", 3)] = datetime.datetime(2018, 4, 1)

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field.endswith("3 (mitigation)") and "date" in problem.message


def test_percent_typed_into_a_plain_percentage_column(good, tmp_path):
    def edit(book):
        sheet = book["Organisations"]
        cell = sheet[at(sheet, "sd_pct", ACUTE_SOUTH)]
        cell.value, cell.number_format = 0.014, "0.0%"  # someone typed 1.4%

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field.endswith(f"{ACUTE_SOUTH} (sd_pct)")
    assert "shows 1.4%" in problem.message and "type 1.4 without the % sign" in problem.fix


def test_hidden_row_holding_a_member(good, tmp_path):
    def edit(book):
        book["Organisations"].row_dimensions[5].hidden = True

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field == "Organisations!5:5" and "hidden" in problem.message


def test_member_of_an_unknown_system(good, tmp_path):
    def edit(book):
        book["Organisations"]["A6"] = "example_icz"

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field == "Organisations!A6 (system)"
    assert "did you mean `example_ics`" in problem.fix


def test_blank_system_is_the_only_system_but_refused_with_two(good, tmp_path):
    def one(book):
        book["Organisations"]["A6"] = None

    scenario = load_scenario(edited(good, tmp_path, one))
    assert len(scenario.systems[0].organisations) == 8

    def two(book):
        book["Organisations"]["A6"] = None
        book["Systems"]["A4"] = "other_ics"
        book["Organisations"]["A10"] = "other_ics"
        for c, cell in enumerate(book["Organisations"][9], start=1):
            if c > 1:
                book["Organisations"].cell(10, c, cell.value)
        book["Organisations"][at(book["Organisations"], "id", 10)] = "ccg_other"

    found = problems(edited(good, tmp_path, two))
    assert any(p.field == "Organisations!A6 (system)" and "blank" in p.message for p in found)


def test_cross_field_rule_points_at_the_cell(good, tmp_path):
    spot = {}

    def edit(book):
        sheet = book["Organisations"]
        spot["at"] = at(sheet, "sd", ACUTE_NORTH)
        sheet[spot["at"]] = None  # acute_north gives sd only

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field == f"Organisations!{spot['at']} (sd)"
    assert "no spread of outturn" in problem.message


def test_duplicate_id_points_at_the_second(good, tmp_path):
    spot = {}

    def edit(book):
        sheet = book["Organisations"]
        spot["at"] = at(sheet, "id", 6)
        sheet[spot["at"]] = "acute_north"
        book.remove(book["Correlation"])  # its rows would name the member twice first

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field == f"Organisations!{spot['at']} (id)"
    assert "duplicate organisation id 'acute_north'" in problem.message


def test_correlation_entry_points_at_its_cell(good, tmp_path):
    def edit(book):
        book["Correlation"]["C5"] = 0.9  # row acute_north, column acute_south; C6 is 0.5

    found = problems(edited(good, tmp_path, edit))
    cells = {p.field.split(" ")[0] for p in found}
    assert cells & {"Correlation!C5", "Correlation!B6"}, [str(p) for p in found]
    assert all("symmetric" in p.message for p in found)


def test_correlation_block_for_an_unknown_system(good, tmp_path):
    def edit(book):
        book["Correlation"]["B3"] = "nowhere"

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field == "Correlation!B3" and "not a system id" in problem.message


def test_settings_unknown_field_and_bad_value(good, tmp_path):
    def edit(book):
        sheet = book["Settings"]
        rows = {sheet.cell(r, 4).value: r for r in range(1, sheet.max_row + 1)}
        sheet.cell(rows["uncertainty.dof"], 4, "uncertainty.doff")
        sheet.cell(rows["simulation.draws"], 2, "lots")

    found = problems(edited(good, tmp_path, edit))
    assert any("unknown field `uncertainty.doff`" in p.message for p in found)
    assert any("did you mean `uncertainty.dof`" in p.fix for p in found)


def test_settings_value_problem_names_its_cell(good, tmp_path):
    def edit(book):
        sheet = book["Settings"]
        rows = {sheet.cell(r, 4).value: r for r in range(1, sheet.max_row + 1)}
        sheet.cell(rows["simulation.draws"], 2, 0)

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field.startswith("Settings!B") and problem.field.endswith("(simulation.draws)")


def test_system_without_members_names_its_row(good, tmp_path):
    def edit(book):
        book["Systems"]["A4"] = "empty_ics"

    problem = only(problems(edited(good, tmp_path, edit)))
    assert problem.field == "Systems!A4 (organisations)" and "no organisations" in problem.message


def test_warnings_name_cells(good, tmp_path):
    spot = {}

    def edit(book):
        sheet = book["Organisations"]
        spot["at"] = at(sheet, "sustainability_funding", CCG_COUNTY)
        sheet[spot["at"]] = 1.0  # a commissioner with a breakeven control total: no CSF

    scenario = load_scenario(edited(good, tmp_path, edit))
    (warning,) = scenario.warnings
    assert warning.field == f"Organisations!{spot['at']} (sustainability_funding)"


def test_cells_are_read_as_a_user_means(good, tmp_path):
    def edit(book):
        sheet = book["Organisations"]
        sheet[at(sheet, "plan", ACUTE_NORTH)] = " -0.5 "  # a number stored as text
        sheet[at(sheet, "p_ae", ACUTE_NORTH)] = "55%"  # typed with % into text
        sheet[at(sheet, "kind", CCG_CITY)] = "Commissioner"
        sheet[at(sheet, "has_ae", ACUTE_SOUTH)] = "yes"
        settings = book["Settings"]
        rows = {settings.cell(r, 4).value: r for r in range(1, settings.max_row + 1)}
        settings.cell(rows["simulation.draws"], 2, 50000.0)

    scenario = load_scenario(edited(good, tmp_path, edit))
    orgs = {o.id: o for o in scenario.systems[0].organisations}
    assert orgs["acute_north"].plan == -0.5 and orgs["acute_north"].p_ae == pytest.approx(0.55)
    assert orgs["ccg_city"].kind == "commissioner" and orgs["acute_south"].has_ae is True
    assert scenario.simulation.draws == 50000


def test_empty_options_sheet_means_the_builtin_menu(good, tmp_path):
    def edit(book):
        sheet = book["Options"]
        sheet.delete_rows(3, sheet.max_row)

    scenario = load_scenario(edited(good, tmp_path, edit))
    assert [s.name for s in scenario.schemes] == [
        "organisation_only",
        "all_or_nothing",
        "all_or_nothing_strict",
        "flexible_25",
        "flexible_50",
        "flexible_75",
    ]


def test_not_a_workbook(tmp_path):
    path = tmp_path / "members.xlsx"
    path.write_text("id,kind\nacute_a,provider\n")
    problem = only(problems(path))
    assert "not an .xlsx workbook" in problem.message and "save it as" in problem.fix


def test_old_excel_format(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    problem = only(problems(path))
    assert ".xls spreadsheet" in problem.message and ".xlsx" in problem.fix


def test_damaged_workbook(tmp_path):
    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not a workbook")
    problem = only(problems(path))
    assert "cannot be read as an Excel workbook" in problem.message


def test_size_limits_hold_for_workbooks(good, tmp_path, monkeypatch):
    copy = tmp_path / "copy.xlsx"
    shutil.copy(good, copy)
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1000)  # one limit for every file read
    problem = only(problems(copy))
    assert "above the limit of 1,000 bytes" in problem.message
    monkeypatch.undo()
    monkeypatch.setattr(limits, "MAX_WORKBOOK_UNZIPPED_BYTES", 10_000)
    problem = only(problems(copy))
    assert "unpacks to" in problem.message and "10,000" in problem.message
    monkeypatch.undo()
    monkeypatch.setattr(limits, "MAX_ORGANISATIONS", 7)
    problem = only(problems(copy))  # 8 members; 6 options and 1 system are within the limit
    assert problem.field == "Organisations" and "above the limit of 7" in problem.message
