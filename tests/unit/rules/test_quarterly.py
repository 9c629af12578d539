"""Rule 6, quarterly payments: weights, shares, year-to-date figures, scenario fields, tables."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sct_engine import rules
from sct_engine.engine.model import build_model
from sct_engine.engine.reference import (
    apply_schemes,
    block_ytd_outturns,
    draw_block,
    simulate_reference,
)
from sct_engine.engine.results import Result
from sct_engine.errors import ScenarioError
from sct_engine.rules import QUARTER_WEIGHTS, SchemeOption, builtin_menu
from sct_engine.scenario import parse_scenario
from tests.factories import make_model

pytestmark = pytest.mark.unit

PATTERNS = np.array(list(itertools.product([False, True], repeat=4)))


def test_quarter_weights_are_15_20_30_35_percent_and_sum_to_one():
    np.testing.assert_array_equal(QUARTER_WEIGHTS, [0.15, 0.20, 0.30, 0.35])
    assert math.fsum(QUARTER_WEIGHTS) == 1.0
    assert rules.QUARTER_WEIGHT_PERCENT.sum() == 100


@pytest.mark.parametrize("recovery", [False, True])
def test_quarterly_share_is_the_weighted_passes_and_the_instalments_add_up_to_it(recovery):
    share = rules.quarterly_share(PATTERNS, recovery)
    instalments = rules.quarterly_instalments(PATTERNS, recovery)
    weighted = PATTERNS @ QUARTER_WEIGHTS
    expected = np.where(PATTERNS[:, 3], 1.0, weighted) if recovery else weighted
    np.testing.assert_allclose(share, expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(instalments.sum(axis=1), share, rtol=0, atol=1e-15)
    assert np.all(instalments >= 0)
    np.testing.assert_array_equal(
        instalments[:, :3], PATTERNS[:, :3] * QUARTER_WEIGHTS[:3]
    )  # Q1-Q3 as earned
    assert share[PATTERNS.all(axis=1)][0] == 1.0  # exactly: no rounding dust in a clean year
    assert share[~PATTERNS.any(axis=1)][0] == 0.0


def test_recovery_pays_missed_quarters_in_q4_only_on_a_year_end_pass():
    missed_q2 = np.array([True, False, True, True])
    np.testing.assert_allclose(rules.quarterly_instalments(missed_q2, True), [0.15, 0, 0.30, 0.55])
    np.testing.assert_allclose(rules.quarterly_instalments(missed_q2, False), [0.15, 0, 0.30, 0.35])
    missed_q4 = np.array([True, True, True, False])
    assert rules.quarterly_share(missed_q4, True) == rules.quarterly_share(missed_q4, False) == 0.65


organisation = st.fixed_dictionaries(
    {
        "plan": st.floats(-5, 5),
        "control_total": st.floats(-5, 5),
        "sd": st.floats(0.5, 5.0),
        "funding": st.floats(0.0, 20.0),
        "ae": st.sampled_from([0.0, 0.3]),
        "mitigation": st.floats(0.0, 3.0),
        "profile": st.sampled_from(
            [(0.25, 0.25, 0.25, 0.25), (0.1, 0.2, 0.3, 0.4), (0.0, 0.5, 0.0, 0.5)]
        ),
    }
)
MENU = [
    *builtin_menu(),
    SchemeOption(name="capped", system_linked_share=0.5, redistribution="capped", share_cap=0.4),
]


@settings(max_examples=25, deadline=None)
@given(
    systems=st.lists(st.lists(organisation, min_size=1, max_size=5), min_size=1, max_size=3),
    seed=st.integers(0, 2**32 - 1),
    bonus=st.booleans(),
)
def test_recovery_never_pays_less_than_no_recovery_on_the_same_draws(systems, seed, bonus):
    with_recovery = make_model(systems, MENU, quarterly=True, recovery=True, bonus=bonus)
    without = make_model(systems, MENU, quarterly=True, recovery=False, bonus=bonus)
    draws = draw_block(with_recovery, seed, 0, 64)
    a, b = apply_schemes(with_recovery, draws), apply_schemes(without, draws)
    for k in range(len(MENU)):
        assert np.all(a.paid[k] >= b.paid[k] - 1e-12)
        assert np.all(a.paid[k] <= with_recovery.funding + 1e-12)  # never more than the allocation
        np.testing.assert_allclose(
            a.paid_quarter[k].sum(axis=-1), a.paid[k], rtol=1e-12, atol=1e-12
        )
        np.testing.assert_array_equal(
            a.paid_quarter[k][..., :3], b.paid_quarter[k][..., :3]
        )  # only Q4 differs
        np.testing.assert_array_equal(a.org_pass[k], b.org_pass[k])


def test_year_to_date_figures_follow_the_profiles_and_q4_is_the_year_end():
    orgs = [
        {
            "plan": 4.0,
            "control_total": 2.0,
            "sd": 1.0,
            "funding": 5.0,
            "profile": (0.1, 0.2, 0.3, 0.4),
        },
        {"plan": -1.0, "control_total": 1.0, "sd": 2.0, "funding": 3.0, "uplift": 1.0},
    ]
    model = make_model([orgs], system_control_total=[7.0], quarterly=True)
    np.testing.assert_allclose(model.ytd_plan(), [[0.4, 1.2, 2.4, 4.0], [-0.25, -0.5, -0.75, -1.0]])
    np.testing.assert_allclose(
        model.ytd_control_total(), [[0.2, 0.6, 1.2, 2.0], [0.5, 1.0, 1.5, 2.0]]
    )
    # Members' YTD totals (0.7, 1.6, 2.7, 4.0) plus the explicit 3.0 above them phased q/4.
    np.testing.assert_allclose(model.system_ytd_control_total(), [[1.45, 3.1, 4.95, 7.0]])
    assert model.system_ytd_control_total()[0, -1] == 7.0
    implicit = make_model([orgs], quarterly=True)
    np.testing.assert_array_equal(
        implicit.system_ytd_control_total(), implicit.ytd_control_total().sum(axis=0)[None]
    )


def test_everything_at_year_end_passes_q1_to_q3_and_pays_65_percent_on_a_year_end_miss():
    """Profile and variance all in Q4: YTD figures are 0 against 0 until the year end."""
    orgs = [
        {"plan": 0.0, "control_total": 0.0, "sd": 2.0, "funding": 10.0, "profile": (0, 0, 0, 1.0)}
    ]
    model = make_model(
        [orgs],
        [SchemeOption(name="organisation_only")],
        quarterly=True,
        quarter_variance=(0.0, 0.0, 0.0, 1.0),
    )
    draws = draw_block(model, seed=2, block=0, n=2000)
    ytd = block_ytd_outturns(model, draws)
    assert np.all(ytd[:, :3] == 0.0)
    outcome = apply_schemes(model, draws)
    met = outcome.meets[:, 0]
    np.testing.assert_allclose(outcome.paid[0][:, 0], np.where(met, 10.0, 6.5))
    assert 0.4 < met.mean() < 0.6


def test_quarterly_funding_columns_split_expected_funding():
    orgs = [{"plan": 0.5, "control_total": 0.0, "sd": 2.0, "funding": 10.0, "ae": 0.3, "p_ae": 0.7}]
    for quarterly in (False, True):
        model = make_model([orgs], [SchemeOption(name="organisation_only")], quarterly=quarterly)
        table = Result(model=model, stats=simulate_reference(model, 4000, seed=1)).organisations
        quarters = table[[f"expected_funding_q{q}" for q in range(1, 5)]].to_numpy()
        np.testing.assert_allclose(quarters.sum(axis=1), table["expected_funding"], rtol=1e-12)
        if quarterly:
            assert np.all(quarters > 0)
        else:
            assert np.all(quarters[:, :3] == 0)


# --- scenario fields --------------------------------------------------------------------


def scenario(org_extra: dict | None = None, **sections) -> dict:
    return {
        "name": "quarterly",
        "uncertainty": {"quarterly": True, **sections.get("uncertainty", {})},
        "regime": sections.get("regime", {}),
        "systems": [
            {
                "id": "s",
                "system_control_total": 1.0,
                "organisations": [
                    {
                        "id": "a",
                        "kind": "provider",
                        "plan": 1.0,
                        "control_total": 0.0,
                        "sustainability_funding": 10.0,
                        "sd": 2.0,
                        **(org_extra or {}),
                    },
                    {
                        "id": "b",
                        "kind": "provider",
                        "plan": 0.5,
                        "control_total": 0.0,
                        "sustainability_funding": 4.0,
                        "sd": 1.0,
                    },
                ],
            }
        ],
    }


def test_quarterly_fields_reach_the_model():
    model = build_model(
        parse_scenario(
            scenario(
                {"quarterly_profile": [0.1, 0.2, 0.3, 0.4]},
                uncertainty={"quarterly_variance": [0, 0.2, 0.3, 0.5]},
                regime={"recovery": False},
            )
        )
    )
    assert model.quarterly and not model.recovery
    assert model.quarter_variance == (0.0, 0.2, 0.3, 0.5)
    np.testing.assert_array_equal(model.quarterly_profile, [[0.1, 0.2, 0.3, 0.4], [0.25] * 4])
    defaults = build_model(parse_scenario(scenario()))
    assert defaults.recovery and defaults.quarter_variance == (0.25,) * 4


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("org", [0.5, 0.5, 0.5]),
        ("org", [0.5, 0.5, 0.5, -0.5]),
        ("org", [0.3, 0.3, 0.3, 0.3]),
        ("uncertainty", [0.5, 0.5, 0.0, 0.5]),
    ],
)
def test_bad_quarterly_shares_name_the_field(where, value):
    if where == "org":
        data, field = (
            scenario({"quarterly_profile": value}),
            "systems[0].organisations[0].quarterly_profile",
        )
    else:
        data, field = (
            scenario(uncertainty={"quarterly_variance": value}),
            "uncertainty.quarterly_variance",
        )
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    [problem] = err.value.problems
    assert problem.field == field
    assert "summing to 1" in problem.message


def test_quarterly_profile_in_an_organisations_csv(tmp_path):
    (tmp_path / "orgs.csv").write_text(
        "system,id,kind,plan,control_total,sustainability_funding,sd,quarterly_profile\n"
        "s,c,provider,1.0,0.0,5.0,1.0,0.1;0.2;0.3;0.4\n"
        "s,d,provider,1.0,0.0,5.0,1.0,\n"
    )
    data = {**scenario(), "organisations_csv": "orgs.csv"}
    model = build_model(parse_scenario(data, source=tmp_path / "scenario.yaml"))
    np.testing.assert_array_equal(model.quarterly_profile[2:], [[0.1, 0.2, 0.3, 0.4], [0.25] * 4])
