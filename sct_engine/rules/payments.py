"""The 2018/19 payment rules as pure functions: elements, tests, finance and A&E paid, quarters.

Rule numbers refer to the 2018/19 scheme rules. Every function here is pure:
arrays in, arrays out, no state; the numpy reference simulator calls them, and
the kernel's quarterly tables are built from them.
"""

from __future__ import annotations

import numpy as np

from sct_engine.rules.options import AeGateway

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


# --- rule 1: the A&E gateway ------------------------------------------------------------

#: Gate codes (rule 1): which of a period's tests opens the A&E element. Bit 0: the
#: organisation's own finance test after redistribution; bit 1: the option's system test.
#: ``AE_GATE_NONE`` (no bit) means no gateway: A&E is paid on performance alone.
AE_GATE_NONE = 0
AE_GATE_OWN = 1
AE_GATE_SYSTEM = 2
AE_GATE_EITHER = AE_GATE_OWN | AE_GATE_SYSTEM


def ae_gate_code(gateway: AeGateway, system_linked_share: float) -> int:
    """Which tests open the A&E element under an option with ``system_linked_share = s``.

    ``own_test``: the organisation's own finance test after redistribution, whatever ``s``.
    ``finance_earned``: any part of the finance element earned that period, i.e. the own
    test when ``s < 1`` or the option's system test when ``s > 0`` (so the own test alone
    at ``s = 0`` and the system test alone under ``all_or_nothing``). ``none``: always open.
    """
    if gateway == "none":
        return AE_GATE_NONE
    if gateway == "own_test":
        return AE_GATE_OWN
    code = AE_GATE_NONE
    if system_linked_share < 1.0:
        code |= AE_GATE_OWN
    if system_linked_share > 0.0:
        code |= AE_GATE_SYSTEM
    return code


def ae_gate_open(gate: int, org_passes: np.ndarray, system_passes: np.ndarray) -> np.ndarray:
    """Periods in which the gateway lets the A&E element through (``gate`` from :func:`ae_gate_code`)."""
    org_passes = np.asarray(org_passes, dtype=np.bool_)
    if gate == AE_GATE_NONE:
        return np.ones_like(org_passes)
    opened = np.zeros_like(org_passes)
    if gate & AE_GATE_OWN:
        opened = opened | org_passes
    if gate & AE_GATE_SYSTEM:
        opened = opened | np.asarray(system_passes, dtype=np.bool_)
    return opened


def ae_paid(
    ae: np.ndarray,
    ae_earned: np.ndarray,
    org_passes: np.ndarray,
    system_passes: np.ndarray,
    gate: int,
) -> np.ndarray:
    """A&E element paid: earned on performance and, behind the gateway, only in a period the
    gate opens (rule 1)."""
    return ae * (ae_earned & ae_gate_open(gate, org_passes, system_passes))


# --- rule 6: quarterly payments -------------------------------------------------------

#: Rule 6: weight of each quarter's year-to-date test, Q1..Q4, in whole percent. Shares are
#: computed in percent and divided by 100 once, so every pattern of passes pays an exactly
#: rounded share: four passes pay exactly 1.0 and none exactly 0.0 (0.15 + 0.2 + 0.3 + 0.35
#: is not 1.0 in floating point).
QUARTER_WEIGHT_PERCENT = np.array([15, 20, 30, 35], dtype=np.int64)

#: Rule 6: weight of each quarter's year-to-date test, Q1..Q4 (15/20/30/35%).
QUARTER_WEIGHTS = QUARTER_WEIGHT_PERCENT / 100.0


def _quarter_percent(
    passes: np.ndarray,
    recovery: bool | np.ndarray,
    weight_percent: np.ndarray = QUARTER_WEIGHT_PERCENT,
) -> np.ndarray:
    """Percent of an element paid in each quarter (see :func:`quarterly_instalments`)."""
    passes = np.asarray(passes, dtype=np.bool_)
    weight = np.asarray(weight_percent)
    percent = weight * passes
    missed = (weight[..., :3] * ~passes[..., :3]).sum(axis=-1)
    percent[..., 3] += missed * (passes[..., 3] & np.asarray(recovery, dtype=np.bool_))
    return percent


def quarterly_instalments(
    passes: np.ndarray,
    recovery: bool | np.ndarray,
    weight_percent: np.ndarray = QUARTER_WEIGHT_PERCENT,
) -> np.ndarray:
    """Share of an element paid in each quarter (rule 6); the last axis of ``passes`` is Q1..Q4.

    A quarter whose year-to-date test passes pays its weight (``weight_percent``, in
    percent: PSF's 15/20/30/35 by default, a commissioner's ``csf_quarter_weights``). With
    ``recovery`` a year-end (Q4) pass also pays, in Q4, the weights of the quarters missed
    before, so an organisation that ends the year on plan receives its whole element
    whatever happened in between; without it, money missed in a quarter is lost.
    ``recovery`` and ``weight_percent`` may be per organisation (``(N,)`` and ``(N, 4)``,
    broadcast against ``passes`` of shape ``(..., N, 4)``).
    """
    return _quarter_percent(passes, recovery, weight_percent) / 100.0


def quarterly_share(
    passes: np.ndarray,
    recovery: bool | np.ndarray,
    weight_percent: np.ndarray = QUARTER_WEIGHT_PERCENT,
) -> np.ndarray:
    """Share of an element paid over the year: ``sum_q w_q pass_q``, or exactly 1 when
    ``recovery`` and the year-end test passes (the instalments summed in percent; exact
    for weights in whole percent)."""
    return _quarter_percent(passes, recovery, weight_percent).sum(axis=-1) / 100.0


# --- rule 8: year-end bonus -------------------------------------------------------------


def bonus_paid(
    finance: np.ndarray,
    finance_paid: np.ndarray,
    funding: np.ndarray,
    passes: np.ndarray,
    eligible: np.ndarray,
    bonus_share: float,
) -> np.ndarray:
    """Rule 8: the finance funding left unearned by ``eligible`` organisations (trusts), times
    ``bonus_share``, paid at year end to the eligible ones that ``passes`` (met their control
    total after redistribution), pro rata to their allocations ``funding``.

    Arrays are ``(..., N)`` over organisations; nothing is paid where no eligible
    organisation passed. Unearned money of the others (CSF) stays out of the pool.
    """
    pool = bonus_share * ((finance - finance_paid) * eligible).sum(axis=-1)
    recipients = funding * (passes & eligible)
    weight = recipients.sum(axis=-1)
    ratio = np.divide(pool, weight, out=np.zeros_like(pool), where=weight > 0)
    return ratio[..., None] * recipients
