"""The kernel's arguments as named structures: one per kind of input or output, both passes.

:mod:`.loops` takes a dozen of these instead of fifty positional arrays, and the
driver builds each by keyword, so two arrays of the same shape cannot swap places
unnoticed. numba compiles a ``NamedTuple`` as a tuple whose fields it reads by name;
the loops unpack them once per wave, outside the parallel loop.

Periods: the year-end pass is the one-period case of the quarterly pass. Its
arrays carry a leading period axis of length 1 (year end) or 4 (each quarter's
year to date), and drawing, events, lever positions, the tests and the cover are
the same code for both (``loops._draw_paths`` and the helpers after it); only the
scoring differs (outcome codes per class at year end, pattern tables per quarter).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class Streams(NamedTuple):
    """One wave's random streams (numba typed lists of generators, one per block), each
    block's number of draws, and with Sobol' sampling the common factors of every draw
    ``(blocks, draws, P, 1 + S)``: national then one per system, per period
    (``uncertainty.sobol_common_factors``),
    read instead of the shock stream's; no elements with pseudo-random sampling."""

    shocks: Any
    ae: Any
    tail_occurs: Any
    tail_size: Any
    block_n: np.ndarray
    common: np.ndarray


class Shocks(NamedTuple):
    """The factor model and the year-end events, as the loops read them.

    ``distribution``: ``(code, dof, t_scale, delta, root, mean, scale)``; ``dependence``:
    ``(sqrt(national_share), system_loading, own_loading, correlated, correlation_root)``;
    ``events``: ``(has_tails, turnover, tail_probability, tail_log_median, tail_sigma,
    mitigation)``.
    """

    distribution: tuple
    dependence: tuple
    events: tuple


class Periods(NamedTuple):
    """The tested periods, period first: ``(P, N)`` for members, ``(P, S)`` for systems.

    ``P`` is 1 at year end (the plan, sd and control totals themselves) or 4 in quarterly
    mode (year-to-date plan and control totals, each quarter's increment sd).
    ``control_total`` is the year-end one ``(N,)``, which the events' management actions
    aim at.
    """

    plan: np.ndarray
    sd: np.ndarray
    period_control_total: np.ndarray
    system_control_total: np.ndarray
    slack: np.ndarray
    control_total: np.ndarray


class Members(NamedTuple):
    """Per organisation ``(N,)``: finance and A&E elements, A&E probability per period
    ``(P, N)`` (``Model.period_p_ae``: 1 or 0 in a closed quarter of an in-year re-forecast),
    funding at stake, home system, providers; and the systems' first members ``(S + 1,)``."""

    finance: np.ndarray
    ae: np.ndarray
    p_ae: np.ndarray
    funding: np.ndarray
    org_system: np.ndarray
    system_start: np.ndarray
    is_provider: np.ndarray


class Money(NamedTuple):
    """Funding and finance at stake per system ``(S,)``, nationally, histogram bins, bonus."""

    system_funding: np.ndarray
    system_finance: np.ndarray
    national_funding: float
    bins: int
    bonus: bool
    bonus_share: float


class Groups(NamedTuple):
    """Redistribution groups (schemes sharing redistribution and share cap): mode and cap."""

    mode: np.ndarray
    cap: np.ndarray


class Levers(NamedTuple):
    """Lever positions (``tables.lever_tables``): member (-1: none), plan ``(L, P)``, mitigation."""

    member: np.ndarray
    plan: np.ndarray
    mitigation: np.ndarray


class YearEndTables(NamedTuple):
    """Year end: outcome classes (``tables.outcome_classes`` / ``class_loss_bits``), each
    scheme's linked share, and funding paid, lost and unearned by outcome code ``(K, N, 8)``."""

    class_group: np.ndarray
    class_test: np.ndarray
    class_gate: np.ndarray
    class_start: np.ndarray
    class_schemes: np.ndarray
    scheme_class: np.ndarray
    share: np.ndarray
    lossy: np.ndarray
    paid: np.ndarray
    lost: np.ndarray
    unearned: np.ndarray


class QuarterlyTables(NamedTuple):
    """Quarterly: each scheme's group, system test, A&E gate and linked share, and the rule 6
    payment tables of ``tables.quarterly_tables``."""

    scheme_group: np.ndarray
    scheme_test: np.ndarray
    scheme_gate: np.ndarray
    share: np.ndarray
    share_table: np.ndarray
    instalment_table: np.ndarray
    ae_share_table: np.ndarray
    ae_instalment_table: np.ndarray


class SystemStats(NamedTuple):
    """System and national loss statistics: float sums per block, counts per thread."""

    system_lost_sum: np.ndarray
    system_lost_sumsq: np.ndarray
    system_hist_sum: np.ndarray
    national_lost_sum: np.ndarray
    national_lost_sumsq: np.ndarray
    national_hist_sum: np.ndarray
    system_hist: np.ndarray
    national_hist: np.ndarray
    system_any_lost: np.ndarray
    system_all_lost: np.ndarray


class MemberStats(NamedTuple):
    """Organisation statistics (``Accumulator`` fields): float sums per block, counts per
    thread. At year end ``org_code`` counts outcome codes per class (the others are read
    off them) and the quarterly-only fields have no elements."""

    org_outturn_sum: np.ndarray
    org_bonus_sum: np.ndarray
    org_bonus_sumsq: np.ndarray
    org_meet: np.ndarray
    system_meet: np.ndarray
    system_test_pass: np.ndarray
    org_code: np.ndarray
    org_paid_sum: np.ndarray
    org_lost_sum: np.ndarray
    org_lost_sumsq: np.ndarray
    org_paid_quarter_sum: np.ndarray
    org_pass: np.ndarray
    org_any_lost: np.ndarray
    org_hist: np.ndarray


class Decision(NamedTuple):
    """Decision statistics against scheme ``baseline`` (-1: traces only) when ``on``: float
    sums per block, integer counts per thread (``driver.DECISION_FLOATS`` /
    ``DECISION_INTS``), contagion counts, and per-draw traces ``(row0, paid, passed,
    system lost, outturn)`` when their arrays have rows."""

    on: bool
    baseline: int
    floats: tuple
    ints: tuple
    miss_miss: np.ndarray
    pivotal: np.ndarray
    trace: tuple


__all__ = [
    "Decision",
    "Groups",
    "Levers",
    "MemberStats",
    "Members",
    "Money",
    "Periods",
    "QuarterlyTables",
    "Shocks",
    "Streams",
    "SystemStats",
    "YearEndTables",
]
