"""Tracebacks and silent nonsense from hostile values (issue 22), and a workbook's problems
reported all at once (issue 25).

Each value here once ended in a traceback, a hang, megabytes of output or a figure that is
not a number; each now gets one clear message naming the file and the field (or the cell).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from sct_engine.cli import main
from sct_engine.errors import ScenarioError
from sct_engine.scenario import load_scenario, load_variants, variants
from sct_engine.scenario.workbook.writer import write_scenario_workbook

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "scenarios" / "example_ics.yaml"


def member(k: int, **changes: object) -> dict:
    org = {"id": f"org_{k}", "kind": "provider", "plan": -1.0, "control_total": -1.0}
    return {**org, "sustainability_funding": 5.0, "sd": 2.0, **changes}


def scenario(**changes: object) -> dict:
    data = {"name": "hostile", "systems": [{"id": "sys_a", "organisations": [member(0)]}]}
    return {**data, **changes}


def problems_of(tmp_path: Path, data: dict | str) -> list:
    path = tmp_path / "s.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioError) as caught:
        load_variants(path)
    return caught.value.problems


# --- text a terminal would obey and a workbook cannot hold -----------------------------------


@pytest.mark.parametrize("character", ["\a", "\x1b", "\x00", "\x7f"])
def test_control_characters_in_names_are_refused_and_never_printed(character, tmp_path):
    data = scenario()
    data["systems"][0]["organisations"][0]["name"] = f"Trust{character}[31m"
    (problem,) = problems_of(tmp_path, data)
    assert problem.field == "systems[0].organisations[0].name"
    assert f"U+{ord(character):04X}" in problem.message
    assert character not in str(problem)


def test_a_description_longer_than_a_cell_holds_is_refused(tmp_path):
    (problem,) = problems_of(tmp_path, scenario(description="x" * 40_000))
    assert problem.field == "description" and "32,767" in problem.message


def test_a_nul_byte_in_a_scenario_file_is_a_named_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(yaml.safe_dump(scenario()).encode().replace(b"hostile", b"host\x00ile"))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    (problem,) = caught.value.problems
    assert problem.file == str(path) and "U+0000" in problem.message


@pytest.mark.parametrize("field", ["sd", "sd_pct", "turnover"])
def test_a_vanishing_spread_is_refused_not_turned_into_infinity(field, tmp_path):
    changes = {"sd": 5e-324} if field == "sd" else {"sd_pct": 5e-324, "turnover": 500.0}
    if field == "turnover":
        changes = {"sd_pct": 1.0, "turnover": 5e-324}
    data = scenario()
    org = {k: v for k, v in data["systems"][0]["organisations"][0].items() if k != "sd"}
    data["systems"][0]["organisations"][0] = {**org, **changes}
    found = problems_of(tmp_path, data)
    assert [p.field for p in found] == [f"systems[0].organisations[0].{field}"]
    assert "implausibly small" in found[0].message


# --- sweeps: no overflow, no identical points, no hang ---------------------------------------


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ([0, 5e-324, "...", 1], "too many to count"),
        ([-1e308, 0, "...", 1e308], "too many to count"),
        ({"start": -1e308, "stop": 1e308, "num": 3}, "beyond the largest number"),
        ({"start": 1, "stop": 1.0000000000001, "num": 5}, "more than once"),
        ([1, 1.00000000000001, "...", 1.00000000000004], "more than once"),
    ],
)
def test_sweep_ranges_that_overflow_or_collapse_are_refused(values, words, tmp_path):
    data = scenario(sweep={"systems[0].organisations[0].plan": values})
    found = problems_of(tmp_path, data)
    assert len(found) == 1 and words in found[0].message, [str(p) for p in found]


def test_validate_checks_a_huge_sweep_without_building_every_point(tmp_path, monkeypatch, capsys):
    members = [member(k) for k in range(300)]
    data = scenario(
        systems=[{"id": "sys_a", "organisations": members}],
        sweep={
            "systems[0].organisations[0].plan": {"start": -5, "stop": 5, "num": 1000},
            "systems[0].organisations[1].plan": {"start": -5, "stop": 5, "num": 100},
        },
    )
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    built = []
    real = variants._variant
    monkeypatch.setattr(variants, "_variant", lambda *a, **k: built.append(1) or real(*a, **k))
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "sweep of 100,000 points" in out and "checked" in out
    assert len(built) <= variants.MAX_POINTS_CHECKED


def test_validate_refuses_what_run_would_refuse_for_memory(tmp_path, monkeypatch, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario(), sort_keys=False))
    monkeypatch.setenv("SCT_MEMORY_LIMIT", "1KiB")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and "of memory, above the limit" in out


# --- workbooks: named cells, capped messages, every problem in one round ----------------------


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return write_scenario_workbook(tmp_path / "book.xlsx", load_scenario(EXAMPLE))


def column_of(sheet, name: str) -> str:
    return next(c.column_letter for c in sheet[2] if c.value == name)


def test_a_nan_cell_is_named_by_sheet_and_cell(book, tmp_path):
    sheet = load_workbook(book)["Organisations"]
    cell = f"{column_of(sheet, 'plan')}4"
    target = tmp_path / "nan.xlsx"
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(target, "w") as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                text, done = re.subn(
                    rf'<c r="{cell}"([^>]*)>.*?</c>', rf'<c r="{cell}"\1><v>NaN</v></c>', text
                )
                assert done == 1
                data = text.encode()
            out.writestr(item, data)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(target)
    (problem,) = caught.value.problems
    assert problem.field == f"Organisations!{cell}" and "NaN" in problem.message


def test_thousands_of_unknown_columns_make_a_short_message(book, tmp_path, capsys):
    workbook = load_workbook(book)
    sheet = workbook["Organisations"]
    start = sheet.max_column + 1
    for k in range(16_000):
        sheet.cell(2, start + k, f"pasted_column_{k}")
    workbook.save(book)
    assert main(["validate", str(book)]) == 1
    out = capsys.readouterr().out
    assert len(out) < 20_000 and "more problems like those" in out
    assert out.count("unknown column") <= 10


def test_every_problem_of_a_workbook_comes_in_one_round(book, tmp_path):
    """A cell the reader cannot use, a value the models refuse elsewhere, and a stray sheet:
    one message lists all three, rather than one round of fixes each."""
    workbook = load_workbook(book)
    sheet = workbook["Organisations"]
    workbook["Organisations"][f"{column_of(sheet, 'turnover')}4"] = "#N/A"
    workbook["Organisations"][f"{column_of(sheet, 'sustainability_funding')}6"] = -3.0
    workbook.create_sheet("Sheet1")
    workbook.save(book)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(book)
    found = {p.field.split(" ")[0] for p in caught.value.problems}
    turnover = column_of(sheet, "turnover")
    funding = column_of(sheet, "sustainability_funding")
    assert {f"Organisations!{turnover}4", f"Organisations!{funding}6", "Sheet1"} <= found


def test_convert_to_an_overlong_name_is_a_clean_error(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario(), sort_keys=False))
    assert main(["convert", str(path), str(tmp_path / ("x" * 300 + ".xlsx"))]) == 2
    err = capsys.readouterr().err
    assert "shorter name" in err and "Traceback" not in err
