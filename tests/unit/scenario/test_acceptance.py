"""Control-total acceptance (rule 10): the field's validation, its warning and what reaches the model."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from sct_engine.engine.model import build_model
from sct_engine.errors import ScenarioError
from sct_engine.scenario import parse_scenario
from sct_engine.scenario.dumping import scenario_data

pytestmark = pytest.mark.unit

SOURCE = Path("/data/acceptance.yaml")


def scenario(**trust: Any) -> dict[str, Any]:
    """An accepting trust, a trust whose fields are ``trust`` and a deficit CCG, in one system."""
    return {
        "name": "acceptance",
        "systems": [
            {
                "id": "s",
                "organisations": [
                    {"id": "keeps", "kind": "provider", "plan": 1.0, "control_total": 0.0,
                     "sustainability_funding": 8.0, "sd": 2.0},
                    {"id": "declines", "kind": "provider", "plan": -10.0, "control_total": -10.0,
                     "sustainability_funding": 0.0, "sd": 3.0, **trust},
                    {"id": "ccg", "kind": "commissioner", "plan": -1.0, "control_total": -2.0,
                     "sustainability_funding": 2.0, "sd": 1.5},
                ],
            }
        ],
    }  # fmt: skip


def test_default_is_accepted_and_funding_is_at_stake():
    s = parse_scenario(scenario(sustainability_funding=6.0), source=SOURCE)
    assert s.systems[0].organisations[1].accepted_control_total is True
    assert build_model(s).funding.tolist() == [8.0, 6.0, 2.0]
    assert s.warnings == []


def test_not_accepted_has_no_psf_at_stake_and_a_warning_names_the_field():
    s = parse_scenario(
        scenario(accepted_control_total=False, sustainability_funding=6.0), source=SOURCE
    )
    model = build_model(s)
    assert model.funding.tolist() == [8.0, 0.0, 2.0]
    # the member still counts in the system control total (rule 10's reading)
    assert model.system_control_total.tolist() == [0.0 - 10.0 - 2.0]
    (warning,) = s.warnings
    assert warning.file == "acceptance.yaml"
    assert warning.field == "systems[0].organisations[1].sustainability_funding"
    assert "did not accept its control total" in warning.message
    assert "treated as 0" in warning.message
    assert "accepted_control_total" in warning.fix


def test_not_accepted_with_no_funding_gives_no_warning():
    s = parse_scenario(scenario(accepted_control_total=False), source=SOURCE)
    assert s.warnings == []


def test_not_accepted_on_a_commissioner_is_refused_naming_the_field():
    data = scenario()
    data["systems"][0]["organisations"][2]["accepted_control_total"] = False
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, source=SOURCE)
    (problem,) = err.value.problems
    assert problem.field == "systems[0].organisations[2].accepted_control_total"
    assert "providers" in problem.message


def test_an_uplift_without_accepting_the_control_total_is_refused():
    with pytest.raises(ScenarioError) as err:
        parse_scenario(
            scenario(accepted_control_total=False, control_total_uplift=1.0), source=SOURCE
        )
    (problem,) = err.value.problems
    assert problem.field == "systems[0].organisations[1].control_total_uplift"
    assert "did not accept" in problem.message


@pytest.mark.parametrize("value", ["no", 0, None])
def test_the_field_is_a_strict_boolean(value):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(scenario(accepted_control_total=value), source=SOURCE)
    assert err.value.problems[0].field.endswith("accepted_control_total")


def test_written_back_only_when_false():
    accepting = scenario_data(parse_scenario(scenario(), source=SOURCE))
    assert "accepted_control_total" not in accepting["systems"][0]["organisations"][1]
    data = copy.deepcopy(scenario(accepted_control_total=False))
    declining = scenario_data(parse_scenario(data, source=SOURCE))
    assert declining["systems"][0]["organisations"][1]["accepted_control_total"] is False
    assert parse_scenario(declining).systems[0].organisations[1].accepted_control_total is False
