"""Correlation inside a system: repair to the nearest valid matrix, factoring, loadings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sct_engine.rules.correlation import (
    is_valid_correlation,
    nearest_correlation,
    smallest_eigenvalue,
    system_correlation,
    total_correlation,
    within_system,
)

pytestmark = pytest.mark.unit


def symmetric_unit_diagonal(values: np.ndarray) -> np.ndarray:
    m = np.triu(values, 1)
    m = m + m.T
    np.fill_diagonal(m, 1.0)
    return m


sizes = st.integers(2, 8)
shares = st.floats(0.0, 0.6)


@st.composite
def any_correlation_like(draw) -> np.ndarray:
    """Symmetric, unit diagonal, entries in [-1, 1]: what a person might type, valid or not."""
    n = draw(sizes)
    values = draw(arrays(np.float64, (n, n), elements=st.floats(-1.0, 1.0)))
    return symmetric_unit_diagonal(values)


@st.composite
def valid_within_system(draw) -> np.ndarray:
    """A positive definite correlation matrix from random factor loadings."""
    n = draw(sizes)
    k = draw(st.integers(1, n))
    loadings = draw(arrays(np.float64, (n, k), elements=st.floats(-1.0, 1.0)))
    cov = loadings @ loadings.T + 0.05 * np.eye(n)
    d = np.sqrt(np.diag(cov))
    return cov / np.outer(d, d)


def test_higham_example_matches_the_published_nearest_matrix():
    # Higham (2002), "Computing the nearest correlation matrix", section 4: the nearest
    # correlation matrix to [[1,1,0],[1,1,1],[0,1,1]] has off-diagonals 0.7607 and 0.1573.
    repaired = nearest_correlation(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]))
    assert repaired[0, 1] == pytest.approx(0.7607, abs=2e-4)
    assert repaired[1, 2] == pytest.approx(0.7607, abs=2e-4)
    assert repaired[0, 2] == pytest.approx(0.1573, abs=2e-4)
    assert is_valid_correlation(repaired)


@settings(max_examples=60, deadline=None)
@given(any_correlation_like(), shares)
def test_repair_always_returns_a_valid_matrix_that_the_model_can_use(total, a):
    fit = system_correlation(total, a)
    assert is_valid_correlation(fit.total)
    within = within_system(fit.total, a)
    assert smallest_eigenvalue(within) > 0  # the national factor fits too
    np.testing.assert_allclose(fit.root @ fit.root.T, within, atol=1e-9)
    assert np.allclose(np.triu(fit.root, 1), 0.0)  # lower triangular: row i needs only E_0..E_i
    assert fit.repaired == (fit.smallest_eigenvalue < 1e-8)


@settings(max_examples=60, deadline=None)
@given(valid_within_system(), shares)
def test_a_valid_matrix_is_left_alone(within, a):
    total = total_correlation(within, a)
    fit = system_correlation(total, a)
    assert not fit.repaired
    np.testing.assert_allclose(fit.total, total, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(any_correlation_like())
def test_repair_is_no_farther_than_clipping_eigenvalues(total):
    """Nearest in the Frobenius norm: at least as close as the obvious fix (clip negative
    eigenvalues to zero, then rescale to a unit diagonal), which is valid but not nearest."""
    w, v = np.linalg.eigh(total)
    clipped = (v * np.clip(w, 1e-6, None)) @ v.T
    d = np.sqrt(np.diag(clipped))
    clipped = clipped / np.outer(d, d)
    repaired = nearest_correlation(total)
    assert np.linalg.norm(repaired - total) <= np.linalg.norm(clipped - total) + 1e-4


def test_strong_negative_correlations_among_three_are_repaired():
    # Three members each correlated -0.9 with the others cannot all hold.
    total = symmetric_unit_diagonal(np.full((3, 3), -0.9))
    assert smallest_eigenvalue(total) < 0
    fit = system_correlation(total, 0.0)
    assert fit.repaired and fit.smallest_eigenvalue < 0
    assert is_valid_correlation(fit.total)
    # Symmetric problem, symmetric answer: the nearest matrix has all three at -1/2.
    np.testing.assert_allclose(fit.total[np.triu_indices(3, 1)], -0.5, atol=1e-3)


def test_a_matrix_valid_alone_can_be_invalid_with_the_national_factor():
    # Two members at -0.95 is a valid matrix, but with a national factor of 0.1 the
    # within-system part would need a correlation of -1.17.
    total = np.array([[1.0, -0.95], [-0.95, 1.0]])
    assert is_valid_correlation(total)
    fit = system_correlation(total, 0.1)
    assert fit.repaired
    assert fit.total[0, 1] == pytest.approx(
        0.1 - 0.9, abs=1e-3
    )  # the most negative possible: a - (1 - a)


@settings(max_examples=30, deadline=None)
@given(any_correlation_like())
def test_clipping_fallback_returns_a_valid_matrix(total):
    from sct_engine.rules.correlation import clipped_correlation

    fixed = clipped_correlation(total)
    assert is_valid_correlation(fixed)
    assert smallest_eigenvalue(fixed) > 0
