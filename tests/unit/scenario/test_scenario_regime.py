"""Scenario fields of the full 2018/19 regime: tails, mitigation, uplift, bonus, CSF eligibility."""

from __future__ import annotations

import math

import pytest

from sct_engine.engine.model import build_model
from sct_engine.errors import ScenarioError
from sct_engine.scenario import parse_scenario

pytestmark = pytest.mark.unit


def scenario(**org_extra) -> dict:
    return {
        "name": "regime",
        "uncertainty": {"tail": {"probability": 0.05, "median_pct": 2.0, "sigma": 0.5}},
        "regime": {"bonus": True, "bonus_share": 0.5, "incentive_rate": 2.0},
        "systems": [
            {
                "id": "s",
                "organisations": [
                    {
                        "id": "acute",
                        "kind": "provider",
                        "plan": 1.0,
                        "control_total": 0.0,
                        "sustainability_funding": 10.0,
                        "turnover": 500.0,
                        "sd_pct": 1.0,
                        "mitigation": 2.0,
                        "control_total_uplift": 3.0,
                        **org_extra,
                    },
                    {
                        "id": "ccg",
                        "kind": "commissioner",
                        "plan": 0.5,
                        "control_total": 0.0,
                        "sustainability_funding": 4.0,
                        "turnover": 600.0,
                        "sd": 3.0,
                    },
                ],
            }
        ],
    }


def test_regime_fields_reach_the_model():
    model = build_model(parse_scenario(scenario()))
    assert model.control_total[0] == 3.0  # raised by the uplift
    assert model.mitigation[0] == 2.0
    assert model.tail_probability.tolist() == [0.05, 0.05]
    assert model.tail_log_median[0] == pytest.approx(math.log(2.0))
    assert model.bonus and model.bonus_share == 0.5


def test_surplus_commissioner_has_no_csf_at_stake_and_a_warning_says_so():
    parsed = parse_scenario(scenario())
    model = build_model(parsed)
    assert model.funding.tolist() == [10.0, 0.0]
    [warning] = parsed.warnings
    assert warning.field == "systems[0].organisations[1].sustainability_funding"
    assert "CSF" in warning.message


def test_organisation_tail_overrides_the_global_one():
    model = build_model(parse_scenario(scenario(tail={"probability": 0.2, "median_pct": 5.0})))
    assert model.tail_probability.tolist() == [0.2, 0.05]


def test_tail_without_turnover_names_the_field():
    data = scenario()
    del data["systems"][0]["organisations"][1]["turnover"]
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert "systems[0].organisations[1].turnover" in str(err.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mitigation", -1.0),
        ("control_total_uplift", "lots"),
        ("tail", {"probability": 2, "median_pct": 1}),
    ],
)
def test_bad_regime_values_name_the_field(field, value):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(scenario(**{field: value}))
    assert f"systems[0].organisations[0].{field}" in str(err.value)


def test_incentive_uplift_on_a_commissioner_is_an_error_naming_the_field():
    data = scenario()
    data["systems"][0]["organisations"][1]["control_total_uplift"] = 1.0
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    [problem] = err.value.problems
    assert problem.field == "systems[0].organisations[1].control_total_uplift"
    assert "commissioner" in problem.message and "incentive PSF" in problem.message
    assert "remove `control_total_uplift`" in problem.fix


def test_incentive_uplift_on_a_commissioner_in_a_csv_names_the_row(tmp_path):
    (tmp_path / "orgs.csv").write_text(
        "system,id,kind,plan,control_total,sustainability_funding,sd,control_total_uplift\n"
        "s,ccg_b,commissioner,-1.0,-2.0,3.0,1.0,0.5\n"
    )
    data = {**scenario(), "organisations_csv": "orgs.csv"}
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, source=tmp_path / "scenario.yaml")
    [problem] = err.value.problems
    assert "orgs.csv" in problem.file and "control_total_uplift" in problem.field


def test_national_gateway_and_csf_timing_reach_the_model_with_the_record_defaults():
    model = build_model(parse_scenario(scenario()))
    assert model.ae_gateway == "finance_earned"
    assert model.csf_quarter_weights == (0.25, 0.25, 0.25, 0.25) and not model.csf_recovery
    data = scenario()
    data["regime"] |= {
        "ae_gateway": "own_test",
        "csf_quarter_weights": [0.1, 0.2, 0.3, 0.4],
        "csf_recovery": True,
    }
    model = build_model(parse_scenario(data))
    assert model.ae_gateway == "own_test"
    assert model.csf_quarter_weights == (0.1, 0.2, 0.3, 0.4) and model.csf_recovery
    assert model.quarter_weight_percent().tolist() == [[15, 20, 30, 35], [10, 20, 30, 40]]
    assert model.quarter_recovery().tolist() == [True, True]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("ae_gateway", "finance", "own_test"),
        ("csf_quarter_weights", [0.5, 0.5, 0.5, 0.5], "summing to 1"),
        ("csf_quarter_weights", [0.5, 0.5], "summing to 1"),
    ],
)
def test_bad_national_readings_name_the_field(field, value, words):
    data = scenario()
    data["regime"][field] = value
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    [problem] = err.value.problems
    assert problem.field == f"regime.{field}"
    assert words in str(problem)
