"""The kernel's decision statistics against the numpy reference, on identical draws.

Every field of ``PairedStats`` (paired differences of funding and income from the baseline,
A&E paid, fixed-point loss sums per bin, system cross-products and loss thresholds,
attribution, contagion) at year end and in quarterly mode, with and without the bonus held
at the baseline, and the same numbers whatever the number of threads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sct_engine.engine.kernel import KernelRun
from sct_engine.engine.reference import ReferenceRun
from tests.factories import make_model
from tests.integration.engine.test_kernel_parity import (
    MENU,
    REGIME_SYSTEMS,
    SYSTEMS,
    many_members,
    with_profiles,
)

pytestmark = pytest.mark.integration


def runs(model, draws: int, seed: int, baseline: int) -> tuple[ReferenceRun, KernelRun]:
    reference = ReferenceRun(model, seed, baseline=baseline)
    reference.extend(draws)
    kernel = KernelRun(model, seed, baseline=baseline)
    kernel.extend(draws)
    return reference, kernel


def assert_same_decision_statistics(reference: ReferenceRun, kernel: KernelRun) -> None:
    """Integers (counts and fixed-point loss sums) exactly; floats to 1e-9 relative (the two
    sum a block's draws in different orders)."""
    expected, got = reference.paired().arrays(), kernel.paired().arrays()
    assert expected.keys() == got.keys()
    for name, value in expected.items():
        if value.dtype.kind == "i":
            np.testing.assert_array_equal(got[name], value, err_msg=name)
        else:
            np.testing.assert_allclose(got[name], value, rtol=1e-9, atol=1e-9, err_msg=name)


@pytest.mark.parametrize(
    ("systems", "quarterly", "bonus", "baseline", "draws"),
    [
        (SYSTEMS, False, False, 0, 8192 + 1234),  # a full block and a short one
        (REGIME_SYSTEMS, False, True, 3, 5000),  # tails, mitigation, uplift; baseline flexible_25
        (SYSTEMS, True, False, 0, 5000),
        (REGIME_SYSTEMS, True, True, 2, 4000),
    ],
)
def test_kernel_decision_statistics_match_the_reference(systems, quarterly, bonus, baseline, draws):
    model = make_model(
        with_profiles(systems) if quarterly else systems,
        MENU,
        distribution="student_t",
        dof=5.0,
        bonus=bonus,
        bonus_share=0.7,
        quarterly=quarterly,
    )
    reference, kernel = runs(model, draws, seed=17, baseline=baseline)
    assert_same_decision_statistics(reference, kernel)
    paired = reference.paired()
    # The statistics are not trivially zero: members lose, systems cross the thresholds.
    assert paired.member_lost_by_system_bin.sum() > 0 and paired.system_over.sum() > 0
    assert paired.org_pivotal.sum() > 0 and paired.org_ae_paid_sum.sum() > 0
    income_differs = not np.allclose(paired.org_diff_income_sum, paired.org_diff_paid_sum)
    assert income_differs == bonus


def test_kernel_decision_statistics_match_on_a_large_system_with_many_failures():
    members = many_members(seed=0)
    model = make_model([members, members[:9]], MENU, national_share=0.1, system_share=0.1)
    assert_same_decision_statistics(*runs(model, 3000, seed=3, baseline=0))


def test_the_runs_own_statistics_do_not_change_with_the_decision_statistics():
    model = make_model(with_profiles(REGIME_SYSTEMS), MENU, quarterly=True, bonus=True)
    plain = KernelRun(model, 5)
    plain.extend(3000)
    with_decision = KernelRun(model, 5, baseline=1)
    with_decision.extend(3000)
    for name, value in plain.accumulator().arrays().items():
        np.testing.assert_array_equal(with_decision.accumulator().arrays()[name], value, name)


SCRIPT = textwrap.dedent(
    """
    import dataclasses, json, sys
    import numba
    from sct_engine.scenario import load_scenario
    from sct_engine.engine.model import build_model
    from sct_engine.engine.kernel import KernelRun
    model = dataclasses.replace(build_model(load_scenario(sys.argv[1])), quarterly=sys.argv[2] == "1", bonus=True)
    run = KernelRun(model, 123, baseline=0)
    run.extend(40_000)
    print(json.dumps({"threads": numba.get_num_threads(),
                      **{k: v.tolist() for k, v in run.paired().arrays().items()}}))
    """
)


@pytest.mark.parametrize("quarterly", [False, True])
def test_decision_statistics_identical_whatever_the_number_of_threads(quarterly):
    scenario = os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "scenarios", "example_ics.yaml"
    )
    found = []
    for threads in (1, 2):
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, scenario, "1" if quarterly else "0"],
            env={**os.environ, "NUMBA_NUM_THREADS": str(threads)},
            check=True,
            capture_output=True,
            text=True,
        )
        found.append(json.loads(out.stdout))
    one, two = found
    assert (one.pop("threads"), two.pop("threads")) == (1, 2)
    for name in one:
        # Floats are merged in block order and integers are order-free: bit for bit equal.
        np.testing.assert_array_equal(np.array(one[name]), np.array(two[name]), err_msg=name)
