"""Lever positions (``KernelRun(..., levers=...)``): the rules applied to each draw once per
moved plan or mitigation, drawn once. Each position must trace exactly what a separate run
of the moved model (``with_lever``) traces for that member, on the kernel and on the
reference, and the kernel's positions must equal the reference's draw for draw.
"""

from __future__ import annotations

import numpy as np
import pytest

from sct_engine.analysis.submodels import system_trace
from sct_engine.engine.kernel import KernelRun
from sct_engine.engine.model import Lever, with_lever
from sct_engine.engine.reference import ReferenceRun
from sct_engine.rules import builtin_menu
from tests.factories import make_model
from tests.integration.engine.test_kernel_parity import MENU, REGIME_SYSTEMS, with_profiles

pytestmark = pytest.mark.integration

#: Plans moved both ways, mitigation cut to nothing and raised (members with tails among them).
LEVERS = [
    Lever(0, "plan", 0.75),
    Lever(0, "plan", -0.75),
    Lever(0, "mitigation", 0.0),
    Lever(1, "mitigation", 3.0),
    Lever(2, "plan", -2.5),
    Lever(3, "mitigation", 4.0),
    Lever(4, "plan", 1.25),
]
DRAWS = 8192 + 1500  # a full block and a short one
SEED = 11


@pytest.fixture(scope="module", params=[False, True], ids=["year_end", "quarterly"])
def model(request):
    systems = with_profiles(REGIME_SYSTEMS) if request.param else REGIME_SYSTEMS
    return make_model(
        systems, MENU, distribution="student_t", dof=5.0, quarterly=request.param, bonus=True
    )


def separate_runs(engine, model) -> list[tuple[np.ndarray, ...]]:
    """Per lever, a whole run of the moved model, cut to the lever's member."""
    out = []
    for lever in LEVERS:
        paid, passed, sys_lost, outturn = system_trace(
            engine, with_lever(model, *lever), SEED, DRAWS
        )
        j = lever.organisation
        out.append((paid[:, :, j], passed[:, :, j], sys_lost, outturn[:, j]))
    return out


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
@pytest.mark.parametrize("engine", ["kernel", "reference"])
def test_each_lever_position_is_a_run_of_the_moved_model(model, engine):
    together = system_trace(engine, model, SEED, DRAWS, LEVERS)
    assert together[0].shape == (DRAWS, len(LEVERS), len(model.schemes))
    assert together[2].shape == (DRAWS, len(LEVERS), len(model.schemes), model.n_systems)
    for p, alone in enumerate(separate_runs(engine, model)):
        for got, expected in zip(together, alone, strict=True):
            np.testing.assert_array_equal(got[:, p], expected, err_msg=str(LEVERS[p]))


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_lever_positions_match_the_reference(model):
    kernel = system_trace("kernel", model, SEED, DRAWS, LEVERS)
    reference = system_trace("reference", model, SEED, DRAWS, LEVERS)
    for got, expected in zip(kernel, reference, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)


def test_levers_really_move_the_member(model):
    """The positions differ from the drawn model (else the tests above prove nothing)."""
    _, passed, _, outturn = system_trace("kernel", model, SEED, DRAWS, LEVERS)
    drawn = system_trace("kernel", model, SEED, DRAWS)
    for p, lever in enumerate(LEVERS):
        j = lever.organisation
        moved = not np.array_equal(outturn[:, p], drawn[3][:, j])
        moved = moved or not np.array_equal(passed[:, p], drawn[1][:, :, j])
        assert moved, lever
    # Plan up passes at least as often as plan down, draw for draw.
    assert np.all(passed[:, 0] >= passed[:, 1]) and np.any(passed[:, 0] > passed[:, 1])


@pytest.mark.parametrize("run", [KernelRun, ReferenceRun])
def test_lever_positions_need_traces_and_a_member(run):
    model = make_model(REGIME_SYSTEMS, builtin_menu())
    with pytest.raises(ValueError, match="trace=True"):
        run(model, 1, levers=LEVERS)
    with pytest.raises(ValueError, match="trace=True"):
        run(model, 1, trace=True, baseline=0, levers=LEVERS)


def test_lever_member_must_be_in_the_model():
    model = make_model(REGIME_SYSTEMS, builtin_menu())
    with pytest.raises(ValueError, match="organisation must be 0 to 4"):
        KernelRun(model, 1, trace=True, levers=[Lever(5, "plan", 1.0)])
    with pytest.raises(ValueError, match="lever must be"):
        with_lever(model, 0, "control_total", 1.0)


def test_a_plain_run_keeps_no_traces_and_a_traced_run_no_statistics():
    model = make_model(REGIME_SYSTEMS, builtin_menu())
    traced = KernelRun(model, 1, trace=True, levers=LEVERS)
    traced.extend(100)
    with pytest.raises(ValueError, match="no run statistics"):
        traced.accumulator()
