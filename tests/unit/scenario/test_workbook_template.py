"""The scenario workbook's layout and template: every model field is a column (or a Settings
row) with a plain-English header, a unit, a Guide row and Excel's own validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from openpyxl import load_workbook
from pydantic import BaseModel

from sct_engine.rules import SchemeOption
from sct_engine.scenario import (
    Actuals,
    Organisation,
    OrganisationActuals,
    Regime,
    Scenario,
    Simulation,
    System,
    Tail,
    Uncertainty,
    load_scenario,
)
from sct_engine.scenario.workbook import layout
from sct_engine.scenario.workbook.writer import write_scenario_workbook

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "scenarios" / "example_ics.yaml"


def leaf_names(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every field of a model, nested models' fields as ``outer.inner``, walked independently
    of the layout (from ``model_fields``), lists as one name."""
    names = set()
    for name, info in model.model_fields.items():
        inner = [
            a
            for a in (info.annotation, *getattr(info.annotation, "__args__", ()))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        tables = [
            a
            for a in (info.annotation, *get_args(info.annotation))
            if get_origin(a) is dict and get_args(get_args(a)[0])
        ]
        if inner:
            names |= leaf_names(inner[0], f"{prefix}{name}.")
        elif tables:  # a table with fixed keys (a Literal): one name per key
            names |= {f"{prefix}{name}.{key}" for key in get_args(get_args(tables[0])[0])}
        else:
            names.add(f"{prefix}{name}")
    return names


def base(name: str) -> str:
    return name.split("[")[0]


def test_every_model_field_is_a_column_or_a_settings_row():
    organisation = {base(c.name) for c in layout.organisations_table().columns}
    assert organisation == leaf_names(Organisation) | {"system"}
    # Members and the correlation matrix have sheets of their own; CSV tables stay in YAML.
    assert {c.name for c in layout.systems_table().columns} == {
        n for n in leaf_names(System) if not n.startswith(("organisations", "correlation"))
    }
    assert {c.name for c in layout.options_table().columns} == leaf_names(SchemeOption)
    settings = {base(name) for name in layout.settings_columns()}
    expected = {"name", "description"}
    for field, model in (
        ("simulation", Simulation),
        ("uncertainty", Uncertainty),
        ("regime", Regime),
    ):
        expected |= {f"{field}.{n}" for n in leaf_names(model)}
    # The year to date: its settings here, its members on the Actuals sheet.
    expected |= {f"actuals.{n}" for n in leaf_names(Actuals) if not n.startswith("organisations")}
    assert settings == expected
    assert {c.name for c in layout.actuals_table().columns} == leaf_names(OrganisationActuals)
    assert {"uncertainty.tail.probability", "uncertainty.tail.sigma"} <= settings
    assert leaf_names(Tail) == {"probability", "median_pct", "sigma"}


def test_scenario_list_fields_have_sheets_and_no_other_is_left_out():
    own = set(Scenario.model_fields) - set(layout.TABLE_FIELDS) - layout.NOT_IN_WORKBOOK
    settings = {name.split(".")[0] for name in layout.settings_columns()}
    assert own == settings


def test_headers_carry_plain_english_and_units():
    columns = {c.name: c for c in layout.organisations_table().columns}
    assert columns["sustainability_funding"].title.endswith("(£m)")
    assert columns["plan"].title.startswith("Plan") and "(£m)" in columns["plan"].title
    assert columns["sd_pct"].title.endswith("(% of turnover)") and not columns["sd_pct"].percent
    assert columns["p_ae"].percent and columns["p_ae"].title.endswith("(%)")
    assert columns["kind"].choices == ("provider", "commissioner")
    assert columns["quarterly_profile[2]"].title.endswith("Q3 (%)")
    settings = layout.settings_columns()
    assert settings["uncertainty.national_share"].percent
    assert settings["regime.incentive_rate"].unit == "£ per £1"


def validations(sheet: Any) -> dict[str, Any]:
    """Each validation by the first cell range it covers (``D3:D510``)."""
    found = {}
    for check in sheet.data_validations.dataValidation:
        for cells in str(check.sqref).split():
            found[cells.split(":")[0]] = check
    return found


def column_letter(sheet: Any, name: str) -> str:
    return next(c.column_letter for c in sheet[layout.FIELD_ROW] if c.value == name)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "example.xlsx"
    write_scenario_workbook(path, load_scenario(EXAMPLE))
    return path


def test_template_sheets_header_rows_and_freeze(template):
    book = load_workbook(template)
    assert book.sheetnames == list(layout.SHEETS)
    sheet = book[layout.ORGANISATIONS]
    table = layout.organisations_table()
    assert [c.value for c in sheet[1]] == [c.title for c in table.columns]
    assert [c.value for c in sheet[2]] == [c.name for c in table.columns]
    assert sheet.freeze_panes == "C3"
    assert sheet["B3"].value == "acute_north" and sheet["A3"].value == "example_ics"
    assert sheet.max_row == 2 + 8
    assert book[layout.SETTINGS].freeze_panes == "A2"
    letter = column_letter(sheet, "p_ae")
    assert sheet[f"{letter}3"].number_format.endswith("%")  # shown as 60%, stored as 0.6
    assert sheet[f"{letter}3"].value == 0.6


def test_template_data_validation(template):
    book = load_workbook(template)
    sheet = book[layout.ORGANISATIONS]
    checks = validations(sheet)
    kind = checks[f"{column_letter(sheet, 'kind')}3"]
    assert kind.type == "list" and kind.formula1 == '"provider,commissioner"'
    has_ae = checks[f"{column_letter(sheet, 'has_ae')}3"]
    assert has_ae.type == "list" and has_ae.formula1 == '"TRUE,FALSE"'
    for share in ("ae_share", "p_ae", "tail.probability", "quarterly_profile[0]"):
        check = checks[f"{column_letter(sheet, share)}3"]
        assert (check.type, check.operator, check.formula1, check.formula2) == (
            "decimal",
            "between",
            "0",
            "1",
        ), share
    funding = checks[f"{column_letter(sheet, 'sustainability_funding')}3"]
    # 0 to the money limit (scenario/models.py MAX_MONEY): Excel refuses what the loader would
    assert (funding.operator, funding.formula1, float(funding.formula2)) == ("between", "0", 1e9)
    sd = checks[f"{column_letter(sheet, 'sd')}3"]
    assert (sd.operator, sd.formula1) == ("greaterThan", "0")
    plan = checks[f"{column_letter(sheet, 'plan')}3"]
    assert plan.type == "decimal"  # any number, but not text
    system = checks["A3"]
    assert system.type == "list" and system.formula1.startswith("=Systems!$A$3")
    assert all(c.showErrorMessage for c in checks.values())
    options = book[layout.OPTIONS]
    checks = validations(options)
    assert checks[f"{column_letter(options, 'redistribution')}3"].formula1 == '"none,full,capped"'
    settings = book[layout.SETTINGS]
    rows = {settings.cell(r, 4).value: r for r in range(1, settings.max_row + 1)}
    checks = validations(settings)
    assert checks[f"B{rows['simulation.draws']}"].type == "whole"
    share = checks[f"B{rows['uncertainty.national_share']}"]
    assert (share.formula1, share.formula2) == ("0", "1")
    assert checks[f"B{rows['uncertainty.distribution']}"].formula1 == (
        '"normal,student_t,skew_normal"'
    )


def test_guide_explains_every_column(template):
    guide = load_workbook(template)[layout.GUIDE]
    rows = {
        (r[0], r[2]): r
        for r in guide.iter_rows(values_only=True)
        if r[0] in layout.SHEETS and r[2] is not None
    }
    expected = [(t.sheet, c) for t in layout.tables() for c in t.columns] + [
        (layout.SETTINGS, c) for c in layout.settings_columns().values()
    ]
    for sheet, column in expected:
        row = rows[(sheet, column.name)]
        assert row[1] == column.title and row[3] == column.description != ""
        assert (row[4] or "") == column.unit and row[5] == column.shown_default()
        assert row[6] == column.allowed()
    funding = rows[(layout.ORGANISATIONS, "sustainability_funding")]
    assert funding[4] == "£m" and funding[5] == "required" and "from 0 to 1e+09" in funding[6]
    assert rows[(layout.ORGANISATIONS, "ae_share")][5] == "30%"


def test_starter_template_is_a_valid_scenario(tmp_path):
    path = write_scenario_workbook(tmp_path / "starter.xlsx")
    scenario = load_scenario(path)
    assert [o.kind for o in scenario.systems[0].organisations] == ["provider", "commissioner"]
    assert [s.name for s in scenario.schemes][:2] == ["organisation_only", "all_or_nothing"]


def test_every_column_and_setting_is_documented():
    """docs/workbook.md lists every column and Settings row with its header, unit and default;
    a field added to the models needs its row there too."""
    text = (ROOT / "docs" / "workbook.md").read_text(encoding="utf-8")
    rows: dict[tuple[str, str], list[str]] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("### "):
            section = line[4:].split("{")[0].strip()
        elif line.startswith("| ") and line.split("|")[2].strip()[:1] == "`":
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            rows[(section, cells[1])] = cells
    expected = [(t.sheet, c) for t in layout.tables() for c in t.columns]
    expected += [(layout.SETTINGS, c) for c in layout.settings_columns().values()]
    for sheet, column in expected:
        row = rows.get((sheet, f"`{column.name}`"))
        assert row is not None, f"add a row for `{column.name}` to docs/workbook.md ({sheet})"
        assert row[0].replace("\\|", "|") == column.title, column.name
        assert row[2:4] == [column.unit, column.shown_default()], column.name
