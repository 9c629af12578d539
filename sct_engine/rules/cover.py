"""Rule 4, redistribution: the knapsack cover of members' shortfalls from surplus headroom.

Every function here is pure: arrays in, arrays out, no state. The numpy
reference simulator calls them as plain Python; the knapsack functions are also
marked ``register_jitable`` (written in the subset of Python numba accepts), so
the numba kernel compiles the very same code and the rule lives in exactly one
place. (An edit here changes the kernel's cache folder: see
``sct_engine.engine.kernel.cache``.)
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

from sct_engine.rules.options import REDISTRIBUTION_CODES

#: Above this many members to cover in one draw, the exact branch and bound is
#: replaced by the ratio greedy (see ``cover_shortfalls``).
EXACT_COVER_LIMIT = 30

#: Relative slack on the headroom when shortfalls are fitted into it: float rounding of
#: the search's running room never refuses a set whose shortfalls sum to the headroom.
ROUNDING_SLACK = 1e-12


# --- rule 4: redistribution (knapsack cover of shortfalls) -------------------------


@register_jitable
def _better(value: float, weight: float, best_value: float, best_weight: float, tol: float) -> bool:
    """More funding covered, or the same funding using less headroom."""
    if value > best_value + tol:
        return True
    return value >= best_value - tol and weight < best_weight


@register_jitable
def cover_shortfalls(finance: np.ndarray, shortfall: np.ndarray, headroom: float) -> np.ndarray:
    """Choose which failing members the system's headroom covers.

    Solves the 0/1 knapsack ``max sum finance[i]`` over subsets with
    ``sum shortfall[i] <= headroom`` (up to a relative ``ROUNDING_SLACK``); among subsets paying the same funding
    (within 1e-9 relative) the one using least headroom wins, so the choice is
    unique for continuous shortfalls. Exact branch and bound (items in order of
    funding per £ of shortfall, Horowitz-Sahni forward moves, Martello-Toth
    upper bound) up to ``EXACT_COVER_LIMIT`` items; beyond that the ratio greedy,
    whose gap is measured in ``tests/unit/rules/test_cover.py``. Members with no
    finance element at stake are covered only when every shortfall fits (otherwise
    they would only use headroom).

    Parameters
    ----------
    finance : finance element at stake for each failing member (>= 0).
    shortfall : amount each member is below its control total (> 0).
    headroom : surplus available to cover shortfalls (>= 0).

    Returns
    -------
    Boolean mask over the members: True where the shortfall is covered.
    """
    n = finance.shape[0]
    covered = np.empty(n, dtype=np.bool_)
    cover_shortfalls_into(
        finance,
        shortfall,
        headroom,
        covered,
        np.empty(n, dtype=np.int64),
        np.empty((2, n)),
        np.empty((2, n), dtype=np.bool_),
    )
    return covered


@register_jitable
def cover_shortfalls_into(
    finance: np.ndarray,
    shortfall: np.ndarray,
    headroom: float,
    covered: np.ndarray,
    order: np.ndarray,
    values: np.ndarray,
    takes: np.ndarray,
) -> None:
    """:func:`cover_shortfalls` writing into ``covered``, with caller-owned scratch.

    The kernel calls this once per failing system, option group and draw, so it
    passes buffers sized for the largest system (``order``: int64 ``(>= n,)``;
    ``values``: float ``(2, >= n)``; ``takes``: bool ``(2, >= n)``) instead of
    allocating seven small arrays each time. Same arithmetic, same answer.
    """
    n = finance.shape[0]
    covered[:n] = False
    if n == 0 or headroom <= 0.0:
        return
    # The search subtracts shortfalls from the room left, in its own order, so a set whose
    # shortfalls sum to exactly the headroom could be refused by a unit in the last place:
    # shortfalls are compared with the headroom up to a relative ROUNDING_SLACK.
    headroom = headroom * (1.0 + ROUNDING_SLACK)
    total_weight = 0.0
    total_value = 0.0
    smallest = shortfall[0]
    for i in range(n):
        total_weight += shortfall[i]
        total_value += finance[i]
        smallest = min(smallest, shortfall[i])
    if total_weight <= headroom:
        covered[:n] = True
        return
    if smallest > headroom:
        return
    # Items in decreasing funding per pound of shortfall, stable so ties keep index order:
    # insertion sort (keys moved with the indices) for the small sets the exact search
    # takes, merge sort above that. A shortfall larger than the whole headroom can never
    # be covered, and a member with no finance at stake adds nothing but headroom used:
    # both are left out of the search (fewer items, tighter bounds; same optimum). Exact
    # search or greedy is decided on the failing members (n), as it always was; dropping
    # members changes neither answer.
    v = values[0, :n]
    w = values[1, :n]
    exact = n <= EXACT_COVER_LIMIT
    m = 0
    for k in range(n):
        if shortfall[k] <= headroom and finance[k] > 0.0:
            ratio_k = finance[k] / shortfall[k]
            j = m
            if exact:
                while j > 0 and v[j - 1] < ratio_k:
                    v[j] = v[j - 1]
                    order[j] = order[j - 1]
                    j -= 1
            v[j] = ratio_k
            order[j] = k
            m += 1
    if not exact:
        order[:m] = order[:m][np.argsort(-v[:m], kind="mergesort")]
    for k in range(m):
        v[k] = finance[order[k]]
        w[k] = shortfall[order[k]]
    tol = 1e-9 * (1.0 + total_value)
    take = takes[0, :m]
    take[:] = False
    if not exact:
        _greedy_cover(v[:m], w[:m], headroom, take)
    else:
        _branch_and_bound_cover(v[:m], w[:m], headroom, tol, take, takes[1, :m])
    for k in range(m):
        covered[order[k]] = take[k]


@register_jitable
def _greedy_cover(v: np.ndarray, w: np.ndarray, capacity: float, take: np.ndarray) -> None:
    """Ratio greedy, then the best single item if that alone pays more (a 1/2-approximation)."""
    n = v.shape[0]
    used = 0.0
    value = 0.0
    for k in range(n):
        if used + w[k] <= capacity:
            take[k] = True
            used += w[k]
            value += v[k]
    best_single = -1
    for k in range(n):
        if w[k] <= capacity and v[k] > value and (best_single < 0 or v[k] > v[best_single]):
            best_single = k
    if best_single >= 0:
        take[:] = False
        take[best_single] = True


@register_jitable
def _branch_and_bound_cover(
    v: np.ndarray,
    w: np.ndarray,
    capacity: float,
    tol: float,
    best_take: np.ndarray,
    take: np.ndarray,
) -> None:
    """Exact 0/1 knapsack by depth-first branch and bound, items sorted by ratio;
    ``take`` is scratch of the same length as ``best_take``.

    Horowitz-Sahni forward moves: from item ``j`` the run of items that fit is taken
    at once and the first item that does not fit (the critical item) is skipped, so
    the bound is computed once per run rather than once per item. The bound is
    Martello and Toth's U2, the better of skipping the critical item (the room
    filled at the next item's ratio) and forcing it in (the excess removed at the
    previous item's ratio); never above the fractional (Dantzig) bound, so it prunes
    at least as much. Invariant: ``take[j:]`` is all False.
    """
    n = v.shape[0]
    take[:] = False
    best_value = -1.0
    best_weight = np.inf
    value = 0.0
    weight = 0.0
    j = 0
    while True:
        if j < n:
            room = capacity - weight
            bound = value
            r = j
            while r < n and w[r] <= room:
                room -= w[r]
                bound += v[r]
                r += 1
            if r < n:
                skip = bound + (room * v[r + 1] / w[r + 1] if r + 1 < n else 0.0)
                if r > j:
                    bound = max(skip, bound + v[r] - (w[r] - room) * v[r - 1] / w[r - 1])
                else:
                    bound = skip
            if bound >= best_value - tol:
                for k in range(j, r):
                    take[k] = True
                    value += v[k]
                    weight += w[k]
                j = r + 1 if r < n else n
                continue
        elif _better(value, weight, best_value, best_weight, tol):
            best_value = value
            best_weight = weight
            best_take[:] = take
        # Backtrack: drop the deepest item taken and search on without it.
        k = j - 1
        while k >= 0 and not take[k]:
            k -= 1
        if k < 0:
            break
        take[k] = False
        value -= v[k]
        weight -= w[k]
        j = k + 1


def available_headroom(
    outturn: np.ndarray, control_total: np.ndarray, redistribution: int, share_cap: float
) -> np.ndarray:
    """What each member can give: its surplus over its control total, capped under ``capped``."""
    headroom = np.maximum(outturn - control_total, 0.0)
    if redistribution == REDISTRIBUTION_CODES["capped"]:
        return headroom * share_cap
    return headroom


def redistribute(
    outturn: np.ndarray,
    control_total: np.ndarray,
    finance: np.ndarray,
    redistribution: int,
    share_cap: float,
    system_passes: bool,
    slack: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Net-neutral variation of control totals within one system for one draw.

    Returns ``(passes, adjusted_control_total)``. The headroom that covers shortfalls
    is what the members can give (all their surplus under ``full``, ``share_cap`` of it
    under ``capped``) plus ``slack``: how far an explicit system control total is looser
    than the members' control totals summed (``max(0, sum CT - SCT)``), room that costs
    no member anything. A covered member's control total falls to its outturn; the slack
    is used first, then givers' totals rise pro rata to what they can give, so the
    members' totals never sum below the system control total. Under ``full`` a system
    that meets its total passes every member (rule 4), which is what the cover with the
    slack gives too; so ``capped`` with ``share_cap = 1`` is ``full``.
    """
    meets = outturn >= control_total
    adjusted = control_total.copy()
    if redistribution == REDISTRIBUTION_CODES["none"] or meets.all():
        return meets, adjusted
    give = available_headroom(outturn, control_total, redistribution, share_cap)
    failing = np.flatnonzero(~meets)
    shortfall = control_total[failing] - outturn[failing]
    total_give = float(give.sum())
    if redistribution == REDISTRIBUTION_CODES["full"] and system_passes:
        covered_mask = np.ones(failing.shape[0], dtype=np.bool_)
    else:
        covered_mask = cover_shortfalls(finance[failing], shortfall, total_give + slack)
    passes = meets.copy()
    covered = failing[covered_mask]
    passes[covered] = True
    adjusted[covered] = outturn[covered]
    need = float(shortfall[covered_mask].sum()) - slack
    if need > 0.0 and total_give > 0.0:
        # Givers' totals rise pro rata to what they can give, by what the slack left over
        # (never more than they can give: only rounding at the system test could ask more).
        moved = min(need, total_give)
        adjusted += np.where(meets, give * (moved / total_give), 0.0)
    return passes, adjusted
