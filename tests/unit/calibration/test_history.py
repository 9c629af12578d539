"""Reading a history CSV: a good table loads, and every bad cell is named with its row and fix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sct_engine.calibration.history import History, load_history
from sct_engine.errors import Problem, ScenarioError

pytestmark = pytest.mark.unit

GOOD_ROW = {
    "organisation": "acute_a",
    "kind": "acute",
    "year": "2018",
    "plan": "-3.0",
    "outturn": "-4.5",
    "turnover": "420",
}


def table(rows: int = 12, **changes: dict[int, str]) -> pd.DataFrame:
    """``rows`` good rows (two kinds); ``changes`` sets column -> {row index: text}."""
    records = []
    for i in range(rows):
        record = dict(GOOD_ROW)
        record["organisation"] = f"org_{i}"
        record["kind"] = "acute" if i % 2 else "ccg"
        record["outturn"] = str(-3.0 + 0.1 * (i - rows / 2))
        records.append(record)
    frame = pd.DataFrame(records, dtype=str)
    for column, cells in changes.items():
        for index, text in cells.items():
            frame.loc[index, column] = text
    return frame


def problems_of(frame: pd.DataFrame, tmp_path: Path) -> list[Problem]:
    path = tmp_path / "hist.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ScenarioError) as info:
        load_history(path)
    return info.value.problems


def test_good_table_loads(tmp_path: Path) -> None:
    path = tmp_path / "hist.csv"
    table(year={0: "2018/19", 1: "2017/18"}).to_csv(path, index=False)
    history = load_history(path)
    assert isinstance(history, History) and history.n == 12
    assert history.year[0] == 2018 and history.year[1] == 2017


def test_missing_column_is_named(tmp_path: Path) -> None:
    (problem,) = problems_of(table().drop(columns=["outturn"]), tmp_path)
    assert problem.file.endswith("hist.csv") and problem.field == "outturn"
    assert "missing" in problem.message and "`outturn`" in problem.fix


@pytest.mark.parametrize(
    ("column", "text", "message"),
    [
        ("plan", "abc", "must be a number (got 'abc')"),
        ("outturn", "", "is empty"),
        ("turnover", "0", "must be greater than 0"),
        ("turnover", "-5", "must be greater than 0"),
        ("plan", "inf", "must be a finite number"),
        ("year", "20x8", "must be a year"),
        ("year", "2018/20", "must be a year"),
        ("kind", " ", "is empty"),
    ],
)
def test_bad_cell_names_file_row_and_column(
    tmp_path: Path, column: str, text: str, message: str
) -> None:
    (problem,) = problems_of(table(**{column: {1: text}}), tmp_path)
    assert problem.file.endswith("hist.csv row 3 (organisation=org_1)")
    assert problem.field == column
    assert message in problem.message
    assert problem.fix
    assert str(problem).count("\n") == 0


def test_every_bad_cell_is_reported_at_once(tmp_path: Path) -> None:
    problems = problems_of(table(plan={0: "x"}, turnover={4: "0"}), tmp_path)
    assert [(p.file.rsplit(" ", 2)[-2], p.field) for p in problems] == [
        ("2", "plan"),
        ("6", "turnover"),
    ]


def test_too_few_rows(tmp_path: Path) -> None:
    (problem,) = problems_of(table(rows=5), tmp_path)
    assert "at least 10" in problem.message and problem.file.endswith("hist.csv")


def test_duplicate_organisation_year(tmp_path: Path) -> None:
    (problem,) = problems_of(table(organisation={3: "org_1"}), tmp_path)
    assert problem.field == "year" and "repeats organisation org_1" in problem.message


def test_kind_with_too_few_rows(tmp_path: Path) -> None:
    (problem,) = problems_of(table(kind={0: "ambulance"}), tmp_path)
    assert problem.field == "kind" and "'ambulance'" in problem.message
    assert "merge it" in problem.fix


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(ScenarioError) as info:
        load_history(path)
    assert "not a readable CSV" in str(info.value) and "empty.csv" in str(info.value)
