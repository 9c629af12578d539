"""Plausibility warnings: each fires just past its threshold and not before, naming file and field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from sct_engine.engine.simulate import simulate
from sct_engine.scenario import LIMITS, load_scenario, parse_scenario

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
EXAMPLE = ROOT / "scenarios" / "example_ics.yaml"
MONEY = ("plan", "control_total", "sustainability_funding", "turnover", "sd", "mitigation")


def base() -> dict[str, Any]:
    """One ordinary trust and one ordinary CCG: no warning."""
    return {
        "name": "plausible",
        "systems": [
            {
                "id": "s",
                "organisations": [
                    {"id": "trust", "kind": "provider", "provider_type": "acute", "plan": -1.0,
                     "control_total": -1.5, "sustainability_funding": 10.0, "turnover": 400.0,
                     "sd": 5.0, "has_ae": True},
                    {"id": "ccg", "kind": "commissioner", "plan": -2.0, "control_total": -3.0,
                     "sustainability_funding": 3.0, "turnover": 600.0, "sd_pct": 0.6},
                ],
            }
        ],
    }  # fmt: skip


def warnings_of(data: dict[str, Any]) -> list[str]:
    return [str(w) for w in parse_scenario(data, source=Path("/data/what_if.yaml")).warnings]


def trust(data: dict[str, Any]) -> dict[str, Any]:
    return data["systems"][0]["organisations"][0]


def with_trust(**fields: Any) -> dict[str, Any]:
    data = base()
    trust(data).update(fields)
    return data


def test_an_ordinary_scenario_has_no_warning():
    assert warnings_of(base()) == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_shipped_scenarios_have_no_warning(path: Path):
    assert [str(w) for w in load_scenario(path).warnings] == []


# --- each threshold: just past it warns, just short of it does not ----------------------------


def _just(limit: float, past: bool) -> float:
    return limit * (1.001 if past else 0.999)


@pytest.mark.parametrize("past", [True, False])
def test_turnover_above_the_limit_looks_like_thousands(past: bool):
    turnover = _just(LIMITS.turnover_max, past)
    found = warnings_of(with_trust(turnover=turnover, sd=5.0))
    hits = [w for w in found if "look like £000s" in w or "looks like £000s" in w]
    assert bool(hits) is past
    if past:
        assert hits[0].startswith("what_if.yaml: systems[0].organisations[0].turnover: 'trust':")
        assert "docs/scenario-format.md" in hits[0]


@pytest.mark.parametrize("field", ["plan", "control_total", "sd", "mitigation"])
@pytest.mark.parametrize("past", [True, False])
def test_other_figures_above_the_limit_look_like_thousands(field: str, past: bool):
    value = _just(LIMITS.figure_max, past)
    signed = -value if field in ("plan", "control_total") else value
    data = with_trust(turnover=None, **{field: signed})
    if field in ("plan", "control_total"):  # keep plan and control total together
        trust(data).update(plan=signed, control_total=signed)
    found = [w for w in warnings_of(data) if "like £000s" in w]
    assert bool(found) is past
    if past:
        assert f"{field} " in found[0]


@pytest.mark.parametrize("past", [True, False])
def test_funding_above_a_quarter_of_turnover(past: bool):
    funding = _just(LIMITS.funding_share_max * 400.0, past)
    found = warnings_of(with_trust(sustainability_funding=funding))
    hits = [w for w in found if "of its turnover" in w]
    assert bool(hits) is past
    if past:
        assert "systems[0].organisations[0].sustainability_funding" in hits[0]


@pytest.mark.parametrize("past", [True, False])
def test_sd_pct_below_the_limit_looks_like_a_fraction(past: bool):
    data = base()
    data["systems"][0]["organisations"][1]["sd_pct"] = LIMITS.pct_min * (0.999 if past else 1.001)
    found = [w for w in warnings_of(data) if "looks like a fraction" in w]
    assert bool(found) is past
    if past:
        assert "systems[0].organisations[1].sd_pct: 'ccg': sd_pct" in found[0]


@pytest.mark.parametrize("past", [True, False])
def test_sd_above_a_quarter_of_turnover(past: bool):
    sd = _just(LIMITS.sd_share_max * 400.0, past)
    found = [w for w in warnings_of(with_trust(sd=sd)) if "year-end sd" in w]
    assert bool(found) is past
    if past:
        assert "systems[0].organisations[0].sd" in found[0]


@pytest.mark.parametrize("side", [-1.0, 1.0])
@pytest.mark.parametrize("past", [True, False])
def test_a_plan_many_sd_from_its_control_total(side: float, past: bool):
    gap = _just(LIMITS.gap_sd_max, past) * 5.0  # sd is 5
    found = [w for w in warnings_of(with_trust(plan=-1.5 + side * gap)) if " sd " in w]
    assert bool(found) is past
    if past:
        assert ("misses" if side < 0 else "meets") in found[0]
        assert "systems[0].organisations[0].plan" in found[0]


def test_the_gap_counts_the_uplift():
    """The test is against control_total + uplift: the gap is measured from there."""
    gap = (LIMITS.gap_sd_max - 1) * 5.0
    data = with_trust(plan=-1.5 - gap, control_total_uplift=10.0)
    assert any(" sd below" in w for w in warnings_of(data))
    assert not any(" sd " in w for w in warnings_of(with_trust(plan=-1.5 - gap)))


def test_a_system_with_nothing_at_stake():
    data = base()
    data["systems"][0]["organisations"][0]["sustainability_funding"] = 0.0
    data["systems"][0]["organisations"][1]["control_total"] = 0.0  # no CSF for a non-deficit CCG
    found = warnings_of(data)
    assert any(
        w.startswith("what_if.yaml: systems[0].organisations: system 's': no member") for w in found
    )
    data["systems"][0]["organisations"][0]["sustainability_funding"] = 0.1
    assert not any("no member" in w for w in warnings_of(data))


def test_an_a_and_e_outside_an_acute_trust():
    found = warnings_of(with_trust(provider_type="mental_health"))
    assert any("systems[0].organisations[0].has_ae" in w and "acute" in w for w in found)
    assert warnings_of(with_trust(provider_type=None)) == []


def test_table_and_tail_percentages_that_look_like_fractions():
    data = base()
    data["uncertainty"] = {
        "sd_pct_by_type": {"ccg": 0.006},
        "tail": {"probability": 0.1, "median_pct": 0.035},
    }
    found = warnings_of(data)
    assert any("uncertainty.sd_pct_by_type.commissioner" in w for w in found)
    assert any("uncertainty.tail.median_pct" in w for w in found)


# --- whole scenarios in the wrong units -------------------------------------------------------


def example_times(factor: float, fields: tuple[str, ...]) -> dict[str, Any]:
    data = yaml.safe_load(EXAMPLE.read_text())
    for org in data["systems"][0]["organisations"]:
        for name in fields:
            if name in org:
                org[name] = org[name] * factor
    return data


def test_a_scenario_in_thousands_warns_once_per_organisation():
    data = example_times(1000.0, (*MONEY, "control_total_uplift"))
    found = warnings_of(data)
    assert len(found) == len(data["systems"][0]["organisations"])
    assert all("like £000s, not £m" in w for w in found)


def test_a_scenario_with_fraction_sd_pct_warns_for_each_and_nothing_else():
    data = example_times(0.01, ("sd_pct",))
    with_pct = [o["id"] for o in data["systems"][0]["organisations"] if "sd_pct" in o]
    found = warnings_of(data)
    assert len(found) == len(with_pct)  # the gaps in sd units follow from the slip: not repeated
    assert all("looks like a fraction" in w for w in found)


def test_a_run_carries_the_warnings_in_its_provenance():
    data = copy.deepcopy(base())
    data["systems"][0]["organisations"][1]["sd_pct"] = 0.006
    scenario = parse_scenario(data, source=Path("/data/what_if.yaml"))
    result = simulate(scenario, draws=200, engine="reference")
    assert result.provenance["scenario_warnings"] == [str(w) for w in scenario.warnings]
    assert "looks like a fraction" in result.provenance["scenario_warnings"][0]


def test_the_documented_thresholds_are_the_ones_in_use():
    """docs/scenario-format.md (Plausibility warnings) states every threshold of LIMITS."""
    page = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    section = page[page.index("## Plausibility warnings") : page.index("## Sweeps")]
    stated = {
        "turnover_max": f"£{LIMITS.turnover_max:,.0f}m",
        "figure_max": f"£{LIMITS.figure_max:,.0f}m",
        "system_figure_max": f"£{LIMITS.system_figure_max:,.0f}m",
        "funding_share_max": f"`sustainability_funding` above **{LIMITS.funding_share_max:.0%}**",
        "pct_min": f"below **{LIMITS.pct_min:g}**",
        "sd_share_max": f"of `turnover`) above **{LIMITS.sd_share_max:.0%}**",
        "gap_sd_max": f"**{LIMITS.gap_sd_max:g} sd**",
    }
    missing = {name: text for name, text in stated.items() if text not in section}
    assert not missing, f"docs/scenario-format.md does not state {missing}"
