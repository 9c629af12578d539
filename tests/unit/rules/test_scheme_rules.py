"""Invariants of the scheme rules (end of scheme-2018-19.md), on random systems and draws."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sct_engine import rules
from sct_engine.engine.reference import BlockDraws, apply_schemes
from sct_engine.engine.uncertainty import draw_shocks
from sct_engine.rules import SchemeOption
from tests.factories import make_model

pytestmark = pytest.mark.unit

CODES = rules.REDISTRIBUTION_CODES

organisation = st.fixed_dictionaries(
    {
        "plan": st.floats(-10, 10),
        "control_total": st.floats(-10, 10),
        "sd": st.floats(0.1, 8.0),
        "funding": st.floats(0.0, 20.0),
        "ae": st.sampled_from([0.0, 0.3]),
        "p_ae": st.floats(0.0, 1.0),
    }
)
systems_strategy = st.lists(st.lists(organisation, min_size=1, max_size=6), min_size=1, max_size=3)


def run_block(model, seed: int, n: int = 64):
    rng = np.random.default_rng(seed)
    shocks = draw_shocks(rng, model, n)
    ae_earned = rng.random((n, model.n_orgs)) < model.p_ae
    return apply_schemes(model, BlockDraws(shocks, ae_earned))


@settings(max_examples=60, deadline=None)
@given(
    outturn=st.lists(st.floats(-20, 20), min_size=1, max_size=8),
    control=st.lists(st.floats(-20, 20), min_size=8, max_size=8),
    finance=st.lists(st.floats(0, 10), min_size=8, max_size=8),
    mode=st.sampled_from(["full", "capped"]),
    cap=st.floats(0.0, 1.0),
)
def test_redistribution_conserves_money(outturn, control, finance, mode, cap):
    x = np.array(outturn)
    n = len(x)
    ct = np.array(control[:n])
    fin = np.array(finance[:n])
    system_passes = bool(x.sum() >= ct.sum())
    passes, adjusted = rules.redistribute(x, ct, fin, CODES[mode], cap, system_passes)
    # Net-neutral: the system control total is unchanged.
    assert adjusted.sum() == pytest.approx(ct.sum(), abs=1e-9 * (1 + np.abs(ct).sum()))
    # Everyone who passes meets its adjusted control total (to rounding); nobody is made to fail.
    assert np.all(x[passes] >= adjusted[passes] - 1e-9 * (1 + np.abs(x).max()))
    assert np.all(passes >= (x >= ct))
    # Covered shortfalls never exceed the headroom available to give.
    give = rules.available_headroom(x, ct, CODES[mode], cap)
    covered = passes & (x < ct)
    if mode == "capped" or not system_passes:
        assert (ct - x)[covered].sum() <= give.sum() + 1e-9
    # Givers give at most what they may.
    rise = np.where(x >= ct, adjusted - ct, 0.0)
    assert np.all(rise <= give + 1e-9)


@settings(max_examples=40, deadline=None)
@given(systems=systems_strategy, seed=st.integers(0, 2**32 - 1))
def test_paid_between_zero_and_allocation(systems, seed):
    model = make_model(
        systems,
        [
            *rules.builtin_menu(),
            SchemeOption(
                name="capped_40", system_linked_share=0.4, redistribution="capped", share_cap=0.3
            ),
        ],
    )
    outcome = run_block(model, seed)
    for paid in outcome.paid:
        assert np.all(paid >= -1e-12)
        assert np.all(paid <= model.funding + 1e-12)


@settings(max_examples=40, deadline=None)
@given(systems=systems_strategy, seed=st.integers(0, 2**32 - 1))
def test_zero_share_without_redistribution_is_organisation_only(systems, seed):
    model = make_model(
        systems,
        [
            SchemeOption(name="organisation_only"),
            SchemeOption(name="zero_linked_strict", system_test="every_member"),
        ],
    )
    outcome = run_block(model, seed)
    finance = model.finance * outcome.meets
    ae = model.ae * (outcome.meets & run_block_ae(model, seed))
    np.testing.assert_array_equal(outcome.paid[0], finance + ae)
    np.testing.assert_array_equal(outcome.paid[1], outcome.paid[0])


def run_block_ae(model, seed: int, n: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    draw_shocks(rng, model, n)
    return rng.random((n, model.n_orgs)) < model.p_ae


@settings(max_examples=40, deadline=None)
@given(
    orgs=st.lists(organisation, min_size=1, max_size=1).map(lambda o: [[o[0]]] * 3),
    seed=st.integers(0, 2**32 - 1),
    share=st.floats(0.0, 1.0),
    mode=st.sampled_from(["none", "full", "capped"]),
    test=st.sampled_from(["total", "every_member"]),
)
def test_one_member_systems_give_the_same_result_under_every_share(orgs, seed, share, mode, test):
    model = make_model(
        orgs,
        [
            SchemeOption(name="organisation_only"),
            SchemeOption(
                name="other", system_linked_share=share, redistribution=mode, system_test=test
            ),
        ],
    )
    outcome = run_block(model, seed)
    np.testing.assert_allclose(outcome.paid[1], outcome.paid[0], rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(systems=systems_strategy, seed=st.integers(0, 2**32 - 1), share=st.floats(0.0, 1.0))
def test_full_redistribution_never_pays_less_than_none(systems, seed, share):
    model = make_model(
        systems,
        [
            SchemeOption(name="none", system_linked_share=share, redistribution="none"),
            SchemeOption(name="full", system_linked_share=share, redistribution="full"),
            SchemeOption(name="capped", system_linked_share=share, redistribution="capped"),
        ],
    )
    outcome = run_block(model, seed)
    assert np.all(outcome.paid[1] >= outcome.paid[0] - 1e-12)
    assert np.all(outcome.paid[2] >= outcome.paid[0] - 1e-12)


def test_strict_all_or_nothing_pays_nobody_when_one_member_misses():
    orgs = [
        {"plan": 10.0, "control_total": 0.0, "sd": 0.001, "funding": 5.0},
        {"plan": -1.0, "control_total": 0.0, "sd": 0.001, "funding": 5.0},
    ]
    model = make_model([orgs], rules.builtin_menu())
    outcome = run_block(model, seed=1)
    names = model.schemes.names
    paid = dict(zip(names, outcome.paid, strict=True))
    assert np.all(paid["all_or_nothing_strict"] == 0.0)  # member 2 misses: nobody is paid
    assert np.all(paid["all_or_nothing"] == 5.0)  # system total +9 meets: everybody is paid
    np.testing.assert_array_equal(paid["organisation_only"], np.tile([5.0, 0.0], (64, 1)))
    np.testing.assert_array_equal(
        paid["flexible_50"], np.full((64, 2), 5.0)
    )  # headroom covers the miss


def test_ae_gateway_withholds_ae_element_when_finance_test_fails():
    orgs = [
        {"plan": -5.0, "control_total": 0.0, "sd": 0.001, "funding": 10.0, "ae": 0.3, "p_ae": 1.0}
    ]
    model = make_model(
        [orgs],
        [
            SchemeOption(name="gated"),
            SchemeOption(name="ungated", ae_gateway=False),
        ],
    )
    outcome = run_block(model, seed=3)
    assert np.all(outcome.paid[0] == 0.0)
    np.testing.assert_allclose(outcome.paid[1], 3.0)
