"""Paired statistics of options on common random numbers, per block of draws.

Every option is applied to the same draws, so a difference between two options
is a per-draw difference: its standard error comes from the sums and
cross-products kept here, not from two independent runs. The reductions stream
(one block at a time, merged by ``BlockSums``) so nothing of size draws x
organisations outlives a block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sct_engine import rules
from sct_engine.engine.model import Model
from sct_engine.engine.reference import BlockOutcome
from sct_engine.engine.stats import HIST_BINS, BlockSums, loss_bins

#: Two-sided 95% normal quantile: a 95% confidence interval is +-Z95 standard errors.
Z95 = 1.959963984540054


@dataclass
class PairedStats(BlockSums):
    """Per-draw reductions the run's :class:`Accumulator` does not keep (K schemes, N orgs, S systems).

    Differences are against the baseline option (index ``baseline``) unless
    stated; cross-products give the paired variance of any pair of options.
    """

    draws: np.ndarray  # int64 scalar
    org_diff_paid_sum: np.ndarray  # (K, N) paid_k - paid_baseline
    org_diff_paid_sumsq: np.ndarray  # (K, N)
    org_diff_any_sum: np.ndarray  # (K, N) 1{loses funding}_k - 1{...}_baseline
    org_diff_any_sumsq: np.ndarray  # (K, N)
    org_hist_sum: np.ndarray  # (K, N, B + 1) losses summed per loss bin (for CVaR)
    system_paid_sum: np.ndarray  # (K, S)
    system_paid_cross: np.ndarray  # (K, K, S) sum of paid_a * paid_b
    system_diff_any_sum: np.ndarray  # (K, S) some member loses funding, vs baseline
    system_diff_any_sumsq: np.ndarray  # (K, S)
    national_paid_cross: np.ndarray  # (K, K)
    national_any: np.ndarray  # (K,) draws where some organisation loses funding
    national_diff_any_sum: np.ndarray  # (K,)
    national_diff_any_sumsq: np.ndarray  # (K,)
    member_lost_by_system_bin: np.ndarray  # (K, N, B + 1) member loss per loss bin of its system
    org_miss_system_miss: np.ndarray  # (N,) organisation and its system both miss
    org_pivotal: np.ndarray  # (N,) system misses but would meet without this member's shortfall

    @classmethod
    def zeros(
        cls, n_schemes: int, n_orgs: int, n_systems: int, bins: int = HIST_BINS
    ) -> PairedStats:
        k, n, s, b = n_schemes, n_orgs, n_systems, bins + 1
        f = np.float64
        return cls(
            draws=np.zeros((), np.int64),
            org_diff_paid_sum=np.zeros((k, n), f),
            org_diff_paid_sumsq=np.zeros((k, n), f),
            org_diff_any_sum=np.zeros((k, n), f),
            org_diff_any_sumsq=np.zeros((k, n), f),
            org_hist_sum=np.zeros((k, n, b), f),
            system_paid_sum=np.zeros((k, s), f),
            system_paid_cross=np.zeros((k, k, s), f),
            system_diff_any_sum=np.zeros((k, s), f),
            system_diff_any_sumsq=np.zeros((k, s), f),
            national_paid_cross=np.zeros((k, k), f),
            national_any=np.zeros(k, f),
            national_diff_any_sum=np.zeros(k, f),
            national_diff_any_sumsq=np.zeros(k, f),
            member_lost_by_system_bin=np.zeros((k, n, b), f),
            org_miss_system_miss=np.zeros(n, f),
            org_pivotal=np.zeros(n, f),
        )


def _column_bincount(bins: np.ndarray, weights: np.ndarray, n_bins: int) -> np.ndarray:
    """Per-column weighted histogram of an ``(n, m)`` array of bin indices, shape ``(m, n_bins)``."""
    m = bins.shape[1]
    flat = (bins + np.arange(m) * n_bins).ravel()
    return np.bincount(flat, weights=weights.ravel(), minlength=m * n_bins).reshape(m, n_bins)


def reduce_paired_block(
    model: Model, outcome: BlockOutcome, baseline: int, bins: int = HIST_BINS
) -> PairedStats:
    """Reduce one block of outcomes to :class:`PairedStats`."""
    n = outcome.outturn.shape[0]
    k_schemes = len(outcome.paid)
    starts = model.system_start[:-1]
    funding = model.funding
    system_funding = model.system_funding()
    acc = PairedStats.zeros(k_schemes, model.n_orgs, model.n_systems, bins)
    acc.draws[...] = n

    base_paid = outcome.paid[baseline]
    base_any = (loss_bins(funding - base_paid, funding, bins) > 0).astype(np.float64)
    base_system_any = np.logical_or.reduceat(base_any > 0, starts, axis=1).astype(np.float64)
    base_national_any = base_any.max(axis=1)
    system_paid = np.empty((k_schemes, n, model.n_systems))
    for k, paid in enumerate(outcome.paid):
        lost = funding - paid
        org_bins = loss_bins(lost, funding, bins)
        any_lost = (org_bins > 0).astype(np.float64)
        d_paid = paid - base_paid
        acc.org_diff_paid_sum[k] = d_paid.sum(axis=0)
        acc.org_diff_paid_sumsq[k] = (d_paid * d_paid).sum(axis=0)
        d_any = any_lost - base_any
        acc.org_diff_any_sum[k] = d_any.sum(axis=0)
        acc.org_diff_any_sumsq[k] = (d_any * d_any).sum(axis=0)
        acc.org_hist_sum[k] = _column_bincount(org_bins, lost, bins + 1)

        system_paid[k] = np.add.reduceat(paid, starts, axis=1)
        system_bins = loss_bins(system_funding - system_paid[k], system_funding, bins)
        acc.member_lost_by_system_bin[k] = _column_bincount(
            system_bins[:, model.org_system], lost, bins + 1
        )
        d_sys_any = np.logical_or.reduceat(any_lost > 0, starts, axis=1) - base_system_any
        acc.system_diff_any_sum[k] = d_sys_any.sum(axis=0)
        acc.system_diff_any_sumsq[k] = (d_sys_any * d_sys_any).sum(axis=0)
        national_any = any_lost.max(axis=1)
        acc.national_any[k] = national_any.sum()
        d_nat_any = national_any - base_national_any
        acc.national_diff_any_sum[k] = d_nat_any.sum()
        acc.national_diff_any_sumsq[k] = (d_nat_any * d_nat_any).sum()
    acc.system_paid_sum[:] = system_paid.sum(axis=1)
    acc.system_paid_cross[:] = np.einsum("ans,bns->abs", system_paid, system_paid)
    national_paid = system_paid.sum(axis=2)
    acc.national_paid_cross[:] = national_paid @ national_paid.T

    # Contagion does not depend on the option: the organisation and system control total tests.
    miss = ~outcome.meets
    system_miss = ~outcome.system_meets[:, model.org_system]
    acc.org_miss_system_miss[:] = (miss & system_miss).sum(axis=0)
    # The member at its control total if it was short, everyone else as drawn (X_i cancels exactly).
    system_outturn = np.add.reduceat(outcome.outturn, starts, axis=1)[:, model.org_system]
    without = (system_outturn - outcome.outturn) + np.maximum(outcome.outturn, model.control_total)
    meets_without = rules.system_meets(without, model.system_control_total[model.org_system])
    acc.org_pivotal[:] = (system_miss & meets_without).sum(axis=0)
    return acc


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


__all__ = ["Z95", "PairedStats", "mean_se", "pair_se", "reduce_paired_block"]
