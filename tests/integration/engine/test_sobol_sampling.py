"""Randomised quasi-Monte Carlo (``sampling="sobol"``): the kernel matches the reference on
the same Sobol' points, the mean matches a closed form, and the replicate standard error is
an honest one."""

from __future__ import annotations

import importlib
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy
from scipy.stats import norm, t

from sct_engine.engine.kernel import KernelRun
from sct_engine.engine.reference import ReferenceRun
from sct_engine.engine.rng import BLOCK_DRAWS, Replicate, sobol_variates
from sct_engine.engine.sampling import ReplicatedRun, max_replicate_error, t_factor
from sct_engine.engine.simulate import check_step, simulate
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
#: The module (the package exports the function ``simulate`` under the same name).
simulate_module = importlib.import_module("sct_engine.engine.simulate")


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
    """With a target the run stops at the first check (2,097,152 draws: 16 blocks of each of
    16 replicates) once the largest replicate standard error times the t factor is below it,
    and run.json says which it reached and the factor."""
    scenario = load_scenario("scenarios/example_ics.yaml")
    result = simulate(scenario, draws=10**7, seed=6, target_se=0.5, sampling="sobol")
    assert result.draws == check_step("sobol", 16) == 16 * 16 * BLOCK_DRAWS
    reached = result.provenance["max_standard_error"]
    assert reached == result.max_standard_error()
    assert reached * t_factor(16) <= 0.5
    assert result.provenance["target_se_factor"] == t_factor(16)
    assert reached == max_replicate_error(result.standard_errors)


@pytest.mark.parametrize("replicates", [3, 16])
def test_target_se_checks_whole_blocks_of_every_replicate(monkeypatch, replicates):
    """Every check adds the same whole blocks to every replicate (2 here, ``CHECK_BLOCKS``
    lowered to keep it quick), so no replicate ends a check on a short block and no Sobol'
    point is skipped; only the last chunk, the rest of the cap, may end short."""
    monkeypatch.setattr(simulate_module, "CHECK_BLOCKS", 2)
    chunks: list[tuple[int, list[int], list[int]]] = []
    extend = ReplicatedRun.extend

    def spy(self, draws, progress=None):
        extend(self, draws, progress)
        chunks.append((draws, list(self._next_block), self._draws.tolist()))

    monkeypatch.setattr(ReplicatedRun, "extend", spy)
    step = 2 * BLOCK_DRAWS * replicates
    cap = 2 * step + 100 * replicates + 1
    scenario = load_scenario("scenarios/example_ics.yaml")
    result = simulate(
        scenario, draws=cap, seed=7, target_se=1e-9, sampling="sobol", replicates=replicates
    )
    assert [c[0] for c in chunks] == [step, step, cap - 2 * step]
    for k, (_, next_block, per_replicate) in enumerate(chunks[:2], start=1):
        assert next_block == [2 * k] * replicates
        assert per_replicate == [2 * k * BLOCK_DRAWS] * replicates
    _, next_block, per_replicate = chunks[-1]
    assert per_replicate == [4 * BLOCK_DRAWS + 101] * replicates
    assert next_block == [5] * replicates
    assert result.draws == replicates * (4 * BLOCK_DRAWS + 101)


def test_target_se_allows_for_the_degrees_of_freedom_of_the_replicate_error(monkeypatch):
    """3 replicates: the SE has 2 degrees of freedom, t quantile 4.30, factor 2.19. A target
    1.5 times the SE after the first check is met by the SE alone but not by SE x factor, so
    the run goes on; a target just above SE x factor stops it there."""
    monkeypatch.setattr(simulate_module, "CHECK_BLOCKS", 1)
    factor = t_factor(3)
    assert factor == pytest.approx(t.ppf(0.975, 2) / 1.96)
    assert factor > 2.1
    scenario = load_scenario("scenarios/example_ics.yaml")
    step = check_step("sobol", 3)
    first = simulate(scenario, draws=step, seed=8, sampling="sobol", replicates=3)
    se = first.max_standard_error()
    kwargs = {"draws": 3 * step, "seed": 8, "sampling": "sobol", "replicates": 3}
    late = simulate(scenario, target_se=1.5 * se, **kwargs)
    assert late.draws > step
    early = simulate(scenario, target_se=1.01 * factor * se, **kwargs)
    assert early.draws == step
    assert early.provenance["max_standard_error"] == se
    assert early.provenance["target_se_factor"] == factor


def test_run_json_records_scipy_and_the_scrambling():
    """Sobol' points depend on scipy: every run records its version, a Sobol' run how scipy
    scrambles (LMS+shift) and that its SE has R - 1 degrees of freedom."""
    scenario = load_scenario("scenarios/example_ics.yaml")
    plain = simulate(scenario, draws=1000, seed=2, engine="reference")
    assert plain.provenance["scipy_version"] == scipy.__version__
    assert "scrambling" not in plain.provenance
    sobol = simulate(scenario, draws=1000, seed=2, sampling="sobol", replicates=4)
    assert sobol.provenance["scipy_version"] == scipy.__version__
    assert "LMS+shift" in sobol.provenance["scrambling"]
    assert "3 degrees of freedom" in sobol.provenance["standard_errors"]


def test_replicates_out_of_range_says_how_many_to_choose():
    scenario = load_scenario("scenarios/example_ics.yaml")
    with pytest.raises(ScenarioError, match="choose 2 to 1,024 replicates"):
        simulate(scenario, draws=100, sampling="sobol", replicates=1)


def test_sobol_refuses_skew_normal_shocks_with_a_clear_message():
    scenario = load_scenario("scenarios/example_ics.yaml")
    changed = scenario.model_copy(
        update={
            "uncertainty": scenario.uncertainty.model_copy(update={"distribution": "skew_normal"})
        }
    )
    with pytest.raises(ScenarioError, match="skew_normal shocks run with the default"):
        simulate(changed, draws=100, sampling="sobol")


@pytest.mark.parametrize("engine", ["reference", "kernel"])
def test_one_pseudo_random_replicate_is_a_plain_run(engine):
    """``ReplicatedRun(sampling="pseudo", replicates=1)``: replicate 0 of 1 numbers its blocks
    as a plain run does and has no Sobol' common factors, so after one extend (two blocks and
    a short one) its statistics, decision ones too, equal a plain run's bit for bit. A second
    extend continues on the same blocks: counts stay exact, but the replicated run adds each
    extend's sums to its pooled ones (``b0 + (b1 + b2)`` against the plain run's
    ``(b0 + b1) + b2``), so float sums agree to rounding (1e-12 relative) only."""
    model = make_model(REGIME_SYSTEMS, MENU, quarterly=True, bonus=True)

    def make(rep):
        if engine == "kernel":
            return KernelRun(model, 11, baseline=0, replicate=rep)
        return ReferenceRun(model, 11, baseline=0, replicate=rep)

    one = ReplicatedRun(make, model, "pseudo", 1, baseline=0)
    plain = make(None)
    one.extend(2 * BLOCK_DRAWS + 700)
    plain.extend(2 * BLOCK_DRAWS + 700)
    for got, want in ((one.accumulator(), plain.accumulator()), (one.paired(), plain.paired())):
        for name, value in want.arrays().items():
            np.testing.assert_array_equal(got.arrays()[name], value, err_msg=name)
    one.extend(BLOCK_DRAWS)
    plain.extend(BLOCK_DRAWS)
    assert one.draws == plain.draws == 3 * BLOCK_DRAWS + 700
    for got, want in ((one.accumulator(), plain.accumulator()), (one.paired(), plain.paired())):
        for name, value in want.arrays().items():
            if value.dtype.kind == "i":
                np.testing.assert_array_equal(got.arrays()[name], value, err_msg=name)
            else:
                np.testing.assert_allclose(got.arrays()[name], value, rtol=1e-12, err_msg=name)


THREADS_SCRIPT = """
import sys
import numba
import numpy as np
from sct_engine.engine.simulate import simulate
result = simulate("scenarios/wave1_2018_19.yaml", draws=4 * 3 * 8192, seed=9, sampling="sobol",
                  replicates=4)
np.savez(sys.argv[1], threads=numba.get_num_threads(), **result.stats.arrays(),
         **{f"se_{k}": v for k, v in result.standard_errors.items()})
"""


def test_sobol_results_identical_whatever_the_number_of_threads(tmp_path):
    """Wave 1 (Student-t, quarterly, ten systems), 4 replicates of 3 blocks: every statistic
    (the histogram sums too) and replicate standard error the same with 1 and 2 threads, bit
    for bit: blocks are merged in block order, so the order of float sums is fixed."""
    found = []
    for threads in (1, 2):
        path = tmp_path / f"threads_{threads}.npz"
        subprocess.run(
            [sys.executable, "-c", THREADS_SCRIPT, str(path)],
            env={**os.environ, "NUMBA_NUM_THREADS": str(threads)},
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        with np.load(path) as arrays:
            found.append({name: arrays[name] for name in arrays.files})
    one, two = found
    assert (int(one.pop("threads")), int(two.pop("threads"))) == (1, 2)
    assert one.keys() == two.keys()
    assert {"national_hist_sum", "system_hist_sum", "se_org_lost_sum"} <= one.keys()
    for name in one:
        np.testing.assert_array_equal(one[name], two[name], err_msg=name)
