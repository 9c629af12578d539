"""Randomised quasi-Monte Carlo (``sampling="sobol"``): the kernel matches the reference on
the same Sobol' points, the mean matches a closed form, and the replicate standard error is
an honest one."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from sct_engine.engine.kernel import KernelRun
from sct_engine.engine.reference import ReferenceRun
from sct_engine.engine.rng import Replicate, sobol_variates
from sct_engine.engine.sampling import ReplicatedRun, max_replicate_error
from sct_engine.engine.simulate import CHECK_EVERY, simulate
from sct_engine.errors import ScenarioError
from sct_engine.rules import builtin_menu
from sct_engine.scenario import load_scenario
from tests.factories import make_model
from tests.integration.engine.test_kernel_parity import (
    MENU,
    REGIME_SYSTEMS,
    assert_same_statistics,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def replicated(engine, model, replicates, baseline=None, seed=29):
    def make(rep):
        if engine == "kernel":
            return KernelRun(model, seed, baseline=baseline, replicate=rep)
        return ReferenceRun(model, seed, baseline=baseline, replicate=rep)

    return ReplicatedRun(make, model, "sobol", replicates, baseline=baseline)


@pytest.mark.parametrize(
    ("quarterly", "distribution"), [(False, "normal"), (True, "normal"), (True, "student_t")]
)
def test_kernel_matches_reference_on_the_same_sobol_points(quarterly, distribution):
    """With events, actions, incentive and bonus: pooled statistics, decision statistics and
    replicate standard errors agree (counts exactly, sums to 1e-9): two replicates of a full block and a short one each, so the
    second block starts 8,192 points into each replicate's sequence."""
    model = make_model(
        REGIME_SYSTEMS, MENU, quarterly=quarterly, bonus=True, distribution=distribution, dof=5.0
    )
    runs = {e: replicated(e, model, 2, baseline=0) for e in ("reference", "kernel")}
    for run in runs.values():
        run.extend(2 * (8192 + 700))
    ref, ker = runs["reference"], runs["kernel"]
    assert ker.draws == ref.draws == 2 * (8192 + 700)
    assert_same_statistics(ref.accumulator(), ker.accumulator())
    assert_same_statistics(ref.paired(), ker.paired())
    for name, se in ref.standard_errors().items():
        np.testing.assert_allclose(ker.standard_errors()[name], se, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("dof", [None, 5.0])
def test_sobol_points_are_standard_and_a_prefix_of_one_sequence(dof):
    """A block's points continue the replicate's sequence; replicates differ; the variates
    have mean 0 and variance 1 (to 0.01 and 0.02: 2^14 points per dimension in 4 dimensions,
    a scrambled net is far more even than that), the Student-t ones heavy-tailed (excess
    kurtosis above 3 of its 6 for 5 degrees of freedom)."""
    whole = sobol_variates(5, 3, 0, 2 * 8192, 4, dof)
    np.testing.assert_array_equal(sobol_variates(5, 3, 8192, 8192, 4, dof), whole[8192:])
    assert not np.allclose(sobol_variates(5, 2, 0, 8192, 4, dof), whole[:8192])
    assert np.all(np.isfinite(whole))
    assert abs(whole.mean()) < 0.01
    assert abs(whole.var() - 1.0) < 0.02
    kurtosis = (whole**4).mean() / whole.var() ** 2 - 3.0
    assert (kurtosis > 3.0) == (dof is not None)


def test_replicates_use_their_own_streams():
    """Replicate r of R numbers its blocks b R + r: no two replicates share a stream."""
    blocks = {Replicate(r, 4, True).block(b) for r in range(4) for b in range(5)}
    assert blocks == set(range(20))


#: One member alone in its system, normal shocks, no A&E element, no events or actions: every
#: option pays the finance element when the member meets its control total, so the expected
#: funding lost is ``funding * (1 - Phi((plan - control_total) / sd))`` exactly. Common factors
#: carry 90% of the variance, where quasi-random points matter most.
ONE_MEMBER = [[{"plan": 0.4, "control_total": 0.0, "sd": 1.0, "funding": 5.0}]]
EXACT_LOSS = 5.0 * (1.0 - norm.cdf(0.4))


def one_member_run(seed, replicates=16, draws=16 * 8192):
    model = make_model(ONE_MEMBER, builtin_menu(), national_share=0.45, system_share=0.45)
    run = replicated("kernel", model, replicates, seed=seed)
    run.extend(draws)
    return run


def test_sobol_mean_matches_the_closed_form():
    """Within 4 replicate standard errors (a t with 15 degrees of freedom is beyond 4 about
    once in 900 runs), for every option and the national figure."""
    run = one_member_run(seed=101)
    acc, se = run.accumulator(), run.standard_errors()
    mean = acc.org_lost_sum[:, 0] / acc.n
    assert np.all(np.abs(mean - EXACT_LOSS) <= 4.0 * se["org_lost_sum"][:, 0])
    national = acc.national_lost_sum / acc.n
    assert np.all(np.abs(national - EXACT_LOSS) <= 4.0 * se["national_lost_sum"])
    p_meet = acc.org_meet[0] / acc.n
    assert abs(p_meet - norm.cdf(0.4)) <= 4.0 * se["org_meet"][0]


def test_replicate_standard_error_is_honest():
    """Over 40 independent seeds, the error of the mean in units of its replicate standard
    error has SD near 1: a t with 15 degrees of freedom has SD 1.074, and the sample SD of 40
    such values is within 0.3 of it about 99% of the time (tolerance [0.77, 1.37]). The iid
    formula, applied to the same quasi-random draws, overstates the error here (its z-scores
    have SD below 0.77): the replicate SE is the one that is right."""
    z_rep, z_iid = [], []
    for seed in range(1000, 1040):
        run = one_member_run(seed, draws=16 * 4096)
        acc = run.accumulator()
        n = acc.n
        mean = acc.org_lost_sum[0, 0] / n
        iid = math.sqrt((acc.org_lost_sumsq[0, 0] / n - mean * mean) / (n - 1))
        z_rep.append((mean - EXACT_LOSS) / run.standard_errors()["org_lost_sum"][0, 0])
        z_iid.append((mean - EXACT_LOSS) / iid)
    assert 0.77 <= np.std(z_rep, ddof=1) <= 1.37
    assert np.std(z_iid, ddof=1) < 0.77


def test_simulate_reports_replicate_standard_errors(tmp_path):
    """``simulate(sampling="sobol")``: every se_ column is the replicates' and run.json says so;
    the draws are a multiple of the replicates."""
    scenario = load_scenario("scenarios/example_ics.yaml")
    result = simulate(scenario, draws=8 * 3000 + 5, seed=3, sampling="sobol", replicates=8)
    assert result.draws == 8 * 3001
    assert result.provenance["sampling"] == "sobol"
    assert result.provenance["replicates"] == 8
    se = result.standard_errors
    assert se is not None
    np.testing.assert_array_equal(
        result.organisations["se_expected_funding_lost"], se["org_lost_sum"].ravel()
    )
    np.testing.assert_array_equal(
        result.systems["se_expected_funding_lost"], se["system_lost_sum"].ravel()
    )
    np.testing.assert_array_equal(
        result.national["se_expected_funding_lost"], se["national_lost_sum"]
    )
    assert result.provenance["max_standard_error"] == result.max_standard_error()
    result.save(tmp_path / "out")


def test_target_se_stops_on_the_replicate_standard_error():
    """With a target the run stops at the first check (131,072 draws: 8,192 per replicate)
    once the largest replicate standard error is below it, and run.json says which it reached."""
    scenario = load_scenario("scenarios/example_ics.yaml")
    result = simulate(scenario, draws=10**6, seed=6, target_se=0.5, sampling="sobol")
    assert result.draws == CHECK_EVERY
    reached = result.provenance["max_standard_error"]
    assert reached == result.max_standard_error() <= 0.5
    assert reached == max_replicate_error(result.standard_errors)


def test_sobol_refuses_skew_normal_shocks_with_a_clear_message():
    scenario = load_scenario("scenarios/example_ics.yaml")
    changed = scenario.model_copy(
        update={
            "uncertainty": scenario.uncertainty.model_copy(update={"distribution": "skew_normal"})
        }
    )
    with pytest.raises(ScenarioError, match="skew_normal shocks run with the default"):
        simulate(changed, draws=100, sampling="sobol")


def test_default_sampling_is_unchanged_by_the_option():
    """A pseudo-random run ignores ``replicates`` and keeps no replicate errors."""
    scenario = load_scenario("scenarios/example_ics.yaml")
    plain = simulate(scenario, draws=3000, seed=4)
    again = simulate(scenario, draws=3000, seed=4, sampling="pseudo", replicates=3)
    assert plain.standard_errors is None
    for name, value in plain.stats.arrays().items():
        np.testing.assert_array_equal(value, again.stats.arrays()[name], err_msg=name)


THREADS_SCRIPT = """
import json, sys
import numba
from sct_engine.engine.simulate import simulate
result = simulate("scenarios/wave1_2018_19.yaml", draws=4 * 3 * 8192, seed=9, sampling="sobol",
                  replicates=4)
print(json.dumps({"threads": numba.get_num_threads(),
                  **{k: v.tolist() for k, v in result.stats.arrays().items() if v.size < 5000},
                  **{f"se_{k}": v.tolist() for k, v in result.standard_errors.items()}}))
"""


def test_sobol_results_identical_whatever_the_number_of_threads():
    """Wave 1 (Student-t, quarterly, ten systems), 4 replicates of 3 blocks: every statistic
    and replicate standard error the same with 1 and 2 threads (sums to 1e-12, the order of
    float sums being fixed by the blocks)."""
    found = []
    for threads in (1, 2):
        done = subprocess.run(
            [sys.executable, "-c", THREADS_SCRIPT],
            env={**os.environ, "NUMBA_NUM_THREADS": str(threads)},
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        found.append(json.loads(done.stdout.strip().splitlines()[-1]))
    one, two = found
    assert (one.pop("threads"), two.pop("threads")) == (1, 2)
    assert one.keys() == two.keys()
    for name in one:
        a, b = np.array(one[name]), np.array(two[name])
        if a.dtype.kind == "i":
            np.testing.assert_array_equal(a, b, err_msg=name)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, err_msg=name)
