"""The `actuals` section (the year to date for `sct reforecast`): shape, checks and messages."""

from __future__ import annotations

import numpy as np
import pytest

from sct_engine.engine.model import build_model
from sct_engine.errors import ScenarioError
from sct_engine.scenario import parse_scenario

pytestmark = pytest.mark.unit


def scenario_data(actuals: dict | None, quarterly: bool = True) -> dict:
    data: dict = {
        "name": "in year",
        "uncertainty": {"quarterly": quarterly},
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
                        "sd": 2.0,
                        "has_ae": True,
                    },
                    {
                        "id": "ccg",
                        "kind": "commissioner",
                        "plan": -1.0,
                        "control_total": -2.0,
                        "sustainability_funding": 4.0,
                        "sd": 3.0,
                    },
                ],
            }
        ],
    }
    if actuals is not None:
        data["actuals"] = actuals
    return data


def good() -> dict:
    return {
        "closed_quarters": 2,
        "signed_option": "flexible_50",
        "organisations": [
            # finance 7 x 15% = 1.05, 7 x 20% = 1.4; A&E 3 x 15% = 0.45
            {
                "id": "acute",
                "ytd_outturn": [0.3, -0.8],
                "finance_paid": [1.05, 0.0],
                "ae_paid": [0.45, 0],
            },
            {"id": "ccg", "ytd_outturn": [-0.2, -0.9], "finance_paid": [1.0, 1.0]},
        ],
    }


def problems(actuals: dict, quarterly: bool = True) -> str:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(scenario_data(actuals, quarterly))
    return "\n".join(str(p) for p in err.value.problems)


def test_a_good_year_to_date_reaches_the_model():
    model = build_model(parse_scenario(scenario_data(good())))
    assert model.closed_quarters == 2
    np.testing.assert_array_equal(model.actual_ytd_outturn, [[0.3, -0.8], [-0.2, -0.9]])
    np.testing.assert_array_equal(model.actual_ae_earned, [[True, False], [False, False]])
    # Closed quarters are the actuals; later ones continue from Q2 with the plan still to come.
    np.testing.assert_allclose(
        model.ytd_plan(), [[0.3, -0.8, -0.55, -0.3], [-0.2, -0.9, -1.15, -1.4]]
    )
    assert (model.quarter_sd()[:, :2] == 0).all() and (model.quarter_sd()[:, 2:] > 0).all()
    np.testing.assert_array_equal(model.period_p_ae()[:, :2], [[1.0, 0.0], [0.0, 0.0]])


def test_without_actuals_the_model_is_as_it_was():
    model = build_model(parse_scenario(scenario_data(None)))
    assert model.closed_quarters == 0 and model.actual_ytd_outturn is None
    np.testing.assert_array_equal(model.ytd_plan(), model.plan[:, None] * model.cumulative_profile)


def test_actuals_need_quarterly_mode():
    text = problems(good(), quarterly=False)
    assert "actuals" in text and "uncertainty.quarterly: true" in text


@pytest.mark.parametrize("closed", [0, 4])
def test_closed_quarters_is_one_to_three(closed):
    text = problems({**good(), "closed_quarters": closed})
    assert "actuals.closed_quarters" in text


def test_each_list_has_one_figure_per_closed_quarter_in_order():
    bad = good()
    bad["organisations"][1]["ytd_outturn"] = [-0.2]
    text = problems(bad)
    assert "actuals.organisations[1].ytd_outturn" in text
    assert "has 1 figures but closed_quarters is 2" in text and "[q1, q2]" in text


def test_unknown_and_missing_and_repeated_ids_are_named():
    bad = good()
    bad["organisations"][1]["id"] = "ccg_x"
    text = problems(bad)
    assert "actuals.organisations[1].id" in text and "'ccg_x' is not an organisation" in text
    assert "has no year to date for ccg" in text
    twice = good()
    twice["organisations"].append(dict(twice["organisations"][0]))
    assert "'acute' is given twice" in problems(twice)


def test_an_instalment_the_quarter_could_not_pay_is_refused():
    bad = good()
    bad["organisations"][0]["finance_paid"] = [1.05, 1.5]  # Q2 pays at most 7 x 20% = 1.4
    text = problems(bad)
    assert "actuals.organisations[0].finance_paid[1]" in text and "0 to 1.4" in text
    partial = good()
    partial["organisations"][0]["ae_paid"] = [0.2, 0]  # A&E is whole or nothing
    assert "actuals.organisations[0].ae_paid[0]" in problems(partial)
    negative = good()
    negative["organisations"][1]["finance_paid"] = [-1.0, 1.0]
    assert "actuals.organisations[1].finance_paid[0]" in problems(negative)


def test_a_trust_with_an_a_and_e_element_must_say_what_it_was_paid():
    bad = good()
    del bad["organisations"][0]["ae_paid"]
    text = problems(bad)
    assert "actuals.organisations[0].ae_paid" in text and "is missing" in text


@pytest.mark.parametrize("figure", [float("nan"), 1e12, "3"])
def test_figures_are_finite_numbers_within_the_money_bounds(figure):
    bad = good()
    bad["organisations"][0]["ytd_outturn"] = [figure, 0.0]
    assert "actuals.organisations[0].ytd_outturn" in problems(bad)


def test_the_signed_option_must_be_in_the_menu():
    text = problems({**good(), "signed_option": "flexible_60"})
    assert "actuals.signed_option" in text and "flexible_50" in text


def test_a_year_to_date_far_from_plan_is_warned_not_refused():
    far = good()
    far["organisations"][0]["ytd_outturn"] = [0.3, -8.0]  # sd 2 x sqrt(0.5): -8.0 is -6.0 sd
    scenario = parse_scenario(scenario_data(far))
    (warning,) = [w for w in scenario.warnings if w.field.startswith("actuals")]
    assert warning.field == "actuals.organisations[0].ytd_outturn[1]"
    assert "'acute' Q2" in warning.message and "-6.0 standard deviations" in warning.message
    assert "sign" in warning.fix
    assert not [w for w in parse_scenario(scenario_data(good())).warnings if "actuals" in w.field]
