"""Decision analysis: paired comparisons, participation, attribution, contagion, gradient, solvers.

Statistical checks state their tolerance in Monte Carlo standard errors (4 SE
unless noted), against closed forms of the normal factor model where one exists.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats as sps

from sct_engine.analysis import analyse, compare
from sct_engine.analysis.incentives import incentive_gradient
from sct_engine.analysis.solvers import (
    control_total_buffer,
    largest_system_linked_share,
    mitigation_needed,
)
from sct_engine.analysis.submodels import system_draws, system_model
from sct_engine.engine.model import SchemeArrays
from sct_engine.engine.reference import apply_schemes, draw_block, simulate_reference
from sct_engine.engine.results import Result
from sct_engine.engine.rng import block_sizes
from sct_engine.rules import SchemeOption, builtin_menu
from tests.factories import make_model

pytestmark = pytest.mark.unit

TWO_SYSTEMS = [
    [
        {"plan": 2.0, "control_total": 0.0, "sd": 4.0, "funding": 10.0, "ae": 0.3, "p_ae": 0.6},
        {"plan": -1.0, "control_total": 0.0, "sd": 2.0, "funding": 4.0},
        {"plan": 0.5, "control_total": -1.0, "sd": 3.0, "funding": 6.0},
    ],
    [
        {"plan": -3.0, "control_total": -2.0, "sd": 5.0, "funding": 8.0},
        {"plan": 1.0, "control_total": 1.0, "sd": 1.5, "funding": 2.0},
    ],
]
# The same systems with large adverse events, management actions and the year-end bonus.
EVENTFUL = [
    [
        {**org, "turnover": 300.0, "tail": (0.1, 2.0, 0.5), "mitigation": 1.0}
        for org in TWO_SYSTEMS[0]
    ],
    TWO_SYSTEMS[1],
]
LINKED = [
    SchemeOption(name="organisation_only"),
    SchemeOption(name="linked_30", system_linked_share=0.3),
    SchemeOption(name="linked_100", system_linked_share=1.0),
]
SEED = 11


def exact_org_meet(model) -> np.ndarray:
    return sps.norm.cdf((model.plan - model.control_total) / model.sd)


def system_sd(model, s: int) -> float:
    a, b = model.national_share, model.system_share
    sd = model.sd[model.system_start[s] : model.system_start[s + 1]]
    return math.sqrt((a + b) * sd.sum() ** 2 + (1 - a - b) * (sd**2).sum())


def exact_system_meet(model) -> np.ndarray:
    return np.array(
        [
            sps.norm.cdf(
                (
                    model.plan[model.system_start[s] : model.system_start[s + 1]].sum()
                    - model.system_control_total[s]
                )
                / system_sd(model, s)
            )
            for s in range(model.n_systems)
        ]
    )


@pytest.fixture(scope="module")
def menu_analysis():
    return analyse(make_model(TWO_SYSTEMS, builtin_menu()), draws=12_000, seed=SEED)


@pytest.fixture(scope="module")
def linked_analysis():
    return analyse(make_model(TWO_SYSTEMS, LINKED), draws=40_000, seed=SEED)


def test_analysis_sees_exactly_the_runs_draws(menu_analysis):
    """The analysis runs on the kernel: its statistics are the kernel run's, bit for bit, and
    the reference's to rounding."""
    from sct_engine.engine.kernel import simulate_kernel

    model = menu_analysis.model
    kernel = simulate_kernel(model, menu_analysis.draws, SEED)
    reference = simulate_reference(model, menu_analysis.draws, SEED)
    for name, values in kernel.arrays().items():
        got = getattr(menu_analysis.result.stats, name)
        np.testing.assert_array_equal(got, values, err_msg=name)
        np.testing.assert_allclose(got, reference.arrays()[name], rtol=1e-9, atol=1e-9)


def with_dependence(systems):
    """System 0 with a correlation matrix (a negative pair), system 1 with signed loadings."""
    first, second, *rest = systems
    n = len(first)
    matrix = np.full((n, n), 0.3)
    matrix[0, 1:] = matrix[1:, 0] = -0.2
    np.fill_diagonal(matrix, 1.0)
    loaded = [{**org, "loading": 0.6 if j % 2 == 0 else -0.4} for j, org in enumerate(second)]
    return [first, loaded, *rest], [matrix, *([None] * (len(systems) - 1))]


@pytest.mark.parametrize(
    ("quarterly", "dependent"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_a_system_on_its_own_draws_is_the_system_in_the_run(quarterly, dependent):
    """system_model + system_draws reproduce, draw for draw, the system's part of the full run
    (also with a correlation matrix and signed loadings)."""
    systems, correlation = with_dependence(EVENTFUL) if dependent else (EVENTFUL, None)
    model = make_model(systems, builtin_menu(), quarterly=quarterly, correlation=correlation)
    assert model.correlated.any() == dependent
    draws = draw_block(model, 5, 0, 2000)
    full = apply_schemes(model, draws)
    for s in range(model.n_systems):
        lo, hi = model.system_start[s], model.system_start[s + 1]
        sub = system_model(model, s)
        assert sub.n_orgs == hi - lo and sub.org_ids == model.org_ids[lo:hi]
        np.testing.assert_array_equal(sub.mitigation, model.mitigation[lo:hi])
        alone = apply_schemes(sub, system_draws(model, draws, s))
        for k in range(len(model.schemes)):
            np.testing.assert_array_equal(alone.paid[k], full.paid[k][:, lo:hi])
            np.testing.assert_array_equal(alone.org_pass[k], full.org_pass[k][:, lo:hi])


def test_attribution_sums_to_the_system_total(menu_analysis):
    attribution = menu_analysis.attribution()
    totals = attribution.groupby(["scheme", "system"], sort=False)[
        ["expected_funding_lost", "co_cvar"]
    ].sum()
    systems = menu_analysis.result.systems.set_index(["scheme", "system"])
    for key, row in totals.iterrows():
        assert row.expected_funding_lost == pytest.approx(
            systems.loc[key, "expected_funding_lost"], rel=1e-9
        )
        assert row.co_cvar == pytest.approx(
            systems.loc[key, "funding_lost_cvar95"], rel=1e-9, abs=1e-9
        )
    shares = attribution.groupby(["scheme", "system"])["share_of_cvar"].sum()
    assert np.allclose(shares[shares > 0], 1.0)


def test_co_cvar_of_a_member_is_at_most_its_allocation(menu_analysis):
    attribution = menu_analysis.attribution()
    funding = dict(zip(menu_analysis.model.org_ids, menu_analysis.model.funding, strict=True))
    assert all(row.co_cvar <= funding[row.organisation] + 1e-9 for row in attribution.itertuples())


def test_one_member_system_shows_no_difference_between_schemes():
    model = make_model(
        [[{"plan": 0.5, "control_total": 0.0, "sd": 2.0, "funding": 5.0, "ae": 0.3}]],
        builtin_menu(),
    )
    analysis = analyse(model, draws=6000, seed=2)
    part = analysis.participation()
    assert (part["diff_expected_funding"] == 0.0).all()
    assert (part["funding_lost_p95"] == part["baseline_funding_lost_p95"]).all()
    assert not part["worse_in_expectation"].any() and not part["better_in_expectation"].any()
    assert part["would_sign"].all()
    systems = analysis.comparison("systems")
    assert (systems["diff_expected_funding"] == 0.0).all()
    assert (systems["diff_p_lose_over_1m"] == 0.0).all()
    (rec,) = analysis.recommend()
    assert rec.scheme == "organisation_only" and rec.gain == 0.0


def own_and_system_miss(model, i: int) -> tuple[float, float, float]:
    """P(member ``i`` misses, its system misses, both), bivariate normal of the factor model."""
    a, b = model.national_share, model.system_share
    s = model.org_system[i]
    lo, hi = model.system_start[s], model.system_start[s + 1]
    sd = model.sd[lo:hi]
    corr = np.where(np.arange(lo, hi) == i, 1.0, a + b)
    cov = model.sd[i] * float((sd * corr).sum())
    sigma = np.array([[model.sd[i] ** 2, cov], [cov, system_sd(model, s) ** 2]])
    upper = [
        model.control_total[i] - model.plan[i],
        model.system_control_total[s] - model.plan[lo:hi].sum(),
    ]
    both = sps.multivariate_normal(mean=[0, 0], cov=sigma).cdf(upper)
    return sps.norm.cdf(upper[0] / model.sd[i]), sps.norm.cdf(upper[1] / sigma[1, 1] ** 0.5), both


def test_paired_difference_matches_closed_form(linked_analysis):
    """E[paid_s - paid_0] = fin * s * (P(system meets) - P(member meets)) + the A&E element's
    change: under the default gateway (finance_earned) it is paid with probability p_ae when
    the own test (s < 1) or the system test (s > 0) passes, against the own test at s = 0."""
    model = linked_analysis.model
    comparison = linked_analysis.comparison("organisations")
    p_org, p_sys = exact_org_meet(model), exact_system_meet(model)[model.org_system]
    misses = [own_and_system_miss(model, i) for i in range(model.n_orgs)]
    p_either = np.array([1.0 - both for _, _, both in misses])  # not both missed
    finance = model.funding * (1 - model.ae_fraction)
    ae = model.funding * model.ae_fraction * model.p_ae
    for share, name, p_gate in ((0.3, "linked_30", p_either), (1.0, "linked_100", p_sys)):
        rows = comparison[comparison["scheme"] == name]
        diff = rows["diff_expected_funding"].to_numpy()
        se = rows["se_diff_expected_funding"].to_numpy()
        exact = finance * share * (p_sys - p_org) + ae * (p_gate - p_org)
        z = (diff - exact) / se
        assert np.all(np.abs(z) < 4), z
        # Without the gateway term the closed form is outside the tolerance: the test tells
        # the readings apart.
        assert np.abs((diff - finance * share * (p_sys - p_org)) / se).max() > 4


def test_pairing_shrinks_the_standard_error(linked_analysis):
    """The paired SE of a difference is below the SE of two independent runs (positively correlated options)."""
    systems = linked_analysis.comparison("systems")
    run = linked_analysis.result.systems.set_index(["scheme", "system"])
    for row in systems[systems["scheme"] == "linked_30"].itertuples():
        unpaired = math.hypot(
            run.loc[("linked_30", row.system), "se_expected_funding_lost"],
            run.loc[("organisation_only", row.system), "se_expected_funding_lost"],
        )
        assert row.se_diff_expected_funding < unpaired


def test_contagion_matches_the_bivariate_normal(linked_analysis):
    model = linked_analysis.model
    contagion = linked_analysis.contagion()
    for i, row in enumerate(contagion.itertuples()):
        own_miss, _, both = own_and_system_miss(model, i)
        exact = both / own_miss
        assert abs(row.p_system_miss_given_miss - exact) < 4 * row.se_p_system_miss_given_miss, (
            i,
            exact,
        )
        assert row.p_pivotal <= row.p_miss_control_total * row.p_system_miss_given_miss + 1e-12


def test_a_lone_member_is_always_pivotal():
    model = make_model([[{"plan": 0.0, "control_total": 0.5, "sd": 1.0, "funding": 1.0}]], LINKED)
    contagion = analyse(model, draws=4000, seed=1).contagion()
    assert contagion["p_pivotal"].iloc[0] == contagion["p_miss_control_total"].iloc[0]
    assert contagion["p_pivotal_given_system_miss"].iloc[0] == 1.0


def test_incentive_gradient_matches_closed_form():
    """Central difference of +-0.5: F * (Phi((m + 0.5) / sd) - Phi((m - 0.5) / sd)), own or system margin."""
    members = [
        {"plan": 1.0, "control_total": 0.0, "sd": 2.0, "funding": 6.0},
        {"plan": -0.5, "control_total": 0.0, "sd": 1.0, "funding": 3.0},
        {"plan": 0.2, "control_total": 0.0, "sd": 1.5, "funding": 2.0},
    ]
    model = make_model([members], [LINKED[0], LINKED[2]])
    gradient = incentive_gradient(model, seed=4, draws=20_000).set_index(["scheme", "organisation"])
    margin = model.plan - model.control_total
    own = model.funding * (
        sps.norm.cdf((margin + 0.5) / model.sd) - sps.norm.cdf((margin - 0.5) / model.sd)
    )
    sys_margin = model.plan.sum() - model.system_control_total[0]
    sigma = system_sd(model, 0)
    linked = model.funding * (
        sps.norm.cdf((sys_margin + 0.5) / sigma) - sps.norm.cdf((sys_margin - 0.5) / sigma)
    )
    for i, org in enumerate(model.org_ids):
        row = gradient.loc[("organisation_only", org)]
        assert abs(row.own_gradient - own[i]) < 4 * row.se_own_gradient
        row = gradient.loc[("linked_100", org)]
        assert abs(row.own_gradient - linked[i]) < 4 * row.se_own_gradient
        assert abs(row.system_gradient - linked.sum()) < 4 * row.se_system_gradient
    # The strong member's own incentive is blunted when all its funding rides on the system.
    assert gradient.loc[("linked_100", "org_0"), "incentive"] == "weaker"


def test_buffer_matches_the_normal_quantile_on_the_organisations_own_test():
    model = make_model(TWO_SYSTEMS, LINKED)
    target = 0.8
    buffers = control_total_buffer(
        model, seed=9, draws=16_384, scheme="organisation_only", target=target
    )
    exact = np.maximum(model.control_total - model.plan + model.sd * sps.norm.ppf(target), 0.0)
    for i, row in enumerate(buffers.itertuples()):
        if exact[i] == 0.0:
            assert row.buffer == 0.0
        else:
            assert abs(row.buffer - exact[i]) < 4 * row.se_buffer + 0.01, (i, row.buffer, exact[i])
            assert row.p_pass_with_buffer >= target


def test_mitigation_matches_the_normal_quantile_on_the_organisations_own_test():
    """A shortfall up to the mitigation is recovered, so P(meets) = P(shortfall <= m): the normal quantile."""
    model = make_model(TWO_SYSTEMS, LINKED)
    target = 0.8
    needed = mitigation_needed(
        model, seed=9, draws=16_384, scheme="organisation_only", target=target
    )
    exact = np.maximum(model.control_total - model.plan + model.sd * sps.norm.ppf(target), 0.0)
    for i, row in enumerate(needed.itertuples()):
        assert row.current_mitigation == 0.0
        if exact[i] == 0.0:
            assert row.mitigation == 0.0
        else:
            assert abs(row.mitigation - exact[i]) < 4 * row.se_mitigation + 0.01, (
                i,
                row.mitigation,
                exact[i],
            )


def _pass_probability(model, scheme: str, member: int, seed: int, draws: int) -> float:
    k = model.schemes.names.index(scheme)
    passed = 0
    for block, n in block_sizes(draws):
        passed += int(
            apply_schemes(model, draw_block(model, seed, block, n)).org_pass[k][:, member].sum()
        )
    return passed / draws


@pytest.mark.parametrize(
    ("scheme", "quarterly"),
    [("flexible_25", False), ("organisation_only", False), ("flexible_25", True)],
)
def test_buffer_resimulated_meets_the_target(scheme, quarterly):
    """Re-simulated on new draws with the plan raised by the buffer: the target within 4 combined SEs."""
    model = make_model(TWO_SYSTEMS, builtin_menu(), quarterly=quarterly)
    target, n_solve, n_check = 0.85, 8192, 16_384
    member = 1  # plans below its control total: needs a buffer under every option
    (row,) = control_total_buffer(
        model,
        seed=21,
        draws=n_solve,
        scheme=scheme,
        target=target,
        organisations=[model.org_ids[member]],
    ).itertuples()
    assert row.buffer > 0 and math.isfinite(row.se_buffer)
    raised = replace(model, plan=model.plan + np.eye(model.n_orgs)[member] * row.buffer)
    p = _pass_probability(raised, scheme, member, seed=22, draws=n_check)
    se = math.sqrt(target * (1 - target) * (1 / n_solve + 1 / n_check))
    assert abs(p - target) < 4 * se, (p, row.buffer)


def test_mitigation_resimulated_meets_the_target():
    """Under full redistribution, with events and existing mitigation: the target within 4 combined SEs."""
    model = make_model(EVENTFUL, builtin_menu())
    target, n_solve, n_check, member = 0.9, 8192, 16_384, 1
    (row,) = mitigation_needed(
        model,
        seed=41,
        draws=n_solve,
        scheme="flexible_50",
        target=target,
        organisations=[model.org_ids[member]],
    ).itertuples()
    assert row.mitigation > row.current_mitigation and row.p_pass_at_plan < target
    mitigation = model.mitigation.copy()
    mitigation[member] = row.mitigation
    p = _pass_probability(
        replace(model, mitigation=mitigation), "flexible_50", member, seed=42, draws=n_check
    )
    se = math.sqrt(target * (1 - target) * (1 / n_solve + 1 / n_check))
    assert abs(p - target) < 4 * se, (p, row.mitigation)


def test_largest_linked_share_resimulated_meets_the_target():
    model = make_model(TWO_SYSTEMS[:1], builtin_menu())
    target, limit, n_solve, n_check = 0.7, 0.5, 8192, 16_384
    (row,) = largest_system_linked_share(
        model, seed=31, draws=n_solve, scheme="flexible_25", target=target, loss_limit=limit
    ).itertuples()
    assert row.feasible and 0 < row.largest_share < 1, row
    assert row.p_at_zero >= target > row.p_at_one
    option = SchemeOption(
        name="solved", system_linked_share=row.largest_share, redistribution="full"
    )
    solved = replace(model, schemes=SchemeArrays.from_options([option]))
    ok = 0
    for block, n in block_sizes(n_check):
        paid = apply_schemes(solved, draw_block(solved, 32, block, n)).paid[0]
        ok += int(((model.funding - paid).sum(axis=1) <= limit * model.funding.sum()).sum())
    se = math.sqrt(target * (1 - target) * (1 / n_solve + 1 / n_check))
    assert abs(ok / n_check - target) < 4 * se


def test_recommendation_rules_out_an_option_that_leaves_a_member_worse_off():
    """A strong member loses under all_or_nothing; pooling headroom (nothing linked) helps everyone."""
    strong = {"plan": 4.0, "control_total": 0.0, "sd": 2.0, "funding": 5.0}
    weak = {"plan": -1.0, "control_total": 0.0, "sd": 2.0, "funding": 10.0}
    options = [
        SchemeOption(name="organisation_only"),
        SchemeOption(name="all_or_nothing", system_linked_share=1.0),
        SchemeOption(name="pooled", system_linked_share=0.0, redistribution="full"),
    ]
    analysis = analyse(make_model([[strong, weak]], options), draws=16_384, seed=7)
    (rec,) = analysis.recommend()
    assert "all_or_nothing" in rec.excluded and "org_0" in rec.excluded["all_or_nothing"]
    assert "materially" in rec.excluded["all_or_nothing"]
    assert rec.eligible == ("organisation_only", "pooled")
    assert rec.scheme == "pooled" and rec.gain > 4 * rec.se_gain
    part = analysis.participation()
    assert part[part["scheme"] == "pooled"]["would_sign"].all()
    # all_or_nothing pays the system more than going alone, yet is ruled out.
    gain_aon, se_aon = analysis.system_difference(0, "all_or_nothing", "organisation_only")
    assert gain_aon > 4 * se_aon


def test_compare_a_result_reuses_its_draws():
    model = make_model(TWO_SYSTEMS, builtin_menu())
    run = Result(model=model, stats=simulate_reference(model, 5000, 8), provenance={"seed": 8})
    comparison = compare(run, "organisation_only", "flexible_50")
    assert list(comparison.systems["scheme"].unique()) == ["organisation_only", "flexible_50"]
    run_systems = run.systems.set_index(["scheme", "system"])
    for row in comparison.systems[comparison.systems["scheme"] == "flexible_50"].itertuples():
        gap = (
            run_systems.loc[("flexible_50", row.system), "expected_funding"]
            - run_systems.loc[("organisation_only", row.system), "expected_funding"]
        )
        assert row.diff_expected_funding == pytest.approx(gap, abs=1e-9)
    assert len(comparison.headlines) == model.n_systems


def test_unknown_names_are_refused():
    model = make_model(TWO_SYSTEMS, builtin_menu())
    with pytest.raises(ValueError, match="unknown scheme"):
        analyse(model, draws=100, baseline="nope")
    with pytest.raises(ValueError, match="unknown organisation"):
        incentive_gradient(model, seed=1, draws=100, organisations=["nope"])


@pytest.mark.parametrize(
    ("bonus", "incentive", "gain", "level"),
    [
        (False, False, "funding", "funding"),
        (True, False, "income", "income"),
        (False, True, "funding", "income"),  # incentive PSF is in a level, cancels in a gain
        (True, True, "income", "income"),
    ],
)
def test_one_word_for_gains_and_one_for_levels(bonus, incentive, gain, level):
    """The report's words come from the analysis alone: a gain is income only when the bonus
    moves with the option; a level is income when bonus or incentive PSF is in it."""
    from types import SimpleNamespace

    from sct_engine.analysis.decision import Analysis

    fake = SimpleNamespace(counts_bonus=bonus, counts_incentive=incentive)
    assert Analysis.gain_word.fget(fake) == gain
    assert Analysis.level_word.fget(fake) == level
    parts = Analysis.income_parts.fget(fake)
    assert ("incentive PSF" in parts, "the year-end bonus" in parts) == (incentive, bonus)
