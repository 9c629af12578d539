"""Control-total acceptance (rule 10) through the engine: kernel against reference, and oracles.

A provider with ``accepted_control_total: false`` has no PSF at stake under any option, while its
control total and outturn still count in the system control total and the system test. The
oracles: a closed form of the system test with such a member (normal shocks, one factor), the
same scenario with its funding written as 0 (identical draws and results), and the other
members' ``organisation_only`` results, which cannot depend on it.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pandas as pd
import pytest
from scipy.stats import norm

from sct_engine import simulate
from sct_engine.engine.kernel import simulate_kernel
from sct_engine.engine.model import build_model
from sct_engine.engine.reference import simulate_reference
from sct_engine.rules import SchemeOption, builtin_menu
from sct_engine.scenario import parse_scenario
from tests.integration.engine.test_kernel_parity import assert_same_statistics

pytestmark = pytest.mark.integration

MENU = [
    *builtin_menu(),
    SchemeOption(name="capped_40", system_linked_share=0.4, redistribution="capped", share_cap=0.3),
]


def member(oid: str, **fields: Any) -> dict[str, Any]:
    return {"id": oid, "kind": "provider", "turnover": 300.0, **fields}


def scenario_data(quarterly: bool, bonus: bool = True) -> dict[str, Any]:
    """Two systems; ``declines`` (first system) did not accept its control total but is given
    PSF, an A&E and management actions, so every path that could pay it is exercised."""
    declines = member(
        "declines", plan=-12.0, control_total=-12.0, sustainability_funding=9.0, sd=4.0,
        has_ae=True, p_ae=0.6, mitigation=1.0, accepted_control_total=False,
    )  # fmt: skip
    return {
        "name": "acceptance",
        "simulation": {"draws": 20_000, "seed": 5},
        "uncertainty": {
            "distribution": "student_t",
            "quarterly": quarterly,
            "tail": {"probability": 0.1, "median_pct": 2.0, "sigma": 0.6},
        },
        "regime": {"bonus": bonus},
        "schemes": [s.model_dump() for s in MENU],
        "systems": [
            {
                "id": "a",
                "organisations": [
                    member("a1", plan=2.0, control_total=0.0, sustainability_funding=10.0,
                           sd=3.0, has_ae=True, p_ae=0.5, mitigation=1.5),
                    declines,
                    member("a3", plan=0.5, control_total=-1.0, sustainability_funding=4.0,
                           sd=2.0, mitigation=1.0, control_total_uplift=0.5),
                    {"id": "a_ccg", "kind": "commissioner", "plan": -1.0, "control_total": -2.0,
                     "sustainability_funding": 2.0, "sd": 1.5, "turnover": 500.0},
                ],
            },
            {
                "id": "b",
                "organisations": [
                    member("b1", plan=1.0, control_total=0.0, sustainability_funding=6.0, sd=2.5),
                    member("b2", plan=-0.5, control_total=0.0, sustainability_funding=3.0, sd=1.0),
                ],
            },
        ],
    }  # fmt: skip


def declines(data: dict[str, Any]) -> dict[str, Any]:
    return data["systems"][0]["organisations"][1]


@pytest.mark.parametrize("quarterly", [False, True])
def test_kernel_matches_reference_with_a_member_that_did_not_accept(quarterly):
    model = build_model(parse_scenario(scenario_data(quarterly)))
    assert model.funding[1] == 0.0 and model.funding.sum() > 0
    draws = 8192 + 777  # a full block and a short one
    assert_same_statistics(
        simulate_reference(model, draws, seed=23), simulate_kernel(model, draws, seed=23)
    )


@pytest.mark.parametrize("quarterly", [False, True])
def test_a_member_that_did_not_accept_is_paid_nothing_under_every_option(quarterly):
    result = simulate(parse_scenario(scenario_data(quarterly)))
    orgs = result.organisations
    row = orgs[orgs["organisation"] == "declines"]
    assert len(row) == len(MENU)
    for column in ("sustainability_funding", "expected_funding", "expected_funding_lost",
                   "expected_bonus", "expected_incentive", "p_any_funding_lost"):  # fmt: skip
        assert (row[column] == 0).all(), column
    # the others are paid something, so the zero above is not a run that paid nobody
    assert (orgs[orgs["organisation"] == "a1"]["expected_funding"] > 0).all()


@pytest.mark.parametrize("quarterly", [False, True])
def test_not_accepting_is_the_same_as_no_psf_while_still_counting_in_the_system(quarterly):
    """Every table equals that of the scenario where the member accepted but has F = 0 (it
    still counts in the system total): the field takes its PSF away and nothing else."""
    data = scenario_data(quarterly)
    zero = copy.deepcopy(data)
    declines(zero).update(accepted_control_total=True, sustainability_funding=0.0)
    runs = [simulate(parse_scenario(d)) for d in (data, zero)]
    for table in ("organisations", "systems", "national"):
        pd.testing.assert_frame_equal(
            getattr(runs[0], table), getattr(runs[1], table), check_exact=True
        )
    # and it does count: leaving it out of the system changes the other members' results
    gone = copy.deepcopy(data)
    del gone["systems"][0]["organisations"][1]
    without = simulate(parse_scenario(gone)).systems
    aon = runs[0].systems.query("scheme == 'all_or_nothing' and system == 'a'")
    aon_without = without.query("scheme == 'all_or_nothing' and system == 'a'")
    assert (
        aon["p_meet_system_control_total"].iloc[0]
        != aon_without["p_meet_system_control_total"].iloc[0]
    )


def test_others_organisation_only_results_do_not_depend_on_the_member_accepting():
    """Without the national bonus pool, organisation_only pays each member on its own test:
    whether ``declines`` accepted (and had PSF at stake) cannot move anyone else's figures."""
    data = scenario_data(quarterly=True, bonus=False)
    accepted = copy.deepcopy(data)
    declines(accepted)["accepted_control_total"] = True
    orgs = [simulate(parse_scenario(d)).organisations for d in (data, accepted)]
    rows = [
        o[(o["scheme"] == "organisation_only") & (o["organisation"] != "declines")] for o in orgs
    ]
    pd.testing.assert_frame_equal(rows[0], rows[1], check_exact=True)
    mine = [
        o[(o["scheme"] == "organisation_only") & (o["organisation"] == "declines")] for o in orgs
    ]
    assert mine[0]["expected_funding"].iloc[0] == 0.0
    assert mine[1]["expected_funding"].iloc[0] > 0.0  # accepting, it would have been paid


def test_system_test_with_a_member_that_did_not_accept_matches_the_closed_form():
    """Normal shocks, year end, one factor: X_a + X_d is normal with variance
    sd_a^2 + sd_d^2 + 2 rho sd_a sd_d (rho = national + system share), so
    P(system passes) = Phi((plan_a + plan_d - ct_a - ct_d) / sd_sum), and the accepting member's
    expected funding is F (1 - s) Phi((plan_a - ct_a) / sd_a) + F s P(system passes).
    Leaving the non-accepting member's outturn or control total out of the system test would
    move P by more than 40 standard errors (0.84 or 0.43 against 0.65)."""
    a, b = 0.2, 0.3
    keeps = {"plan": 2.0, "control_total": 0.0, "sd": 2.0, "funding": 10.0}
    other = {"plan": -3.0, "control_total": -3.0, "sd": 4.0}
    options = [
        SchemeOption(name="aon", system_linked_share=1.0),
        SchemeOption(name="half", system_linked_share=0.5),
    ]
    data = {
        "name": "closed form",
        "uncertainty": {"distribution": "normal", "national_share": a, "system_share": b},
        "schemes": [o.model_dump() for o in options],
        "systems": [
            {
                "id": "s",
                "organisations": [
                    {"id": "keeps", "kind": "provider", "plan": keeps["plan"],
                     "control_total": keeps["control_total"], "sd": keeps["sd"],
                     "sustainability_funding": keeps["funding"]},
                    {"id": "declines", "kind": "provider", "plan": other["plan"],
                     "control_total": other["control_total"], "sd": other["sd"],
                     "sustainability_funding": 7.0, "accepted_control_total": False},
                ],
            }
        ],
    }  # fmt: skip
    n = 200_000
    result = simulate(parse_scenario(data), draws=n, seed=99)
    rho = a + b
    sd_sum = math.sqrt(keeps["sd"] ** 2 + other["sd"] ** 2 + 2 * rho * keeps["sd"] * other["sd"])
    margin = keeps["plan"] + other["plan"] - keeps["control_total"] - other["control_total"]
    p_system = float(norm.cdf(margin / sd_sum))
    p_own = float(norm.cdf((keeps["plan"] - keeps["control_total"]) / keeps["sd"]))
    systems = result.systems.set_index("scheme")
    se_p = math.sqrt(p_system * (1 - p_system) / n)
    assert abs(systems.loc["aon", "p_meet_system_control_total"] - p_system) < 4 * se_p
    orgs = result.organisations.set_index(["scheme", "organisation"])
    for name, s in (("aon", 1.0), ("half", 0.5)):
        expected = keeps["funding"] * ((1 - s) * p_own + s * p_system)
        got = orgs.loc[(name, "keeps"), "expected_funding"]
        se = orgs.loc[(name, "keeps"), "se_expected_funding_lost"]  # the same spread as paid
        assert abs(got - expected) < 4 * se, (name, got, expected, se)
        assert orgs.loc[(name, "declines"), "expected_funding"] == 0.0
    # the alternatives the rule rejects are far outside the tolerance: the member left out of
    # the system (its outturn and control total), or its outturn counted without its total
    left_out = p_own
    outturn_only = float(
        norm.cdf((keeps["plan"] + other["plan"] - keeps["control_total"]) / sd_sum)
    )
    for wrong in (left_out, outturn_only):
        assert abs(wrong - p_system) > 40 * se_p
