"""The incentive gradient and the solvers on the kernel against the numpy reference.

Both engines simulate the same sub-models on the same draws (per-draw traces), so every
table is the same to rounding; a solver's bisection takes the same path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sct_engine.analysis.incentives import incentive_gradient
from sct_engine.analysis.solvers import (
    control_total_buffer,
    largest_system_linked_share,
    mitigation_needed,
)
from sct_engine.analysis.submodels import system_trace
from sct_engine.rules import builtin_menu
from tests.factories import make_model
from tests.integration.engine.test_kernel_parity import REGIME_SYSTEMS, with_profiles

pytestmark = pytest.mark.integration


def assert_same_table(kernel: pd.DataFrame, reference: pd.DataFrame) -> None:
    assert list(kernel.columns) == list(reference.columns)
    for column in kernel.columns:
        if pd.api.types.is_float_dtype(reference[column]):
            np.testing.assert_allclose(kernel[column], reference[column], rtol=1e-9, atol=1e-9)
        else:
            assert list(kernel[column]) == list(reference[column]), column


@pytest.fixture(scope="module", params=[False, True], ids=["year_end", "quarterly"])
def model(request):
    systems = with_profiles(REGIME_SYSTEMS) if request.param else REGIME_SYSTEMS
    return make_model(systems, builtin_menu(), quarterly=request.param, bonus=True)


def test_traces_match(model):
    kernel = system_trace("kernel", model, 3, 5000)
    reference = system_trace("reference", model, 3, 5000)
    for got, expected in zip(kernel, reference, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)


def test_incentive_gradient_matches(model):
    args = (model, 5, 4096)
    assert_same_table(
        incentive_gradient(*args, engine="kernel"), incentive_gradient(*args, engine="reference")
    )


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
@pytest.mark.parametrize("solver", [control_total_buffer, mitigation_needed])
def test_member_solvers_match(model, solver):
    kwargs = {"scheme": "flexible_50", "target": 0.85}
    assert_same_table(
        solver(model, 7, 4096, engine="kernel", **kwargs),
        solver(model, 7, 4096, engine="reference", **kwargs),
    )


def test_largest_linked_share_matches(model):
    kwargs = {"target": 0.7, "loss_limit": 0.3}
    assert_same_table(
        largest_system_linked_share(model, 9, 4096, engine="kernel", **kwargs),
        largest_system_linked_share(model, 9, 4096, engine="reference", **kwargs),
    )
