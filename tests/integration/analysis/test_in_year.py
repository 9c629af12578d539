"""The in-year re-forecast's tables (analysis/inyear.py) against closed forms and the kernel."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import norm

from sct_engine.analysis.inyear import reforecast, signed_option
from sct_engine.analysis.submodels import with_schemes
from sct_engine.engine.kernel import simulate_kernel
from sct_engine.engine.model import Model
from sct_engine.rules import SchemeOption, builtin_menu
from tests.factories import make_model
from tests.integration.engine.test_in_year import with_actuals
from tests.integration.engine.test_kernel_parity import SYSTEMS, with_profiles

pytestmark = pytest.mark.integration

#: Tolerance of the statistical tests, in standard errors.
Z_TOLERANCE = 4.0

PLAN, CT, SD, VARIANCE = 1.0, 0.5, 3.0, (0.1, 0.2, 0.3, 0.4)


def one_member_at_q3(actual_q3: float) -> Model:
    """One trust (no A&E), normal shocks, Q1 to Q3 closed."""
    model = make_model(
        [[{"plan": PLAN, "control_total": CT, "sd": SD, "funding": 10.0}]],
        [SchemeOption(name="organisation_only")],
        quarterly=True,
        quarter_variance=VARIANCE,
    )
    return replace(
        model,
        closed_quarters=3,
        actual_ytd_outturn=np.array([[0.3, 0.1, actual_q3]]),
        actual_ae_earned=np.zeros((1, 3), dtype=bool),
    )


def closed_form(actual_q3: float) -> float:
    """P(year-end pass) = Phi((A_3 + plan (1 - P_3) - CT) / (sd sqrt(v_4)))."""
    return float(norm.cdf((actual_q3 + PLAN * 0.25 - CT) / (SD * math.sqrt(VARIANCE[3]))))


@pytest.mark.parametrize("actual_q3", [-1.0, 0.2, 0.9])
def test_year_end_pass_and_the_last_instalment_match_the_closed_form(actual_q3):
    """One member, Q1-Q3 closed: P(year-end pass) and P(Q4 instalment in full) are the closed
    form within Z_TOLERANCE standard errors; with recovery, what is still to come is the Q4
    instalment plus the quarters missed, times P(pass)."""
    draws = 40_000
    model = one_member_at_q3(actual_q3)
    result = reforecast(model, seed=7, draws=draws, option="organisation_only", target=None)
    row = result.members.iloc[0]
    exact = closed_form(actual_q3)
    se = math.sqrt(exact * (1 - exact) / draws)
    z = (row["p_year_end_pass"] - exact) / se
    print(
        f"A_3 = {actual_q3}: closed form {exact:.4f}, simulated {row['p_year_end_pass']:.4f}, z = {z:+.2f}"
    )
    assert abs(z) < Z_TOLERANCE
    assert row["p_instalment_q4"] == row["p_year_end_pass"] == row["p_own_test_q4"]
    # Money: Q1-Q3 tests on the actuals (CT P_q = 0.125, 0.25, 0.375); a year-end pass pays the
    # Q4 instalment and recovers every quarter missed, so what is still to come is the rest.
    actual = (0.3, 0.1, actual_q3)
    paid = 10.0 * sum(
        w for w, a, c in zip((0.15, 0.2, 0.3), actual, (0.125, 0.25, 0.375), strict=True) if a >= c
    )
    assert row["funding_paid_so_far"] == pytest.approx(paid)
    expected = (10.0 - paid) * row["p_year_end_pass"]
    assert row["expected_funding_to_come"] == pytest.approx(expected)


def test_the_tables_agree_with_a_kernel_run_of_the_conditioned_model():
    """P(year-end pass) and expected funding still to come equal the kernel's statistics of
    the same option on the same draws (the kernel matches the reference draw for draw)."""
    model = with_actuals(
        make_model(with_profiles(SYSTEMS), builtin_menu(), quarterly=True), closed=2
    )
    option = "flexible_50"
    draws = 5000
    result = reforecast(model, seed=4, draws=draws, option=option, target=None)
    acc = simulate_kernel(with_schemes(model, [option]), draws, seed=4)
    np.testing.assert_array_equal(result.members["p_year_end_pass"], acc.org_pass[0] / draws)
    np.testing.assert_allclose(
        result.members["expected_funding_to_come"],
        acc.org_paid_quarter_sum[0][:, 2:].sum(axis=1) / draws,
        rtol=1e-9,
        atol=1e-9,
    )
    np.testing.assert_array_equal(
        result.systems["p_year_end_pass"], acc.system_test_pass[0] / draws
    )
    # Half on each test and full redistribution (a system pass passes every member): a member's
    # instalment is earned in full exactly when its system's test passes, recovery apart.
    funded = model.finance > 0
    for q in (3, 4):
        np.testing.assert_array_equal(
            result.members[f"p_instalment_q{q}"][funded],
            result.systems[f"p_system_test_q{q}"].to_numpy()[model.org_system][funded],
        )


def test_what_it_takes_matches_the_closed_form():
    """One member at Q3: the improvement bringing P(year-end pass) to the target is
    CT - A_3 - plan (1 - P_3) + sd sqrt(v_4) Phi^-1(target), within Z_TOLERANCE of its
    standard error plus the bisection tolerance."""
    target, actual_q3 = 0.9, -0.6
    model = one_member_at_q3(actual_q3)
    result = reforecast(model, seed=3, draws=20_000, option="organisation_only", target=target)
    row = result.what_it_takes.iloc[0]
    exact = CT - actual_q3 - PLAN * 0.25 + SD * math.sqrt(VARIANCE[3]) * norm.ppf(target)
    tolerance = Z_TOLERANCE * row["se_improvement_needed"] + 0.01
    print(f"improvement: closed form {exact:.3f}, solved {row['improvement_needed']:.3f}")
    assert abs(row["improvement_needed"] - exact) < tolerance
    assert row["p_year_end_pass_with_improvement"] >= target
    # Management actions held for the year end lift the outturn one for one up to the control
    # total, so from none the actions needed are the same figure.
    actions = Z_TOLERANCE * row["se_mitigation_needed"] + 0.01
    print(f"actions: closed form {exact:.3f}, solved {row['mitigation_needed']:.3f}")
    assert row["current_mitigation"] == 0.0
    assert abs(row["mitigation_needed"] - exact) < actions
    assert row["p_year_end_pass_with_mitigation"] >= target


def test_the_option_signed_defaults_to_organisation_only_and_is_checked():
    model = make_model([[{"plan": 0.0, "control_total": 0.0, "sd": 1.0, "funding": 1.0}]])
    assert signed_option(model, None) == "organisation_only"
    assert signed_option(model, "flexible_25") == "flexible_25"
    assert signed_option(model, "flexible_25", "flexible_75") == "flexible_75"
    with pytest.raises(ValueError, match="unknown scheme"):
        signed_option(model, None, "nonsense")


def test_a_model_without_actuals_is_refused():
    model = make_model([[{"plan": 0.0, "control_total": 0.0, "sd": 1.0, "funding": 1.0}]])
    with pytest.raises(ValueError, match="needs actuals"):
        reforecast(model, seed=1, draws=10, option="organisation_only")
