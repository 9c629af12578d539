"""Fairness measures of the national view against closed forms and a brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sct_engine.analysis.national import gini, top_share

pytestmark = pytest.mark.unit

amounts = st.lists(
    st.floats(min_value=0.0, max_value=1e3, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=40,
)


def pairwise_gini(x: list[float]) -> float:
    """The definition: mean absolute difference over all ordered pairs over twice the mean."""
    n, mean = len(x), sum(x) / len(x)
    return sum(abs(a - b) for a, b in itertools.product(x, x)) / (2 * n * n * mean)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([5.0, 5.0, 5.0, 5.0], 0.0),  # everyone bears the same
        ([0.0, 0.0, 0.0, 7.0], 3 / 4),  # one of n bears it all: (n - 1) / n
        ([0.0] * 9 + [1.0], 9 / 10),
        ([1.0, 2.0, 3.0], 2 / 9),  # sum |xi - xj| = 8, 2 n^2 mean = 36
        ([1.0, 3.0], 1 / 4),  # |1 - 3| * 2 / (2 * 4 * 2)
    ],
)
def test_gini_closed_forms(values, expected):
    assert gini(values) == pytest.approx(expected, abs=1e-12)
    assert gini(values[::-1]) == pytest.approx(expected, abs=1e-12)  # order does not matter


def test_gini_of_nothing_is_undefined_and_negative_amounts_are_refused():
    assert math.isnan(gini([0.0, 0.0])) and math.isnan(gini([]))
    with pytest.raises(ValueError, match="non-negative"):
        gini([1.0, -1.0])


@given(amounts)
def test_gini_equals_the_pairwise_definition(values):
    if sum(values) <= 0:
        return
    assert gini(values) == pytest.approx(pairwise_gini(values), rel=1e-9, abs=1e-12)
    assert 0.0 <= gini(values) <= (len(values) - 1) / len(values) + 1e-12


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [
        (list(range(1, 11)), 0.1, 10 / 55),  # ten systems: the worst one
        ([4.0] * 20, 0.1, 0.1),  # equal burdens: the worst 10% bear 10%
        ([0.0] * 19 + [3.0], 0.1, 1.0),  # one bears it all
        ([1.0, 1.0, 2.0, 6.0], 0.1, 0.4 * 6 / 10),  # 0.4 of a system: linear in the Lorenz curve
        ([1.0, 1.0, 2.0, 6.0], 0.5, (6 + 2) / 10),
        ([1.0, 2.0, 3.0], 1.0, 1.0),
        ([1.0, 2.0, 3.0], 0.0, 0.0),
    ],
)
def test_top_share_closed_forms(values, share, expected):
    assert top_share(values, share) == pytest.approx(expected, abs=1e-12)


def test_top_share_of_44_systems_takes_four_and_four_tenths():
    values = np.arange(1.0, 45.0)  # 1..44, total 990
    expected = (44 + 43 + 42 + 41 + 0.4 * 40) / 990
    assert top_share(values) == pytest.approx(expected, abs=1e-12)


@given(amounts, st.floats(min_value=0.0, max_value=1.0))
def test_top_share_is_at_least_the_share_and_at_most_one(values, share):
    if sum(values) <= 0:
        assert math.isnan(top_share(values, share))
        return
    got = top_share(values, share)
    assert share - 1e-9 <= got <= 1.0 + 1e-9


def test_gini_of_equal_amounts_is_never_below_zero():
    # Five equal amounts of 0.1 once gave -2.7e-17 from the sorted form (hypothesis found it).
    for value in (0.1, 0.3, 1.7, 1e-3):
        for n in range(2, 12):
            assert gini([value] * n) >= 0.0
