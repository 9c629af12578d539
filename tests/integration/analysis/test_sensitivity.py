"""The sensitivity mechanism against its oracles: a variant that changes nothing reproduces the
run exactly; a rescaled spread meets the normal closed form; the variants run on common random
numbers (the same shocks, A&E uniforms and events), so a p_ae or gateway variant moves the A&E
element alone, draw for draw.

Statistical checks are within 4 Monte Carlo standard errors.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from sct_engine.analysis.decision import analyse
from sct_engine.analysis.rule import DecisionRule
from sct_engine.analysis.sensitivity import (
    AS_ASSUMED,
    ASSUMPTIONS,
    SURVIVES,
    Applied,
    Assumption,
    apply_assumption,
    run_sensitivity,
)
from sct_engine.engine.model import build_model
from sct_engine.engine.reference import apply_schemes, draw_block
from sct_engine.scenario import Scenario, load_scenario

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "scenarios" / "example_ics.yaml"
DRAWS = 8192


def named(name: str) -> Assumption:
    return next(a for a in ASSUMPTIONS if a.name == name)


def applied(scenario: Scenario, name: str) -> Scenario:
    result = apply_assumption(scenario, named(name))
    assert isinstance(result, Applied), result
    return result.scenario


@pytest.fixture(scope="module")
def example() -> Scenario:
    return load_scenario(EXAMPLE)


def one_member(plan: float, control_total: float, sd: float) -> Scenario:
    """One trust alone in its system, year-end normal outturn, nothing else: P(meet control
    total) = Phi((plan - control_total) / sd)."""
    return Scenario.model_validate(
        {
            "name": "one member",
            "simulation": {"draws": 1000, "seed": 5},
            "systems": [
                {
                    "id": "alone",
                    "organisations": [
                        {
                            "id": "trust",
                            "kind": "provider",
                            "plan": plan,
                            "control_total": control_total,
                            "sustainability_funding": 5.0,
                            "sd": sd,
                        }
                    ],
                }
            ],
        }
    )


def test_a_spread_scaled_by_one_reproduces_the_run_exactly(example):
    """sd x 1.0 is the scenario itself on the same draws: every table of the sensitivity run is
    the run as assumed, and that run is the decision analysis with no extra draws."""
    same = Assumption("sd_x1.0", "spread of outturn (sd) x 1.0", "sd_scale", 1.0)
    sens = run_sensitivity(example, DRAWS, assumptions=(same,))
    assert [run.name for run in sens.runs] == [AS_ASSUMED, "sd_x1.0"]
    base, variant = sens.runs
    pd.testing.assert_frame_equal(base.options, variant.options, check_exact=True)
    assert base.recommendations == variant.recommendations
    systems = sens.systems_table()
    assert (systems["survives"] == SURVIVES).all()
    direct = analyse(
        example, draws=DRAWS, rule=DecisionRule(max_draws=DRAWS), baseline=sens.baseline
    )
    national = direct.result.national.set_index("scheme")["expected_funding_lost"]
    # The national figure is the engine's joint simulation (every system signs the option).
    got = base.options.set_index("scheme")["expected_funding_lost"]
    assert (got == national.loc[got.index]).all()
    assert base.recommendations == tuple(direct.recommend())


def test_a_wider_spread_meets_the_normal_closed_form():
    """One member, normal outturn: under sd x 1.2 the chance of meeting the control total is
    Phi((plan - control_total) / (1.2 sd)), and measurably not Phi((plan - ct) / sd)."""
    plan, control_total, sd, draws = 1.0, 0.0, 2.0, 200_000
    scenario = one_member(plan, control_total, sd)
    wider = applied(scenario, "sd_x1.2")
    result = analyse(wider, draws=draws, rule=DecisionRule(max_draws=draws)).result
    orgs = result.organisations
    p = float(orgs[orgs["scheme"] == "organisation_only"]["p_meet_control_total"].iloc[0])
    expected = float(sps.norm.cdf((plan - control_total) / (1.2 * sd)))
    se = math.sqrt(expected * (1 - expected) / draws)
    assert abs(p - expected) < 4 * se
    assert abs(float(sps.norm.cdf((plan - control_total) / sd)) - expected) > 10 * se


def outcome(scenario: Scenario, n: int = 4096):
    model = build_model(scenario)
    drawn = draw_block(model, scenario.simulation.seed, 0, n)
    return model, drawn, apply_schemes(model, drawn)


@pytest.mark.parametrize(
    "name", ["p_ae-0.15", "p_ae+0.15", "ae_gateway=own_test", "ae_gateway=none"]
)
def test_an_ae_variant_moves_the_ae_element_alone_draw_for_draw(example, name):
    """The same shocks and A&E uniforms (common random numbers): outturns, tests and every
    member's finance element paid are identical, draw for draw, under every option; the A&E
    element moves, for the trusts with one only."""
    model, drawn, base = outcome(example)
    _, drawn_v, moved = outcome(applied(example, name))
    np.testing.assert_array_equal(drawn.shocks, drawn_v.shocks)
    np.testing.assert_array_equal(base.outturn, moved.outturn)
    assert base.finance_paid is not None and moved.finance_paid is not None
    assert base.ae_paid is not None and moved.ae_paid is not None
    for k in range(len(model.schemes)):
        np.testing.assert_array_equal(base.finance_paid[k], moved.finance_paid[k])
        np.testing.assert_array_equal(base.org_pass[k], moved.org_pass[k])
    ae = model.ae > 0
    changed = np.array(
        [(base.ae_paid[k] != moved.ae_paid[k]).any(axis=0) for k in range(len(model.schemes))]
    ).any(axis=0)
    assert changed[ae].any()
    assert not changed[~ae].any()


def test_the_spread_variant_rescales_the_same_shocks():
    """Year-end, no events or actions: under sd x 0.8 each draw's outturn is plan + 0.8 x its
    deviation under the scenario, member by member."""
    scenario = one_member(1.0, 0.0, 2.0)
    _, _, base = outcome(scenario)
    _, _, narrow = outcome(applied(scenario, "sd_x0.8"))
    np.testing.assert_allclose(narrow.outturn - 1.0, 0.8 * (base.outturn - 1.0), rtol=1e-12)


def test_every_member_keeps_its_finance_element_across_the_p_ae_variants(example):
    """The analysis on the kernel, as the sensitivity table runs it: each member's expected
    finance element lost is the same under p_ae - 0.15, as assumed and p_ae + 0.15, while the
    A&E element lost moves the way p_ae does."""
    rule = DecisionRule(max_draws=DRAWS)
    tables = {
        name: analyse(s, draws=DRAWS, rule=rule).finance_and_ae()
        for name, s in {
            "down": applied(example, "p_ae-0.15"),
            "base": example,
            "up": applied(example, "p_ae+0.15"),
        }.items()
    }
    finance = {k: t["expected_finance_lost"].to_numpy() for k, t in tables.items()}
    np.testing.assert_allclose(finance["down"], finance["base"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(finance["up"], finance["base"], rtol=0, atol=1e-9)
    ae = tables["base"]["ae_element"].to_numpy() > 0
    lost = {k: t["expected_ae_lost"].to_numpy()[ae] for k, t in tables.items()}
    assert (lost["down"] > lost["base"]).all() and (lost["base"] > lost["up"]).all()


def test_the_variants_run_on_the_runs_draws_and_name_their_settings(example):
    """Every variant that applies is run (the others named with a reason), the report's
    recommendation is read against each, and the tables list the runs in the variants' order."""
    reference = analyse(example, draws=DRAWS, rule=DecisionRule(max_draws=DRAWS)).recommend()
    sens = run_sensitivity(example, 4096, reference=reference)
    names = [run.name for run in sens.runs]
    assert names[0] == AS_ASSUMED
    order = [a.name for a in ASSUMPTIONS]
    assert names[1:] == [n for n in order if n in names]
    assert sorted([*names[1:], *(s.assumption.name for s in sens.skipped)]) == sorted(order)
    options = sens.options_table()
    assert len(options) == len(sens.runs) * len(example.schemes)
    systems = sens.systems_table()
    assert set(systems["reference_scheme"]) == {r.scheme for r in reference}
    assert systems["survives"].str.match(r"^(yes|too close to call|changes to \S+)$").all()
    # The wider spread loses more under every option (the same draws, spread further).
    lost = options.pivot(index="variant", columns="scheme", values="expected_funding_lost")
    assert (lost.loc["sd_x1.2"] > lost.loc["sd_x0.8"]).all()


def test_the_rule_keeps_its_materiality_and_gets_no_extra_draws(example):
    rule = DecisionRule(materiality=0.5, tail=False)
    sens = run_sensitivity(example, 4096, assumptions=(), rule=rule)
    direct = analyse(example, draws=4096, rule=replace(rule, max_draws=4096))
    assert sens.runs[0].recommendations == tuple(direct.recommend())
    assert direct.result.provenance["decision_extension_draws"] == 0
