"""The numba kernel against the numpy reference: same seed, same draws, same statistics."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

from sct_engine.engine.kernel import KernelRun, simulate_kernel
from sct_engine.engine.model import DISTRIBUTION_CODES
from sct_engine.engine.reference import simulate_reference
from sct_engine.engine.rng import block_generator
from sct_engine.engine.uncertainty import skew_normal_constants, standard_variates
from sct_engine.rules import SchemeOption, builtin_menu
from tests.factories import make_model

pytestmark = pytest.mark.integration

SYSTEMS = [
    [
        {"plan": 2.0, "control_total": 0.0, "sd": 4.0, "funding": 10.0, "ae": 0.3, "p_ae": 0.6},
        {"plan": -1.0, "control_total": 0.0, "sd": 2.0, "funding": 4.0},
        {"plan": 0.5, "control_total": -1.0, "sd": 3.0, "funding": 6.0, "ae": 0.3, "p_ae": 0.4},
        {"plan": 0.0, "control_total": 0.5, "sd": 1.0, "funding": 0.0},
    ],
    [
        {"plan": -3.0, "control_total": -2.0, "sd": 5.0, "funding": 8.0},
        {"plan": 1.0, "control_total": 1.0, "sd": 1.5, "funding": 2.0, "ae": 0.3, "p_ae": 0.9},
    ],
    [{"plan": 0.2, "control_total": 0.0, "sd": 0.7, "funding": 1.5}],
]
MENU = [
    *builtin_menu(),
    SchemeOption(name="capped_40", system_linked_share=0.4, redistribution="capped", share_cap=0.3),
    SchemeOption(
        name="full_strict_ungated",
        system_linked_share=0.6,
        redistribution="full",
        system_test="every_member",
        ae_gateway=False,
    ),
]


def assert_same_statistics(reference, kernel) -> None:
    """Counts exactly; float sums to 1e-9 relative, or 1e-9 absolute where the true sum is 0
    (the reference adds rounding noise of about 1e-16 of the funding where nobody lost,
    which the kernel records as an exact 0)."""
    for name, expected in reference.arrays().items():
        got = kernel.arrays()[name]
        if expected.dtype.kind == "i":
            np.testing.assert_array_equal(got, expected, err_msg=name)
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9, err_msg=name)


@pytest.mark.parametrize(
    ("distribution", "sct"),
    [("normal", None), ("student_t", [1.0, None, None]), ("skew_normal", [None, -4.0, None])],
)
def test_kernel_matches_reference(distribution, sct):
    model = make_model(
        SYSTEMS, MENU, distribution=distribution, dof=4.0, skew=-3.0, system_control_total=sct
    )
    draws = 2 * 8192 + 1234  # two full blocks and a short one
    assert_same_statistics(
        simulate_reference(model, draws, seed=17), simulate_kernel(model, draws, seed=17)
    )


def many_members(seed: int) -> list[dict]:
    """24 members planning around £0.5m short of a zero control total (sd £1-4m): many fail at once."""
    rng = np.random.default_rng(seed)
    return [
        {"plan": float(p), "control_total": 0.0, "sd": float(s), "funding": float(f)}
        for p, s, f in zip(
            rng.normal(-0.5, 1, 24), rng.uniform(1, 4, 24), rng.uniform(1, 9, 24), strict=True
        )
    ]


def test_kernel_matches_reference_on_a_large_system_with_many_failures():
    members = many_members(seed=0)
    model = make_model([members, members[:9]], MENU, national_share=0.1, system_share=0.1)
    assert_same_statistics(
        simulate_reference(model, 4000, seed=3), simulate_kernel(model, 4000, seed=3)
    )


def test_kernel_matches_reference_with_more_schemes_in_a_class_than_a_bit_set_word():
    """70 schemes share one outcome class: the kernel's lossy bit sets take two words."""
    from sct_engine.engine.kernel.loops import WORD_BITS

    shares = np.linspace(0.0, 1.0, 70)
    menu = [
        SchemeOption(name=f"flex_{j}", system_linked_share=float(s), redistribution="full")
        for j, s in enumerate(shares)
    ]
    assert len(menu) > WORD_BITS
    model = make_model(SYSTEMS, menu)
    assert_same_statistics(
        simulate_reference(model, 3000, seed=8), simulate_kernel(model, 3000, seed=8)
    )


def test_class_loss_bits_set_bit_j_of_word_j_over_63_for_the_classs_jth_scheme():
    from sct_engine.engine.kernel.loops import WORD_BITS
    from sct_engine.engine.kernel.tables import class_loss_bits

    rng = np.random.default_rng(2)
    scheme_class = np.array([0] * 70 + [1] + [0] * 3)  # class 0: 73 schemes, class 1: one
    bin_index = rng.integers(0, 3, (len(scheme_class), 5, 8))  # (K, N, 8), about a third 0
    class_start, class_schemes, lossy = class_loss_bits(scheme_class, bin_index)
    assert class_start.tolist() == [0, 73, 74]
    assert class_schemes[:73].tolist() == [*range(70), 71, 72, 73]
    assert class_schemes[73] == 70
    assert lossy.shape == (2, 5, 8, 2)
    for c in range(2):
        for j, k in enumerate(class_schemes[class_start[c] : class_start[c + 1]]):
            bit = (lossy[c, ..., j // WORD_BITS] >> (j % WORD_BITS)) & 1
            np.testing.assert_array_equal(bit == 1, bin_index[k] > 0)
    assert (lossy[1, ..., 0] >> 1).max() == 0 and lossy[1, ..., 1].max() == 0
    assert lossy.min() >= 0  # bit 63 stays clear: words are non-negative int64


@pytest.mark.parametrize("distribution", ["normal", "student_t", "skew_normal"])
def test_numba_streams_match_numpy_streams(distribution):
    """Draw-level parity: the kernel consumes each block's stream exactly as the reference."""
    from sct_engine.engine.kernel.loops import _variate

    @numba.njit
    def draw(g, n, dist, dof, t_scale, delta, root, mean, scale):
        out = np.empty(n)
        for i in range(n):
            out[i] = _variate(g, dist, dof, t_scale, delta, root, mean, scale)
        return out

    code = DISTRIBUTION_CODES[distribution]
    got = draw(
        block_generator(9, 3, 0), 5000, code, 5.0, np.sqrt(3.0 / 5.0), *skew_normal_constants(-2.0)
    )
    expected = standard_variates(block_generator(9, 3, 0), code, 5.0, -2.0, (5000,))
    np.testing.assert_array_equal(got, expected)


def test_extending_a_run_equals_one_longer_run():
    model = make_model(SYSTEMS, MENU)
    one = simulate_kernel(model, 3 * 8192, seed=5)
    run = KernelRun(model, seed=5)
    run.extend(8192)
    run.extend(2 * 8192)
    assert_same_statistics(one, run.accumulator())


SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from sct_engine.scenario import load_scenario
    from sct_engine.engine.model import build_model
    from sct_engine.engine.kernel import simulate_kernel
    import numba
    import dataclasses
    model = dataclasses.replace(build_model(load_scenario(sys.argv[1])), quarterly=sys.argv[2] == "1")
    acc = simulate_kernel(model, 70_000, seed=123)
    print(json.dumps({"threads": numba.get_num_threads(),
                      **{k: v.tolist() for k, v in acc.arrays().items() if v.size < 5000}}))
    """
)


def run_with_threads(threads: int, scenario: str, quarterly: bool) -> dict:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, scenario, "1" if quarterly else "0"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize("quarterly", [False, True])
def test_results_identical_whatever_the_number_of_threads(quarterly):
    scenario = os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "scenarios", "example_ics.yaml"
    )
    one = run_with_threads(1, scenario, quarterly)
    two = run_with_threads(2, scenario, quarterly)
    assert (one.pop("threads"), two.pop("threads")) == (1, 2)
    assert one.keys() == two.keys()
    for name in one:
        a, b = np.array(one[name]), np.array(two[name])
        if a.dtype.kind == "i":
            np.testing.assert_array_equal(a, b, err_msg=name)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, err_msg=name)


REGIME_SYSTEMS = [
    [
        {
            "plan": 1.0,
            "control_total": 0.0,
            "sd": 4.0,
            "funding": 10.0,
            "ae": 0.3,
            "p_ae": 0.6,
            "turnover": 500.0,
            "tail": (0.1, 1.0, 0.6),
            "mitigation": 1.5,
            "uplift": 1.0,
        },
        {"plan": -1.0, "control_total": 0.0, "sd": 2.0, "funding": 4.0, "mitigation": 0.5},
        {
            "plan": 0.5,
            "control_total": -1.0,
            "sd": 3.0,
            "funding": 6.0,
            "turnover": 300.0,
            "tail": (0.3, 0.5, 0.4),
        },
    ],
    [
        {
            "plan": -3.0,
            "control_total": -2.0,
            "sd": 5.0,
            "funding": 8.0,
            "turnover": 800.0,
            "tail": (0.05, 2.0, 0.5),
            "uplift": 2.0,
        },
        {"plan": 1.0, "control_total": 1.0, "sd": 1.5, "funding": 2.0},
    ],
]


@pytest.mark.parametrize("bonus", [False, True])
def test_kernel_matches_reference_with_tails_mitigation_incentive_and_bonus(bonus):
    model = make_model(
        REGIME_SYSTEMS, MENU, distribution="student_t", dof=5.0, bonus=bonus, bonus_share=0.7
    )
    draws = 8192 + 3000
    reference = simulate_reference(model, draws, seed=8)
    assert_same_statistics(reference, simulate_kernel(model, draws, seed=8))
    assert (reference.org_bonus_sum.sum() > 0) == bonus


# --- quarterly mode (rule 6) ------------------------------------------------------------

#: Uneven profiles for some members: back-loaded, front-loaded, all at year end.
PROFILES = {0: (0.1, 0.2, 0.3, 0.4), 2: (0.4, 0.3, 0.2, 0.1), 4: (0.0, 0.0, 0.0, 1.0)}


def with_profiles(systems: list[list[dict]]) -> list[list[dict]]:
    flat = [org for members in systems for org in members]
    profiled = [
        {**org, "profile": PROFILES[i]} if i in PROFILES else org for i, org in enumerate(flat)
    ]
    sizes = np.cumsum([0, *(len(members) for members in systems)])
    return [profiled[lo:hi] for lo, hi in itertools.pairwise(sizes)]


@pytest.mark.parametrize(
    ("distribution", "sct", "recovery", "draws"),
    [
        ("normal", None, True, 8192 + 1234),  # a full block and a short one
        ("student_t", [1.0, None, None], False, 5000),
        ("skew_normal", [None, -4.0, None], True, 3000),
    ],
)
def test_quarterly_kernel_matches_reference(distribution, sct, recovery, draws):
    """Full and capped redistribution, every_member, gateway on and off, explicit system totals."""
    model = make_model(
        with_profiles(SYSTEMS),
        MENU,
        distribution=distribution,
        dof=4.0,
        skew=-3.0,
        system_control_total=sct,
        quarterly=True,
        recovery=recovery,
        quarter_variance=(0.1, 0.2, 0.3, 0.4),
    )
    reference = simulate_reference(model, draws, seed=17)
    assert_same_statistics(reference, simulate_kernel(model, draws, seed=17))
    assert reference.org_paid_quarter_sum[..., :3].sum() > 0  # money really is paid before year end


@pytest.mark.parametrize(("bonus", "recovery"), [(False, True), (True, False), (True, True)])
def test_quarterly_kernel_matches_reference_with_tails_mitigation_incentive_and_bonus(
    bonus, recovery
):
    model = make_model(
        with_profiles(REGIME_SYSTEMS),
        MENU,
        distribution="student_t",
        dof=5.0,
        bonus=bonus,
        bonus_share=0.7,
        quarterly=True,
        recovery=recovery,
    )
    reference = simulate_reference(model, 4000, seed=8)
    assert_same_statistics(reference, simulate_kernel(model, 4000, seed=8))
    assert (reference.org_bonus_sum.sum() > 0) == bonus


def test_quarterly_kernel_matches_reference_on_a_large_system_with_many_failures():
    members = many_members(seed=1)
    model = make_model(
        [members, members[:9]], MENU, national_share=0.1, system_share=0.1, quarterly=True
    )
    assert_same_statistics(
        simulate_reference(model, 1500, seed=3), simulate_kernel(model, 1500, seed=3)
    )


# --- dependence inside systems: correlation matrices (one needing repair) and signed loadings ---

#: System 0: a valid matrix with a negative provider-commissioner pair; system 1: members
#: on opposite sides of the system factor; system 2 (one member): a 1x1 matrix.
DEPENDENCE_MATRICES = [
    np.array(
        [[1.0, -0.4, 0.3, 0.2], [-0.4, 1.0, 0.1, 0.0], [0.3, 0.1, 1.0, 0.5], [0.2, 0.0, 0.5, 1.0]]
    ),
    None,
    np.array([[1.0]]),
]
#: Not positive semi-definite: repaired to the nearest valid matrix before either simulator sees it.
INVALID_MATRIX = np.array(
    [[1.0, -0.9, -0.9, 0.5], [-0.9, 1.0, -0.9, 0.0], [-0.9, -0.9, 1.0, 0.2], [0.5, 0.0, 0.2, 1.0]]
)


def dependence_systems() -> list[list[dict]]:
    first, second, third = with_profiles(SYSTEMS)
    return [first, [{**second[0], "loading": 0.7}, {**second[1], "loading": -0.5}], third]


@pytest.mark.parametrize("quarterly", [False, True])
@pytest.mark.parametrize(("distribution", "matrix"), [("normal", 0), ("student_t", 1)])
def test_kernel_matches_reference_with_correlation_matrices_and_loadings(
    quarterly, distribution, matrix
):
    matrices = list(DEPENDENCE_MATRICES)
    if matrix == 1:
        matrices[0] = INVALID_MATRIX
    model = make_model(
        dependence_systems(),
        MENU,
        distribution=distribution,
        dof=4.0,
        national_share=0.15,
        system_share=0.3,
        correlation=matrices,
        quarterly=quarterly,
    )
    assert model.correlated.sum() == 5 and model.system_loading[4] == 0.7
    draws = 8192 + 1500
    assert_same_statistics(
        simulate_reference(model, draws, seed=21), simulate_kernel(model, draws, seed=21)
    )


# --- national readings (issue 14): A&E gateway, CSF timing, bonus to trusts, slack, ties ---

#: Trusts with and without A&E, CCGs with CSF (deficit control totals) and one without
#: (surplus), so every reading has someone to act on; system 0 gets a loose explicit system
#: control total, system 2 a tighter one.
NATIONAL_SYSTEMS = [
    [
        {"plan": 1.0, "control_total": 0.0, "sd": 3.0, "funding": 10.0, "ae": 0.3, "p_ae": 0.7},
        {"plan": -0.5, "control_total": 0.0, "sd": 2.0, "funding": 4.0, "ae": 0.3, "p_ae": 0.5},
        {"kind": "commissioner", "plan": -1.0, "control_total": -1.5, "sd": 2.0, "funding": 6.0},
        {"kind": "commissioner", "plan": 0.5, "control_total": 0.0, "sd": 1.0, "funding": 0.0},
        {"plan": 0.2, "control_total": 0.0, "sd": 1.0, "funding": 3.0, "uplift": 0.5},
    ],
    [
        {"plan": -2.0, "control_total": -2.0, "sd": 4.0, "funding": 8.0, "ae": 0.3, "p_ae": 0.6},
        {"kind": "commissioner", "plan": -3.0, "control_total": -2.5, "sd": 2.0, "funding": 5.0},
    ],
    [{"kind": "commissioner", "plan": -0.5, "control_total": -1.0, "sd": 0.8, "funding": 2.0}],
]
NATIONAL_MENU = [
    *MENU,
    SchemeOption(name="capped_all", system_linked_share=0.3, redistribution="capped", share_cap=1),
    SchemeOption(name="full_30", system_linked_share=0.3, redistribution="full"),
    SchemeOption(name="linked_60_none", system_linked_share=0.6),
]


@pytest.mark.parametrize("quarterly", [False, True])
@pytest.mark.parametrize(
    ("gateway", "csf_weights", "csf_recovery"),
    [
        ("finance_earned", (0.25, 0.25, 0.25, 0.25), False),
        ("own_test", (0.1, 0.2, 0.3, 0.4), True),
        ("none", (0.4, 0.3, 0.0, 0.3), False),
    ],
)
def test_kernel_matches_reference_under_every_national_reading(
    quarterly, gateway, csf_weights, csf_recovery
):
    model = make_model(
        with_profiles(NATIONAL_SYSTEMS),
        NATIONAL_MENU,
        system_control_total=[-3.0, None, -0.5],
        bonus=True,
        bonus_share=0.8,
        quarterly=quarterly,
        recovery=not csf_recovery,
        ae_gateway=gateway,
        csf_quarter_weights=csf_weights,
        csf_recovery=csf_recovery,
    )
    assert model.system_slack().tolist() == [2.0, 0.0, 0.0]
    draws = 8192 + 1000
    reference = simulate_reference(model, draws, seed=29)
    assert_same_statistics(reference, simulate_kernel(model, draws, seed=29))
    assert reference.org_bonus_sum[:, ~model.is_provider].max() == 0.0  # trusts only
    assert reference.org_bonus_sum.sum() > 0


def test_kernel_pays_the_issue_14_bonus_pool_to_the_trust_alone(tmp_path):
    from tests.unit.engine.test_national_readings import issue_14_bonus

    for quarterly in (False, True):
        bonus = issue_14_bonus(tmp_path, quarterly, "kernel")
        assert bonus == {"trust_miss": 0.0, "trust_ok": pytest.approx(7.0), "ccg_ok": 0.0}


@pytest.mark.parametrize("quarterly", [False, True])
def test_kernel_breaks_cover_ties_as_the_reference(quarterly):
    """Exact ties (deterministic members): the first listed, then less headroom used."""
    giver = {"plan": 1.0, "control_total": 0.0, "sd": 0.0, "funding": 0.0}
    short = [{"plan": -s, "control_total": 0.0, "sd": 0.0, "funding": 5.0} for s in (1.0, 1.0)]
    less = [{"plan": -s, "control_total": 0.0, "sd": 0.0, "funding": 5.0} for s in (1.0, 0.5)]
    menu = [SchemeOption(name="flexible", system_linked_share=0.0, redistribution="full")]
    model = make_model([[*short, giver], [*less, giver]], menu, quarterly=quarterly)
    reference = simulate_reference(model, 100, seed=1)
    assert reference.org_pass[0].tolist() == [100, 0, 100, 0, 100, 100]
    assert_same_statistics(reference, simulate_kernel(model, 100, seed=1))
