"""The kernel's shared helpers one at a time against the numpy reference, so that a parity
failure names the helper: drawing, the tests and the cover (passes after redistribution),
and the payments of each pass.

Each helper is called from Python on one draw at a time (numba compiles an
``inline="always"`` helper on its own too), with the kernel's own structures
(``KernelRun``'s :mod:`~sct_engine.engine.kernel.inputs`) and its own buffers
(``loops._block_buffers``); the reference computes the same block with numpy. Drawing,
tests and passes are compared exactly (the kernel mirrors the reference expression by
expression; only the year-end outturn after a large adverse event to 1e-14 relative, see
``test_drawing_matches_the_reference_draw_for_draw``); funding paid to 1e-12 absolute (the
same products, the A&E element added in the same order: in practice exact); system losses
to 1e-9 absolute, the year-end pass summing them as a linear form of the members' codes.
"""

from __future__ import annotations

import numpy as np
import pytest

from sct_engine.engine import reference
from sct_engine.engine.kernel import KernelRun, loops
from sct_engine.engine.rng import (
    AE_STREAM,
    SHOCK_STREAM,
    TAIL_OCCURS_STREAM,
    TAIL_SIZE_STREAM,
    block_generator,
)
from sct_engine.engine.uncertainty import sobol_common_factors
from sct_engine.rules import SchemeOption, builtin_menu
from tests.factories import make_model

pytestmark = pytest.mark.integration

SEED, DRAWS = 11, 300
#: Three systems, one of them large enough for the exact cover to search; A&E elements,
#: management actions, large adverse events and a system control total looser than its
#: members' (slack), so that every branch of the helpers is taken.
SYSTEMS = [
    [
        {"plan": 1.0, "control_total": 0.0, "sd": 3.0, "funding": 9.0, "ae": 0.3, "p_ae": 0.6,
         "mitigation": 0.5, "turnover": 300.0, "tail": (0.2, 3.0, 0.8)},
        {"plan": -1.0, "control_total": 0.0, "sd": 2.0, "funding": 4.0, "kind": "commissioner"},
        {"plan": 0.5, "control_total": -1.0, "sd": 3.0, "funding": 6.0, "ae": 0.3, "p_ae": 0.4},
        {"plan": 0.0, "control_total": 0.5, "sd": 1.0, "funding": 2.5},
        {"plan": 2.0, "control_total": 1.0, "sd": 2.5, "funding": 5.0, "mitigation": 1.0},
        {"plan": -0.5, "control_total": 0.0, "sd": 1.5, "funding": 3.0},
    ],
    [
        {"plan": -3.0, "control_total": -2.0, "sd": 5.0, "funding": 8.0},
        {"plan": 1.0, "control_total": 1.0, "sd": 1.5, "funding": 2.0, "ae": 0.3, "p_ae": 0.9},
    ],
    [{"plan": 0.2, "control_total": 0.0, "sd": 0.7, "funding": 1.5}],
]  # fmt: skip
MENU = [
    *builtin_menu(),
    SchemeOption(name="capped_40", system_linked_share=0.4, redistribution="capped", share_cap=0.3),
    SchemeOption(
        name="full_strict_ungated",
        system_linked_share=0.6,
        redistribution="full",
        system_test="every_member",
        ae_gateway=False,
    ),
]


def model_of(quarterly: bool):
    return make_model(
        SYSTEMS,
        schemes=MENU,
        quarterly=quarterly,
        bonus=True,
        system_control_total=[-1.0, None, None],
    )


def generators(block: int = 0) -> tuple:
    return tuple(
        block_generator(SEED, block, stream)
        for stream in (SHOCK_STREAM, AE_STREAM, TAIL_OCCURS_STREAM, TAIL_SIZE_STREAM)
    )


def buffers(run: KernelRun) -> tuple:
    m = run.model
    periods = run.periods.plan.shape[0]
    return loops._block_buffers(
        periods, m.n_orgs, m.n_systems, run.groups.mode.shape[0], m.system_start
    )


def draw(
    run: KernelRun, gens: tuple, work: tuple, common: np.ndarray | None = None, d: int = 0
) -> None:
    """``loops._draw_paths``: one draw of every period into ``work`` (with Sobol' sampling,
    draw ``d`` of the block's common factors ``common``, shaped ``(1, n, P, 1 + S)``)."""
    dp, dependence, events = run.shocks
    p = run.periods
    mb = run.members
    common = np.zeros((0, 0, 0, 0)) if common is None else common
    loops._draw_paths(
        *gens, dp, dependence, events, mb.org_system, mb.system_start, p.plan, p.sd,
        p.control_total, mb.p_ae, work, common, 0, d,
    )  # fmt: skip


def reference_block(model, common: np.ndarray | None = None) -> tuple:
    """The reference's draws of block 0 and its outturns, period first ``(n, P, N)``."""
    draws = reference.draw_block(model, SEED, 0, DRAWS, common)
    if model.quarterly:
        return draws, reference.block_ytd_outturns(model, draws)
    return draws, reference.block_outturns(model, draws)[:, None, :]


@pytest.mark.parametrize(
    ("quarterly", "sobol"),
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["year_end", "quarterly", "year_end_sobol", "quarterly_sobol"],
)
def test_drawing_matches_the_reference_draw_for_draw(quarterly, sobol):
    """With Sobol' sampling both read the same common factors and draw only the own shocks."""
    model = model_of(quarterly)
    run = KernelRun(model, SEED)
    common = sobol_common_factors(model, SEED, 0, 0, DRAWS) if sobol else None
    draws, outturn = reference_block(
        model, None if common is None else common if quarterly else common[:, 0]
    )
    earned = draws.ae_earned if quarterly else draws.ae_earned[:, None, :]  # (n, P, N)
    bits = (earned * (1 << np.arange(earned.shape[1]))[None, :, None]).sum(axis=1)
    gens, work = generators(), buffers(run)
    for d in range(DRAWS):
        draw(run, gens, work, None if common is None else common[None], d)
        # Exact before the year-end events; after them to 1e-14 relative: a large adverse
        # event's size is ``exp`` of numpy (vectorised) in the reference and of libm in the
        # kernel, which may differ in the last place.
        np.testing.assert_array_equal(work[1][:-1], outturn[d][:-1], err_msg=f"draw {d}")
        np.testing.assert_allclose(work[1][-1], outturn[d][-1], rtol=1e-14, err_msg=f"draw {d}")
        np.testing.assert_array_equal(work[10], bits[d], err_msg=f"A&E earned, draw {d}")


@pytest.mark.parametrize("quarterly", [False, True], ids=["year_end", "quarterly"])
def test_tests_and_passes_after_redistribution_match_the_reference(quarterly):
    """``_period_tests`` and ``_cover_groups`` (the knapsack cover included) on the reference's
    outturns, every period, against ``reference.scheme_tests``."""
    model = model_of(quarterly)
    run = KernelRun(model, SEED)
    _, outturn = reference_block(model)
    p = run.periods
    tests = [
        reference.scheme_tests(
            model, outturn[:, q], p.period_control_total[q], p.system_control_total[q], p.slack[q]
        )
        for q in range(outturn.shape[1])
    ]
    scheme_group = run._classes[2][run._classes[-1]]  # each scheme's redistribution group
    work = buffers(run)
    start = model.system_start
    covered = 0
    for d in range(DRAWS):
        work[1][...] = outturn[d]
        loops._period_tests(p.period_control_total, start, p.system_control_total, work)
        loops._cover_groups(
            run.groups.mode, run.groups.cap, start, p.period_control_total,
            run.members.finance, p.slack, work,
        )  # fmt: skip
        for q, t in enumerate(tests):
            np.testing.assert_array_equal(work[5][q], t.meets[d], err_msg=f"meets, draw {d}")
            np.testing.assert_array_equal(work[6][q], t.system_meets[d], err_msg=f"system, {d}")
            for k, passes in enumerate(t.org_pass):
                np.testing.assert_array_equal(
                    work[8][scheme_group[k], q], passes[d], err_msg=f"scheme {k}, draw {d}, q{q}"
                )
                covered += int((passes[d] & ~t.meets[d]).sum())
        if quarterly:
            for r in range(run.groups.mode.shape[0]):
                expected = (work[8][r] * (1 << np.arange(4))[:, None]).sum(axis=0)
                np.testing.assert_array_equal(work[9][r], expected)
    assert covered > 0, "no member was covered by redistribution: the test proves nothing"


@pytest.mark.parametrize("quarterly", [False, True], ids=["year_end", "quarterly"])
def test_payments_match_the_reference(quarterly):
    """Funding paid, A&E paid, unearned finance, the year-end pass and each scheme's system
    loss of one draw: ``_score_draw`` with ``_year_end_decision_figures`` (year end) or
    ``_pay_quarters`` (quarterly), on the kernel's own draws, against
    ``reference.apply_schemes``."""
    model = model_of(quarterly)
    run = KernelRun(model, SEED, trace=True)
    draws, _ = reference_block(model)
    outcome = reference.apply_schemes(model, draws)
    k_count, n, s = len(model.schemes), model.n_orgs, model.n_systems
    gens, work = generators(), buffers(run)
    scratch = loops._decision_scratch(k_count, n, s)
    mb, money, tables = run.members, run.money, run.tables
    ms, ss = run.member_stats, run.system_stats
    for d in range(DRAWS):
        draw(run, gens, work)
        p = run.periods
        loops._period_tests(p.period_control_total, mb.system_start, p.system_control_total, work)
        loops._cover_groups(
            run.groups.mode, run.groups.cap, mb.system_start, p.period_control_total,
            mb.finance, p.slack, work,
        )  # fmt: skip
        if quarterly:
            sc = (np.empty(s), np.empty(s, dtype=np.bool_), np.empty(n), np.empty(n, np.bool_))
            loops._pay_quarters(0, 0, False, True, tables, mb, money, work, ms, ss, scratch, sc)
        else:
            codes = np.empty((tables.class_group.shape[0], n), dtype=np.int64)
            loops._score_draw(
                0, 0, work[8], work[6][0], work[10], mb.system_start, mb.finance, mb.ae,
                money.system_funding, money.system_finance, money.national_funding, money.bins,
                tables, codes, np.empty(k_count), np.empty(tables.lossy.shape[3], np.int64),
                ms.org_code, ms.system_test_pass, ss, scratch[6], False,
            )  # fmt: skip
            loops._year_end_decision_figures(codes, tables, mb.ae, scratch)
        d_paid, _, d_ae, d_unearned, d_passed, _, d_sys_lost = scratch[:7]
        for k in range(k_count):
            at = f"scheme {k}, draw {d}"
            np.testing.assert_allclose(
                d_paid[k], outcome.paid[k][d], rtol=0, atol=1e-12, err_msg=at
            )
            np.testing.assert_allclose(
                d_ae[k], outcome.ae_paid[k][d], rtol=0, atol=1e-12, err_msg=at
            )
            np.testing.assert_allclose(
                d_unearned[k], model.finance - outcome.finance_paid[k][d], rtol=0, atol=1e-12,
                err_msg=at,
            )  # fmt: skip
            np.testing.assert_array_equal(d_passed[k], outcome.org_pass[k][d], err_msg=at)
            lost = model.funding - outcome.paid[k][d]
            system_lost = np.add.reduceat(lost, model.system_start[:-1])
            np.testing.assert_allclose(d_sys_lost[k], system_lost, rtol=0, atol=1e-9, err_msg=at)
