"""Bad scenarios: each must come back as a Problem naming the file, the field path and a fix."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from sct_engine import files
from sct_engine.errors import Problem, ScenarioError
from sct_engine.scenario import MAX_DRAWS, limits, load_scenario, parse_scenario

pytestmark = pytest.mark.unit

ORG: dict[str, Any] = {
    "id": "acute_a",
    "kind": "provider",
    "plan": -3.0,
    "control_total": -3.0,
    "sustainability_funding": 9.5,
    "turnover": 420.0,
    "sd": 5.0,
}


def scenario(**changes: Any) -> dict[str, Any]:
    """A valid scenario with two systems; ``changes`` replace top-level fields."""
    other = {**ORG, "id": "ccg_b", "kind": "commissioner"}
    data = {
        "name": "bad",
        "systems": [
            {"id": "sys_a", "organisations": [copy.deepcopy(ORG)]},
            {"id": "sys_b", "organisations": [other]},
        ],
    }
    return {**data, **changes}


def with_org(**changes: Any) -> dict[str, Any]:
    """A valid scenario whose first organisation has ``changes`` (None removes a field)."""
    data = scenario()
    org = data["systems"][0]["organisations"][0]
    org.update(changes)
    data["systems"][0]["organisations"][0] = {k: v for k, v in org.items() if v is not None}
    return data


def problems(
    tmp_path: Path, content: dict[str, Any] | str, name: str = "bad.yaml"
) -> list[Problem]:
    """The problems load_scenario reports for ``content`` written to ``name``; fails if it loads."""
    path = tmp_path / name
    text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    found = caught.value.problems
    assert found, "ScenarioError without problems"
    for problem in found:
        assert problem.file, problem
        assert "Input should" not in str(problem), "raw pydantic text reached the user"
    return found


def only(found: list[Problem], field: str) -> Problem:
    """The one problem reported at ``field``."""
    at_field = [p for p in found if p.field == field]
    assert len(at_field) == 1, [str(p) for p in found]
    return at_field[0]


def test_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    text = "name: x\nsystems:\n  - id: a\n   name: b\n"

    (problem,) = problems(tmp_path, text)

    assert problem.file.endswith("bad.yaml")
    assert "line 4, column 4" in problem.message
    assert "indent" in problem.fix


def test_tab_indentation_is_a_syntax_error(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, "name: x\nsystems:\n\t- id: a\n")

    assert "line 3, column 1" in str(problem)


def test_missing_name(tmp_path: Path) -> None:
    data = scenario()
    del data["name"]

    problem = only(problems(tmp_path, data), "name")

    assert str(problem).startswith(f"{tmp_path / 'bad.yaml'}: name: required field is missing")
    assert "add `name: <text>`" in problem.fix


def test_empty_name(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, scenario(name="")), "name")

    assert "must not be empty" in problem.message


def test_missing_organisation_plan(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, with_org(plan=None)), "systems[0].organisations[0].plan")

    assert "missing" in problem.message
    assert "add `plan: <number>`" in problem.fix


def test_unknown_field_suggests_the_nearest_name(tmp_path: Path) -> None:
    found = problems(tmp_path, with_org(contol_total=-3.0))

    problem = only(found, "systems[0].organisations[0].contol_total")
    assert "unknown field `contol_total`" in problem.message
    assert problem.fix == "did you mean `control_total`?"


def test_unknown_field_without_a_near_name_lists_the_allowed_ones(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, scenario(colour="blue")), "colour")

    assert problem.fix.startswith("remove it; allowed here:")
    assert "simulation" in problem.fix


def test_duplicate_organisation_id_across_systems(tmp_path: Path) -> None:
    data = scenario()
    data["systems"][1]["organisations"][0]["id"] = "acute_a"

    problem = only(problems(tmp_path, data), "systems[1].organisations[0].id")

    assert "duplicate organisation id 'acute_a'" in problem.message
    assert "systems[0].organisations[0].id" in problem.message


def test_duplicate_system_id(tmp_path: Path) -> None:
    data = scenario()
    data["systems"][1]["id"] = "sys_a"

    problem = only(problems(tmp_path, data), "systems[1].id")

    assert "duplicate system id 'sys_a'" in problem.message


def test_duplicate_scheme_name(tmp_path: Path) -> None:
    data = scenario(schemes=[{"name": "flex"}, {"name": "flex", "system_linked_share": 0.5}])

    problem = only(problems(tmp_path, data), "schemes[1].name")

    assert "duplicate scheme name 'flex'" in problem.message


@pytest.mark.parametrize("sd", [-2.0, 0])
def test_sd_must_be_positive(tmp_path: Path, sd: float) -> None:
    problem = only(problems(tmp_path, with_org(sd=sd)), "systems[0].organisations[0].sd")

    assert f"must be greater than 0 (got {sd})" in problem.message
    assert "sd_pct" in problem.fix
    assert str(problem).startswith(f"{tmp_path / 'bad.yaml'}: systems[0].organisations[0].sd: ")


def test_spread_missing(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, with_org(sd=None)), "systems[0].organisations[0].sd")

    assert "`sd: <number>`" in problem.fix
    assert "sd_pct" in problem.fix


def test_sd_and_sd_pct_both_given(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, with_org(sd_pct=1.0)), "systems[0].organisations[0].sd_pct")

    assert "only one of sd and sd_pct" in problem.message


def test_sd_pct_needs_turnover(tmp_path: Path) -> None:
    data = with_org(sd=None, turnover=None, sd_pct=1.0)

    problem = only(problems(tmp_path, data), "systems[0].organisations[0].turnover")

    assert "sd_pct" in problem.message


def test_common_factor_shares_above_one(tmp_path: Path) -> None:
    data = scenario(uncertainty={"national_share": 0.6, "system_share": 0.5})

    problem = only(problems(tmp_path, data), "uncertainty")

    assert "national_share + system_share" in problem.message
    assert "0.6 + 0.5 = 1.1" in problem.message


def test_student_t_needs_more_than_two_degrees_of_freedom(tmp_path: Path) -> None:
    data = scenario(uncertainty={"distribution": "student_t", "dof": 2})

    problem = only(problems(tmp_path, data), "uncertainty.dof")

    assert "greater than 2" in problem.message
    assert "variance" in problem.fix


@pytest.mark.parametrize(
    ("data", "field", "allowed"),
    [
        (with_org(kind="trust"), "systems[0].organisations[0].kind", "provider, commissioner"),
        (
            scenario(uncertainty={"distribution": "cauchy"}),
            "uncertainty.distribution",
            "normal, student_t, skew_normal",
        ),
        (
            scenario(schemes=[{"name": "x", "redistribution": "some"}]),
            "schemes[0].redistribution",
            "none, full, capped",
        ),
    ],
    ids=["kind", "distribution", "redistribution"],
)
def test_unknown_choice_lists_the_allowed_values(
    tmp_path: Path, data: dict[str, Any], field: str, allowed: str
) -> None:
    problem = only(problems(tmp_path, data), field)

    assert "must be one of" in problem.message
    assert problem.fix == f"use one of: {allowed}"


@pytest.mark.parametrize(("share", "words"), [(1.5, "at most 1"), (-0.1, "at least 0")])
def test_system_linked_share_outside_zero_one(tmp_path: Path, share: float, words: str) -> None:
    data = scenario(schemes=[{"name": "x", "system_linked_share": share}])

    problem = only(problems(tmp_path, data), "schemes[0].system_linked_share")

    assert f"must be {words} (got {share})" in problem.message


@pytest.mark.parametrize("value", ["abc", "3m", True])
def test_money_must_be_a_plain_number(tmp_path: Path, value: Any) -> None:
    problem = only(problems(tmp_path, with_org(plan=value)), "systems[0].organisations[0].plan")

    assert "must be a number" in problem.message
    assert problem.fix == "write a number in £m, e.g. 3.5, without units"


def test_commissioner_with_ae(tmp_path: Path) -> None:
    data = scenario()
    data["systems"][1]["organisations"][0]["has_ae"] = True

    problem = only(problems(tmp_path, data), "systems[1].organisations[0].has_ae")

    assert "commissioner" in problem.message
    assert "providers" in problem.message


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    (problem,) = problems(tmp_path, text)

    assert (problem.field, problem.message) == ("", "is empty")
    assert "name:" in problem.fix


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, "- just\n- a list\n")

    assert "(got list)" in problem.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "nowhere.yaml")

    (problem,) = caught.value.problems
    assert "file not found" in problem.message
    assert "nowhere.yaml" in str(problem)


def test_missing_csv_names_the_field_and_resolved_path(tmp_path: Path) -> None:
    data = scenario()
    data["systems"][1]["organisations_csv"] = "tables/missing.csv"

    problem = only(problems(tmp_path, data), "systems[1].organisations_csv")

    assert str(tmp_path / "tables" / "missing.csv") in problem.message
    assert str(tmp_path) in problem.fix


def test_csv_missing_columns_are_listed(tmp_path: Path) -> None:
    (tmp_path / "orgs.csv").write_text("id,kind,control_total\nx,provider,1\n")
    data = scenario()
    data["systems"][0]["organisations_csv"] = "orgs.csv"

    problem = only(problems(tmp_path, data), "systems[0].organisations_csv")

    assert "orgs.csv is missing columns: plan, sustainability_funding" in problem.message
    assert "sd" not in problem.message.split("columns:")[1]  # sd_pct_by_type may give it


def test_csv_unknown_column_suggests_the_nearest_name(tmp_path: Path) -> None:
    (tmp_path / "orgs.csv").write_text(
        "system,id,kind,plan,contol_total,control_total,sustainability_funding,sd\n"
    )
    data = scenario(organisations_csv="orgs.csv")

    problem = only(problems(tmp_path, data), "organisations_csv")

    assert "unknown column `contol_total`" in problem.message
    assert problem.fix == "did you mean `control_total`?"


def test_csv_row_error_names_file_row_and_id(tmp_path: Path) -> None:
    (tmp_path / "orgs.csv").write_text(
        "id,kind,plan,control_total,sustainability_funding,sd\n"
        "trust_b,provider,0,0,1,1\n"
        "acute_c,provider,0,0,1,-2\n"
    )
    data = scenario()
    data["systems"][0]["organisations_csv"] = "orgs.csv"

    (problem,) = problems(tmp_path, data)

    assert str(problem).startswith(
        "orgs.csv row 3 (id=acute_c): sd: must be greater than 0 (got -2.0)"
    )


def test_csv_row_non_numeric_money_and_bad_boolean(tmp_path: Path) -> None:
    (tmp_path / "orgs.csv").write_text(
        "id,kind,plan,control_total,sustainability_funding,sd,has_ae\n"
        "trust_b,provider,£3m,0,1,1,maybe\n"
    )
    data = scenario()
    data["systems"][0]["organisations_csv"] = "orgs.csv"

    found = problems(tmp_path, data)

    assert {(p.file, p.field) for p in found} == {
        ("orgs.csv row 2 (id=trust_b)", "plan"),
        ("orgs.csv row 2 (id=trust_b)", "has_ae"),
    }


def test_top_level_csv_row_without_system(tmp_path: Path) -> None:
    (tmp_path / "all.csv").write_text(
        "system,id,kind,plan,control_total,sustainability_funding,sd\n,trust_b,provider,0,0,1,1\n"
    )

    (problem,) = problems(tmp_path, scenario(organisations_csv="all.csv"))

    assert (problem.file, problem.field) == ("all.csv row 2 (id=trust_b)", "system")


def test_relative_csv_without_a_source_file() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(scenario(organisations_csv="all.csv"))

    (problem,) = caught.value.problems
    assert (problem.file, problem.field) == ("<scenario>", "organisations_csv")
    assert "source=" in problem.fix


@pytest.mark.parametrize("draws", [0, -5])
def test_draws_below_one(tmp_path: Path, draws: int) -> None:
    problem = only(problems(tmp_path, scenario(simulation={"draws": draws})), "simulation.draws")

    assert f"must be at least 1 (got {draws})" in problem.message


def test_absurd_draws(tmp_path: Path) -> None:
    data = scenario(simulation={"draws": MAX_DRAWS + 1})

    problem = only(problems(tmp_path, data), "simulation.draws")

    assert "2,000,000,000" in problem.message
    assert "fewer draws" in problem.fix


def test_draws_must_be_a_whole_number(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, scenario(simulation={"draws": "1e6"})), "simulation.draws")

    assert "whole number" in problem.message


def test_python_object_tag_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f'name: !!python/object/apply:os.system ["touch {marker}"]\nsystems: []\n'

    (problem,) = problems(tmp_path, text)

    assert "unsupported YAML tag at line 1" in problem.message
    assert "python/object" in problem.message
    assert not marker.exists()


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, "name: a\nname: b\nsystems: []\n")

    assert "duplicate key `name` at line 2, column 1" in problem.message


def test_file_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 50)  # one limit for every file read

    (problem,) = problems(tmp_path, scenario())

    assert "above the limit of 50 bytes" in problem.message


def test_too_many_organisations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_ORGANISATIONS", 1)

    (problem,) = problems(tmp_path, scenario())

    assert problem.field == "systems"
    assert "2 organisations is above the limit of 1" in problem.message


def test_system_without_organisations(tmp_path: Path) -> None:
    data = scenario()
    data["systems"][1]["organisations"] = []

    problem = only(problems(tmp_path, data), "systems[1].organisations")

    assert "'sys_b' has no organisations" in problem.message


def test_no_systems(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, scenario(systems=[])), "systems")

    assert "no systems" in problem.message


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    data = with_org(kind="trust", plan="abc")
    data["simulation"] = {"draws": 0}

    found = problems(tmp_path, data)

    assert {p.field for p in found} == {
        "simulation.draws",
        "systems[0].organisations[0].kind",
        "systems[0].organisations[0].plan",
    }


def test_money_must_be_finite(tmp_path: Path) -> None:
    text = yaml.safe_dump(with_org()).replace("plan: -3.0", "plan: .nan")

    problem = only(problems(tmp_path, text), "systems[0].organisations[0].plan")

    assert "must be a finite number" in problem.message


def test_id_with_forbidden_characters(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, with_org(id="Acute A")), "systems[0].organisations[0].id")

    assert "must match ^[a-z0-9_]+$ (got 'Acute A')" in problem.message
    assert "lower-case letters" in problem.fix
