"""Streaming statistics: what is kept of the draws, and the risk measures read from it.

Nothing of size draws x organisations survives a block. Per block the
simulators reduce the draws to counts, sums, sums of squares and fixed-grid
histograms of funding lost; blocks are merged in block order, so float sums
do not depend on how blocks were shared between threads.

Loss histograms have ``HIST_BINS`` equal bins on ``(0, cap]`` where ``cap`` is
the funding at stake, plus bin 0 for exactly no loss. A loss ``v > 0`` falls in
bin ``ceil(v / cap * HIST_BINS)``. Quantiles read from them are the upper edge
of the bin, so they are at most one bin (``cap / HIST_BINS``) above the exact
value, and exact when the loss is 0 or the whole allocation. Each bin also
keeps the sum of the losses in it, which makes CVaR exact up to how the
boundary bin is split.
"""

from __future__ import annotations

from dataclasses import Field, dataclass, fields
from typing import Any, ClassVar, TypeVar

import numpy as np

#: A count or proportion: one number, or an array of them.
ArrayOrFloat = TypeVar("ArrayOrFloat", float, np.ndarray)

HIST_BINS = 1000

#: Losses at or below this fraction of the funding at stake count as no loss (float noise).
ZERO_LOSS = 1e-12


class BlockSums:
    """Dataclass mixin for statistics that are sums over draws: merge block by block, in order."""

    # Set by @dataclass on each subclass; declared so type checkers accept ``fields(self)``.
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
    draws: np.ndarray

    @property
    def n(self) -> int:
        return int(self.draws)

    def merge(self, other: BlockSums) -> None:
        """Add another block's statistics (the next block) into these."""
        for field in fields(self):
            getattr(self, field.name)[...] += getattr(other, field.name)


@dataclass
class Accumulator(BlockSums):
    """Sufficient statistics of a run, for K schemes, N organisations and S systems."""

    draws: np.ndarray  # int64 scalar array: number of draws seen
    org_meet: np.ndarray  # (N,) draws meeting the organisation's own control total
    org_outturn_sum: np.ndarray  # (N,)
    system_meet: np.ndarray  # (S,) draws where system outturn >= system control total
    org_pass: np.ndarray  # (K, N) finance test passed after redistribution
    org_paid_sum: np.ndarray  # (K, N)
    org_lost_sum: np.ndarray  # (K, N)
    org_lost_sumsq: np.ndarray  # (K, N)
    org_any_lost: np.ndarray  # (K, N)
    org_hist: np.ndarray  # (K, N, B + 1)
    system_test_pass: np.ndarray  # (K, S) the scheme's system test passed
    system_lost_sum: np.ndarray  # (K, S)
    system_lost_sumsq: np.ndarray  # (K, S)
    system_all_lost: np.ndarray  # (K, S) every member lost its whole allocation
    system_any_lost: np.ndarray  # (K, S) some member lost some funding
    system_hist: np.ndarray  # (K, S, B + 1)
    system_hist_sum: np.ndarray  # (K, S, B + 1)
    national_lost_sum: np.ndarray  # (K,)
    national_lost_sumsq: np.ndarray  # (K,)
    national_hist: np.ndarray  # (K, B + 1)
    national_hist_sum: np.ndarray  # (K, B + 1)
    org_bonus_sum: np.ndarray  # (K, N) year-end bonus received (rule 8), reported apart from losses
    org_bonus_sumsq: np.ndarray  # (K, N)
    # (K, N, 4) funding paid in each quarter (rule 6; recovered money in Q4); year-end mode: all in Q4
    org_paid_quarter_sum: np.ndarray

    @classmethod
    def zeros(
        cls, n_schemes: int, n_orgs: int, n_systems: int, bins: int = HIST_BINS
    ) -> Accumulator:
        k, n, s, b = n_schemes, n_orgs, n_systems, bins + 1
        i, f = np.int64, np.float64
        return cls(
            draws=np.zeros((), i),
            org_meet=np.zeros(n, i),
            org_outturn_sum=np.zeros(n, f),
            system_meet=np.zeros(s, i),
            org_pass=np.zeros((k, n), i),
            org_paid_sum=np.zeros((k, n), f),
            org_lost_sum=np.zeros((k, n), f),
            org_lost_sumsq=np.zeros((k, n), f),
            org_any_lost=np.zeros((k, n), i),
            org_hist=np.zeros((k, n, b), i),
            system_test_pass=np.zeros((k, s), i),
            system_lost_sum=np.zeros((k, s), f),
            system_lost_sumsq=np.zeros((k, s), f),
            system_all_lost=np.zeros((k, s), i),
            system_any_lost=np.zeros((k, s), i),
            system_hist=np.zeros((k, s, b), i),
            system_hist_sum=np.zeros((k, s, b), f),
            national_lost_sum=np.zeros(k, f),
            national_lost_sumsq=np.zeros(k, f),
            national_hist=np.zeros((k, b), i),
            national_hist_sum=np.zeros((k, b), f),
            org_bonus_sum=np.zeros((k, n), f),
            org_bonus_sumsq=np.zeros((k, n), f),
            org_paid_quarter_sum=np.zeros((k, n, 4), f),
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """All statistics by name (for saving or comparing runs)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


# --- per-block reduction --------------------------------------------------------------


def loss_bins(lost: np.ndarray, cap: np.ndarray | float, bins: int = HIST_BINS) -> np.ndarray:
    """Histogram bin of each loss: 0 for no loss, else ``ceil(lost / cap * bins)`` in ``1..bins``."""
    cap = np.asarray(cap, dtype=np.float64)
    safe = np.where(cap > 0.0, cap, 1.0)
    scaled = lost / safe
    k = np.ceil(scaled * bins - 1e-9).astype(np.int64)
    k = np.clip(k, 1, bins)
    return np.where(scaled <= ZERO_LOSS, 0, k)


def _hist_rows(bin_index: np.ndarray, bins: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Per-column histogram of a ``(n, m)`` array of bin indices, shape ``(m, bins + 1)``."""
    _n, m = bin_index.shape
    flat = (bin_index + np.arange(m) * (bins + 1)).ravel()
    w = None if weights is None else weights.ravel()
    return np.bincount(flat, weights=w, minlength=m * (bins + 1)).reshape(m, bins + 1)


def block_accumulator(
    funding: np.ndarray,
    system_start: np.ndarray,
    meets: np.ndarray,
    outturn: np.ndarray,
    system_meets: np.ndarray,
    paid: list[np.ndarray],
    org_pass: list[np.ndarray],
    system_test_pass: list[np.ndarray],
    bins: int = HIST_BINS,
    bonus: list[np.ndarray] | None = None,
    paid_quarter: list[np.ndarray] | None = None,
) -> Accumulator:
    """Reduce one block of draws (arrays of shape ``(n, N)`` / ``(n, S)``, one per scheme).

    ``paid_quarter`` (quarterly mode, ``(n, N, 4)`` per scheme) splits funding paid by
    quarter; without it everything paid counts in Q4, the year end.
    """
    n, n_orgs = outturn.shape
    n_systems = system_start.shape[0] - 1
    acc = Accumulator.zeros(len(paid), n_orgs, n_systems, bins)
    acc.draws[...] = n
    acc.org_meet[:] = meets.sum(axis=0)
    acc.org_outturn_sum[:] = outturn.sum(axis=0)
    acc.system_meet[:] = system_meets.sum(axis=0)
    system_funding = np.add.reduceat(funding, system_start[:-1]) if n_orgs else np.zeros(0)
    national_funding = float(funding.sum())
    for k, paid_k in enumerate(paid):
        lost = funding - paid_k
        acc.org_pass[k] = org_pass[k].sum(axis=0)
        acc.org_paid_sum[k] = paid_k.sum(axis=0)
        if paid_quarter is None:
            acc.org_paid_quarter_sum[k, :, -1] = acc.org_paid_sum[k]
        else:
            acc.org_paid_quarter_sum[k] = paid_quarter[k].sum(axis=0)
        acc.org_lost_sum[k] = lost.sum(axis=0)
        acc.org_lost_sumsq[k] = (lost * lost).sum(axis=0)
        org_bins = loss_bins(lost, funding, bins)
        acc.org_any_lost[k] = (org_bins > 0).sum(axis=0)
        acc.org_hist[k] = _hist_rows(org_bins, bins)

        acc.system_test_pass[k] = system_test_pass[k].sum(axis=0)
        system_lost = np.add.reduceat(lost, system_start[:-1], axis=1)
        acc.system_lost_sum[k] = system_lost.sum(axis=0)
        acc.system_lost_sumsq[k] = (system_lost * system_lost).sum(axis=0)
        any_member = np.logical_or.reduceat(org_bins > 0, system_start[:-1], axis=1)
        all_lost = (system_lost >= system_funding * (1.0 - 1e-9)) & (system_funding > 0.0)
        acc.system_any_lost[k] = any_member.sum(axis=0)
        acc.system_all_lost[k] = all_lost.sum(axis=0)
        system_bins = loss_bins(system_lost, system_funding, bins)
        acc.system_hist[k] = _hist_rows(system_bins, bins)
        acc.system_hist_sum[k] = _hist_rows(system_bins, bins, system_lost)

        national_lost = lost.sum(axis=1)
        acc.national_lost_sum[k] = national_lost.sum()
        acc.national_lost_sumsq[k] = (national_lost * national_lost).sum()
        national_bins = loss_bins(national_lost, national_funding, bins)
        acc.national_hist[k] = np.bincount(national_bins, minlength=bins + 1)
        acc.national_hist_sum[k] = np.bincount(
            national_bins, weights=national_lost, minlength=bins + 1
        )
        if bonus is not None:
            acc.org_bonus_sum[k] = bonus[k].sum(axis=0)
            acc.org_bonus_sumsq[k] = (bonus[k] * bonus[k]).sum(axis=0)
    return acc


# --- risk measures read from the statistics -------------------------------------------


def mean_and_se(total: np.ndarray, total_sq: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample mean and its Monte Carlo standard error from a sum and a sum of squares."""
    mean = total / n
    var = np.maximum(total_sq / n - mean * mean, 0.0) * (n / max(n - 1, 1))
    return mean, np.sqrt(var / n)


def max_standard_error(acc: Accumulator) -> float:
    """Largest Monte Carlo standard error of any reported probability or expected loss."""
    n = acc.n
    if n < 2:
        return float("inf")
    counts = [
        acc.org_meet,
        acc.system_meet,
        acc.org_any_lost,
        acc.system_all_lost,
        acc.system_any_lost,
    ]
    worst = max(float(proportion_se(c, n).max(initial=0.0)) for c in counts)
    for total, total_sq in (
        (acc.org_lost_sum, acc.org_lost_sumsq),
        (acc.system_lost_sum, acc.system_lost_sumsq),
        (acc.national_lost_sum, acc.national_lost_sumsq),
    ):
        worst = max(worst, float(mean_and_se(total, total_sq, n)[1].max(initial=0.0)))
    return worst


def proportion_se(count: ArrayOrFloat, n: int) -> ArrayOrFloat:
    """Standard error of a proportion estimated from ``count`` of ``n`` draws."""
    p = count / n
    return np.sqrt(p * (1.0 - p) / n)


def hist_quantile(hist: np.ndarray, cap: np.ndarray | float, q: float) -> np.ndarray:
    """The ``q`` quantile of losses from histograms on the last axis (upper bin edge).

    At most one bin width (``cap / bins``) above the exact quantile.
    """
    bins = hist.shape[-1] - 1
    counts = hist.cumsum(axis=-1)
    total = counts[..., -1:]
    # Smallest bin whose cumulative share reaches q (a tiny slack absorbs float rounding of q * n).
    k = (counts < q * total - 1e-9).sum(axis=-1)
    k = np.minimum(k, bins)
    return k * np.asarray(cap, dtype=np.float64) / bins


def hist_cvar(hist: np.ndarray, hist_sum: np.ndarray, q: float) -> np.ndarray:
    """Mean of the worst ``1 - q`` share of losses (CVaR / expected shortfall).

    Bins above the quantile bin are taken whole; the quantile bin contributes
    the needed fraction of its draws at its mean loss.
    """
    counts = hist.astype(np.float64)
    n = counts.sum(axis=-1, keepdims=True)
    tail = (1.0 - q) * n
    above = (
        np.flip(np.cumsum(np.flip(counts, -1), -1), -1) - counts
    )  # draws in strictly higher bins
    take = np.clip(tail - above, 0.0, counts)
    mean_in_bin = np.divide(hist_sum, counts, out=np.zeros_like(hist_sum), where=counts > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cvar = (take * mean_in_bin).sum(axis=-1) / tail[..., 0]
    return np.where(tail[..., 0] > 0, cvar, 0.0)


# --- decision statistics: paired differences from a baseline option ----------------------

#: Losses summed per histogram bin for attribution and CVaR are kept as integers: each draw's
#: loss in units of ``1 / FIXED_POINT`` of the organisation's funding at stake, rounded. Integer
#: sums do not depend on the order of addition, so they are kept per thread (not per block)
#: and are identical for any number of threads; the rounding is at most 2^-33 of the
#: allocation per draw.
FIXED_POINT = 2.0**32

#: Headline thresholds of a system's loss in a year: more than £1m, and more than 10% of its
#: funding at stake (``SYSTEM_LOSS_THRESHOLDS`` order in ``system_over``).
SYSTEM_LOSS_ABS = 1.0
SYSTEM_LOSS_SHARE = 0.1


def fixed_point_loss(lost: np.ndarray, funding: np.ndarray | float) -> np.ndarray:
    """Losses as integers in units of ``1 / FIXED_POINT`` of the funding at stake (0 where none is)."""
    funding = np.asarray(funding, dtype=np.float64)
    safe = np.where(funding > 0.0, funding, 1.0)
    return np.floor(lost / safe * FIXED_POINT + 0.5).astype(np.int64)


def system_over(lost: np.ndarray, funding: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Whether a system's loss exceeds £1m, and 10% of its funding at stake (the headline tests)."""
    return lost > SYSTEM_LOSS_ABS, lost > SYSTEM_LOSS_SHARE * np.asarray(funding, dtype=np.float64)


@dataclass
class PairedStats(BlockSums):
    """Decision statistics of a run: per-draw comparisons of every option with a baseline.

    Every option is applied to the same draws, so the difference between two options is a
    per-draw difference; its standard error comes from the sums and cross-products kept here,
    not from two independent runs. K schemes, N organisations, S systems, B bins.

    *Income* is PSF/CSF paid plus the year-end bonus (rule 8) the organisation would receive
    if its own system signed the option and every other system stayed with the baseline (so
    one system's choice cannot move another's bonus); without a bonus it equals funding paid.
    Incentive PSF does not depend on the option and is left out of every difference.
    """

    draws: np.ndarray  # int64 scalar
    org_diff_paid_sum: np.ndarray  # (K, N) paid_k - paid_baseline
    org_diff_paid_sumsq: np.ndarray  # (K, N)
    org_income_sum: np.ndarray  # (K, N) paid + bonus with the other systems at the baseline
    org_diff_income_sum: np.ndarray  # (K, N) income_k - income_baseline
    org_diff_income_sumsq: np.ndarray  # (K, N)
    org_ae_paid_sum: np.ndarray  # (K, N) the A&E element paid (the rest of paid is finance)
    org_hist_sum: np.ndarray  # (K, N, B + 1) int64 fixed point: losses per own loss bin (CVaR)
    system_paid_sum: np.ndarray  # (K, S)
    system_paid_cross: np.ndarray  # (K, K, S) sum of paid_a * paid_b
    system_income_sum: np.ndarray  # (K, S)
    system_income_cross: np.ndarray  # (K, K, S)
    system_over: np.ndarray  # (K, S, 2) int64: loss > £1m, loss > 10% of funding at stake
    system_over_only: np.ndarray  # (K, S, 2, 2) int64: [..., 0] option only, [..., 1] baseline only
    national_paid_cross: np.ndarray  # (K, K)
    member_lost_by_system_bin: np.ndarray  # (K, N, B + 1) int64 fixed point, per system loss bin
    org_miss_system_miss: np.ndarray  # (N,) int64 organisation and its system both miss
    org_pivotal: np.ndarray  # (N,) int64 system misses, would meet without this member's shortfall

    @classmethod
    def zeros(
        cls, n_schemes: int, n_orgs: int, n_systems: int, bins: int = HIST_BINS
    ) -> PairedStats:
        k, n, s, b = n_schemes, n_orgs, n_systems, bins + 1
        f, i = np.float64, np.int64
        return cls(
            draws=np.zeros((), i),
            org_diff_paid_sum=np.zeros((k, n), f),
            org_diff_paid_sumsq=np.zeros((k, n), f),
            org_income_sum=np.zeros((k, n), f),
            org_diff_income_sum=np.zeros((k, n), f),
            org_diff_income_sumsq=np.zeros((k, n), f),
            org_ae_paid_sum=np.zeros((k, n), f),
            org_hist_sum=np.zeros((k, n, b), i),
            system_paid_sum=np.zeros((k, s), f),
            system_paid_cross=np.zeros((k, k, s), f),
            system_income_sum=np.zeros((k, s), f),
            system_income_cross=np.zeros((k, k, s), f),
            system_over=np.zeros((k, s, 2), i),
            system_over_only=np.zeros((k, s, 2, 2), i),
            national_paid_cross=np.zeros((k, k), f),
            member_lost_by_system_bin=np.zeros((k, n, b), i),
            org_miss_system_miss=np.zeros(n, i),
            org_pivotal=np.zeros(n, i),
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """All statistics by name (for comparing runs)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}
