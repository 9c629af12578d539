"""The decision rule's pure functions: materiality, the three verdicts, quantile intervals, tails."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sct_engine.analysis.paired import Z95, count_difference
from sct_engine.analysis.rule import (
    NOT_LOWER,
    NOT_WORSE,
    UNRESOLVED,
    WORSE,
    DecisionRule,
    changes_national_rules,
    combine,
    expectation_verdict,
    quantile_interval,
    tail_verdict,
)
from sct_engine.rules import SchemeOption
from tests.factories import make_model

pytestmark = pytest.mark.unit


def test_default_materiality_is_the_larger_of_a_floor_and_a_share_of_the_allocation():
    rule = DecisionRule()
    np.testing.assert_allclose(
        rule.threshold(np.array([0.0, 3.0, 10.0, 40.0])), [0.01, 0.01, 0.01, 0.04]
    )
    np.testing.assert_allclose(
        DecisionRule(materiality=0.5).threshold(np.array([0.0, 40.0])), [0.5, 0.5]
    )


@pytest.mark.parametrize(
    ("diff", "se", "verdict"),
    [
        (-0.05, 0.01, WORSE),  # the whole interval below -0.01
        (-0.0075, 0.0015, UNRESOLVED),  # the example at 1,000,000 draws: straddles -0.01
        (-0.0075, 0.0005, NOT_WORSE),  # the same difference, precise enough
        (0.0, 0.0, NOT_WORSE),
        (0.2, 0.5, UNRESOLVED),
    ],
)
def test_expectation_verdict_reads_the_interval_against_minus_the_materiality(diff, se, verdict):
    got = expectation_verdict(np.array([diff]), np.array([se]), np.array([0.01]))
    assert got[0] == verdict


def test_quantile_interval_brackets_the_p95_and_shrinks_with_draws():
    rng = np.random.default_rng(0)
    bins = 1000
    for n in (2_000, 200_000):
        losses = rng.uniform(0.0, 1.0, n)
        hist = np.bincount(np.ceil(losses * bins).astype(int), minlength=bins + 1)
        p95, low, high = quantile_interval(hist, 1.0, n)
        assert low <= p95 <= high
        assert low <= 0.95 + 1 / bins and high >= 0.95 - 1 / bins  # the true p95 inside
        width = high - low
        expected = 2 * Z95 * np.sqrt(0.95 * 0.05 / n)  # uniform: quantile = rank / n
        assert width == pytest.approx(expected, abs=2.5 / bins)


def test_an_atom_at_the_whole_allocation_gives_a_point_interval():
    hist = np.zeros(1001, dtype=np.int64)
    hist[0], hist[1000] = 800, 200  # 20% of years lose everything
    p95, low, high = quantile_interval(hist, 10.0, 1000)
    assert p95 == low == high == 10.0


def test_tail_verdict():
    threshold, cap = np.array([0.01]), np.array([10.0])
    same = (np.array([10.0]), np.array([10.0]))
    assert tail_verdict(same, same, threshold, cap)[0] == NOT_WORSE
    assert (
        tail_verdict(
            (np.array([9.0]), np.array([9.5])), (np.array([7.0]), np.array([8.0])), threshold, cap
        )[0]
        == WORSE
    )
    assert (
        tail_verdict(
            (np.array([7.9]), np.array([8.2])), (np.array([7.0]), np.array([8.0])), threshold, cap
        )[0]
        == UNRESOLVED
    )
    assert (
        tail_verdict(
            (np.array([5.0]), np.array([6.0])), (np.array([7.0]), np.array([8.0])), threshold, cap
        )[0]
        == NOT_WORSE
    )


def test_combine_worse_beats_unresolved_beats_not_worse():
    e = np.array([WORSE, NOT_WORSE, NOT_WORSE, UNRESOLVED, NOT_WORSE])
    t = np.array([NOT_WORSE, WORSE, UNRESOLVED, NOT_WORSE, NOT_WORSE])
    assert list(combine(e, t)) == [WORSE, WORSE, UNRESOLVED, UNRESOLVED, NOT_WORSE]
    assert list(combine(e, None)) == list(e)


def test_count_difference_is_the_paired_difference_of_two_indicators():
    rng = np.random.default_rng(3)
    a, b = rng.random(5000) < 0.3, rng.random(5000) < 0.2
    d = a.astype(float) - b
    mean, se = count_difference(np.sum(a & ~b), np.sum(b & ~a), 5000)
    assert mean == pytest.approx(d.mean())
    assert se == pytest.approx(d.std(ddof=1) / np.sqrt(5000))


def test_an_option_with_another_a_and_e_gateway_changes_national_rules():
    menu = [
        SchemeOption(name="organisation_only"),
        SchemeOption(name="flexible_25", system_linked_share=0.25, redistribution="full"),
        SchemeOption(name="no_gateway", ae_gateway=False),
    ]
    model = make_model([[{"plan": 0.0, "control_total": 0.0, "sd": 1.0, "funding": 1.0}]], menu)
    assert list(changes_national_rules(model)) == [False, False, True]
    # Where the national reading is itself "none", switching the gateway off changes nothing.
    national_none = replace(model, ae_gateway="none")
    assert list(changes_national_rules(national_none)) == [False, False, False]


def _close_row(**changes) -> dict:
    """One member's row of the decisions table with only the appetite unresolved."""
    row = {
        "organisation": "weak",
        "decision_draws": 40000,
        "materiality": 0.01,
        "diff_expected_income": 0.123,
        "se_diff_expected_income": 0.001,
        "expectation": NOT_WORSE,
        "funding_lost_p95": 2.3,
        "funding_lost_p95_low": 2.2,
        "funding_lost_p95_high": 2.4,
        "baseline_funding_lost_p95": 2.4,
        "baseline_funding_lost_p95_low": 2.3,
        "baseline_funding_lost_p95_high": 2.5,
        "tail": NOT_WORSE,
        "risk_appetite": 2.0,
        "over_appetite": WORSE,
        "lower_than_baseline": UNRESOLVED,
        "appetite": UNRESOLVED,
        "verdict": UNRESOLVED,
    }
    return {**row, **changes}


def test_a_too_close_reason_names_the_appetite_when_it_is_the_open_part():
    """Only the appetite unresolved: the reason names it and the two intervals, not the
    expected-income difference (which is resolved)."""
    import pandas as pd

    from sct_engine.analysis.decision import _too_close_reason

    names = {"weak": "Weak Trust"}
    text = _too_close_reason(pd.DataFrame([_close_row()]), names, tail=True)
    assert text.startswith("whether it is within a member's risk appetite is too close to call")
    assert "over its risk appetite of £2.00m" in text
    assert "whether it is lower than under the baseline (£2.30m to £2.50m)" in text
    assert "£+0.123m" not in text and "40,000 draws" in text
    straddles = _close_row(over_appetite=UNRESOLVED, lower_than_baseline=NOT_LOWER)
    text = _too_close_reason(pd.DataFrame([straddles]), names, tail=True)
    assert "£2.20m to £2.40m against its risk appetite of £2.00m" in text
    both = _close_row(expectation=UNRESOLVED)
    text = _too_close_reason(pd.DataFrame([both]), names, tail=True)
    assert text.startswith(
        "whether it leaves a member materially worse off or beyond its risk appetite is too close"
    )
    assert "£+0.123m" in text and "risk appetite of £2.00m" in text
    alone = _close_row(expectation=UNRESOLVED, appetite=NOT_WORSE, over_appetite=NOT_WORSE)
    text = _too_close_reason(pd.DataFrame([alone]), names, tail=True)
    assert text.startswith("whether it leaves a member materially worse off is too close")
    assert "appetite" not in text
