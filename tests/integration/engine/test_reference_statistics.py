"""The reference simulator against closed forms (tolerances in Monte Carlo standard errors)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from sct_engine.engine.reference import (
    apply_schemes,
    block_ytd_outturns,
    draw_block,
    simulate_reference,
)
from sct_engine.engine.results import Result
from sct_engine.engine.rng import block_generator
from sct_engine.engine.stats import HIST_BINS, hist_cvar, hist_quantile
from sct_engine.engine.uncertainty import outturns, standard_variates
from sct_engine.rules import SchemeOption
from tests.factories import make_model

pytestmark = pytest.mark.integration

SYSTEMS = [
    [
        {"plan": 2.0, "control_total": 0.0, "sd": 4.0, "funding": 10.0},
        {"plan": -1.0, "control_total": 0.0, "sd": 2.0, "funding": 4.0},
        {"plan": 0.5, "control_total": -1.0, "sd": 3.0, "funding": 6.0},
    ],
    [
        {"plan": -3.0, "control_total": -2.0, "sd": 5.0, "funding": 8.0},
        {"plan": 1.0, "control_total": 1.0, "sd": 1.5, "funding": 2.0},
    ],
]
SHARES = (0.0, 0.3, 1.0)
DRAWS = 60_000


@pytest.fixture(scope="module")
def closed_form_result() -> Result:
    options = [SchemeOption(name=f"s{int(s * 100)}", system_linked_share=s) for s in SHARES]
    model = make_model(SYSTEMS, options, national_share=0.25, system_share=0.35)
    return Result(model=model, stats=simulate_reference(model, DRAWS, seed=11), provenance={})


def exact_org_meet(model) -> np.ndarray:
    return sps.norm.cdf((model.plan - model.control_total) / model.sd)


def exact_system_meet(model) -> np.ndarray:
    a, b = model.national_share, model.system_share
    out = []
    for s in range(model.n_systems):
        lo, hi = model.system_start[s], model.system_start[s + 1]
        sd = model.sd[lo:hi]
        var = (a + b) * sd.sum() ** 2 + (1 - a - b) * (sd**2).sum()
        out.append(
            sps.norm.cdf((model.plan[lo:hi].sum() - model.system_control_total[s]) / math.sqrt(var))
        )
    return np.array(out)


def test_organisation_meet_probability_matches_normal_cdf(closed_form_result):
    org = closed_form_result.organisations.query("scheme == 's0'")
    exact = exact_org_meet(closed_form_result.model)
    z = (org["p_meet_control_total"].to_numpy() - exact) / org["se_p_meet_control_total"].to_numpy()
    assert np.all(np.abs(z) < 4), z


def test_system_meet_probability_matches_factor_model_variance(closed_form_result):
    systems = closed_form_result.systems.query("scheme == 's0'")
    exact = exact_system_meet(closed_form_result.model)
    p = systems["p_meet_system_control_total"].to_numpy()
    se = np.sqrt(exact * (1 - exact) / DRAWS)
    assert np.all(np.abs(p - exact) < 4 * se), (p, exact)


@pytest.mark.parametrize("share", SHARES)
def test_expected_funding_lost_formula(closed_form_result, share):
    model = closed_form_result.model
    org = closed_form_result.organisations.query(f"scheme == 's{int(share * 100)}'")
    p_org_miss = 1 - exact_org_meet(model)
    p_sys_miss = (1 - exact_system_meet(model))[model.org_system]
    expected = model.funding * ((1 - share) * p_org_miss + share * p_sys_miss)
    got = org["expected_funding_lost"].to_numpy()
    se = org["se_expected_funding_lost"].to_numpy()
    assert np.all(np.abs(got - expected) < 4 * se + 1e-12), (got, expected)


@pytest.mark.parametrize(
    ("distribution", "skew"), [("normal", 0.0), ("student_t", 0.0), ("skew_normal", -4.0)]
)
def test_standard_variates_have_mean_zero_and_unit_variance(distribution, skew):
    from sct_engine.engine.model import DISTRIBUTION_CODES

    n = 400_000
    x = standard_variates(
        block_generator(5, 0, 0), DISTRIBUTION_CODES[distribution], 6.0, skew, (n,)
    )
    assert abs(x.mean()) < 4 * x.std() / math.sqrt(n)
    # SE of the sample variance: sqrt((m4 - s^4) / n).
    m4 = np.mean((x - x.mean()) ** 4)
    assert abs(x.var() - 1.0) < 4 * math.sqrt((m4 - 1.0) / n)
    if distribution == "skew_normal":
        assert sps.skew(x) < -0.5  # negative shape: long left tail (overspends likelier)


def test_factor_model_correlations():
    model = make_model(SYSTEMS, [SchemeOption(name="x")], national_share=0.2, system_share=0.3)
    draws = draw_block(model, seed=3, block=0, n=8192)
    x = np.vstack([outturns(model, draw_block(model, 3, b, 8192).shocks) for b in range(8)])
    corr = np.corrcoef(x, rowvar=False)
    se = (1 - 0.5**2) / math.sqrt(x.shape[0])
    assert abs(corr[0, 1] - 0.5) < 5 * se  # same system: a + b
    assert abs(corr[0, 3] - 0.2) < 5 * se  # different systems: a
    assert draws.shocks.shape == (8192, model.n_shocks)


def test_same_seed_same_numbers_other_seed_other_numbers():
    model = make_model(SYSTEMS)
    a = simulate_reference(model, 20_000, seed=42)
    b = simulate_reference(model, 20_000, seed=42)
    c = simulate_reference(model, 20_000, seed=43)
    for name, value in a.arrays().items():
        np.testing.assert_array_equal(value, b.arrays()[name], err_msg=name)
    assert not np.array_equal(a.org_lost_sum, c.org_lost_sum)


def test_histogram_quantile_and_cvar_within_one_bin_of_exact():
    model = make_model(SYSTEMS)
    draws = 8192
    outcome = apply_schemes(model, draw_block(model, seed=9, block=0, n=draws))
    acc = simulate_reference(model, draws, seed=9)
    for k in range(len(model.schemes)):
        national = (model.funding - outcome.paid[k]).sum(axis=1)
        total = model.funding.sum()
        width = total / HIST_BINS
        q = hist_quantile(acc.national_hist[k], total, 0.95)
        exact_q = np.quantile(national, 0.95, method="inverted_cdf")
        assert exact_q - 1e-9 <= q <= exact_q + width + 1e-9
        tail = np.sort(national)[::-1][: round(0.05 * draws)]
        cvar = hist_cvar(acc.national_hist[k], acc.national_hist_sum[k], 0.95)
        assert abs(cvar - tail.mean()) <= width + 1e-9


@pytest.mark.parametrize("distribution", ["normal", "student_t"])
def test_quarterly_paths_add_up_to_the_year_end_factor_model(distribution):
    """YTD Q4 outturn has the year-end mean and sd; YTD Q2 the profiled plan and the first half's variance."""
    variance = (0.05, 0.1, 0.35, 0.5)
    model = make_model(
        SYSTEMS,
        [SchemeOption(name="x")],
        distribution=distribution,
        dof=5.0,
        national_share=0.2,
        system_share=0.3,
        quarterly=True,
        quarter_variance=variance,
    )
    ytd = np.concatenate(
        [block_ytd_outturns(model, draw_block(model, 4, b, 8192)) for b in range(8)]
    )
    n = ytd.shape[0]
    for q, share in ((3, 1.0), (1, variance[0] + variance[1])):
        x = ytd[:, q]
        sd = model.sd * math.sqrt(share)
        assert np.all(np.abs(x.mean(axis=0) - model.plan * (q + 1) / 4) < 4 * sd / math.sqrt(n))
        # SE of the sample variance: sqrt((m4 - s^4) / n).
        m4 = np.mean((x - x.mean(axis=0)) ** 4, axis=0)
        assert np.all(np.abs(x.var(axis=0) - sd**2) < 4 * np.sqrt((m4 - sd**4) / n)), (
            x.var(axis=0),
            sd**2,
        )
    corr = np.corrcoef(ytd[:, 3], rowvar=False)
    se = (1 - 0.5**2) / math.sqrt(n)
    assert abs(corr[0, 1] - 0.5) < 5 * se  # same system: a + b, as at year end
    assert abs(corr[0, 3] - 0.2) < 5 * se  # different systems: a


# A system with its own correlation matrix (a provider and a commissioner moving against
# each other) and a system with signed loadings on its factor.
CONTRACT_MATRIX = np.array(
    [
        [1.0, -0.3, 0.4],
        [-0.3, 1.0, 0.1],
        [0.4, 0.1, 1.0],
    ]
)
LOADINGS = (0.6, -0.5)


def dependence_model(quarterly: bool = False):
    systems = [
        SYSTEMS[0],
        [{**SYSTEMS[1][0], "loading": LOADINGS[0]}, {**SYSTEMS[1][1], "loading": LOADINGS[1]}],
    ]
    return make_model(
        systems,
        [SchemeOption(name="x")],
        national_share=0.1,
        system_share=0.3,
        correlation=[CONTRACT_MATRIX, None],
        quarterly=quarterly,
    )


@pytest.mark.parametrize("quarterly", [False, True])
def test_correlation_matrix_and_signed_loadings_give_the_stated_correlations(quarterly):
    model = dependence_model(quarterly)
    a = model.national_share
    blocks = [draw_block(model, 5, b, 8192) for b in range(8)]
    if quarterly:  # year-end of the quarterly paths: the same correlations as one year-end draw
        x = np.concatenate([block_ytd_outturns(model, d)[:, -1] for d in blocks])
    else:
        x = np.vstack([outturns(model, d.shocks) for d in blocks])
    corr = np.corrcoef(x, rowvar=False)
    expected = np.full((5, 5), a)
    expected[:3, :3] = CONTRACT_MATRIX
    expected[3, 4] = expected[4, 3] = a + LOADINGS[0] * LOADINGS[1]  # 0.1 - 0.3: negative
    np.fill_diagonal(expected, 1.0)
    se = (1 - expected**2) / math.sqrt(x.shape[0])
    assert np.all(np.abs(corr - expected) < 5 * se + 1e-12), corr - expected
    assert np.allclose(x.std(axis=0), model.sd, rtol=0.02)  # the spread is untouched
