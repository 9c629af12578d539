"""The 2018/19 payment rules as pure functions: elements, tests, finance and A&E paid, quarters.

Rule numbers refer to the 2018/19 scheme rules. Every function here is pure:
arrays in, arrays out, no state; the numpy reference simulator calls them, and
the kernel's quarterly tables are built from them.
"""

from __future__ import annotations

import numpy as np

# --- rule 1: elements -------------------------------------------------------------


def finance_element(funding: np.ndarray, ae_fraction: np.ndarray) -> np.ndarray:
    """Part of the allocation earned on the finance test: ``(1 - ae_share) * F``."""
    return funding * (1.0 - ae_fraction)


def ae_element(funding: np.ndarray, ae_fraction: np.ndarray) -> np.ndarray:
    """Part of the allocation earned on A&E performance: ``ae_share * F``."""
    return funding * ae_fraction


# --- rules 2 and 3: tests ----------------------------------------------------------


def meets_control_total(outturn: np.ndarray, control_total: np.ndarray) -> np.ndarray:
    """Organisation test: outturn (before funding) at or above the control total."""
    return outturn >= control_total


def system_meets(
    system_outturn: np.ndarray, system_control_total: float | np.ndarray
) -> np.ndarray:
    """System test: the members' summed outturn at or above the system control total."""
    return system_outturn >= system_control_total


# --- rule 4: finance element paid ---------------------------------------------------


def finance_paid(
    finance: np.ndarray,
    system_linked_share: float,
    org_passes: np.ndarray,
    system_passes: np.ndarray,
) -> np.ndarray:
    """``(1 - s) * fin * org_pass + s * fin * system_pass`` (rule 4)."""
    return finance * (
        (1.0 - system_linked_share) * org_passes + system_linked_share * system_passes
    )


def ae_paid(
    ae: np.ndarray, ae_earned: np.ndarray, org_passes: np.ndarray, gateway: bool
) -> np.ndarray:
    """A&E element paid: earned on performance and, behind the gateway, only with the finance test passed."""
    if gateway:
        return ae * (ae_earned & org_passes)
    return ae * ae_earned


# --- rule 6: quarterly payments -------------------------------------------------------

#: Rule 6: weight of each quarter's year-to-date test, Q1..Q4, in whole percent. Shares are
#: computed in percent and divided by 100 once, so every pattern of passes pays an exactly
#: rounded share: four passes pay exactly 1.0 and none exactly 0.0 (0.15 + 0.2 + 0.3 + 0.35
#: is not 1.0 in floating point).
QUARTER_WEIGHT_PERCENT = np.array([15, 20, 30, 35], dtype=np.int64)

#: Rule 6: weight of each quarter's year-to-date test, Q1..Q4 (15/20/30/35%).
QUARTER_WEIGHTS = QUARTER_WEIGHT_PERCENT / 100.0


def _quarter_percent(passes: np.ndarray, recovery: bool) -> np.ndarray:
    """Whole percent of an element paid in each quarter (see :func:`quarterly_instalments`)."""
    passes = np.asarray(passes, dtype=np.bool_)
    percent = QUARTER_WEIGHT_PERCENT * passes
    if recovery:
        missed = (QUARTER_WEIGHT_PERCENT[:3] * ~passes[..., :3]).sum(axis=-1)
        percent[..., 3] += missed * passes[..., 3]
    return percent


def quarterly_instalments(passes: np.ndarray, recovery: bool) -> np.ndarray:
    """Share of an element paid in each quarter (rule 6); the last axis of ``passes`` is Q1..Q4.

    A quarter whose year-to-date test passes pays its weight. With ``recovery`` a
    year-end (Q4) pass also pays, in Q4, the weights of the quarters missed before,
    so an organisation that ends the year on plan receives its whole element
    whatever happened in between; without it, money missed in a quarter is lost.
    """
    return _quarter_percent(passes, recovery) / 100.0


def quarterly_share(passes: np.ndarray, recovery: bool) -> np.ndarray:
    """Share of an element paid over the year: ``sum_q w_q pass_q``, or exactly 1 when
    ``recovery`` and the year-end test passes (the instalments summed, in whole percent)."""
    return _quarter_percent(passes, recovery).sum(axis=-1) / 100.0
