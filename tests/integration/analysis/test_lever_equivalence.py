"""The incentive gradient and the member solvers with lever positions (every moved plan or
mitigation applied to the same draws in one run) against the computation they replace: one
whole run of ``with_lever(model, ...)`` per moved lever, and a bisection asking for one
candidate level at a time. Same seed, same draws: the same tables to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

from sct_engine.analysis import incentives, solvers
from sct_engine.analysis.submodels import system_trace
from sct_engine.engine.model import with_lever
from sct_engine.rules import builtin_menu
from tests.factories import make_model
from tests.integration.analysis.test_detail_parity import assert_same_table
from tests.integration.engine.test_kernel_parity import REGIME_SYSTEMS, with_profiles

pytestmark = pytest.mark.integration

DRAWS = 4096


def one_run_per_lever(engine, model, seed, draws, levers=None):
    """``system_trace`` as it was: every lever position a separate run of the moved model."""
    if not levers:
        return system_trace(engine, model, seed, draws)
    parts = []
    for lever in levers:
        paid, passed, sys_lost, outturn = system_trace(
            engine, with_lever(model, *lever), seed, draws
        )
        j = lever.organisation
        parts.append((paid[:, :, j], passed[:, :, j], sys_lost, outturn[:, j]))
    return tuple(np.stack(x, axis=1) for x in zip(*parts, strict=True))


def one_level_at_a_time(self, levels):
    """``_PassThresholds.probabilities`` asked for one level per call, in order."""
    return [PROBABILITIES(self, [level])[0] for level in levels]


PROBABILITIES = solvers._PassThresholds.probabilities


@pytest.fixture(scope="module", params=[False, True], ids=["year_end", "quarterly"])
def model(request):
    systems = with_profiles(REGIME_SYSTEMS) if request.param else REGIME_SYSTEMS
    return make_model(systems, builtin_menu(), quarterly=request.param, bonus=True)


@pytest.mark.parametrize("members_per_run", [None, 1], ids=["one_run", "split_runs"])
def test_gradient_equals_one_run_per_lever(model, monkeypatch, members_per_run):
    if members_per_run is not None:  # a tiny trace budget: each member's positions a run apart
        trace_values = 2 * members_per_run * len(model.schemes) * DRAWS
        monkeypatch.setattr(incentives, "TRACE_VALUES", trace_values)
    together = incentives.incentive_gradient(model, 5, DRAWS, engine="kernel")
    monkeypatch.setattr(incentives, "system_trace", one_run_per_lever)
    apart = incentives.incentive_gradient(model, 5, DRAWS, engine="kernel")
    assert_same_table(together, apart)
    assert (together["own_gradient"].abs() > 0).any()


@pytest.mark.parametrize(
    ("solver", "target"),
    [
        (solvers.control_total_buffer, 0.85),
        (solvers.mitigation_needed, 0.85),
        (solvers.control_total_buffer, 0.97),
    ],
)
def test_member_solvers_equal_one_level_per_run(model, monkeypatch, solver, target):
    kwargs = {"scheme": "flexible_50", "target": target, "engine": "kernel"}
    together = solver(model, 7, DRAWS, **kwargs)
    monkeypatch.setattr(solvers, "system_trace", one_run_per_lever)
    monkeypatch.setattr(solvers, "BISECTION_DEPTH", 1)
    monkeypatch.setattr(solvers._PassThresholds, "probabilities", one_level_at_a_time)
    apart = solver(model, 7, DRAWS, **kwargs)
    assert_same_table(together, apart)
    numeric = together.select_dtypes("number")
    assert (numeric.abs().to_numpy() > 0).any()  # some member needed a move


def test_bisection_follows_the_one_step_path():
    """``_bisect`` asking for several steps' candidates at once ends where one at a time ends."""
    crossing = 0.3141592653589793

    def probs(levels):
        return [1.0 if x >= crossing else 0.0 for x in levels]

    one = solvers._bisect(probs, 0.5, 0.0, 1.0, 1e-6, rising=True, depth=1)
    for depth in (2, 3, 5):
        assert solvers._bisect(probs, 0.5, 0.0, 1.0, 1e-6, rising=True, depth=depth) == one
    assert one[0] < crossing <= one[1]
