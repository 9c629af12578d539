"""Loading good scenarios: fields, defaults, CSV tables, provenance and the JSON schema."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from sct_engine.errors import Problem, ScenarioError
from sct_engine.rules import builtin_menu
from sct_engine.scenario import (
    Organisation,
    Scenario,
    load_scenario,
    parse_scenario,
    scenario_json_schema,
    validate_files,
)

pytestmark = pytest.mark.unit

GOOD: dict[str, Any] = {
    "name": "Example ICS 2018/19",
    "description": "two trusts and a CCG",
    "simulation": {"draws": 200_000, "seed": 20180401},
    "uncertainty": {
        "distribution": "student_t",
        "dof": 4,
        "national_share": 0.1,
        "system_share": 0.4,
        "quarterly": True,
    },
    "schemes": [
        {"name": "organisation_only", "system_linked_share": 0.0, "redistribution": "none"},
        {"name": "capped_half", "system_linked_share": 0.5, "redistribution": "capped"},
    ],
    "systems": [
        {
            "id": "example_ics",
            "name": "Example ICS",
            "system_control_total": -1.5,
            "organisations": [
                {
                    "id": "acute_a",
                    "name": "Example Acute Trust",
                    "kind": "provider",
                    "plan": -3.0,
                    "control_total": -3,
                    "sustainability_funding": 9.5,
                    "turnover": 420.0,
                    "sd": 5.0,
                    "has_ae": True,
                    "ae_share": 0.3,
                    "p_ae": 0.6,
                },
                {
                    "id": "ccg_a",
                    "kind": "commissioner",
                    "plan": 0.5,
                    "control_total": 0.0,
                    "sustainability_funding": 2.0,
                    "turnover": 300.0,
                    "sd_pct": 1.2,
                },
            ],
        }
    ],
}

CSV_HEADER = "id,name,kind,plan,control_total,sustainability_funding,turnover,sd,sd_pct,has_ae\n"


def write_yaml(folder: Path, data: dict[str, Any], name: str = "scenario.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def minimal(**top: Any) -> dict[str, Any]:
    """The smallest valid scenario: one system with one organisation, no optional fields."""
    org = {
        "id": "trust_a",
        "kind": "provider",
        "plan": 1.0,
        "control_total": 0.0,
        "sustainability_funding": 5.0,
        "sd": 2.0,
    }
    return {"name": "minimal", "systems": [{"id": "sys_a", "organisations": [org]}], **top}


def test_good_yaml_loads_every_field(tmp_path: Path) -> None:
    scenario = load_scenario(write_yaml(tmp_path, GOOD))

    assert scenario.name == "Example ICS 2018/19"
    assert scenario.description == "two trusts and a CCG"
    assert (scenario.simulation.draws, scenario.simulation.seed) == (200_000, 20180401)
    u = scenario.uncertainty
    assert (u.distribution, u.dof, u.national_share, u.system_share, u.quarterly) == (
        "student_t",
        4.0,
        0.1,
        0.4,
        True,
    )
    assert [s.name for s in scenario.schemes] == ["organisation_only", "capped_half"]
    assert scenario.schemes[1].redistribution == "capped"
    system = scenario.systems[0]
    assert (system.id, system.name, system.system_control_total) == (
        "example_ics",
        "Example ICS",
        -1.5,
    )
    acute, ccg = system.organisations
    assert (acute.id, acute.kind, acute.plan, acute.control_total) == (
        "acute_a",
        "provider",
        -3.0,
        -3.0,
    )
    assert isinstance(acute.control_total, float)
    assert (acute.sustainability_funding, acute.sd_value, acute.p_ae) == (9.5, 5.0, 0.6)
    assert ccg.kind == "commissioner"


def test_defaults_are_applied(tmp_path: Path) -> None:
    scenario = load_scenario(write_yaml(tmp_path, minimal()))

    assert scenario.description is None
    assert (scenario.simulation.draws, scenario.simulation.seed) == (100_000, 0)
    u = scenario.uncertainty
    assert (u.distribution, u.dof, u.skew) == ("normal", 5.0, 0.0)
    assert (u.national_share, u.system_share, u.quarterly) == (0.2, 0.3, False)
    org = scenario.systems[0].organisations[0]
    assert (org.name, org.turnover, org.sd_pct) == (None, None, None)
    assert (org.has_ae, org.ae_share, org.p_ae) == (False, 0.3, 0.5)
    assert scenario.systems[0].system_control_total is None
    assert scenario.systems[0].organisations_csv is None


def test_null_sections_take_their_defaults(tmp_path: Path) -> None:
    scenario = load_scenario(write_yaml(tmp_path, minimal(simulation=None, uncertainty=None)))

    assert scenario.simulation.draws == 100_000
    assert scenario.uncertainty.national_share == 0.2


@pytest.mark.parametrize("schemes", ["omitted", None])
def test_builtin_menu_when_schemes_omitted_or_null(tmp_path: Path, schemes: Any) -> None:
    data = minimal() if schemes == "omitted" else minimal(schemes=schemes)

    scenario = load_scenario(write_yaml(tmp_path, data))

    assert scenario.schemes == builtin_menu()
    assert len(scenario.schemes) > 0


def test_sd_pct_gives_sd_value_from_turnover() -> None:
    org = Organisation(
        id="ccg_a",
        kind="commissioner",
        plan=0.0,
        control_total=0.0,
        sustainability_funding=1.0,
        turnover=420.0,
        sd_pct=1.2,
    )

    assert org.sd_value == pytest.approx(5.04)


def test_ae_fraction_only_with_an_ae() -> None:
    base = minimal()["systems"][0]["organisations"][0]

    assert Organisation(**base, has_ae=True, ae_share=0.25).ae_fraction == 0.25
    assert Organisation(**base, ae_share=0.25).ae_fraction == 0.0


def test_effective_system_control_total_sums_members_when_null(tmp_path: Path) -> None:
    data = copy.deepcopy(GOOD)
    scenario = load_scenario(write_yaml(tmp_path, data))
    assert scenario.systems[0].effective_control_total == -1.5

    data["systems"][0]["system_control_total"] = None
    scenario = load_scenario(write_yaml(tmp_path, data))
    assert scenario.systems[0].effective_control_total == pytest.approx(-3.0)


def test_system_csv_is_read_relative_to_the_yaml_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "scenarios"
    (folder / "tables").mkdir(parents=True)
    (folder / "tables" / "orgs.csv").write_text(
        CSV_HEADER
        + "acute_b,Acute B,provider,-1.5,-2,4.0,300,,1.0,TRUE\n"
        + "ccg_b,,commissioner,0,0,1.0,,0.5,,\n",
        encoding="utf-8",
    )
    data = minimal()
    data["systems"][0]["organisations_csv"] = "tables/orgs.csv"
    path = write_yaml(folder, data)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    scenario = load_scenario(path)

    members = scenario.systems[0].organisations
    assert [o.id for o in members] == ["trust_a", "acute_b", "ccg_b"]  # YAML members first
    acute_b, ccg_b = members[1:]
    assert (acute_b.name, acute_b.plan, acute_b.control_total) == ("Acute B", -1.5, -2.0)
    assert (acute_b.sd, acute_b.sd_value, acute_b.has_ae) == (None, 3.0, True)
    assert (ccg_b.name, ccg_b.turnover, ccg_b.sd, ccg_b.has_ae) == (None, None, 0.5, False)


def test_top_level_csv_fills_listed_systems_and_creates_new_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "all.csv").write_text(
        "system,id,kind,plan,control_total,sustainability_funding,sd,has_ae\n"
        "sys_a,trust_b,provider,0,0,1,1,1\n"
        "new_sys,trust_c,provider,2,1,3,1,false\n"
        "new_sys,ccg_c,commissioner,0,0,1,1,0\n",
        encoding="utf-8",
    )
    path = write_yaml(tmp_path, minimal(organisations_csv="all.csv"))
    monkeypatch.chdir(tmp_path.parent)

    scenario = load_scenario(path)

    assert [s.id for s in scenario.systems] == ["sys_a", "new_sys"]
    assert [o.id for o in scenario.systems[0].organisations] == ["trust_a", "trust_b"]
    assert scenario.systems[0].organisations[1].has_ae is True
    assert [o.id for o in scenario.systems[1].organisations] == ["trust_c", "ccg_c"]


def test_top_level_csv_alone_can_define_every_system(tmp_path: Path) -> None:
    (tmp_path / "all.csv").write_text(
        "system,id,kind,plan,control_total,sustainability_funding,sd\n"
        "north,trust_n,provider,0,0,1,1\n",
        encoding="utf-8",
    )
    path = write_yaml(tmp_path, {"name": "csv only", "organisations_csv": "all.csv"})

    scenario = load_scenario(path)

    assert [(s.id, [o.id for o in s.organisations]) for s in scenario.systems] == [
        ("north", ["trust_n"])
    ]


def test_content_hash_is_the_file_hash_and_follows_the_csv(tmp_path: Path) -> None:
    csv = tmp_path / "orgs.csv"
    csv.write_text(CSV_HEADER + "acute_b,,provider,0,0,1,,1,,\n", encoding="utf-8")
    plain = write_yaml(tmp_path, minimal(), name="plain.yaml")
    data = minimal()
    data["systems"][0]["organisations_csv"] = "orgs.csv"
    with_csv = write_yaml(tmp_path, data, name="with_csv.yaml")

    assert load_scenario(plain).content_hash == hashlib.sha256(plain.read_bytes()).hexdigest()
    before = load_scenario(with_csv).content_hash
    assert before != hashlib.sha256(with_csv.read_bytes()).hexdigest()
    assert load_scenario(with_csv).content_hash == before
    csv.write_text(CSV_HEADER + "acute_b,,provider,0,0,1,,2,,\n", encoding="utf-8")
    assert load_scenario(with_csv).content_hash != before


def test_source_is_the_absolute_file_path_and_not_serialised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_yaml(tmp_path, minimal())
    monkeypatch.chdir(tmp_path)

    scenario = load_scenario("scenario.yaml")

    assert scenario.source == tmp_path / "scenario.yaml"
    dumped = scenario.model_dump()
    assert "source" not in dumped
    assert "content_hash" not in dumped


def test_parse_scenario_checks_a_dict_without_changing_it(tmp_path: Path) -> None:
    (tmp_path / "orgs.csv").write_text(CSV_HEADER + "acute_b,,provider,0,0,1,,1,,\n")
    data = minimal()
    data["systems"][0]["organisations_csv"] = "orgs.csv"
    original = copy.deepcopy(data)

    scenario = parse_scenario(data, source=tmp_path / "virtual.yaml")

    assert [o.id for o in scenario.systems[0].organisations] == ["trust_a", "acute_b"]
    assert data == original
    assert scenario.source == tmp_path / "virtual.yaml"
    assert len(scenario.content_hash) == 64


def test_validate_files_maps_each_file_to_its_problems(tmp_path: Path) -> None:
    good = write_yaml(tmp_path, minimal(), name="good.yaml")
    bad = write_yaml(tmp_path, minimal(simulation={"draws": 0}), name="bad.yaml")

    result = validate_files([good, str(bad)])

    assert result[str(good)] == []
    assert [p.field for p in result[str(bad)]] == ["simulation.draws"]


def test_problem_and_error_text() -> None:
    one = Problem(
        "example.yaml", "systems[1].organisations[3].sd", "must be > 0 (got -2.0)", "use 2"
    )
    whole = Problem("example.yaml", "", "is empty", "")

    assert (
        str(one)
        == "example.yaml: systems[1].organisations[3].sd: must be > 0 (got -2.0). Fix: use 2"
    )
    assert str(whole) == "example.yaml: is empty"
    assert str(ScenarioError([one, whole])) == f"{one}\n{whole}"


def test_json_schema_has_the_contract_field_names_with_descriptions() -> None:
    schema = scenario_json_schema()
    defs = schema["$defs"]

    expected = {
        "Scenario": {
            "name",
            "description",
            "simulation",
            "uncertainty",
            "schemes",
            "systems",
            "organisations_csv",
        },
        "Simulation": {"draws", "seed"},
        "Uncertainty": {
            "distribution",
            "dof",
            "skew",
            "national_share",
            "system_share",
            "quarterly",
        },
        "System": {"id", "name", "system_control_total", "organisations", "organisations_csv"},
        "Organisation": {
            "id",
            "name",
            "kind",
            "plan",
            "control_total",
            "sustainability_funding",
            "turnover",
            "sd",
            "sd_pct",
            "has_ae",
            "ae_share",
            "p_ae",
        },
        "SchemeOption": {
            "name",
            "system_linked_share",
            "redistribution",
            "share_cap",
            "system_test",
        },
    }
    found = {"Scenario": schema, **defs}
    for model, fields in expected.items():
        assert fields <= set(found[model]["properties"]), model
    for model in ("Scenario", "Simulation", "Uncertainty", "System", "Organisation"):
        for field, spec in found[model]["properties"].items():
            assert spec.get("description"), f"{model}.{field} has no description"
    assert set(defs["Organisation"]["properties"]["kind"]["enum"]) == {"provider", "commissioner"}
    assert schema == Scenario.model_json_schema()
