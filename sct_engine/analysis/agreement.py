"""The local risk-share agreement: what members sign on top of the national option.

A system signs a national option; its members may also sign a side agreement that moves money
between them each year. Every agreement here is a rule on the year's funding, so it balances
each year (no outside money) and is applied to the same simulated years as the option:

- **formulas** a board already knows: the system's funding lost shared pro rata to allocation
  or to turnover, the same with each member's contribution capped, and a gain share (members
  that receive more than on their own pay a share of that gain to those that receive less);
- **the designed agreement**: a loss-sharing table ``S`` (``S[i, j]`` is the share of each £1
  lost by member ``j`` that member ``i`` bears; each column sums to one) and fixed yearly
  payments ``c`` (``c[i]`` received, summing to zero), found by a linear programme on the
  simulated years (:func:`design_agreement`, scipy's HiGHS). A member's loss after it is
  ``sum_j S[i, j] L_j - c[i]``. The programme moves the least expected money (losses borne by
  others plus fixed payments) such that every member is

  1. not worse off than going alone in expectation (stricter than the rule's "not materially
     worse off": no materiality is used up): ``mean(final loss_i) <= mean(loss alone_i)``, and
  2. within its risk appetite in its worst years: ``CVaR95(final loss_i) <= appetite_i``
     (Rockafellar-Uryasev linearisation, exact on the draws); a member with no stated appetite
     is held to ``CVaR95(loss alone_i)`` (judging a table afterwards, :func:`tail_limit` adds
     the member's materiality, as "not materially worse off" does). The 1-in-20-year loss (p95) is at
     most the CVaR95, so the constraint keeps the p95 within the appetite on the draws.

  The fixed payments matter where going alone pays a member more than its allocation (the
  year-end bonus): sharing losses alone cannot give it back what the option takes.
  Where no table meets every constraint, the programme with slack says which members cannot
  be satisfied and by how much (:attr:`Agreement.shortfall`).

Money in £m a year; a member's "loss" is its allocation less what it receives: the PSF/CSF paid
and, where the regime pays one, its year-end bonus with every other system staying with the
baseline (the money the decision rule compares; incentive PSF is the same under every option
and is not shared). The per-draw money comes from the numpy reference (the kernel's oracle) on
the run's own first draws, for a bounded number of them: the kernel keeps only streaming
statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from sct_engine.analysis.rule import TAIL_LEVEL, DecisionRule
from sct_engine.analysis.submodels import scheme_index, with_schemes
from sct_engine.engine.model import Model
from sct_engine.engine.reference import apply_schemes, bonus_held_at_baseline, draw_block
from sct_engine.engine.rng import BLOCK_DRAWS, block_sizes

#: Most simulated years the designer's programme is solved on (its size grows with them).
AGREEMENT_DRAWS = 8_192

#: First block of the held-out years an agreement is checked on: the designer uses at most
#: ``AGREEMENT_DRAWS`` (one block) from block 0, so these never overlap the design's years.
HELD_OUT_BLOCK = -(-AGREEMENT_DRAWS // BLOCK_DRAWS)

#: A member's contribution cap of the capped formula, as a share of its own allocation.
DEFAULT_CAP_SHARE = 0.1

#: Cost per unit of share moved, whatever the loss (keeps shares of losses that never occur
#: with their owner; far below any £m figure shown).
TIE_BREAK = 1e-9

#: Numerical slack when checking a solution against its constraints (£m).
TOLERANCE = 1e-7


@dataclass(frozen=True)
class SystemDraws:
    """One system's members' funding lost in each simulated year, alone and under the option."""

    system: str
    system_name: str
    scheme: str
    baseline: str
    organisations: tuple[str, ...]
    names: tuple[str, ...]
    allocation: np.ndarray  # (N,) funding at stake
    turnover: np.ndarray  # (N,) 0 where not given
    materiality: np.ndarray  # (N,) how much worse counts as worse
    appetite: np.ndarray  # (N,) £m in a 1-in-20 year, NaN where none stated
    alone: np.ndarray  # (n, N) loss going alone (the baseline): allocation less money received
    option: np.ndarray  # (n, N) loss under the option
    money: str = "funding"  # what is received: "funding", or "funding and bonus"


def agreement_draws(
    model: Model,
    system: int,
    scheme: str,
    baseline: str,
    seed: int,
    draws: int = AGREEMENT_DRAWS,
    rule: DecisionRule | None = None,
    first_block: int = 0,
) -> SystemDraws:
    """Per-draw loss of one system's members alone and under ``scheme``: ``draws`` simulated
    years of the run (its seed, its blocks from ``first_block`` on) on the numpy reference, the
    whole scenario simulated so that the bonus is the one the decision rule counts (other
    systems at the baseline). ``first_block = HELD_OUT_BLOCK`` gives years independent of the
    ones an agreement is designed on."""
    rule = rule or DecisionRule()
    for name in (baseline, scheme):
        scheme_index(model, name)
    two = with_schemes(model, [baseline, scheme])
    lo, hi = int(model.system_start[system]), int(model.system_start[system + 1])
    alone: list[np.ndarray] = []
    option: list[np.ndarray] = []
    for block, n in block_sizes(draws):
        outcome = apply_schemes(two, draw_block(two, seed, first_block + block, n))
        bonus = bonus_held_at_baseline(two, outcome, 0)
        for k, out in ((0, alone), (1, option)):
            out.append(outcome.paid[k][:, lo:hi] + bonus[k][:, lo:hi])
    allocation = model.funding[lo:hi].copy()
    appetite = (
        model.risk_appetite[lo:hi] if model.risk_appetite is not None else np.full(hi - lo, np.nan)
    )
    return SystemDraws(
        system=model.system_ids[system],
        system_name=model.system_names[system],
        scheme=scheme,
        baseline=baseline,
        organisations=model.org_ids[lo:hi],
        names=model.org_names[lo:hi],
        allocation=allocation,
        turnover=model.turnover[lo:hi].copy(),
        materiality=rule.threshold(allocation),
        appetite=np.asarray(appetite, dtype=np.float64),
        alone=allocation[None, :] - np.concatenate(alone),
        option=allocation[None, :] - np.concatenate(option),
        money="funding and bonus" if model.bonus else "funding",
    )


# --- measures on the draws -------------------------------------------------------------


def cvar(losses: np.ndarray, level: float = TAIL_LEVEL) -> np.ndarray:
    """Average loss over the worst ``1 - level`` of the draws, per column (the Rockafellar-Uryasev
    value: the top ``(1 - level) n`` losses, the boundary draw taken in part)."""
    n = losses.shape[0]
    tail = (1.0 - level) * n
    ordered = -np.sort(-losses, axis=0)
    whole = int(np.floor(tail))
    total = ordered[:whole].sum(axis=0)
    if whole < n and tail > whole:
        total = total + (tail - whole) * ordered[whole]
    return total / tail


def tail_limit(d: SystemDraws) -> np.ndarray:
    """The most each member may lose on average in its worst 5% of years under an agreement:
    its risk appetite, or where none is stated its CVaR95 alone plus its materiality."""
    alone = cvar(d.alone) + d.materiality
    return np.where(np.isfinite(d.appetite), d.appetite, alone)


# --- formulas ----------------------------------------------------------------------------


def pro_rata(losses: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Every year's system funding lost shared by fixed weights (allocation, turnover)."""
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    return losses.sum(axis=1, keepdims=True) * w[None, :]


def capped(losses: np.ndarray, weights: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Pro rata, with what each member pays towards the others' losses capped at ``cap`` (£m a
    year); the members helped receive what was paid, in proportion to the help they needed."""
    shared = pro_rata(losses, weights)
    transfer = losses - shared  # > 0: receives, < 0: pays
    pays = np.minimum(np.clip(-transfer, 0.0, None), np.asarray(cap)[None, :])
    needs = np.clip(transfer, 0.0, None)
    paid, needed = pays.sum(axis=1, keepdims=True), needs.sum(axis=1, keepdims=True)
    received = needs * np.divide(paid, needed, out=np.zeros_like(paid), where=needed > 0)
    return losses + pays - received


def gain_share(alone: np.ndarray, option: np.ndarray, share: float = 1.0) -> np.ndarray:
    """Members losing less than on their own pay up to ``share`` of that gain to those losing
    more, in proportion to their gains, until the latter are made whole."""
    gain = np.clip(alone - option, 0.0, None)
    short = np.clip(option - alone, 0.0, None)
    pool = share * gain.sum(axis=1, keepdims=True)
    needed = short.sum(axis=1, keepdims=True)
    paid = np.minimum(pool, needed)
    g_total = gain.sum(axis=1, keepdims=True)
    out = gain * np.divide(paid, g_total, out=np.zeros_like(paid), where=g_total > 0)
    into = short * np.divide(paid, needed, out=np.zeros_like(paid), where=needed > 0)
    return option + out - into


def apply_table(losses: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Losses after a loss-sharing table: member i bears ``table[i, j]`` of member j's loss."""
    return losses @ np.asarray(table).T


# --- the designed agreement --------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """The designed agreement (a loss-sharing table and fixed yearly payments), or why none
    exists."""

    feasible: bool
    table: np.ndarray  # (N, N) share of member j's loss (column) borne by member i (row)
    payment: np.ndarray  # (N,) fixed £m a year received (+) or paid (-); sums to zero
    expected_moved: float  # expected money moved between members, £m a year
    shortfall: pd.DataFrame  # infeasible only: per member, how far each constraint is missed
    message: str


def after(losses: np.ndarray, agreement: Agreement) -> np.ndarray:
    """Each year's losses after an agreement: the table's shares, less the fixed payments."""
    return apply_table(losses, agreement.table) - agreement.payment[None, :]


def moved(d: SystemDraws, table: np.ndarray, payment: np.ndarray) -> float:
    """Expected money moved between members: the expected size of the losses borne by others
    (a loss may be negative where the bonus pays more than the allocation lost: moving it is
    moving money too) plus the fixed payments made."""
    size = np.abs(d.option).mean(axis=0)
    return float(((1.0 - np.diag(table)) * size).sum() + np.clip(payment, 0.0, None).sum())


def _programme(d: SystemDraws, level: float, slack: bool) -> tuple:
    """The linear programme. Variables, in order: S (N x N, row-major), fixed payments received
    c+ (N) and paid c- (N), eta (N), u (N x n, member-major) and, with ``slack``, a slack per
    member for the expectation and one for the tail (the cost is then the slacks alone)."""
    losses = d.option
    n, members = losses.shape
    n_s, n_u = members * members, n * members
    sizes = [n_s, members, members, members, n_u, 2 * members if slack else 0]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    n_var = int(offsets[-1])
    s_at, cp_at, cm_at, eta_at, u_at, slack_at = (int(x) for x in offsets[:6])

    def block(rows: int, parts: dict[int, sparse.spmatrix]) -> sparse.csr_matrix:
        """A row block of the constraint matrix from its parts placed at variable offsets."""
        pieces, at_now = [], 0
        for at, part in sorted(parts.items()):
            part = sparse.csr_matrix(part)
            if at > at_now:
                pieces.append(sparse.csr_matrix((rows, at - at_now)))
            pieces.append(part)
            at_now = at + part.shape[1]
        if at_now < n_var:
            pieces.append(sparse.csr_matrix((rows, n_var - at_now)))
        return sparse.hstack(pieces, format="csr")

    mu, mu_alone = losses.mean(axis=0), d.alone.mean(axis=0)
    eye = sparse.identity(members, format="csr")
    # 1. expectation: sum_j S_ij mu_j - c+_i + c-_i <= mean alone_i + m_i
    parts_e = {s_at: sparse.kron(eye, mu[None, :]), cp_at: -eye, cm_at: eye}
    if slack:
        parts_e[slack_at] = sparse.hstack([-eye, sparse.csr_matrix((members, members))])
    a_exp = block(members, parts_e)
    # 2. tail: eta_i + sum_d u_id / ((1 - level) n) <= limit_i
    weight = 1.0 / ((1.0 - level) * n)
    parts_t = {eta_at: eye, u_at: sparse.kron(eye, np.full((1, n), weight))}
    if slack:
        parts_t[slack_at] = sparse.hstack([sparse.csr_matrix((members, members)), -eye])
    a_tail = block(members, parts_t)
    # 3. u_id >= sum_j S_ij L_dj - c+_i + c-_i - eta_i
    ones = np.ones((n, 1))
    parts_u = {
        s_at: sparse.kron(eye, losses),
        cp_at: -sparse.kron(eye, ones),
        cm_at: sparse.kron(eye, ones),
        eta_at: -sparse.kron(eye, ones),
        u_at: -sparse.identity(n_u),
    }
    a_u = block(n_u, parts_u)
    a_ub = sparse.vstack([a_exp, a_tail, a_u]).tocsr()
    b_ub = np.concatenate([mu_alone + d.materiality, tail_limit(d), np.zeros(n_u)])
    # every column of S sums to one; the fixed payments sum to zero
    a_eq = sparse.vstack(
        [
            block(members, {s_at: sparse.kron(np.ones((1, members)), eye)}),
            block(1, {cp_at: np.ones((1, members)), cm_at: -np.ones((1, members))}),
        ]
    ).tocsr()
    b_eq = np.concatenate([np.ones(members), [0.0]])
    bounds = [(0.0, 1.0)] * n_s + [(0.0, None)] * (2 * members) + [(None, None)] * members
    bounds += [(0.0, None)] * (n_u + (2 * members if slack else 0))
    cost = np.zeros(n_var)
    if slack:
        cost[slack_at:] = 1.0
    else:  # money moved: sum_j (1 - S_jj) mean|L_j| + sum_i c+_i (constant dropped)
        size = np.abs(losses).mean(axis=0)
        cost[s_at : s_at + n_s] = TIE_BREAK * (1.0 + size.sum())
        cost[s_at + np.arange(members) * (members + 1)] = -size
        cost[cp_at : cp_at + members] = 1.0
    return cost, a_ub, b_ub, a_eq, b_eq, bounds, (s_at, cp_at, cm_at)


def design_agreement(d: SystemDraws, level: float = TAIL_LEVEL) -> Agreement:
    """The agreement moving the least expected money between members that leaves each not
    materially worse off than alone in expectation and within its tail limit (module
    docstring), or the statement that none exists, with what each member would still miss."""
    members = d.option.shape[1]
    # Designed to leave nobody worse off at all (no materiality): stricter than the rule's
    # "not materially worse off", so a member with nothing at stake is never asked to pay.
    d = replace(d, materiality=np.zeros(members))
    cost, a_ub, b_ub, a_eq, b_eq, bounds, at = _programme(d, level, slack=False)
    solved = linprog(
        cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs"
    )
    if solved.status == 0:
        s_at, cp_at, cm_at = at
        table = np.clip(solved.x[s_at : s_at + members * members].reshape(members, members), 0, 1)
        # A share of a loss that never occurs moves nothing: such a column stays with its owner.
        never = ~np.any(np.abs(d.option) > 0, axis=0)
        table[:, never] = np.eye(members)[:, never]
        table = table / table.sum(axis=0, keepdims=True) + 0.0  # + 0.0: no "-0.0%" shown
        payment = solved.x[cp_at : cp_at + members] - solved.x[cm_at : cm_at + members]
        payment = np.where(np.abs(payment) < 1e-9, 0.0, payment) + 0.0
        return Agreement(True, table, payment, moved(d, table, payment), pd.DataFrame(), "")
    if solved.status != 2:  # not "infeasible": the solver failed, say so rather than guess
        raise RuntimeError(f"the agreement's linear programme failed: {solved.message}")
    cost, a_ub, b_ub, a_eq, b_eq, bounds, _ = _programme(d, level, slack=True)
    relaxed = linprog(
        cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs"
    )
    if relaxed.status != 0:
        raise RuntimeError(f"the agreement's linear programme failed: {relaxed.message}")
    gap = relaxed.x[-2 * members :]
    shortfall = pd.DataFrame(
        {
            "organisation": list(d.organisations),
            "expected_shortfall": gap[:members],
            "tail_shortfall": gap[members:],
        }
    )
    missing = shortfall[
        (shortfall["expected_shortfall"] > 1e-6) | (shortfall["tail_shortfall"] > 1e-6)
    ]
    names = dict(zip(d.organisations, d.names, strict=True))
    parts = []
    for row in missing.itertuples(index=False):
        bits = []
        if row.expected_shortfall > 1e-6:
            bits.append(f"£{row.expected_shortfall:.2f}m a year worse off than alone")
        if row.tail_shortfall > 1e-6:
            bits.append(f"£{row.tail_shortfall:.2f}m over its limit in its worst years")
        parts.append(f"{names[row.organisation]} ({' and '.join(bits)})")
    message = (
        f"No agreement on top of {d.scheme} leaves every member of {d.system_name} no worse "
        "off than going alone in expectation and within its risk limit in its worst years: "
        "even the closest one leaves " + "; ".join(parts) + "."
    )
    return Agreement(False, np.eye(members), np.zeros(members), float("nan"), shortfall, message)


# --- tables --------------------------------------------------------------------------------


def formulas(d: SystemDraws, agreement: Agreement | None = None) -> dict[str, np.ndarray]:
    """Every agreement evaluated on the same draws: name -> (n, N) funding lost after it."""
    out = {
        f"{d.scheme} alone (no agreement)": d.option,
        "loss shared pro rata to allocation": pro_rata(d.option, d.allocation),
    }
    if np.all(d.turnover > 0):
        out["loss shared pro rata to turnover"] = pro_rata(d.option, d.turnover)
    out[
        f"pro rata to allocation, contributions capped at {DEFAULT_CAP_SHARE:.0%} of allocation"
    ] = capped(d.option, d.allocation, DEFAULT_CAP_SHARE * d.allocation)
    out["gain share: gains over going alone pay for shortfalls"] = gain_share(d.alone, d.option)
    if agreement is not None and agreement.feasible:
        out["designed agreement (smallest transfers)"] = after(d.option, agreement)
    return out


def money_columns(d: SystemDraws) -> dict[str, str]:
    """The money columns of :func:`evaluate`, named after what the money is: ``funding``
    (PSF/CSF paid) or, where the regime pays a year-end bonus, ``funding_and_bonus`` (the
    incentive PSF is the same under every option and is not in these draws, so this is not the
    report's ``income``). Keys: ``expected``, ``expected_alone``, ``p95``, ``p95_alone``,
    ``cvar95``."""
    word = d.money.replace(" ", "_")
    return {
        "expected": f"expected_{word}",
        "expected_alone": f"expected_{word}_alone",
        "p95": f"{word}_lost_p95",
        "p95_alone": f"{word}_lost_p95_alone",
        "cvar95": f"{word}_lost_cvar95",
    }


def evaluate(d: SystemDraws, losses: np.ndarray, level: float = TAIL_LEVEL) -> pd.DataFrame:
    """Per member, an agreement's outcome against going alone: expected money received and its
    paired change (95% half-width), the 1-in-20-year loss, CVaR95, and whether it is
    acceptable. The money columns are named by :func:`money_columns`."""
    n = losses.shape[0]
    diff = d.alone - losses  # funding gained against going alone, per draw
    change = diff.mean(axis=0)
    ci = 1.96 * diff.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(len(change))
    p95 = np.quantile(losses, level, axis=0, method="inverted_cdf")
    limit = tail_limit(d)
    tail = cvar(losses, level)
    col = money_columns(d)
    return pd.DataFrame(
        {
            "organisation": list(d.organisations),
            "organisation_name": list(d.names),
            col["expected"]: d.allocation - losses.mean(axis=0),
            col["expected_alone"]: d.allocation - d.alone.mean(axis=0),
            "change_vs_alone": change,
            "ci95_change_vs_alone": ci,
            col["p95"]: p95,
            col["p95_alone"]: np.quantile(d.alone, level, axis=0, method="inverted_cdf"),
            col["cvar95"]: tail,
            "risk_appetite": d.appetite,
            "tail_limit": limit,
            "not_worse_in_expectation": change >= -d.materiality - TOLERANCE,
            "within_tail_limit": tail <= limit + TOLERANCE,
        }
    )


def cvar_se(losses: np.ndarray, level: float = TAIL_LEVEL) -> np.ndarray:
    """Standard error of :func:`cvar` per column, from the Rockafellar-Uryasev form
    ``CVaR = q + E[(L - q)+] / (1 - level)`` (``q`` the quantile): the sample standard deviation
    of ``q + (L - q)+ / (1 - level)`` over sqrt(n), its asymptotic standard error."""
    n = losses.shape[0]
    if n < 2:
        return np.zeros(losses.shape[1])
    q = np.quantile(losses, level, axis=0, method="inverted_cdf")
    terms = q[None, :] + np.clip(losses - q[None, :], 0.0, None) / (1.0 - level)
    return terms.std(axis=0, ddof=1) / np.sqrt(n)


#: The held-out check's verdicts (the decision rule's three outcomes, in words).
NOT_WORSE_OFF, WORSE_OFF, TOO_CLOSE = (
    "not materially worse",
    "materially worse",
    "too close to call",
)
WITHIN_LIMIT, OVER_LIMIT = "within its limit", "over its limit"


def held_out_check(held_out: SystemDraws, agreement: Agreement) -> pd.DataFrame:
    """The designed agreement's outcome on simulated years it was not designed on
    (:func:`evaluate` on ``held_out``), with two verdicts decided as the decision rule decides:
    on 95% intervals, what they cannot resolve too close to call. The programme meets its
    constraints exactly on its own years, so only fresh years say how far that holds.

    ``expectation``: materially worse when even the top of the change's interval is below
    minus the materiality; not materially worse when its bottom is not; else too close.
    ``tail``: over its limit when the bottom of the CVaR95's interval (:func:`cvar_se`) is
    above the limit, within it when the top is not; else too close."""
    frame = evaluate(held_out, after(held_out.option, agreement))
    losses = after(held_out.option, agreement)
    change, half = frame["change_vs_alone"].to_numpy(), frame["ci95_change_vs_alone"].to_numpy()
    floor = -held_out.materiality - TOLERANCE
    frame["expectation"] = np.where(
        change + half < floor, WORSE_OFF, np.where(change - half >= floor, NOT_WORSE_OFF, TOO_CLOSE)
    )
    tail = cvar(losses)
    tail_half = 1.96 * cvar_se(losses)
    limit = frame["tail_limit"].to_numpy() + TOLERANCE
    frame["ci95_cvar95"] = tail_half
    frame["tail"] = np.where(
        tail - tail_half > limit,
        OVER_LIMIT,
        np.where(tail + tail_half <= limit, WITHIN_LIMIT, TOO_CLOSE),
    )
    return frame


def formula_table(d: SystemDraws, agreement: Agreement | None = None) -> pd.DataFrame:
    """Every formula's outcome per member (one row per formula and member)."""
    frames = []
    for name, losses in formulas(d, agreement).items():
        frame = evaluate(d, losses)
        frame.insert(0, "agreement", name)
        frame.insert(0, "scheme", d.scheme)
        frame.insert(0, "system", d.system)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def agreement_table(d: SystemDraws, agreement: Agreement) -> pd.DataFrame:
    """The designed table as a board signs it: one row per member bearing, one column per
    member whose loss is shared (share of each £1 lost), then the member's outcome."""
    shares = pd.DataFrame(
        agreement.table,
        columns=[f"share_of_{o}_loss" for o in d.organisations],
    )
    outcome = evaluate(d, after(d.option, agreement))
    shares["fixed_payment_received"] = agreement.payment
    return pd.concat(
        [outcome[["organisation", "organisation_name"]], shares, outcome.iloc[:, 2:]], axis=1
    )


__all__ = [
    "AGREEMENT_DRAWS",
    "DEFAULT_CAP_SHARE",
    "HELD_OUT_BLOCK",
    "NOT_WORSE_OFF",
    "OVER_LIMIT",
    "TOO_CLOSE",
    "WITHIN_LIMIT",
    "WORSE_OFF",
    "Agreement",
    "SystemDraws",
    "after",
    "agreement_draws",
    "agreement_table",
    "apply_table",
    "capped",
    "cvar",
    "cvar_se",
    "design_agreement",
    "evaluate",
    "formula_table",
    "formulas",
    "gain_share",
    "held_out_check",
    "money_columns",
    "moved",
    "pro_rata",
    "tail_limit",
]
