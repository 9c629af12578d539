"""Rules beyond the scheme options: management actions, tails, incentive PSF, bonus pool."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sct_engine.engine.reference import BlockDraws, apply_schemes, bonus_paid, draw_block
from sct_engine.engine.results import Result
from sct_engine.engine.stats import Accumulator
from sct_engine.engine.uncertainty import draw_shocks, mitigate
from sct_engine.rules import SchemeOption, builtin_menu
from tests.factories import make_model

pytestmark = pytest.mark.unit

finite = st.floats(-50, 50)


@settings(max_examples=200, deadline=None)
@given(x=finite, ct=finite, m=st.floats(0, 20))
def test_mitigation_never_makes_an_organisation_worse_off(x, ct, m):
    after = float(mitigate(np.array([x]), np.array([ct]), np.array([m]))[0])
    assert after >= x
    assert after <= max(x, ct) + m  # never more than the actions available
    if x < ct <= x + m:
        assert after == ct  # lands exactly on its control total
    if x >= ct:
        assert after == x


organisation = st.fixed_dictionaries(
    {
        "plan": st.floats(-5, 5),
        "control_total": st.floats(-5, 5),
        "sd": st.floats(0.5, 5.0),
        "funding": st.floats(0.0, 20.0),
        "mitigation": st.floats(0.0, 3.0),
    }
)


@settings(max_examples=30, deadline=None)
@given(
    systems=st.lists(st.lists(organisation, min_size=1, max_size=5), min_size=1, max_size=3),
    seed=st.integers(0, 2**32 - 1),
)
def test_mitigation_never_lowers_funding_paid(systems, seed):
    without = [[{**o, "mitigation": 0.0} for o in members] for members in systems]
    rng = np.random.default_rng(seed)
    model = make_model(systems, builtin_menu())
    shocks = draw_shocks(rng, model, 32)
    earned = rng.random((32, model.n_orgs)) < model.p_ae
    with_actions = apply_schemes(model, BlockDraws(shocks, earned))
    plain = apply_schemes(make_model(without, builtin_menu()), BlockDraws(shocks, earned))
    for k, name in enumerate(model.schemes.names):
        if name == "organisation_only":
            assert np.all(with_actions.paid[k] >= plain.paid[k] - 1e-12)
    assert np.all(with_actions.outturn >= plain.outturn)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), share=st.floats(0, 1))
def test_bonus_pool_pays_out_exactly_the_unearned_finance_times_bonus_share(seed, share):
    rng = np.random.default_rng(seed)
    model = make_model(
        [
            [
                {"plan": 0.0, "control_total": 0.0, "sd": 1.0, "funding": float(f), "ae": 0.3}
                for f in rng.uniform(0, 10, 5)
            ]
        ],
        bonus=True,
        bonus_share=share,
    )
    passes = rng.random((64, model.n_orgs)) < 0.6
    finance_paid = model.finance * passes * rng.uniform(0, 1, (64, 1))
    bonus = bonus_paid(model, finance_paid, passes)
    pool = share * (model.finance - finance_paid).sum(axis=1)
    someone = (model.funding * passes).sum(axis=1) > 0
    np.testing.assert_allclose(bonus.sum(axis=1)[someone], pool[someone], rtol=1e-12, atol=1e-12)
    assert np.all(bonus.sum(axis=1)[~someone] == 0)
    assert np.all(bonus[~passes] == 0)  # only organisations that passed receive any


def test_tails_make_large_misses_and_draws_do_not_depend_on_the_tail_for_other_streams():
    base = {"plan": 0.0, "control_total": 0.0, "sd": 1.0, "funding": 5.0, "turnover": 400.0}
    plain = make_model([[base]])
    tailed = make_model([[{**base, "tail": (0.2, 3.0, 0.5)}]])
    a, b = draw_block(plain, seed=4, block=0, n=8192), draw_block(tailed, seed=4, block=0, n=8192)
    np.testing.assert_array_equal(a.shocks, b.shocks)  # tails draw from their own streams
    assert a.tail_loss is None
    events = b.tail_loss > 0
    assert abs(events.mean() - 0.2) < 4 * np.sqrt(0.2 * 0.8 / 8192)
    median = np.median(b.tail_loss[events])
    assert median == pytest.approx(400.0 * 3.0 / 100.0, rel=0.05)


def test_incentive_is_rate_times_uplift_times_probability_of_meeting_the_raised_total():
    orgs = [{"plan": 3.0, "control_total": 0.0, "sd": 2.0, "funding": 5.0, "uplift": 2.0}]
    model = make_model([[orgs[0]]], [SchemeOption(name="organisation_only")], incentive_rate=2.0)
    np.testing.assert_array_equal(model.control_total, [2.0])  # judged against the raised total
    acc = Accumulator.zeros(1, 1, 1)
    acc.draws[...] = 1000
    acc.org_meet[:] = 700
    result = Result(model=model, stats=acc)
    assert result.organisations["expected_incentive"].iloc[0] == pytest.approx(2.0 * 2.0 * 0.7)
