"""The summary's sentences: a system told to stay put says so, a near tie says by how much, and
no interval is rounded to ± 0.00."""

from __future__ import annotations

import pytest

from sct_engine.analysis.decision import Recommendation
from sct_engine.report.html_parts import plus_minus
from sct_engine.report.summary import GLOSSARY, headline

pytestmark = pytest.mark.unit


def recommendation(scheme: str, **extra) -> Recommendation:
    fields = {
        "system": "s",
        "system_name": "System",
        "scheme": scheme,
        "baseline": "organisation_only",
        "expected_funding": 40.0,
        "expected_income": 41.0,
        "gain": 0.0 if scheme == "organisation_only" else 2.5,
        "se_gain": 0.0 if scheme == "organisation_only" else 0.1,
        "eligible": ("organisation_only", scheme),
        "excluded": {},
        "reasons": (),
    }
    return Recommendation(**{**fields, **extra})


def test_a_system_told_to_stay_put_reads_stay_with():
    r = recommendation("organisation_only")
    assert r.stays and r.action == "stay with organisation_only"
    text = headline(r, "funding")
    assert text.startswith("Stay with organisation_only.")
    assert "+£0.00m" not in text and "Sign" not in text


def test_a_near_tie_says_so_and_by_how_much():
    r = recommendation("flexible_25", runner_up="flexible_50", margin=0.03, se_margin=0.05)
    assert r.near_tie
    text = headline(r, "funding")
    assert text.startswith("Sign flexible_25: +£2.50m a year of expected funding")
    assert "A near tie: flexible_50 is £0.03m a year behind (± 0.10)" in text


def test_a_clear_winner_is_no_near_tie():
    r = recommendation("flexible_25", runner_up="flexible_50", margin=0.5, se_margin=0.05)
    assert not r.near_tie and "near tie" not in headline(r, "funding")
    assert "beats the next option the rule allows, flexible_50, by £0.50m" in headline(r, "funding")


@pytest.mark.parametrize(
    ("half", "text"),
    [
        (0.123, "± 0.12"),
        (0.004, "± 0.004"),
        (0.00042, "± 0.0004"),
        (0.00001, "± &lt; 0.0001"),
        (0.0, "± 0"),
    ],
)
def test_an_interval_is_never_rounded_to_zero(half, text):
    assert plus_minus(half) == text


def test_the_glossary_explains_the_method_words():
    words = " ".join(w for w, _ in GLOSSARY)
    for term in ("CVaR", "Co-CVaR", "Gini", "Delta method", "Funding", "Income"):
        assert term in words


def with_joint_view(data, gain: float, half: float):
    """``data`` with the report's national view holding one joint row (a report simulates it
    once, as ``ReportData.national``; :func:`report_national_view` hands it back)."""
    import pandas as pd

    from sct_engine.analysis.national import JOINT_BASIS, RECOMMENDED_MIX, NationalView

    joint = pd.DataFrame(
        [
            {
                "counterfactual": RECOMMENDED_MIX,
                "basis": JOINT_BASIS,
                "diff_expected_income": gain,
                "ci95_diff_expected_income": half,
                "sum_of_system_gains": 21.5,
                "ci95_sum_of_system_gains_bound": 0.7,
            },
            {
                "counterfactual": "every system on flexible_25",
                "basis": JOINT_BASIS,
                "diff_expected_income": 99.0,
                "ci95_diff_expected_income": 9.0,
                "sum_of_system_gains": 88.0,
                "ci95_sum_of_system_gains_bound": 8.0,
            },
        ]
    )
    empty = pd.DataFrame()
    view = NationalView(systems=empty, options=empty, fairness=empty, recommended={}, joint=joint)
    data.national = view
    return data


def test_page_one_states_the_joint_national_figure_under_its_label_not_the_sum():
    """Page 1's national figure is the joint simulation's (every system on its recommendation,
    together), with its 95% interval and the joint label; the one-system-at-a-time sum is shown
    only under its own label."""
    from types import SimpleNamespace

    from sct_engine.analysis.national import JOINT_BASIS, sum_basis
    from sct_engine.report.html_parts import money
    from sct_engine.report.summary import _many_systems

    recs = [
        recommendation("flexible_25", system=f"s{i}", system_name=f"System {i}", gain=1.0)
        for i in range(20)
    ]
    data = SimpleNamespace(
        recommendations=recs,
        analysis=SimpleNamespace(gain_word="income", baseline="organisation_only"),
    )
    text = _many_systems(with_joint_view(data, gain=12.34, half=1.5))
    answer = text[: text.index("</p>")]
    joint = (
        f"National figure, {JOINT_BASIS}, every system on its recommendation: "
        f"{money(12.34, sign=True)} <span class='se'>{plus_minus(1.5)}</span> a year of "
        "expected income"
    )
    assert joint in answer
    # The sum is the joint table's own (21.5, not the 20 gains of 1.0 recomputed), with its bound.
    assert (
        f"{sum_basis('organisation_only')}: {money(21.5, sign=True)} "
        f"<span class='se'>{plus_minus(0.7)}</span>"
    ) in answer
    assert "each system deciding for itself" not in text
    assert money(99.0, sign=True) not in text


def test_many_systems_fit_page_one_as_counts_and_the_largest_gains():
    from types import SimpleNamespace

    from sct_engine.report.summary import PAGE_ONE_SYSTEMS, _many_systems

    recs = [
        recommendation("flexible_25", system=f"s{i}", system_name=f"System {i}", gain=0.1 * i)
        for i in range(1, 31)
    ] + [recommendation("organisation_only", system=f"t{i}") for i in range(12)]
    assert len(recs) > PAGE_ONE_SYSTEMS
    data = SimpleNamespace(
        recommendations=recs,
        analysis=SimpleNamespace(gain_word="funding", baseline="organisation_only"),
    )
    text = _many_systems(with_joint_view(data, gain=12.0, half=1.5))
    assert "42 systems: 30 would sign a risk-sharing option" in text
    assert (
        "30 systems: sign flexible_25" in text and "12 systems: stay with organisation_only" in text
    )
    assert (
        text.count("<tr>") == 1 + 10 and "System 30" in text
    )  # the header and ten rows and "System 20" not in text
