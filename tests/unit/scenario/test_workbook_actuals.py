"""The Actuals sheet of a scenario workbook: the year to date round-trips, and every problem
names its sheet, cell and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from sct_engine.errors import ScenarioError
from sct_engine.scenario import load_scenario
from sct_engine.scenario.workbook.layout import ACTUALS, SETTINGS
from sct_engine.scenario.workbook.writer import write_scenario_workbook

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "scenarios" / "example_ics_q2.yaml"


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("actuals") / "q2.xlsx"
    write_scenario_workbook(path, load_scenario(EXAMPLE))
    return path


def edited(good: Path, tmp_path: Path, edit) -> Path:
    book = load_workbook(good)
    edit(book)
    path = tmp_path / "edited.xlsx"
    book.save(path)
    return path


def messages(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return [str(p) for p in caught.value.problems]


def test_the_year_to_date_round_trips_through_a_workbook(good):
    assert load_scenario(good).actuals == load_scenario(EXAMPLE).actuals
    sheet = load_workbook(good)[ACTUALS]
    assert [c.value for c in sheet[2]] == ["id", "ytd_outturn", "finance_paid", "ae_paid"]
    assert sheet["B3"].value == "-0.4; -2.3"


def test_a_workbook_without_a_year_to_date_has_no_actuals(tmp_path):
    path = tmp_path / "template.xlsx"
    write_scenario_workbook(path)
    assert ACTUALS in load_workbook(path).sheetnames
    assert load_scenario(path).actuals is None


def test_text_in_a_figure_names_the_cell(good, tmp_path):
    path = edited(good, tmp_path, lambda b: b[ACTUALS].__setitem__("B4", "minus three"))
    found = messages(path)
    assert any(f"{ACTUALS}!B4 (ytd_outturn[0])" in m and "must be a number" in m for m in found)


def test_a_list_of_the_wrong_length_names_the_cell_and_the_fix(good, tmp_path):
    path = edited(good, tmp_path, lambda b: b[ACTUALS].__setitem__("B4", "-3.4"))
    (message,) = messages(path)
    assert f"{ACTUALS}!B4 (ytd_outturn)" in message
    assert "has 1 figures but closed_quarters is 2" in message and "[q1, q2]" in message


def test_an_unknown_id_names_its_cell(good, tmp_path):
    path = edited(good, tmp_path, lambda b: b[ACTUALS].__setitem__("A5", "mh_trustt"))
    found = messages(path)
    assert any(
        f"{ACTUALS}!A5 (id)" in m and "'mh_trustt' is not an organisation" in m for m in found
    )
    assert any("has no year to date for mh_trust" in m for m in found)


def test_rows_without_closed_quarters_name_the_settings_cell(good, tmp_path):
    def clear(book):
        for row in book[SETTINGS].iter_rows():
            if row[3].value == "actuals.closed_quarters":
                row[1].value = None

    (message,) = messages(edited(good, tmp_path, clear))
    assert f"{SETTINGS}!B" in message and "(actuals.closed_quarters)" in message
    assert "required" in message
