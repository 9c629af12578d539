"""National 2018/19 readings as pure rules: the A&E gateway, CSF instalments, the bonus pool,
and the system control total's slack in the cover (docs/rules-2018-19.md, rules 1, 4, 6, 8)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sct_engine import rules
from sct_engine.rules import SchemeOption

pytestmark = pytest.mark.unit

CODES = rules.REDISTRIBUTION_CODES
PATTERNS = np.array(list(itertools.product([False, True], repeat=4)))


# --- rule 1: the A&E gateway ------------------------------------------------------------


@pytest.mark.parametrize(
    ("gateway", "share", "expected"),
    [
        ("own_test", 0.0, rules.AE_GATE_OWN),
        ("own_test", 0.5, rules.AE_GATE_OWN),
        ("own_test", 1.0, rules.AE_GATE_OWN),
        ("finance_earned", 0.0, rules.AE_GATE_OWN),
        ("finance_earned", 0.25, rules.AE_GATE_EITHER),
        ("finance_earned", 1.0, rules.AE_GATE_SYSTEM),
        ("none", 0.0, rules.AE_GATE_NONE),
        ("none", 1.0, rules.AE_GATE_NONE),
    ],
)
def test_gate_code_names_the_tests_that_open_the_ae_element(gateway, share, expected):
    assert rules.ae_gate_code(gateway, share) == expected


def test_gate_opens_on_the_named_tests_only():
    own = np.array([True, True, False, False])
    system = np.array([True, False, True, False])
    opened = {
        gate: rules.ae_gate_open(gate, own, system).tolist()
        for gate in (rules.AE_GATE_NONE, rules.AE_GATE_OWN, rules.AE_GATE_SYSTEM)
    }
    assert opened[rules.AE_GATE_NONE] == [True] * 4
    assert opened[rules.AE_GATE_OWN] == own.tolist()
    assert opened[rules.AE_GATE_SYSTEM] == system.tolist()
    assert rules.ae_gate_open(rules.AE_GATE_EITHER, own, system).tolist() == [True] * 3 + [False]
    paid = rules.ae_paid(np.full(4, 3.0), np.array([True] * 3 + [False]), own, system, 2)
    np.testing.assert_array_equal(paid, [3.0, 0.0, 3.0, 0.0])


def test_an_option_without_gateway_changes_the_national_reading_only_when_there_is_one():
    gated, ungated = SchemeOption(name="a"), SchemeOption(name="b", ae_gateway=False)
    for national in ("own_test", "finance_earned"):
        assert rules.effective_ae_gateway(national, gated.ae_gateway) == national
        assert rules.effective_ae_gateway(national, ungated.ae_gateway) == "none"
    assert rules.effective_ae_gateway("none", gated.ae_gateway) == "none"


# --- rule 6: CSF instalments ---------------------------------------------------------------

EVEN = np.array([25.0, 25.0, 25.0, 25.0])


def test_even_csf_weights_without_recovery_pay_a_quarter_per_quarter_passed():
    share = rules.quarterly_share(PATTERNS, False, EVEN)
    np.testing.assert_array_equal(share, PATTERNS.sum(axis=1) / 4)
    instalments = rules.quarterly_instalments(PATTERNS, False, EVEN)
    np.testing.assert_array_equal(instalments, PATTERNS * 0.25)
    # With recovery, a year-end pass pays the year.
    recovered = rules.quarterly_share(PATTERNS, True, EVEN)
    np.testing.assert_array_equal(recovered, np.where(PATTERNS[:, 3], 1.0, share))


def test_psf_weights_as_float_percent_pay_exactly_what_integer_percent_paid():
    """Model weights are float percent; PSF's must stay bit-identical to the integer rule."""
    psf = rules.QUARTER_WEIGHT_PERCENT.astype(np.float64)
    for recovery in (False, True):
        np.testing.assert_array_equal(
            rules.quarterly_share(PATTERNS, recovery, psf),
            rules.quarterly_share(PATTERNS, recovery),
        )
        np.testing.assert_array_equal(
            rules.quarterly_instalments(PATTERNS, recovery, psf),
            rules.quarterly_instalments(PATTERNS, recovery),
        )


def test_per_organisation_weights_and_recovery_broadcast_row_by_row():
    rng = np.random.default_rng(4)
    passes = rng.random((7, 3, 4)) < 0.6  # (draws, organisations, quarters)
    weights = np.array([[15.0, 20.0, 30.0, 35.0], EVEN, [10.0, 10.0, 40.0, 40.0]])
    recovery = np.array([True, False, True])
    got = rules.quarterly_instalments(passes, recovery, weights)
    for i in range(3):
        np.testing.assert_array_equal(
            got[:, i], rules.quarterly_instalments(passes[:, i], bool(recovery[i]), weights[i])
        )


# --- rule 8: the bonus pool ------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), share=st.floats(0, 1))
def test_bonus_pools_trusts_unearned_finance_and_pays_only_trusts_that_passed(seed, share):
    rng = np.random.default_rng(seed)
    n = 6
    finance = rng.uniform(0, 10, n)
    funding = finance / 0.7
    trust = rng.random(n) < 0.6
    passes = rng.random((32, n)) < 0.6
    finance_paid = finance * passes * rng.uniform(0, 1, (32, 1))
    bonus = rules.bonus_paid(finance, finance_paid, funding, passes, trust, share)
    pool = share * ((finance - finance_paid)[:, trust]).sum(axis=1)
    someone = (passes & trust).any(axis=1)
    np.testing.assert_allclose(bonus.sum(axis=1)[someone], pool[someone], rtol=1e-12, atol=1e-12)
    assert np.all(bonus[:, ~trust] == 0)  # commissioners get nothing
    assert np.all(bonus[~passes] == 0)  # nor does a trust that missed
    assert np.all(bonus.sum(axis=1)[~someone] == 0)


# --- rule 4: the system control total's slack in the cover ---------------------------------

#: Quarter-million steps: sums are exact in floating point, so no test sits on a rounding edge.
quarter_steps = st.integers(-40, 40).map(lambda k: k / 4)


@settings(max_examples=200, deadline=None)
@given(
    outturn=st.lists(quarter_steps, min_size=1, max_size=7),
    control=st.lists(quarter_steps, min_size=7, max_size=7),
    finance=st.lists(st.integers(0, 20).map(float), min_size=7, max_size=7),
    looser_by=st.integers(0, 40).map(lambda k: k / 4),
)
def test_capped_with_the_whole_headroom_is_full_whatever_the_system_control_total(
    outturn, control, finance, looser_by
):
    x = np.array(outturn)
    n = len(x)
    ct, fin = np.array(control[:n]), np.array(finance[:n])
    system_control_total = ct.sum() - looser_by
    system_passes = bool(x.sum() >= system_control_total)
    full = rules.redistribute(x, ct, fin, CODES["full"], 0.5, system_passes, looser_by)
    capped = rules.redistribute(x, ct, fin, CODES["capped"], 1.0, system_passes, looser_by)
    np.testing.assert_array_equal(full[0], capped[0])
    if system_passes:
        assert full[0].all()
    # Net-neutral down to the system control total: the members' totals never sum below it,
    # and each member that passes meets its varied total.
    for passes, adjusted in (full, capped):
        assert adjusted.sum() >= system_control_total - 1e-9
        assert adjusted.sum() <= ct.sum() + 1e-9
        assert np.all(x[passes] >= adjusted[passes] - 1e-9)


def test_a_missed_loose_system_control_total_still_lends_its_slack_to_the_cover():
    """Members' totals sum to 0, the system's is -3: the system misses by 0.5. The slack of
    3 plus the giver's 2.5 covers two of the three shortfalls of 2 under full and
    capped(1) alike; the members' headroom alone (2.5) covered one (the old cliff at the
    system test: passing it a little would have passed everyone)."""
    x = np.array([2.5, -2.0, -2.0, -2.0])
    ct = np.zeros(4)
    fin = np.array([1.0, 5.0, 4.0, 3.0])
    assert x.sum() < -3.0
    for mode, cap in (("full", 0.5), ("capped", 1.0)):
        passes, _ = rules.redistribute(x, ct, fin, CODES[mode], cap, False, 3.0)
        assert passes.tolist() == [True, True, True, False], mode
        without_slack, _ = rules.redistribute(x, ct, fin, CODES[mode], cap, False, 0.0)
        assert without_slack.tolist() == [True, True, False, False], mode
