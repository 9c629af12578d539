"""Dependence inside a system beyond the one-factor default: loadings or a full matrix.

The default factor model gives every pair of members of a system the same
correlation ``a + b`` (``a = national_share``, ``b = system_share``). Two ways
to say more, both per system:

* **signed loadings** ``system_loading = l_i`` on the system factor, so that
  ``corr(i, j) = a + l_i l_j``. A provider at ``+l`` and a commissioner at
  ``-l`` move against each other on the contract line (``a - l^2``).
* **a full correlation matrix** ``R`` of the members' outturns. The national
  factor stays common to every organisation in the scenario, so what the
  system adds is the *within-system* matrix ``C = (R - a) / (1 - a)`` (unit
  diagonal), and member ``i``'s standard shock is
  ``sqrt(a) Z_nat + sqrt(1 - a) (L E)_i`` with ``L`` the Cholesky factor of
  ``C`` and ``E`` the members' own variates. ``R`` must be a valid
  correlation matrix *and* leave ``C`` positive semi-definite; a matrix that
  does not (hand-typed matrices often don't) is replaced by the nearest valid
  one (Higham's alternating projections, from statsmodels) with a warning.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: Smallest eigenvalue of the within-system matrix accepted as it is. Below it the
#: matrix is repaired, so its Cholesky factor always exists (a singular matrix, e.g.
#: two members correlated exactly 1, is nudged to the nearest positive definite one).
MIN_EIGENVALUE = 1e-8

#: Eigenvalue floor the repair aims for (above ``MIN_EIGENVALUE``, so a repaired
#: matrix passes the check it failed).
_REPAIR_FLOOR = 1e-6


@dataclass(frozen=True)
class SystemCorrelation:
    """A system's correlation matrix as used by the simulators.

    ``total`` is the correlation of the members' outturns (national factor
    included) after any repair; ``root`` the lower-triangular Cholesky factor of
    the within-system matrix; ``smallest_eigenvalue`` that of the within-system
    matrix as given (negative: it was not positive semi-definite);
    ``largest_change`` the largest absolute change the repair made to ``total``
    (0 when none was needed).
    """

    total: np.ndarray
    root: np.ndarray
    smallest_eigenvalue: float
    largest_change: float

    @property
    def repaired(self) -> bool:
        return self.largest_change > 0.0


def within_system(total: np.ndarray, national_share: float) -> np.ndarray:
    """``C = (R - a) / (1 - a)``: the correlation the system adds beyond the national factor."""
    a = national_share
    within = (np.asarray(total, dtype=np.float64) - a) / (1.0 - a)
    np.fill_diagonal(within, 1.0)
    return within


def total_correlation(within: np.ndarray, national_share: float) -> np.ndarray:
    """``R = a + (1 - a) C``: the inverse of :func:`within_system`."""
    a = national_share
    total = a + (1.0 - a) * np.asarray(within, dtype=np.float64)
    np.fill_diagonal(total, 1.0)
    return total


def smallest_eigenvalue(matrix: np.ndarray) -> float:
    """Smallest eigenvalue of a symmetric matrix."""
    return float(np.linalg.eigvalsh(matrix)[0])


def nearest_correlation(matrix: np.ndarray, floor: float = _REPAIR_FLOOR) -> np.ndarray:
    """The nearest correlation matrix (unit diagonal, eigenvalues at least about ``floor``)
    in the Frobenius norm, by Higham's alternating projections (``statsmodels.corr_nearest``).

    The result is symmetrised and its diagonal set to exactly 1.
    """
    # Imported here: statsmodels takes about 2 s to import and most scenarios never need it.
    from statsmodels.stats.correlation_tools import corr_nearest
    from statsmodels.tools.sm_exceptions import IterationLimitWarning

    with warnings.catch_warnings():
        # The projections stop at their iteration limit close enough for our use;
        # validity of the result is checked in system_correlation, not assumed.
        warnings.simplefilter("ignore", IterationLimitWarning)
        repaired = corr_nearest(np.asarray(matrix, dtype=np.float64), threshold=floor, n_fact=100)
    repaired = 0.5 * (repaired + repaired.T)
    np.fill_diagonal(repaired, 1.0)
    return repaired


def clipped_correlation(matrix: np.ndarray, floor: float = _REPAIR_FLOOR) -> np.ndarray:
    """A valid correlation matrix by clipping eigenvalues at ``floor`` and rescaling to a
    unit diagonal: not the nearest, the fallback should the projections not converge."""
    w, v = np.linalg.eigh(np.asarray(matrix, dtype=np.float64))
    clipped = (v * np.clip(w, floor, None)) @ v.T
    d = np.sqrt(np.diag(clipped))
    clipped = clipped / np.outer(d, d)
    clipped = 0.5 * (clipped + clipped.T)
    np.fill_diagonal(clipped, 1.0)
    return clipped


def is_valid_correlation(matrix: np.ndarray, tolerance: float = 1e-12) -> bool:
    """Square, symmetric, unit diagonal, entries in [-1, 1] and positive semi-definite."""
    m = np.asarray(matrix, dtype=np.float64)
    return (
        m.ndim == 2
        and m.shape[0] == m.shape[1]
        and bool(np.all(np.isfinite(m)))
        and np.allclose(m, m.T, rtol=0.0, atol=tolerance)
        and np.allclose(np.diag(m), 1.0, rtol=0.0, atol=tolerance)
        and bool(np.all(np.abs(m) <= 1.0 + tolerance))
        and smallest_eigenvalue(m) >= -tolerance
    )


def system_correlation(total: np.ndarray, national_share: float) -> SystemCorrelation:
    """Check a system's outturn correlation matrix, repair it if needed, and factor it.

    ``total`` must be square and symmetric with a unit diagonal (the scenario
    checks that); positive semi-definiteness, of ``total`` and of the
    within-system part, is repaired rather than refused.
    """
    given = np.asarray(total, dtype=np.float64)
    return _system_correlation(given.tobytes(), given.shape[0], float(national_share))


@lru_cache(maxsize=256)
def _system_correlation(total_bytes: bytes, n: int, national_share: float) -> SystemCorrelation:
    """:func:`system_correlation` keyed by value: the scenario's warnings and the model
    both ask for the same repair, which takes a second or two for a system of 20 or more members."""
    given = np.frombuffer(total_bytes, dtype=np.float64).reshape(n, n)
    within = within_system(given, national_share)
    lowest = smallest_eigenvalue(within)
    if lowest < MIN_EIGENVALUE:
        within = nearest_correlation(within)
        if smallest_eigenvalue(within) < MIN_EIGENVALUE:
            within = clipped_correlation(within)
    repaired_total = total_correlation(within, national_share)
    change = float(np.max(np.abs(repaired_total - given))) if lowest < MIN_EIGENVALUE else 0.0
    root = np.linalg.cholesky(within)
    for array in (repaired_total, root):
        array.setflags(write=False)  # cached and shared: nobody may change them
    return SystemCorrelation(repaired_total, root, lowest, change)


def signed_loading_limit(national_share: float) -> float:
    """Largest ``|system_loading|``: the national and system factors together explain
    at most all of an organisation's variance, ``a + l^2 <= 1``."""
    return math.sqrt(max(0.0, 1.0 - national_share))
