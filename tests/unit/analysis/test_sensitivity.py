"""The sensitivity variants as data: what each changes in a scenario, how it is clipped, when it
is skipped, and the survival verdict read against the report's recommendation."""

from __future__ import annotations

import pytest

from sct_engine.analysis.decision import Recommendation
from sct_engine.analysis.sensitivity import (
    ASSUMPTIONS,
    SURVIVES,
    TOO_CLOSE,
    Applied,
    Assumption,
    Skipped,
    apply_assumption,
    plan_variants,
    survival,
)
from sct_engine.scenario import Scenario

pytestmark = pytest.mark.unit


def scenario(national: float = 0.2, system: float = 0.3, **regime) -> Scenario:
    """Two systems; one trust with an A&E element in each."""
    return Scenario.model_validate(
        {
            "name": "two systems",
            "uncertainty": {"national_share": national, "system_share": system},
            "regime": regime,
            "systems": [
                {
                    "id": f"s{k}",
                    "organisations": [
                        {
                            "id": f"acute_{k}",
                            "kind": "provider",
                            "plan": 1.0,
                            "control_total": 0.0,
                            "sustainability_funding": 10.0,
                            "sd": 3.0,
                            "has_ae": True,
                            "p_ae": 0.9,
                        },
                        {
                            "id": f"mh_{k}",
                            "kind": "provider",
                            "plan": 0.5,
                            "control_total": 0.0,
                            "sustainability_funding": 2.0,
                            "turnover": 200.0,
                            "sd_pct": 1.0,
                            "has_ae": k == 1,
                            "p_ae": 0.1,
                        },
                    ],
                }
                for k in range(2)
            ],
        }
    )


def named(name: str) -> Assumption:
    return next(a for a in ASSUMPTIONS if a.name == name)


def members(s: Scenario) -> list:
    return [o for system in s.systems for o in system.organisations]


def test_the_variants_are_the_issues_list_in_order():
    assert [a.name for a in ASSUMPTIONS] == [
        "sd_x0.8",
        "sd_x1.2",
        "national_share-0.1",
        "national_share+0.1",
        "system_share-0.1",
        "system_share+0.1",
        "p_ae-0.15",
        "p_ae+0.15",
        "ae_gateway=own_test",
        "ae_gateway=finance_earned",
        "ae_gateway=none",
    ]
    assert len({a.label for a in ASSUMPTIONS}) == len(ASSUMPTIONS)


def test_sd_scale_multiplies_every_spread_however_given():
    base = scenario()
    applied = apply_assumption(base, named("sd_x1.2"))
    assert isinstance(applied, Applied)
    for was, now in zip(members(base), members(applied.scenario), strict=True):
        assert now.sd_value == pytest.approx(1.2 * was.sd_value, rel=1e-15)
        assert (now.sd is None) == (was.sd is None)  # sd stays sd, sd_pct stays sd_pct
        assert now.plan == was.plan and now.p_ae == was.p_ae
    assert applied.scenario.uncertainty == base.uncertainty
    assert base.systems[0].organisations[0].sd == 3.0  # the scenario itself is untouched


def test_shares_shift_by_ten_points_clipped_to_valid():
    applied = apply_assumption(scenario(0.2, 0.3), named("national_share+0.1"))
    assert isinstance(applied, Applied)
    assert applied.scenario.uncertainty.national_share == pytest.approx(0.3)
    assert applied.scenario.uncertainty.system_share == 0.3
    assert "clipped" not in applied.setting
    # 0.65 + 0.3 would pass 1: clipped to 1 - system_share.
    clipped = apply_assumption(scenario(0.65, 0.3), named("national_share+0.1"))
    assert isinstance(clipped, Applied)
    assert clipped.scenario.uncertainty.national_share == pytest.approx(0.7)
    assert "clipped" in clipped.setting
    low = apply_assumption(scenario(0.05, 0.3), named("national_share-0.1"))
    assert isinstance(low, Applied) and low.scenario.uncertainty.national_share == 0.0
    at_bound = apply_assumption(scenario(0.0, 0.3), named("national_share-0.1"))
    assert isinstance(at_bound, Skipped) and "bound" in at_bound.reason
    system = apply_assumption(scenario(0.2, 0.75), named("system_share+0.1"))
    assert isinstance(system, Applied)
    assert system.scenario.uncertainty.system_share == pytest.approx(0.8)


def test_p_ae_shifts_every_member_clipped_to_a_probability():
    base = scenario()
    up = apply_assumption(base, named("p_ae+0.15"))
    down = apply_assumption(base, named("p_ae-0.15"))
    assert isinstance(up, Applied) and isinstance(down, Applied)
    assert [o.p_ae for o in members(up.scenario)] == pytest.approx([1.0, 0.25, 1.0, 0.25])
    assert [o.p_ae for o in members(down.scenario)] == pytest.approx([0.75, 0.0, 0.75, 0.0])
    assert "clipped" in up.setting and "clipped" in down.setting
    # Clipped only where it matters: a member without an A&E element does not count.
    data = base.model_dump()
    data["systems"][1]["organisations"][1]["has_ae"] = False
    inside = apply_assumption(Scenario.model_validate(data), named("p_ae-0.15"))
    assert isinstance(inside, Applied) and "clipped" not in inside.setting
    for variant in (up, down):
        for was, now in zip(members(base), members(variant.scenario), strict=True):
            assert (now.sd_value, now.plan, now.has_ae) == (was.sd_value, was.plan, was.has_ae)


def test_gateway_variants_set_the_national_reading_and_skip_the_scenarios_own():
    base = scenario(ae_gateway="own_test")
    planned, skipped = plan_variants(base)
    gateways = [a for a in planned if a.assumption.change == "ae_gateway"]
    assert [a.scenario.regime.ae_gateway for a in gateways] == ["finance_earned", "none"]
    assert [s.assumption.name for s in skipped] == ["ae_gateway=own_test"]
    assert len(planned) + len(skipped) == len(ASSUMPTIONS)


def test_a_variant_the_scenario_refuses_is_skipped_with_the_reason():
    wide = scenario()
    for org in members(wide):
        if org.sd_pct is not None:
            org.sd_pct = 90.0  # x 1.2 passes the 100% limit
    refused = apply_assumption(wide, named("sd_x1.2"))
    assert isinstance(refused, Skipped) and refused.reason.startswith("cannot apply: ")
    assert "100" in refused.reason


def test_variants_that_would_change_nothing_are_skipped_with_a_reason():
    no_ae = scenario()
    for org in members(no_ae):
        org.has_ae = False
    _, skipped = plan_variants(no_ae)
    assert {s.assumption.change for s in skipped} == {"p_ae", "ae_gateway"}
    # A system correlation matrix fixes every pair: the system share is not used.
    data = scenario().model_dump()
    for system in data["systems"]:
        system["correlation"] = {"matrix": [[1.0, 0.4], [0.4, 1.0]]}
    matrices = Scenario.model_validate(data)
    _, skipped = plan_variants(matrices)
    assert {s.assumption.name for s in skipped} == {
        "system_share-0.1",
        "system_share+0.1",
        "ae_gateway=finance_earned",
    }
    # With one such system the national share moves nothing either.
    data["systems"] = data["systems"][:1]
    _, skipped = plan_variants(Scenario.model_validate(data))
    assert {"national_share-0.1", "national_share+0.1"} <= {s.assumption.name for s in skipped}


def recommendation(scheme: str, eligible=(), too_close=()) -> Recommendation:
    return Recommendation(
        system="s",
        system_name="S",
        scheme=scheme,
        baseline="organisation_only",
        expected_funding=0.0,
        expected_income=0.0,
        gain=0.0,
        se_gain=0.0,
        eligible=tuple(eligible),
        excluded={},
        reasons=(),
        too_close=tuple(too_close),
    )


def test_survival_yes_changes_or_too_close():
    assert survival("flexible_25", recommendation("flexible_25")) == SURVIVES
    # flexible_25 ruled out under the variant only by comparisons too close to call.
    close = recommendation("organisation_only", too_close=["flexible_25"])
    assert survival("flexible_25", close) == TOO_CLOSE
    # Both allowed, the variant's choice ahead by less than its 95% interval.
    both = recommendation(
        "flexible_50", eligible=["organisation_only", "flexible_25", "flexible_50"]
    )
    assert survival("flexible_25", both, margin=0.1, se_margin=0.1) == TOO_CLOSE
    assert survival("flexible_25", both, margin=0.5, se_margin=0.1) == "changes to flexible_50"
    # The report's option is ruled out under the variant (a member materially worse off).
    moved = recommendation("organisation_only", eligible=["organisation_only"])
    assert survival("flexible_25", moved) == "changes to organisation_only"
