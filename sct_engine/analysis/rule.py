"""The decision rule: when a member counts as worse off, and which options a system may sign.

Pure functions on the statistics of a run (no simulation here); ``decision.py`` applies them
and extends unresolved comparisons with more draws. The rule, in words (docs/decisions.md):

1. *Materiality*. A member is worse off under an option only if its expected income is lower
   than under the baseline by more than a threshold: by default the larger of £0.01m and 0.1%
   of its allocation (``DecisionRule.materiality`` sets one amount for everyone).
2. *Three verdicts* from the 95% paired confidence interval of the difference: **materially
   worse** (the whole interval below minus the threshold), **not materially worse** (the whole
   interval above it), or **unresolved** (it straddles the threshold). Unresolved comparisons
   get more draws, in whole waves, up to a cap; what stays unresolved is *too close to call*.
3. *Tail*. The same three verdicts on the member's 1-in-20-year loss (p95): its 95%
   order-statistic interval under the option against the baseline's.
4. *Risk appetite*. A member that states one (``risk_appetite``, £m) finds an option
   unacceptable when its 1-in-20-year loss under it exceeds that amount (the same interval
   as the tail, against a fixed limit) and is not lower than under the baseline by more than
   its materiality (resolved on the paired comparison of the two p95s, as the tail is; an
   option that leaves the member's funding unchanged in every draw is exactly as high). An
   option that lowers it by more than that is not held against the appetite (the report
   says the appetite is still breached). The baseline stays allowed, and the report says
   when even the baseline breaches it.
5. *Like for like*. An option that changes a national rule (today: the A&E gateway switched
   off while the national rule has one) is shown but never recommended.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sct_engine.analysis.paired import Z95
from sct_engine.engine.model import Model
from sct_engine.engine.stats import hist_quantile
from sct_engine.rules import effective_ae_gateway

#: Default materiality: the larger of this amount (£m) ...
MATERIALITY_FLOOR = 0.01
#: ... and this share of the member's allocation.
MATERIALITY_SHARE = 0.001

#: Default cap on the draws behind any verdict (the run's own draws if larger).
DEFAULT_MAX_DRAWS = 4_000_000

#: Tail level of the "5% worst case".
TAIL_LEVEL = 0.95

#: Verdicts of one comparison (member, option) against the baseline.
WORSE = "materially worse"
NOT_WORSE = "not materially worse"
UNRESOLVED = "too close to call"

#: Verdicts of the option's 1-in-20-year loss against the baseline's, for the risk appetite.
LOWER = "materially lower"
NOT_LOWER = "not materially lower"

#: Why an option that changes a national rule is never recommended.
NATIONAL_RULE_NOTE = "changes national rules"


@dataclass(frozen=True)
class DecisionRule:
    """The settings of the decision rule (see the module docstring)."""

    materiality: float | None = None  # £m for every member; None: max(£0.01m, 0.1% of allocation)
    tail: bool = True  # the member's 1-in-20-year loss is part of the rule
    max_draws: int = DEFAULT_MAX_DRAWS  # most draws behind any verdict

    def threshold(self, allocation: np.ndarray) -> np.ndarray:
        """Materiality per member (£m): how much worse counts as worse."""
        allocation = np.asarray(allocation, dtype=np.float64)
        if self.materiality is not None:
            return np.full(allocation.shape, float(self.materiality))
        return np.maximum(MATERIALITY_FLOOR, MATERIALITY_SHARE * allocation)

    def describe(self) -> str:
        """The materiality in words."""
        if self.materiality is not None:
            return f"£{self.materiality:g}m"
        return (
            f"the larger of £{MATERIALITY_FLOOR:g}m and {MATERIALITY_SHARE:.1%} of its allocation"
        )


def expectation_verdict(diff: np.ndarray, se: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Verdict of each paired difference ``option - baseline`` (mean ``diff``, standard error ``se``).

    Materially worse when the 95% interval lies wholly below ``-threshold``; not materially
    worse when it lies wholly at or above it; unresolved when it straddles it.
    """
    low, high = diff - Z95 * se, diff + Z95 * se
    return np.where(high < -threshold, WORSE, np.where(low >= -threshold, NOT_WORSE, UNRESOLVED))


def quantile_interval(
    hist: np.ndarray, cap: np.ndarray | float, n: int, q: float = TAIL_LEVEL
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``q`` quantile of losses read from histograms (last axis) and its 95% interval.

    The interval is distribution-free: the order statistics of ranks
    ``n q -+ 1.96 sqrt(n q (1 - q))``, read at the histogram's resolution (bin upper edges).
    """
    half = Z95 * np.sqrt(q * (1.0 - q) / max(n, 1))
    return (
        hist_quantile(hist, cap, q),
        hist_quantile(hist, cap, max(q - half, 0.0)),
        hist_quantile(hist, cap, min(q + half, 1.0)),
    )


def tail_verdict(
    option: tuple[np.ndarray, np.ndarray],
    baseline: tuple[np.ndarray, np.ndarray],
    threshold: np.ndarray,
    cap: np.ndarray,
) -> np.ndarray:
    """Verdict on the 1-in-20-year loss from two quantile intervals ``(low, high)``.

    Materially worse when the option's lowest plausible p95 exceeds the baseline's highest by
    more than ``threshold``; not materially worse when the option's highest exceeds the
    baseline's lowest by at most ``threshold``; else unresolved. Both are read at the same
    histogram resolution (0.1% of the allocation, at most the default materiality).
    """
    (low_k, high_k), (low_b, high_b) = option, baseline
    slack = 1e-9 * (1.0 + np.asarray(cap, dtype=np.float64))
    worse = low_k - high_b > threshold + slack
    fine = high_k - low_b <= threshold + slack
    return np.where(worse, WORSE, np.where(fine, NOT_WORSE, UNRESOLVED))


def lower_verdict(
    option: tuple[np.ndarray, np.ndarray],
    baseline: tuple[np.ndarray, np.ndarray],
    threshold: np.ndarray,
    cap: np.ndarray,
    untouched: np.ndarray | None = None,
) -> np.ndarray:
    """Whether an option lowers a member's 1-in-20-year loss below the baseline's by more than
    ``threshold`` (its materiality), from the two quantile intervals ``(low, high)``.

    The tail comparison with the roles swapped (:func:`tail_verdict`): ``LOWER`` when the
    baseline's lowest plausible p95 exceeds the option's highest by more than ``threshold``;
    ``NOT_LOWER`` when it exceeds the option's lowest by at most ``threshold``; else
    ``UNRESOLVED``. Where ``untouched`` (the member's funding the same under both in every
    draw, so the same p95 exactly), ``NOT_LOWER`` whatever the intervals: two separate
    intervals of one quantity overlap at any number of draws.
    """
    swapped = tail_verdict(baseline, option, threshold, cap)
    verdict = np.where(
        swapped == WORSE, LOWER, np.where(swapped == NOT_WORSE, NOT_LOWER, UNRESOLVED)
    )
    if untouched is not None:
        verdict = np.where(untouched, NOT_LOWER, verdict)
    return verdict


def appetite_verdict(
    interval: tuple[np.ndarray, np.ndarray],
    appetite: np.ndarray | None,
    cap: np.ndarray,
    lower: np.ndarray | None = None,
) -> np.ndarray:
    """Verdict on a member's risk appetite from its 1-in-20-year loss interval ``(low, high)``.

    ``appetite`` (£m, NaN where none is stated) is the most it can bear in a 1-in-20 year.
    Over its appetite (``WORSE``) when even the lowest plausible p95 exceeds it; within it
    (``NOT_WORSE``) when the highest plausible p95 does not; else unresolved. No appetite
    stated: within it. With ``lower``, the option's p95 against the baseline's
    (:func:`lower_verdict`): an option that lowers it by more than the materiality is not held
    against the appetite (the baseline cannot be refused, so an option better on the very
    criterion must not lose to it): ``NOT_WORSE``; one resolved as not materially lower keeps
    its verdict; an over-appetite verdict becomes unresolved while ``lower`` is.
    """
    low, high = interval
    if appetite is None:
        return np.full(np.shape(low), NOT_WORSE)
    appetite = np.asarray(appetite, dtype=np.float64)
    stated = np.isfinite(appetite)
    limit = np.where(stated, appetite, np.inf)
    slack = 1e-9 * (1.0 + np.asarray(cap, dtype=np.float64))
    over = stated & (low > limit + slack)
    within = ~stated | (high <= limit + slack)
    verdict = np.where(over, WORSE, np.where(within, NOT_WORSE, UNRESOLVED))
    if lower is None:
        return verdict
    verdict = np.where(lower == LOWER, NOT_WORSE, verdict)
    return np.where((verdict == WORSE) & (lower == UNRESOLVED), UNRESOLVED, verdict)


def combine(expectation: np.ndarray, tail: np.ndarray | None) -> np.ndarray:
    """One verdict from the expectation's and (if the rule has it) the tail's: worse if either
    is worse, else unresolved if either is, else not worse."""
    if tail is None:
        return expectation
    worse = (expectation == WORSE) | (tail == WORSE)
    open_ = (expectation == UNRESOLVED) | (tail == UNRESOLVED)
    return np.where(worse, WORSE, np.where(open_, UNRESOLVED, NOT_WORSE))


def changes_national_rules(model: Model) -> np.ndarray:
    """Per option, whether it changes a rule no system can choose (so it is never recommended).

    Today the one such rule an option can carry is the A&E gateway (rule 1): the national
    reading is ``regime.ae_gateway``; an option whose effective gateway
    (``rules.effective_ae_gateway``) differs from it changes a national rule.
    """
    national = model.ae_gateway
    return np.array(
        [
            effective_ae_gateway(national, bool(flag)) != national
            for flag in model.schemes.ae_gateway
        ],
        dtype=bool,
    )


__all__ = [
    "DEFAULT_MAX_DRAWS",
    "LOWER",
    "MATERIALITY_FLOOR",
    "MATERIALITY_SHARE",
    "NATIONAL_RULE_NOTE",
    "NOT_LOWER",
    "NOT_WORSE",
    "TAIL_LEVEL",
    "UNRESOLVED",
    "WORSE",
    "DecisionRule",
    "appetite_verdict",
    "changes_national_rules",
    "combine",
    "expectation_verdict",
    "lower_verdict",
    "quantile_interval",
    "tail_verdict",
]
