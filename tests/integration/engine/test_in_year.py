"""In-year re-forecast (docs/in-year.md): the closed quarters fixed at the actuals, the rest
simulated; kernel against reference draw for draw, a closed form, and no actuals unchanged."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import norm

from sct_engine.engine.kernel import KernelRun, simulate_kernel
from sct_engine.engine.model import Model
from sct_engine.engine.reference import (
    ReferenceRun,
    block_ytd_outturns,
    draw_block,
    simulate_reference,
)
from sct_engine.rules import SchemeOption
from tests.factories import make_model
from tests.integration.engine.test_kernel_parity import (
    MENU,
    REGIME_SYSTEMS,
    SYSTEMS,
    assert_same_statistics,
    with_profiles,
)

pytestmark = pytest.mark.integration

#: Tolerance of the statistical tests, in standard errors.
Z_TOLERANCE = 4.0


def with_actuals(model: Model, closed: int, seed: int = 3) -> Model:
    """The model with ``closed`` quarters closed: year-to-date outturn around the plan (some
    members well short), A&E paid in some closed quarters and not in others."""
    rng = np.random.default_rng(seed)
    ytd_plan = model.ytd_plan()[:, :closed]
    spread = model.sd[:, None] * np.sqrt(np.cumsum(model.quarter_variance)[:closed])[None, :]
    ytd = ytd_plan + spread * rng.standard_normal(ytd_plan.shape)
    earned = rng.random(ytd.shape) < 0.5
    return replace(model, closed_quarters=closed, actual_ytd_outturn=ytd, actual_ae_earned=earned)


def quarterly_model(systems=SYSTEMS, **options) -> Model:
    return make_model(
        with_profiles(systems),
        MENU,
        quarterly=True,
        quarter_variance=(0.1, 0.2, 0.3, 0.4),
        **options,
    )


@pytest.mark.parametrize("closed", [1, 2, 3])
def test_closed_quarters_are_the_actuals_and_later_ones_continue_from_them(closed):
    """Closed quarters equal the actuals exactly; a later quarter is the last actual plus the
    plan still to come plus the same increments the unconditional run draws there (the streams
    are consumed as without actuals)."""
    free = quarterly_model()
    model = with_actuals(free, closed)
    drawn = draw_block(model, seed=5, block=0, n=500)
    ytd = block_ytd_outturns(model, drawn)
    actual = model.actual_ytd_outturn
    assert actual is not None
    np.testing.assert_array_equal(ytd[:, :closed], np.broadcast_to(actual.T, ytd[:, :closed].shape))
    free_ytd = block_ytd_outturns(free, draw_block(free, seed=5, block=0, n=500))
    cumulative = free.cumulative_profile
    last = closed - 1
    for q in range(closed, 3):  # Q4 also has year-end events; none in SYSTEMS
        expected = (
            actual[:, last]
            + free.plan * (cumulative[:, q] - cumulative[:, last])
            + (free_ytd[:, q] - free.ytd_plan()[:, q])
            - (free_ytd[:, last] - free.ytd_plan()[:, last])
        )
        np.testing.assert_allclose(ytd[:, q], expected, rtol=1e-12, atol=1e-9)
    # A&E in the closed quarters as it was paid; later quarters drawn as without actuals.
    assert model.actual_ae_earned is not None
    np.testing.assert_array_equal(
        drawn.ae_earned[:, :closed], np.broadcast_to(model.actual_ae_earned.T, (500, closed, 7))
    )
    free_drawn = draw_block(free, seed=5, block=0, n=500)
    np.testing.assert_array_equal(drawn.ae_earned[:, closed:], free_drawn.ae_earned[:, closed:])


def test_no_actuals_draws_todays_run_exactly():
    """closed_quarters 0 (no actuals) is the model as it always was: the same statistics bit
    for bit (the golden files pin the scenarios' results too)."""
    free = quarterly_model()
    none = replace(free, closed_quarters=0, actual_ytd_outturn=None, actual_ae_earned=None)
    a = simulate_reference(free, 3000, seed=11)
    b = simulate_reference(none, 3000, seed=11)
    for name, value in a.arrays().items():
        np.testing.assert_array_equal(b.arrays()[name], value, err_msg=name)
    np.testing.assert_array_equal(free.period_p_ae(), np.repeat(free.p_ae[:, None], 4, axis=1))


@pytest.mark.parametrize(
    ("closed", "distribution", "systems"),
    [(1, "normal", SYSTEMS), (2, "student_t", REGIME_SYSTEMS), (3, "skew_normal", SYSTEMS)],
)
def test_kernel_matches_reference_with_actuals(closed, distribution, systems):
    """Statistics equal (counts exactly) and per-draw traces equal, every option of the menu,
    with tails, mitigation and uplifts (REGIME_SYSTEMS)."""
    model = with_actuals(
        quarterly_model(systems, distribution=distribution, dof=5.0, skew=-3.0), closed
    )
    draws = 8192 + 1234
    assert_same_statistics(
        simulate_reference(model, draws, seed=17), simulate_kernel(model, draws, seed=17)
    )
    ref = ReferenceRun(model, seed=17, trace=True)
    ref.extend(3000)
    kern = KernelRun(model, seed=17, trace=True)
    kern.extend(3000)
    for name, r, k in zip(
        ("paid", "passed", "system_lost", "outturn"), ref.trace(), kern.trace(), strict=True
    ):
        np.testing.assert_allclose(k, r, rtol=1e-12, atol=1e-9, err_msg=name)


def one_member(plan: float, ct: float, sd: float, variance: tuple[float, ...]) -> Model:
    model = make_model(
        [[{"plan": plan, "control_total": ct, "sd": sd, "funding": 10.0}]],
        [SchemeOption(name="organisation_only")],
        quarterly=True,
        quarter_variance=variance,
    )
    return model


@pytest.mark.parametrize("engine", ["reference", "kernel"])
@pytest.mark.parametrize(("actual_q3", "closed"), [(-1.2, 3), (0.4, 3), (-0.5, 2)])
def test_year_end_pass_matches_the_closed_form(engine, actual_q3, closed):
    """One member, normal shocks: P(year-end pass) = Phi((actual_k + plan (1 - P_k) - CT) /
    (sd sqrt(sum of the remaining variance shares))), within Z_TOLERANCE standard errors."""
    plan, ct, sd, variance = 1.0, 0.5, 3.0, (0.1, 0.2, 0.3, 0.4)
    model = one_member(plan, ct, sd, variance)
    ytd = np.array([[0.25 * plan, 0.5 * plan + actual_q3 / 2, actual_q3][:closed]])
    model = replace(
        model,
        closed_quarters=closed,
        actual_ytd_outturn=ytd,
        actual_ae_earned=np.zeros((1, closed), dtype=bool),
    )
    p_k = closed / 4
    mean = ytd[0, -1] + plan * (1.0 - p_k) - ct
    exact = float(norm.cdf(mean / (sd * math.sqrt(sum(variance[closed:])))))
    draws = 40_000
    run = simulate_kernel if engine == "kernel" else simulate_reference
    acc = run(model, draws, seed=2026)
    simulated = float(acc.org_pass[0, 0]) / draws
    se = math.sqrt(exact * (1 - exact) / draws)
    z = (simulated - exact) / se
    print(f"closed form {exact:.4f}, {engine} {simulated:.4f}, z = {z:+.2f}")
    assert abs(z) < Z_TOLERANCE


def test_lever_positions_with_actuals_match_the_reference_and_move_the_remaining_quarters():
    """The solvers' lever positions on a conditioned model: kernel equals reference draw for
    draw, each position is a run of the moved model, and a plan raised by b moves the year
    end by b (1 - P_k) (the closed quarters stay at the actuals)."""
    from sct_engine.analysis.submodels import system_trace
    from sct_engine.engine.model import Lever, with_lever

    model = with_actuals(
        quarterly_model(REGIME_SYSTEMS, distribution="student_t", dof=5.0), closed=2
    )
    levers = [Lever(0, "plan", 1.5), Lever(1, "mitigation", 3.0), Lever(2, "plan", -2.0)]
    kernel = system_trace("kernel", model, 9, 3000, levers)
    reference = system_trace("reference", model, 9, 3000, levers)
    for got, expected in zip(kernel, reference, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)
    for p, lever in enumerate(levers):
        alone = system_trace("kernel", with_lever(model, *lever), 9, 3000)
        np.testing.assert_array_equal(kernel[1][:, p], alone[1][:, :, lever.organisation])
    moved = with_lever(model, 0, "plan", 1.5)
    still = 1.0 - model.cumulative_profile[0, 1]
    np.testing.assert_array_equal(moved.ytd_plan()[0, :2], model.ytd_plan()[0, :2])
    assert moved.ytd_plan()[0, 3] - model.ytd_plan()[0, 3] == pytest.approx(1.5 * still)


def test_sobol_sampling_with_actuals_matches_the_reference():
    """Sobol' common factors (``sampling="sobol"``) with two closed quarters: kernel equals
    reference on the same points (statistics and decision statistics)."""
    from sct_engine.engine.sampling import ReplicatedRun

    model = with_actuals(
        quarterly_model(REGIME_SYSTEMS, distribution="student_t", dof=5.0), closed=2
    )

    def replicated(engine):
        def make(rep):
            run = KernelRun if engine == "kernel" else ReferenceRun
            return run(model, 29, baseline=0, replicate=rep)

        return ReplicatedRun(make, model, "sobol", 2, baseline=0)

    runs = {e: replicated(e) for e in ("reference", "kernel")}
    for run in runs.values():
        run.extend(2 * 3000)
    assert_same_statistics(runs["reference"].accumulator(), runs["kernel"].accumulator())
    assert_same_statistics(runs["reference"].paired(), runs["kernel"].paired())
