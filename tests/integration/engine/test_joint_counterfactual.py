"""Joint counterfactuals (engine/joint.py): every system on its own option, simulated together.

Oracles: an assignment giving every system the same option is that option's run (funding paid
and the bonus, which the run pays inside its own loops); with the bonus off, each system's
figures under a mixed assignment are its figures under its own option; the bonus of a mixed
assignment is rule 8 brute-forced draw by draw from the reference's own block outcome; and the
kernel gives the reference's numbers draw for draw.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sct_engine import rules
from sct_engine.engine.joint import check_assignment, finance_only, simulate_joint
from sct_engine.engine.reference import apply_schemes, draw_block, simulate_reference
from sct_engine.rules import SchemeOption, builtin_menu
from tests.factories import make_model

pytestmark = pytest.mark.integration

SYSTEMS = [
    [
        {"plan": 2.0, "control_total": 0.0, "sd": 4.0, "funding": 10.0, "ae": 0.3, "p_ae": 0.6},
        {"plan": -1.0, "control_total": 0.0, "sd": 2.0, "funding": 4.0, "kind": "commissioner"},
        {"plan": 0.5, "control_total": -1.0, "sd": 3.0, "funding": 6.0, "ae": 0.3, "p_ae": 0.4},
    ],
    [
        {"plan": -3.0, "control_total": -2.0, "sd": 5.0, "funding": 8.0, "ae": 0.3, "p_ae": 0.5},
        {"plan": 1.0, "control_total": 1.0, "sd": 1.5, "funding": 2.0, "ae": 0.3, "p_ae": 0.9},
    ],
    [
        {"plan": 0.2, "control_total": 0.0, "sd": 0.7, "funding": 1.5},
        {"plan": -0.4, "control_total": 0.0, "sd": 1.2, "funding": 3.0, "kind": "commissioner"},
    ],
]
MENU = [
    *builtin_menu(),
    SchemeOption(name="capped_40", system_linked_share=0.4, redistribution="capped", share_cap=0.3),
]
MIXED = [3, 0, 6]  # flexible_25, organisation_only, capped_40
DRAWS = 9000  # two blocks, the second short
SEED = 11


def model(quarterly: bool, bonus: bool = True):
    return make_model(SYSTEMS, MENU, bonus=bonus, bonus_share=0.8, quarterly=quarterly)


@pytest.mark.parametrize("quarterly", [False, True])
def test_every_system_on_one_option_is_that_options_run(quarterly: bool) -> None:
    m = model(quarterly)
    uniform = {name: [k] * m.n_systems for k, name in enumerate(m.schemes.names)}
    joint = simulate_joint(m, uniform, DRAWS, SEED, engine="reference")
    acc = simulate_reference(m, DRAWS, SEED)
    starts = m.system_start[:-1]
    for k, name in enumerate(m.schemes.names):
        j = joint[name]
        paid = np.add.reduceat(acc.org_paid_sum[k], starts)
        np.testing.assert_allclose(j.system_paid_sum, paid, rtol=1e-12, err_msg=name)
        bonus = np.add.reduceat(acc.org_bonus_sum[k], starts)
        np.testing.assert_allclose(j.system_bonus_sum, bonus, rtol=1e-12, atol=1e-9, err_msg=name)
        lost = m.funding.sum() - j.funding_paid
        np.testing.assert_allclose(lost.sum(), acc.national_lost_sum[k], rtol=1e-12)
    assert joint["organisation_only"].bonus.sum() > 0  # the test can see the bonus


@pytest.mark.parametrize("quarterly", [False, True])
def test_without_the_bonus_each_system_gets_its_own_options_figures(quarterly: bool) -> None:
    m = model(quarterly, bonus=False)
    names = {"mixed": MIXED, **{n: [k] * m.n_systems for k, n in enumerate(m.schemes.names)}}
    joint = simulate_joint(m, names, DRAWS, SEED, engine="reference")
    for s, k in enumerate(MIXED):
        own = joint[m.schemes.names[k]]
        assert joint["mixed"].system_paid_sum[s] == own.system_paid_sum[s]
    assert not joint["mixed"].bonus.any()


def test_a_mixed_assignments_bonus_is_one_national_pool() -> None:
    """Brute force on the reference's own block: each member takes its system's option's
    finance paid and year-end pass; rule 8 is applied once over every trust."""
    m = model(quarterly=True)
    n = 3000
    joint = simulate_joint(m, {"mixed": MIXED}, n, SEED, engine="reference")["mixed"]
    outcome = apply_schemes(m, draw_block(m, SEED, 0, n))
    assert outcome.finance_paid is not None
    finance = np.empty((n, m.n_orgs))
    passes = np.empty((n, m.n_orgs), dtype=bool)
    paid = np.empty((n, m.n_orgs))
    for i in range(m.n_orgs):
        k = MIXED[m.org_system[i]]
        finance[:, i] = outcome.finance_paid[k][:, i]
        passes[:, i] = outcome.org_pass[k][:, i]
        paid[:, i] = outcome.paid[k][:, i]
    pool = m.bonus_share * ((m.finance - finance) * m.is_provider).sum(axis=1)
    weight = (m.funding * (passes & m.is_provider)).sum(axis=1)
    expected = np.where(weight > 0, pool, 0.0)
    np.testing.assert_allclose(joint.bonus, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(joint.funding_paid, paid.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(joint.finance_paid, finance.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(joint.provider_paid, (paid * m.is_provider).sum(axis=1), rtol=1e-12)
    # The joint pool is not the per-system one: moving systems off the baseline shrinks it.
    base = rules.bonus_paid(
        m.finance,
        outcome.finance_paid[0],
        m.funding,
        outcome.org_pass[0],
        m.is_provider,
        m.bonus_share,
    ).sum(axis=1)
    assert not np.allclose(base, joint.bonus)


@pytest.mark.parametrize("quarterly", [False, True])
def test_kernel_gives_the_references_joint_draws(quarterly: bool) -> None:
    m = model(quarterly)
    assignments = {"mixed": MIXED, "flexible_25": [3] * m.n_systems}
    ref = simulate_joint(m, assignments, DRAWS, SEED, engine="reference")
    ker = simulate_joint(m, assignments, DRAWS, SEED, engine="kernel")
    for name in assignments:
        for field in dataclasses.fields(ref[name]):
            expected, got = getattr(ref[name], field.name), getattr(ker[name], field.name)
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9, err_msg=field.name)


def test_finance_only_model_keeps_the_finance_element() -> None:
    m = model(quarterly=False)
    f = finance_only(m)
    np.testing.assert_array_equal(f.finance, m.finance)
    assert not f.ae.any()


@pytest.mark.parametrize("bad", [[0, 1], [0, 1, 7], [-1, 0, 0]])
def test_an_assignment_names_one_option_per_system(bad: list[int]) -> None:
    with pytest.raises(ValueError, match="assignment"):
        check_assignment(model(quarterly=False), bad)


def test_a_joint_simulation_needs_draws() -> None:
    with pytest.raises(ValueError, match="at least one draw"):
        simulate_joint(model(quarterly=False), {"mixed": MIXED}, 0, SEED, engine="reference")
