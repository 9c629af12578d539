"""The decision rule on the kernel: stable recommendations, income with the bonus, national
rules, the tail, and participation and recommendation that never disagree.

These run the compiled kernel (integration): the issue's worked example at 40,000 and
1,000,000 draws, and a scenario with the year-end bonus on at both draw counts.
"""

from __future__ import annotations

import pytest

from sct_engine.analysis import UNRESOLVED, DecisionRule, analyse
from sct_engine.analysis.rule import NOT_WORSE, WORSE
from sct_engine.engine.simulate import simulate
from sct_engine.rules import SchemeOption
from sct_engine.scenario import load_scenario
from tests.factories import make_model

pytestmark = pytest.mark.integration

WORKED = """
name: worked example
simulation: {{draws: 40000, seed: 0}}
regime: {{bonus: {bonus}}}
schemes:
  - {{name: organisation_only}}
  - {{name: {option}, system_linked_share: {share}, redistribution: full}}
systems:
  - id: pair
    organisations:
      - {{id: strong, kind: provider, plan: {strong_plan}, control_total: 0, sustainability_funding: 10, sd: 1}}
      - {{id: weak, kind: provider, plan: 0.5, control_total: 0, sustainability_funding: 3, sd: 1}}
"""


def scenario(tmp_path, bonus=False, option="flexible_25", share=0.25, strong_plan=1.365):
    path = tmp_path / f"{option}_{bonus}.yaml"
    path.write_text(
        WORKED.format(bonus=str(bonus).lower(), option=option, share=share, strong_plan=strong_plan)
    )
    return load_scenario(path)


def assert_consistent(analysis) -> None:
    """Participation and recommendation cannot disagree: an option is allowed exactly when every
    member would sign and it changes no national rule."""
    part = analysis.participation()
    for rec in analysis.recommend():
        rows = part[part["system"] == rec.system]
        for name in analysis.scheme_names:
            signs = bool(rows[rows["scheme"] == name]["would_sign"].all())
            national = bool(rows[rows["scheme"] == name]["changes_national_rules"].any())
            assert (name in rec.eligible) == (
                name == analysis.baseline or (signs and not national)
            ), name
        assert rec.scheme in rec.eligible


def test_the_issues_example_gives_the_same_recommendation_at_40000_and_1000000_draws(tmp_path):
    """strong is £0.0075m a year worse off under flexible_25: below the £0.01m materiality,
    but not resolvable at 1,000,000 draws (± 0.003); more draws settle it at either start."""
    example = scenario(tmp_path)
    found = []
    for draws in (40_000, 1_000_000):
        analysis = analyse(example, draws=draws, seed=0)
        assert_consistent(analysis)
        (rec,) = analysis.recommend()
        part = analysis.participation().set_index(["scheme", "organisation"])
        strong = part.loc[("flexible_25", "strong")]
        assert strong.verdict == NOT_WORSE and strong.decision_draws > max(draws, 500_000)
        assert -0.01 < strong.diff_expected_income < -0.004  # the true value is about -0.0075
        assert analysis.result.provenance["decision_extension_draws"] > 0
        found.append(rec.scheme)
    assert found == ["flexible_25", "flexible_25"]


def test_an_unresolved_comparison_is_too_close_to_call_never_nobody_worse_off(tmp_path):
    """Capped at the run's own draws, strong's comparison stays open: flexible_25 is not
    recommended, and the reason says it is too close to call."""
    analysis = analyse(
        scenario(tmp_path), draws=1_000_000, seed=0, rule=DecisionRule(max_draws=1_000_000)
    )
    assert_consistent(analysis)
    (rec,) = analysis.recommend()
    assert rec.scheme == "organisation_only" and rec.too_close == ("flexible_25",)
    assert (
        "too close to call" in rec.excluded["flexible_25"]
        and "strong" in rec.excluded["flexible_25"]
    )
    assert not any("No member is materially worse off" in r for r in rec.reasons)
    assert "too close to call: strong" in analysis.headlines()[0]
    part = analysis.participation().set_index(["scheme", "organisation"])
    assert part.loc[("flexible_25", "strong"), "verdict"] == UNRESOLVED
    assert not part.loc[("flexible_25", "strong"), "would_sign"]


@pytest.mark.parametrize("draws", [40_000, 1_000_000])
def test_the_bonus_counts_in_the_decision(tmp_path, draws):
    """Pooling headroom with nothing linked leaves strong's PSF almost as it is and saves weak's
    - so without the bonus it is the right choice - but it empties the bonus pool strong
    shares in when weak misses: with the bonus on, strong is materially worse off."""
    plain = analyse(scenario(tmp_path, option="pooled", share=0.0, strong_plan=3.0), draws=draws)
    (rec,) = plain.recommend()
    assert rec.scheme == "pooled"
    with_bonus = analyse(
        scenario(tmp_path, bonus=True, option="pooled", share=0.0, strong_plan=3.0), draws=draws
    )
    assert_consistent(with_bonus)
    (rec,) = with_bonus.recommend()
    assert rec.scheme == "organisation_only"
    assert (
        "strong" in rec.excluded["pooled"] and "worse off in expectation" in rec.excluded["pooled"]
    )
    assert any("year-end bonus" in r for r in rec.reasons)
    part = with_bonus.participation().set_index(["scheme", "organisation"])
    strong = part.loc[("pooled", "strong")]
    assert abs(strong.diff_expected_funding) < 0.01  # its PSF hardly moves (weak rarely covers it)
    assert strong.expectation == WORSE and strong.diff_expected_income < -0.5


def test_an_option_changing_national_rules_is_shown_but_never_recommended():
    """Switching off the A&E gateway pays A&E trusts more, so it would win; it is not signable."""
    members = [
        {"plan": 1.0, "control_total": 0.0, "sd": 2.0, "funding": 10.0, "ae": 0.3, "p_ae": 0.8},
        {"plan": 0.5, "control_total": 0.0, "sd": 2.0, "funding": 6.0, "ae": 0.3, "p_ae": 0.8},
    ]
    menu = [
        SchemeOption(name="organisation_only"),
        SchemeOption(name="no_gateway", ae_gateway=False),
    ]
    analysis = analyse(make_model([members], menu), draws=20_000, seed=2)
    assert_consistent(analysis)
    (rec,) = analysis.recommend()
    assert analysis.system_difference(0, "no_gateway", "organisation_only")[0] > 0.5
    assert rec.scheme == "organisation_only" and rec.national_rule_changes == ("no_gateway",)
    assert "changes national rules" in rec.excluded["no_gateway"]


def test_the_tail_is_part_of_the_rule_by_default():
    """all_or_nothing lifts a weak member's expectation but makes a strong member lose more in a
    bad year (its funding then rides on the system): excluded by the tail unless it is off."""
    strong = {"plan": 2.5, "control_total": 0.0, "sd": 1.0, "funding": 4.0}
    weak = {"plan": -0.2, "control_total": 0.0, "sd": 1.0, "funding": 4.0}
    menu = [
        SchemeOption(name="organisation_only"),
        SchemeOption(name="linked_60", system_linked_share=0.6),
    ]
    model = make_model([[strong, weak]], menu)
    with_tail = analyse(model, draws=50_000, seed=4)
    assert_consistent(with_tail)
    part = with_tail.participation().set_index(["scheme", "organisation"])
    assert part.loc[("linked_60", "org_0"), "tail"] == WORSE
    assert with_tail.recommend()[0].scheme == "organisation_only"
    without = analyse(model, draws=50_000, seed=4, rule=DecisionRule(tail=False, materiality=1.0))
    assert_consistent(without)
    assert without.recommend()[0].scheme == "linked_60"


def test_the_analysis_tables_are_the_runs_tables(tmp_path):
    """Same seed and draws: the analysis's tables equal `sct run`'s exactly (one engine)."""
    path = tmp_path.parent / "example.yaml"
    example = load_scenario(
        __import__("pathlib").Path(__file__).resolve().parents[3] / "scenarios" / "example_ics.yaml"
    )
    run = simulate(example, draws=20_000, seed=5)
    analysis = analyse(example, draws=20_000, seed=5)
    for table in ("organisations", "systems", "national"):
        left, right = getattr(run, table), getattr(analysis.result, table)
        assert left.equals(right), table
    assert not path.exists()
