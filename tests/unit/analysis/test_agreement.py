"""The local risk-share agreement: formulas balance every year, and the designed table is the
linear programme's optimum, checked against a brute-force search over every table on a grid."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from sct_engine.analysis.agreement import (
    SystemDraws,
    after,
    apply_table,
    capped,
    cvar,
    design_agreement,
    evaluate,
    formula_table,
    gain_share,
    pro_rata,
    tail_limit,
)

pytestmark = pytest.mark.unit

N_DRAWS = 400  # 5% of them is 20 draws: the CVaR is the mean of the worst 20 exactly
GRID = np.linspace(0.0, 1.0, 201)


def two_members(seed: int = 3, appetite=(np.nan, np.nan), squeeze: float = 1.0) -> SystemDraws:
    """Member 0 gains under the option, member 1 loses a little: a side agreement can pay."""
    rng = np.random.default_rng(seed)
    allocation = np.array([10.0, 4.0])
    miss = rng.random((N_DRAWS, 2)) < np.array([0.4, 0.2])
    alone = miss * allocation * rng.uniform(0.5, 1.0, (N_DRAWS, 2))
    option = alone.copy()
    option[:, 0] *= 0.4  # the option halves member 0's losses and more
    option[:, 1] = np.minimum(allocation[1], alone[:, 1] + squeeze * rng.uniform(0, 1.0, N_DRAWS))
    return SystemDraws(
        system="s",
        system_name="System",
        scheme="linked",
        baseline="organisation_only",
        organisations=("a", "b"),
        names=("A", "B"),
        allocation=allocation,
        turnover=np.array([300.0, 100.0]),
        materiality=np.array([0.01, 0.01]),
        appetite=np.array(appetite, dtype=float),
        alone=alone,
        option=option,
    )


def cheapest_payment(d: SystemDraws, p, q) -> tuple[np.ndarray, np.ndarray]:
    """For shares p (of member 0's loss borne by member 1) and q (of member 1's loss borne by
    member 0), the cheapest fixed payment c from member 1 to member 0 and the agreement's cost
    (inf where no c works). Exact: a payment shifts a member's mean and CVaR by itself, so the
    constraints bound c to an interval and the cheapest c in it is the one nearest zero."""
    d = replace(d, materiality=np.zeros(2))  # the design leaves nobody worse off at all
    mu = np.abs(d.option).mean(axis=0)  # the size of each member's losses
    limit, bound = tail_limit(d), d.alone.mean(axis=0) + d.materiality
    p, q = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(q, dtype=float))
    p, q = p.reshape(-1, 1), q.reshape(-1, 1)
    l0 = (1 - p) * d.option[:, 0][None, :] + q * d.option[:, 1][None, :]  # (grid, n)
    l1 = p * d.option[:, 0][None, :] + (1 - q) * d.option[:, 1][None, :]
    low = np.maximum(l0.mean(axis=1) - bound[0], cvar(l0.T) - limit[0])  # c at least
    high = np.minimum(bound[1] - l1.mean(axis=1), limit[1] - cvar(l1.T))  # c at most
    c = np.clip(0.0, low, high)
    cost = p[:, 0] * mu[0] + q[:, 0] * mu[1] + np.abs(c)
    return c, np.where(low <= high + 1e-9, cost, np.inf)


def brute_force(d: SystemDraws) -> tuple[float, tuple[float, float, float] | None]:
    """The cheapest agreement over a 201 x 201 grid of the two shares, each with its cheapest
    fixed payment."""
    best, arg = np.inf, None
    for p in GRID:
        c, cost = cheapest_payment(d, np.full(len(GRID), p), GRID)
        j = int(np.argmin(cost))
        if cost[j] < best:
            best, arg = float(cost[j]), (float(p), float(GRID[j]), float(c[j]))
    return best, arg


def check_against_brute_force(d: SystemDraws, agreement) -> None:
    best, arg = brute_force(d)
    assert agreement.feasible and arg is not None
    # No agreement on the grid is cheaper than the programme's (it is the optimum over all).
    assert agreement.expected_moved <= best + 1e-6
    # At the programme's own shares, the exact cheapest payment costs what the programme says.
    p, q = agreement.table[1, 0], agreement.table[0, 1]
    c, cost = cheapest_payment(d, p, q)
    assert cost[0] == pytest.approx(agreement.expected_moved, abs=1e-6)
    assert agreement.payment[0] == pytest.approx(c[0], abs=1e-6)
    # And the grid comes within its resolution of it: a step in a share moves a member's mean
    # and CVaR by at most the step times the largest loss, which the payment then covers.
    largest = np.abs(d.option).max(axis=0).sum()
    step = GRID[1] * (d.option.mean(axis=0).sum() + 2 * largest)
    assert best <= agreement.expected_moved + step


def test_cvar_is_the_mean_of_the_worst_draws():
    losses = np.arange(100.0)[:, None]
    assert cvar(losses, 0.95)[0] == pytest.approx(np.mean(np.arange(95.0, 100.0)))
    assert cvar(losses, 0.955)[0] == pytest.approx((99 + 98 + 97 + 96 + 0.5 * 95) / 4.5)


# No appetite (the expectation binds), then member 1's appetite low enough to bind.
@pytest.mark.parametrize("appetite", [(np.nan, np.nan), (np.nan, 2.0), (8.0, 2.0), (4.5, 2.5)])
def test_the_designed_table_is_the_cheapest_on_a_brute_force_grid(appetite):
    d = two_members(appetite=appetite)
    agreement = design_agreement(d)
    check_against_brute_force(d, agreement)
    # The table meets every constraint on the draws, checked directly.
    outcome = evaluate(d, after(d.option, agreement))
    assert outcome["not_worse_in_expectation"].all() and outcome["within_tail_limit"].all()
    np.testing.assert_allclose(agreement.table.sum(axis=0), 1.0)
    assert abs(agreement.payment.sum()) < 1e-7


def test_a_member_paid_more_than_its_allocation_alone_needs_a_fixed_payment():
    """Going alone, member 1 also receives a bonus of £1m a year (a negative loss): sharing
    losses cannot give it back, a fixed payment can; the brute force agrees on the cost."""
    d = two_members()
    d = replace(d, alone=d.alone - np.array([0.0, 1.0]))
    agreement = design_agreement(d)
    assert agreement.payment[1] > 0.3
    check_against_brute_force(d, agreement)


def test_a_binding_appetite_moves_more_loss():
    free, bound = (
        design_agreement(two_members()),
        design_agreement(two_members(appetite=(np.nan, 2.0))),
    )
    assert bound.expected_moved > free.expected_moved + 0.05


@pytest.mark.parametrize(("appetite", "squeeze"), [((4.0, 2.0), 1.0), ((6.0, 1.0), 3.0)])
def test_an_impossible_appetite_is_stated_with_the_member_and_the_gap(appetite, squeeze):
    """The members' appetites together are below what the system loses in its worst years:
    no table exists, the brute force finds none, and the statement names who misses."""
    d = two_members(appetite=appetite, squeeze=squeeze)
    agreement = design_agreement(d)
    best, arg = brute_force(d)
    assert arg is None and best == np.inf
    assert not agreement.feasible
    assert agreement.message.startswith("No agreement on top of linked leaves every member")
    short = agreement.shortfall.set_index("organisation")
    assert (short[["expected_shortfall", "tail_shortfall"]].to_numpy() > 1e-6).any()


def test_every_formula_balances_each_year():
    d = two_members()
    total = d.option.sum(axis=1)
    for name, losses in formula_table_losses(d).items():
        np.testing.assert_allclose(losses.sum(axis=1), total, atol=1e-9, err_msg=name)


def formula_table_losses(d: SystemDraws) -> dict[str, np.ndarray]:
    return {
        "pro rata": pro_rata(d.option, d.allocation),
        "capped": capped(d.option, d.allocation, 0.5 * d.allocation),
        "gain share": gain_share(d.alone, d.option),
        "table": apply_table(d.option, np.array([[0.7, 0.2], [0.3, 0.8]])),
    }


def test_pro_rata_gives_each_member_its_share_of_the_system_loss():
    d = two_members()
    losses = pro_rata(d.option, d.allocation)
    np.testing.assert_allclose(losses[:, 0] / losses.sum(axis=1).clip(1e-12), 10 / 14, atol=1e-12)


def test_capped_contributions_never_pay_more_than_the_cap():
    d = two_members()
    cap = np.array([0.3, 0.2])
    paid = capped(d.option, d.allocation, cap) - d.option
    assert (paid <= cap[None, :] + 1e-12).all()


def test_a_full_gain_share_makes_every_loser_whole_when_the_gains_suffice():
    d = two_members()
    after = gain_share(d.alone, d.option, share=1.0)
    gains = np.clip(d.alone - d.option, 0, None).sum(axis=1)
    shorts = np.clip(d.option - d.alone, 0, None).sum(axis=1)
    enough = gains >= shorts
    assert (after[enough] <= d.alone[enough] + 1e-9).all()


def test_the_formula_table_has_every_formula_and_member():
    d = two_members()
    table = formula_table(d, design_agreement(d))
    assert table["agreement"].nunique() == 6 and len(table) == 12


def test_nothing_moves_when_nobody_needs_help_even_with_gains_to_grab():
    """Member 1's loss is negative (a bonus beyond its allocation lost): moving it to member 0
    would look cheap if losses counted with their sign; it is money moved all the same."""
    d = two_members()
    bonus = d.alone - np.array([0.0, 1.0])
    d = replace(d, alone=bonus, option=bonus.copy())
    agreement = design_agreement(d)
    assert agreement.feasible and agreement.expected_moved == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(agreement.table, np.eye(2), atol=1e-6)


def test_the_columns_name_the_money_funding_alone_or_funding_and_bonus():
    """With a year-end bonus in the draws the money is not funding alone: no column, header or
    page heading may call it funding ("funding" is PSF/CSF paid)."""
    from sct_engine.report.workbook import header

    plain = evaluate(two_members(), two_members().option)
    assert {"expected_funding", "funding_lost_p95", "funding_lost_cvar95"} <= set(plain)
    d = replace(two_members(), money="funding and bonus")
    with_bonus = evaluate(d, d.option)
    money = [c for c in with_bonus if "funding" in c]
    assert money == [
        "expected_funding_and_bonus",
        "expected_funding_and_bonus_alone",
        "funding_and_bonus_lost_p95",
        "funding_and_bonus_lost_p95_alone",
        "funding_and_bonus_lost_cvar95",
    ]
    same = [c.replace("_and_bonus", "") for c in money]  # the same figures, named for both
    np.testing.assert_array_equal(with_bonus[money].to_numpy(), plain[same].to_numpy())
    for column in money:
        assert "and bonus" in header(column).lower(), header(column)


def test_the_held_out_years_are_the_runs_next_block_never_the_designs():
    """The check's years are the run's own block after the design's (the same seed and
    streams), so they are reproducible and share no year with the years the table was fitted
    on."""
    from sct_engine.analysis.agreement import HELD_OUT_BLOCK, agreement_draws
    from sct_engine.engine.rng import BLOCK_DRAWS
    from tests.factories import make_model

    org = {"plan": 0.0, "control_total": 0.0, "sd": 5.0, "funding": 3.0}
    model = make_model([[dict(org), dict(org, funding=2.0)]])
    extra = 300
    both = agreement_draws(model, 0, "flexible_50", "organisation_only", 7, BLOCK_DRAWS + extra)
    held = agreement_draws(
        model, 0, "flexible_50", "organisation_only", 7, extra, first_block=HELD_OUT_BLOCK
    )
    assert HELD_OUT_BLOCK * BLOCK_DRAWS >= 8192  # past every year the designer uses
    np.testing.assert_array_equal(held.option, both.option[BLOCK_DRAWS:])
    np.testing.assert_array_equal(held.alone, both.alone[BLOCK_DRAWS:])
    assert not np.array_equal(held.option, both.option[:extra])


def test_the_held_out_check_decides_on_intervals_and_says_what_it_cannot_resolve():
    """A design leaves a binding member exactly as well off as alone on its own 400 years; on
    fresh years its change is noise around a slightly negative mean (the table is fitted to its
    years), so the check must be able to say too close to call for it, while the member that
    gains a lot stays not materially worse on every sample. A table that leaves a member
    clearly worse off than alone is called materially worse."""
    from sct_engine.analysis.agreement import (
        NOT_WORSE_OFF,
        TOO_CLOSE,
        WORSE_OFF,
        Agreement,
        held_out_check,
    )

    d = replace(two_members(seed=3), materiality=np.zeros(2))
    agreement = design_agreement(d)
    assert agreement.feasible
    verdicts = [
        held_out_check(replace(two_members(seed=100 + k), materiality=np.zeros(2)), agreement)
        for k in range(40)
    ]
    expectation = np.array([v["expectation"].to_numpy() for v in verdicts])
    assert (expectation[:, 0] == NOT_WORSE_OFF).all()
    assert (expectation[:, 1] == TOO_CLOSE).any()
    for v in verdicts:  # a verdict is the interval's, never the point estimate's
        worse = v["change_vs_alone"] + v["ci95_change_vs_alone"] < 0
        assert ((v["expectation"] == WORSE_OFF) == worse).all()
    # Member 0 bears all of member 1's loss and pays it 3 a year: clearly worse off than alone.
    bad = Agreement(
        True, np.array([[1.0, 1.0], [0.0, 0.0]]), np.array([-3.0, 3.0]), 0.0, pd.DataFrame(), ""
    )
    check = held_out_check(two_members(seed=5), bad)
    assert list(check["expectation"]) == [WORSE_OFF, NOT_WORSE_OFF]


def test_the_cvar_standard_error_is_honest():
    """CVaR95 of Exp(1) is 1 + ln 20; over 200 samples of 4,000 draws the errors in units of
    :func:`cvar_se` have standard deviation within [0.8, 1.2] and mean within 4 SE of 0
    (the estimator's small-sample bias is far below that)."""
    from sct_engine.analysis.agreement import cvar_se

    rng = np.random.default_rng(11)
    exact = 1.0 + np.log(20.0)
    z = []
    for _ in range(200):
        losses = rng.exponential(1.0, (4000, 1))
        z.append((cvar(losses)[0] - exact) / cvar_se(losses)[0])
    z = np.array(z)
    assert 0.8 <= z.std(ddof=1) <= 1.2
    assert abs(z.mean()) <= 4 * z.std(ddof=1) / np.sqrt(len(z))
