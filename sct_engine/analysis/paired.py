"""Paired statistics of options on common random numbers: means and standard errors of differences.

Every option is applied to the same draws, so a difference between two options is a
per-draw difference: its standard error comes from sums and cross-products of the same
draws, not from two independent runs. The per-draw reductions themselves are decision
statistics of the run (:class:`~sct_engine.engine.stats.PairedStats`), accumulated by the
kernel in its streaming pass and by the numpy reference (``reference.reduce_paired_block``),
which it matches; this module reads them.
"""

from __future__ import annotations

import numpy as np

from sct_engine.engine.reference import reduce_paired_block
from sct_engine.engine.stats import PairedStats

#: Two-sided 95% normal quantile: a 95% confidence interval is +-Z95 standard errors.
Z95 = 1.959963984540054


def mean_se(total: np.ndarray, total_sq: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of a per-draw quantity from its sum and sum of squares over ``n`` draws."""
    mean = total / n
    var = np.maximum(total_sq / n - mean * mean, 0.0) * (n / max(n - 1, 1))
    return mean, np.sqrt(var / n)


def pair_se(
    sum_a: np.ndarray, sum_b: np.ndarray, aa: np.ndarray, bb: np.ndarray, ab: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of ``a - b`` per draw from sums and cross-products."""
    return mean_se(sum_a - sum_b, aa - 2.0 * ab + bb, n)


def count_difference(
    only_a: np.ndarray, only_b: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Difference of two probabilities on the same draws and its standard error, from the
    draws where only ``a`` happened and those where only ``b`` did (the per-draw difference is
    +1, -1 or 0, so its square is 1 exactly when one of them happened)."""
    only_a = np.asarray(only_a, dtype=np.float64)
    only_b = np.asarray(only_b, dtype=np.float64)
    return mean_se(only_a - only_b, only_a + only_b, n)


__all__ = ["Z95", "PairedStats", "count_difference", "mean_se", "pair_se", "reduce_paired_block"]
