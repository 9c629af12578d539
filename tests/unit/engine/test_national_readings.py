"""The national 2018/19 readings in the reference simulator: bonus to trusts only, the A&E
gateway, CSF timing, the system control total's slack, the cover's tie-break, year-end events.

Deterministic members (``sd`` 0) make each rule's payment a known number; the kernel is
held to the same numbers by tests/integration/engine/test_kernel_parity.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from sct_engine.engine.reference import apply_schemes, block_ytd_outturns, draw_block
from sct_engine.engine.simulate import simulate
from sct_engine.rules import QUARTER_WEIGHTS, SchemeOption
from sct_engine.scenario import load_scenario
from tests.factories import make_model

pytestmark = pytest.mark.unit

#: The reproduction of issue 14: one trust misses, one trust and one CCG meet.
BONUS_CSF_YAML = """\
name: bonus_csf
regime: {bonus: true}
schemes: [{name: organisation_only}]
systems: [{id: s, organisations: [
 {id: trust_miss, kind: provider, plan: -2, control_total: 0, sustainability_funding: 10, sd: 1.0e-5, has_ae: true, p_ae: 1},
 {id: trust_ok, kind: provider, plan: 1, control_total: 0, sustainability_funding: 5, sd: 1.0e-5},
 {id: ccg_ok, kind: commissioner, plan: -1, control_total: -2, sustainability_funding: 5, sd: 1.0e-5}]}]
"""


def paid(model, n: int = 8, seed: int = 1) -> dict[str, np.ndarray]:
    """Funding paid per scheme in the first draw (deterministic members pay the same every draw)."""
    outcome = apply_schemes(model, draw_block(model, seed, 0, n))
    return {name: outcome.paid[k][0] for k, name in enumerate(model.schemes.names)}


# --- rule 8: bonus -----------------------------------------------------------------------


def issue_14_bonus(tmp_path, quarterly: bool, engine: str) -> dict[str, float]:
    """Expected bonus per organisation of the issue's scenario (the kernel's in the parity tests)."""
    path = tmp_path / "bonus_csf.yaml"
    path.write_text(BONUS_CSF_YAML + ("uncertainty: {quarterly: true}\n" if quarterly else ""))
    orgs = simulate(load_scenario(path), draws=200, seed=3, engine=engine).organisations
    return dict(zip(orgs["organisation"], orgs["expected_bonus"], strict=True))


@pytest.mark.parametrize("quarterly", [False, True])
def test_issue_14_the_whole_pool_goes_to_the_trust_that_met_its_control_total(tmp_path, quarterly):
    bonus = issue_14_bonus(tmp_path, quarterly, "reference")
    # trust_miss leaves its finance element (0.7 x 10) unearned; its A&E element never pools.
    assert bonus["trust_ok"] == pytest.approx(7.0, rel=1e-12)
    assert bonus["ccg_ok"] == 0.0
    assert bonus["trust_miss"] == 0.0


def test_unearned_csf_stays_out_of_the_pool():
    trust_miss = {"plan": -2.0, "control_total": 0.0, "sd": 0.0, "funding": 10.0}
    trust_ok = {"plan": 1.0, "control_total": 0.0, "sd": 0.0, "funding": 5.0}
    ccg_miss = {"kind": "commissioner", "plan": -3.0, "control_total": -2.0, "sd": 0.0}
    model = make_model(
        [[trust_miss, trust_ok, {**ccg_miss, "funding": 6.0}]],
        [SchemeOption(name="organisation_only")],
        bonus=True,
    )
    outcome = apply_schemes(model, draw_block(model, 1, 0, 4))
    np.testing.assert_array_equal(outcome.bonus[0], np.tile([0.0, 10.0, 0.0], (4, 1)))


def test_a_trust_covered_by_redistribution_has_met_its_varied_control_total_and_shares_the_pool():
    """Rule 8 reads "met its control total" after redistribution: the cover varies it."""
    covered = {"plan": -1.0, "control_total": 0.0, "sd": 0.0, "funding": 4.0}
    giver = {"plan": 2.0, "control_total": 0.0, "sd": 0.0, "funding": 4.0}
    other = [{"plan": -3.0, "control_total": 0.0, "sd": 0.0, "funding": 10.0}]
    model = make_model(
        [[covered, giver], other],
        [SchemeOption(name="flexible", system_linked_share=0.5, redistribution="full")],
        bonus=True,
    )
    outcome = apply_schemes(model, draw_block(model, 1, 0, 4))
    assert outcome.org_pass[0][0].tolist() == [True, True, False]
    np.testing.assert_allclose(outcome.bonus[0][0], [5.0, 5.0, 0.0])  # the 10 unearned, halved


# --- rule 1: the A&E gateway ---------------------------------------------------------

TRUST_WITH_AE = {"control_total": 0.0, "sd": 0.0, "funding": 10.0, "ae": 0.3, "p_ae": 1.0}
GATEWAY_MENU = [
    SchemeOption(name="organisation_only"),
    SchemeOption(name="all_or_nothing", system_linked_share=1.0),
    SchemeOption(name="linked_25", system_linked_share=0.25),
    SchemeOption(name="all_or_nothing_ungated", system_linked_share=1.0, ae_gateway=False),
]


def gateway_model(trust_plan: float, partner_plan: float, gateway: str, quarterly: bool):
    partner = {"plan": partner_plan, "control_total": 0.0, "sd": 0.0, "funding": 5.0}
    return make_model(
        [[{**TRUST_WITH_AE, "plan": trust_plan}, partner]],
        GATEWAY_MENU,
        ae_gateway=gateway,
        quarterly=quarterly,
    )


@pytest.mark.parametrize("quarterly", [False, True])
def test_a_trust_paid_on_the_system_result_earns_its_ae_element_under_finance_earned(quarterly):
    """The trust misses its own control total, the system meets its total (every quarter)."""
    finance_earned = paid(gateway_model(-1.0, 3.0, "finance_earned", quarterly))
    own_test = paid(gateway_model(-1.0, 3.0, "own_test", quarterly))
    none = paid(gateway_model(-1.0, 3.0, "none", quarterly))
    assert finance_earned["all_or_nothing"][0] == pytest.approx(10.0)  # 7 on the system + 3 A&E
    assert own_test["all_or_nothing"][0] == pytest.approx(7.0)  # the A&E element is lost
    assert finance_earned["linked_25"][0] == pytest.approx(0.25 * 7.0 + 3.0)  # part earned: open
    assert own_test["linked_25"][0] == pytest.approx(0.25 * 7.0)
    for reading in (finance_earned, own_test):
        assert reading["organisation_only"][0] == 0.0
        assert reading["all_or_nothing_ungated"][0] == pytest.approx(10.0)
    assert none["organisation_only"][0] == pytest.approx(3.0)


@pytest.mark.parametrize("quarterly", [False, True])
def test_a_trust_meeting_its_own_total_in_a_failed_system_loses_its_ae_under_finance_earned(
    quarterly,
):
    finance_earned = paid(gateway_model(1.0, -5.0, "finance_earned", quarterly))
    own_test = paid(gateway_model(1.0, -5.0, "own_test", quarterly))
    assert finance_earned["all_or_nothing"][0] == 0.0  # no finance earned, so no A&E
    assert own_test["all_or_nothing"][0] == pytest.approx(3.0)
    for reading in (finance_earned, own_test):
        assert reading["organisation_only"][0] == pytest.approx(10.0)
        assert reading["linked_25"][0] == pytest.approx(0.75 * 7.0 + 3.0)


# --- rule 6: CSF timing -----------------------------------------------------------------


def test_csf_is_paid_a_quarter_per_quarter_met_without_recovery_and_psf_by_its_weights():
    """Same organisation, same draws: as a CCG (CSF) and as a trust (PSF)."""
    org = {"plan": 0.3, "control_total": -0.2, "sd": 1.0, "funding": 8.0}
    option = [SchemeOption(name="organisation_only")]
    ccg = make_model([[{**org, "kind": "commissioner"}]], option, quarterly=True)
    trust = make_model([[org]], option, quarterly=True)
    draws = draw_block(ccg, seed=5, block=0, n=4000)
    passes = block_ytd_outturns(ccg, draws)[:, :, 0] >= ccg.ytd_control_total()[0]  # (n, 4)
    assert (passes.any(axis=1) & ~passes.all(axis=1)).mean() > 0.05  # mixed years occur
    np.testing.assert_allclose(apply_schemes(ccg, draws).paid[0][:, 0], 8.0 * passes.mean(axis=1))
    psf = np.where(passes[:, 3], 1.0, passes @ QUARTER_WEIGHTS)  # PSF: weights and recovery
    np.testing.assert_allclose(apply_schemes(trust, draws).paid[0][:, 0], 8.0 * psf)
    # The commissioner's own settings: 10/20/30/40% with recovery pays the year on a Q4 pass.
    custom = make_model(
        [[{**org, "kind": "commissioner"}]],
        option,
        quarterly=True,
        csf_quarter_weights=(0.1, 0.2, 0.3, 0.4),
        csf_recovery=True,
    )
    expected = np.where(passes[:, 3], 1.0, passes @ np.array([0.1, 0.2, 0.3, 0.4]))
    np.testing.assert_allclose(apply_schemes(custom, draws).paid[0][:, 0], 8.0 * expected)


def test_csf_weights_do_not_matter_in_year_end_mode():
    org = {"kind": "commissioner", "plan": 0.3, "control_total": -0.2, "sd": 1.0, "funding": 8.0}
    even = make_model([[org]])
    skewed = make_model([[org]], csf_quarter_weights=(0.0, 0.0, 0.0, 1.0), csf_recovery=True)
    draws = draw_block(even, seed=5, block=0, n=500)
    for a, b in zip(
        apply_schemes(even, draws).paid, apply_schemes(skewed, draws).paid, strict=True
    ):
        np.testing.assert_array_equal(a, b)


# --- rule 4: a looser explicit system control total -----------------------------------


@pytest.mark.parametrize("quarterly", [False, True])
def test_capped_with_the_whole_headroom_equals_full_with_a_loose_system_control_total(quarterly):
    rng = np.random.default_rng(11)
    members = [
        {"plan": float(p), "control_total": 0.0, "sd": 2.0, "funding": float(f), "ae": 0.3}
        for p, f in zip(rng.normal(0, 1, 6), rng.uniform(1, 9, 6), strict=True)
    ]
    menu = [
        SchemeOption(name="full", system_linked_share=0.5, redistribution="full"),
        SchemeOption(name="capped", system_linked_share=0.5, redistribution="capped", share_cap=1),
    ]
    model = make_model([members], menu, system_control_total=[-4.0], quarterly=quarterly)
    outcome = apply_schemes(model, draw_block(model, seed=2, block=0, n=3000))
    np.testing.assert_array_equal(outcome.org_pass[0], outcome.org_pass[1])
    np.testing.assert_array_equal(outcome.paid[0], outcome.paid[1])
    # The system met its loose total: every member passed, under both.
    met = outcome.system_meets[:, 0]
    assert 0.2 < met.mean() < 1.0 and outcome.org_pass[1][met].all()


# --- rule 4: the cover's tie-break ----------------------------------------------------


@pytest.mark.parametrize("quarterly", [False, True])
def test_cover_ties_go_to_less_headroom_used_then_to_the_member_listed_first(quarterly):
    """A giver with 1 of headroom; two members short, each worth the same finance element."""
    giver = {"plan": 1.0, "control_total": 0.0, "sd": 0.0, "funding": 0.0}
    option = [SchemeOption(name="flexible", system_linked_share=0.0, redistribution="full")]

    def covered(first_short: float, second_short: float) -> list[bool]:
        short = [
            {"plan": -first_short, "control_total": 0.0, "sd": 0.0, "funding": 5.0},
            {"plan": -second_short, "control_total": 0.0, "sd": 0.0, "funding": 5.0},
        ]
        model = make_model([[*short, giver]], option, quarterly=quarterly)
        return (paid(model)["flexible"][:2] > 0).tolist()

    assert covered(1.0, 1.0) == [True, False]  # an exact tie: the member listed first
    assert covered(1.0, 0.5) == [False, True]  # same funding, less headroom used
    assert covered(0.5, 1.0) == [True, False]


# --- rules 11 and 12: events and actions at year end ---------------------------------


def test_quarterly_tests_before_the_year_end_see_neither_events_nor_management_actions():
    hit = {"plan": 1.0, "control_total": 0.0, "sd": 0.0, "funding": 10.0, "turnover": 100.0}
    rescued = {"plan": -1.0, "control_total": 0.0, "sd": 0.0, "funding": 10.0, "mitigation": 2.0}
    option = [SchemeOption(name="organisation_only")]
    for recovery, rescued_share in ((True, 1.0), (False, 0.35)):
        model = make_model(
            [[{**hit, "tail": (1.0, 10.0, 0.1)}], [rescued]],
            option,
            quarterly=True,
            recovery=recovery,
        )
        outcome = apply_schemes(model, draw_block(model, seed=1, block=0, n=8))
        # The event (about £10m) lands in Q4 only: Q1-Q3 were paid, Q4 is not.
        np.testing.assert_allclose(outcome.paid_quarter[0][:, 0], [[1.5, 2.0, 3.0, 0.0]] * 8)
        # Actions land the other on its control total at year end only: Q1-Q3 missed.
        np.testing.assert_allclose(outcome.paid[0][:, 1], 10.0 * rescued_share)
        assert outcome.outturn[:, 1].tolist() == [0.0] * 8
