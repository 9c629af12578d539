"""Solvers: the plan improvement or mitigation each member needs, and the largest linked share a system can take.

Each answer is found by bisection on common random numbers (the same draws at
every candidate level), so the pass probability moves only with the level, and
comes with its delta-method standard error. Every candidate is simulated on the
engine of ``sct run`` (the kernel by default), one system at a time for a member's
lever (``system_model``, drawn from the seed's block streams). A member's bisection
simulates the candidates of its next few steps together, as lever positions of one run
(drawn once), and then takes the very path one step at a time would take.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from sct_engine import rules
from sct_engine.analysis.submodels import (
    DEFAULT_DETAIL_DRAWS,
    default_baseline,
    organisation_indices,
    system_model,
    system_trace,
    with_schemes,
)
from sct_engine.engine.model import Lever, Model

#: Bisection steps whose candidate levels one run simulates together (``2**depth - 1`` levels).
BISECTION_DEPTH = 3

# --- shared by every solver ---------------------------------------------------------------


def _check_target(target: float) -> None:
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must be strictly between 0 and 1 (got {target})")


def _midpoints(low: float, high: float, tol: float, depth: int) -> list[float]:
    """Every level the next ``depth`` steps of bisection of ``[low, high]`` could try: the
    midpoints of the tree of halvings, computed as the steps compute them."""
    if depth == 0 or high - low <= tol:
        return []
    mid = 0.5 * (low + high)
    return [mid, *_midpoints(low, mid, tol, depth - 1), *_midpoints(mid, high, tol, depth - 1)]


def _bisect(
    probs: Callable[[list[float]], list[float]],
    target: float,
    low: float,
    high: float,
    tol: float,
    rising: bool,
    depth: int = 1,
) -> tuple[float, float]:
    """Narrow ``[low, high]`` to within ``tol`` around the level where the probability crosses ``target``.

    ``probs`` gives the probability at each of a list of levels; it is asked for the
    candidates of ``depth`` steps at once (``_midpoints``), and the steps then follow the
    same path as one level at a time. ``rising``: the probability reaches the target above
    the crossing (else below it).
    """
    while high - low > tol:
        levels = _midpoints(low, high, tol, depth)
        at = dict(zip(levels, probs(levels), strict=True))
        for _ in range(depth):
            if high - low <= tol:
                break
            mid = 0.5 * (low + high)
            if (at[mid] >= target) == rising:
                high = mid
            else:
                low = mid
    return low, high


def _delta_method_se(
    p_left: float, p_right: float, left: float, right: float, target: float, draws: int
) -> float:
    """Standard error of a level solved for ``prob == target``: the binomial SE over the
    probability's slope between ``left`` and ``right`` (``p_left``, ``p_right``)."""
    slope = (p_right - p_left) / (right - left)
    p_se = math.sqrt(target * (1 - target) / draws)
    return p_se / abs(slope) if slope != 0 else math.inf


# --- a member's lever: control-total buffer and mitigation -----------------------------------


class _PassThresholds:
    """Per draw, bounds on the lever level at which one member starts to pass its finance test.

    Passing is monotone in the member's own outturn under every rule (a better
    outturn can only meet its own test, add headroom, shrink its shortfall or
    lift the system), and a higher plan or more mitigation never lowers it, so
    each draw has a threshold level. ``hi``: passes at any level >= hi; ``lo``:
    fails at any level < lo (and at lo itself when it was evaluated as a
    failure). A candidate level is simulated only when some draw is still undecided there.
    """

    def __init__(
        self,
        sub: Model,
        member: int,
        lever: str,
        start: float,
        seed: int,
        draws: int,
        base_outturn: np.ndarray,
        base_pass: np.ndarray,
        engine: str = "kernel",
    ) -> None:
        # ``sub`` is the member's system alone, with the one option solved for.
        self.sub, self.member, self.lever, self.engine = sub, member, lever, engine
        self.seed, self.draws = seed, draws
        mode = int(sub.schemes.redistribution[0])
        # Level at which the member meets its own control total (exact for both levers). In
        # year (closed quarters k) a plan raised by b moves the year end by b (1 - P_k).
        moves = 1.0
        if lever == "plan" and sub.closed_quarters:
            moves = float(1.0 - sub.cumulative_profile[member, sub.closed_quarters - 1])
        shortfall = np.maximum(self.sub.control_total[member] - base_outturn[:, member], 0.0)
        upper = start + shortfall / moves
        if (
            mode == rules.REDISTRIBUTION_CODES["full"]
            and lever == "plan"
            and self.sub.mitigation[member] == 0.0
        ):
            # Without mitigation a plan improvement moves outturn one for one; a system
            # that meets its total passes every member under full redistribution.
            gap = np.maximum(self.sub.system_control_total[0] - base_outturn.sum(axis=1), 0.0)
            upper = np.minimum(upper, start + gap / moves)
        self.hi = np.where(base_pass, start, upper)
        exact = mode == rules.REDISTRIBUTION_CODES["none"]
        self.lo = np.where(base_pass, start, self.hi if exact else start)

    def probabilities(self, levels: list[float]) -> list[float]:
        """P(the member passes with the lever at each level), on the same draws every call.

        The levels at which some draw is still undecided are simulated together, as lever
        positions of one run; a simulated level's probability is its simulated pass rate.
        """
        passes = {level: self.hi <= level for level in levels}
        todo = sorted({level for level in levels if np.any(~passes[level] & (self.lo < level))})
        if todo:
            levers = [Lever(self.member, self.lever, level) for level in todo]
            ok_all = system_trace(self.engine, self.sub, self.seed, self.draws, levers)[1][:, :, 0]
            for p, level in enumerate(todo):
                ok = ok_all[:, p]
                self.hi = np.where(ok, np.minimum(self.hi, level), self.hi)
                self.lo = np.where(ok, self.lo, np.maximum(self.lo, level))
                passes[level] = ok
        return [float(passes[level].mean()) for level in levels]


@dataclass(frozen=True)
class _Lever:
    """What a lever solver moves and how its answer is labelled."""

    name: str  # "plan" or "mitigation", as in ``with_lever``
    column: str  # the answer; its ``se_`` and ``p_pass_with_`` columns follow this name
    current: str  # the organisation's plan with the answer, or its current mitigation

    @property
    def sets_level(self) -> bool:
        """Mitigation is set to the level (from its current value); the plan is raised by it (from 0)."""
        return self.name == "mitigation"


_BUFFER = _Lever(name="plan", column="buffer", current="plan_with_buffer")
_MITIGATION = _Lever(name="mitigation", column="mitigation", current="current_mitigation")


def _solve_lever(
    model: Model,
    seed: int,
    draws: int,
    scheme: str | None,
    target: float,
    organisations: Sequence[str] | None,
    tol: float,
    lever: _Lever,
    engine: str = "kernel",
) -> pd.DataFrame:
    """Smallest lever level per member reaching P(passes) >= target; see ``control_total_buffer``."""
    _check_target(target)
    scheme = default_baseline(model) if scheme is None else scheme
    one = replace(with_schemes(model, [scheme]), bonus=False)
    by_system: dict[int, list[int]] = {}
    for i in organisation_indices(model, organisations):
        by_system.setdefault(int(model.org_system[i]), []).append(i)
    rows = []
    for s, members in by_system.items():
        lo_i = int(model.system_start[s])
        sub = system_model(one, s)
        _, passed, _, base_x = system_trace(engine, sub, seed, draws)
        base_pass = passed[:, 0, :]
        for i in members:
            j = i - lo_i
            current = float(getattr(model, lever.name)[i])
            start = current if lever.sets_level else 0.0
            thresholds = _PassThresholds(
                sub, j, lever.name, start, seed, draws, base_x, base_pass[:, j], engine
            )
            p_now = float(base_pass[:, j].mean())
            level, se, p_at = start, 0.0, p_now
            if p_now < target:
                # hi bounds every draw's threshold from above, so its target quantile brackets the answer.
                high = float(np.sort(thresholds.hi)[math.ceil(target * draws) - 1]) + tol
                _, level = _bisect(
                    thresholds.probabilities,
                    target,
                    start,
                    high,
                    tol,
                    rising=True,
                    depth=BISECTION_DEPTH,
                )
                h = max(5 * tol, 0.1 * float(model.sd[i]))
                left, right = max(level - h, start), level + h
                p_at, p_left, p_right = thresholds.probabilities([level, left, right])
                se = _delta_method_se(p_left, p_right, left, right, target, draws)
            rows.append(
                {
                    "scheme": scheme,
                    "system": model.system_ids[s],
                    "organisation": model.org_ids[i],
                    "target": target,
                    "p_pass_at_plan": p_now,
                    lever.column: level,
                    f"se_{lever.column}": se,
                    f"p_pass_with_{lever.column}": p_at,
                    lever.current: current if lever.sets_level else current + level,
                }
            )
    return pd.DataFrame(rows)


def control_total_buffer(
    model: Model,
    seed: int,
    draws: int = DEFAULT_DETAIL_DRAWS,
    scheme: str | None = None,
    target: float = 0.8,
    organisations: Sequence[str] | None = None,
    tol: float = 0.01,
    engine: str = "kernel",
) -> pd.DataFrame:
    """Smallest plan improvement (control-total buffer, £m) each member needs to pass with probability ``target``.

    "Pass" is the option's finance test after redistribution (under
    ``organisation_only``: meeting its own control total). Each member is solved
    with the others at plan, by bisection on the same draws to within ``tol``;
    ``se_buffer`` is the delta-method standard error
    ``sqrt(target (1 - target) / draws) / slope`` with the slope of the pass
    probability measured by a central difference on the same draws.
    """
    return _solve_lever(model, seed, draws, scheme, target, organisations, tol, _BUFFER, engine)


def mitigation_needed(
    model: Model,
    seed: int,
    draws: int = DEFAULT_DETAIL_DRAWS,
    scheme: str | None = None,
    target: float = 0.8,
    organisations: Sequence[str] | None = None,
    tol: float = 0.01,
    engine: str = "kernel",
) -> pd.DataFrame:
    """Smallest mitigation (management actions held in reserve, £m) each member needs to pass with probability ``target``.

    As :func:`control_total_buffer`, but the lever is the organisation's
    ``mitigation``: a shortfall up to it is recovered, a larger one reduced by
    it. The answer is the total mitigation (at least the scenario's own).
    """
    return _solve_lever(model, seed, draws, scheme, target, organisations, tol, _MITIGATION, engine)


# --- a system's linked share ----------------------------------------------------------------


def _default_linked_template(model: Model) -> str:
    """The first option with full redistribution, else the first option."""
    sa = model.schemes
    for k, name in enumerate(sa.names):
        if sa.redistribution[k] == rules.REDISTRIBUTION_CODES["full"]:
            return name
    return sa.names[0]


def system_loss_lines(
    model: Model, seed: int, draws: int, scheme: str, engine: str = "kernel"
) -> tuple[np.ndarray, np.ndarray]:
    """Per draw and system, funding lost under ``scheme`` with linked share ``s`` is ``a + s * c``.

    Which members pass, and whether the system test passes, do not depend on
    the linked share, and the finance element is linear in it (rule 4, also
    quarter by quarter), so the option run with shares 0 and 1 gives the loss
    at every share: ``a`` is the loss at 0 and ``c`` the change to 1.
    """
    pair = with_schemes(model, [scheme, scheme])
    pair = replace(
        pair,
        bonus=False,
        schemes=replace(
            pair.schemes, names=("share_0", "share_1"), system_linked_share=np.array([0.0, 1.0])
        ),
    )
    lost = system_trace(engine, pair, seed, draws)[2]  # (draws, 2, S)
    return lost[:, 0], lost[:, 1] - lost[:, 0]


def largest_system_linked_share(
    model: Model,
    seed: int,
    draws: int = DEFAULT_DETAIL_DRAWS,
    scheme: str | None = None,
    target: float = 0.8,
    loss_limit: float = 0.25,
    tol: float = 0.001,
    engine: str = "kernel",
) -> pd.DataFrame:
    """Per system, the largest ``system_linked_share`` keeping P(funding lost <= loss_limit x funding) >= target.

    The option ``scheme`` (default: the first with full redistribution) gives
    the redistribution and system test; only the linked share varies. A grid
    of 21 shares finds the largest acceptable bracket, then bisection on the
    same draws narrows it to ``tol``. ``se_share`` is the delta-method standard
    error. ``feasible`` is False when even a share of 0 misses the target.
    """
    _check_target(target)
    scheme = _default_linked_template(model) if scheme is None else scheme
    a, c = system_loss_lines(model, seed, draws, scheme, engine)
    limit = loss_limit * model.system_funding()
    rows = []
    for s in range(model.n_systems):

        def prob(share: float, s: int = s) -> float:
            return float(np.mean(a[:, s] + share * c[:, s] <= limit[s] * (1 + 1e-12) + 1e-12))

        def probs(levels: list[float], s: int = s) -> list[float]:
            return [prob(x, s) for x in levels]

        grid = np.linspace(0.0, 1.0, 21)
        ok = [prob(g) >= target for g in grid]
        feasible = any(ok)
        share, se = (math.nan, math.nan)
        if feasible:
            top = max(i for i, good in enumerate(ok) if good)
            if top == len(grid) - 1:
                share = 1.0
                se = 0.0
            else:
                share, _ = _bisect(
                    probs,
                    target,
                    float(grid[top]),
                    float(grid[top + 1]),
                    tol,
                    rising=False,
                )
                left, right = max(share - 0.02, 0.0), min(share + 0.02, 1.0)
                se = _delta_method_se(prob(left), prob(right), left, right, target, draws)
        rows.append(
            {
                "scheme": scheme,
                "system": model.system_ids[s],
                "target": target,
                "loss_limit": loss_limit,
                "largest_share": share,
                "se_share": se,
                "feasible": feasible,
                "p_at_share": prob(share) if feasible else math.nan,
                "p_at_zero": prob(0.0),
                "p_at_one": prob(1.0),
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "control_total_buffer",
    "largest_system_linked_share",
    "mitigation_needed",
    "system_loss_lines",
]
