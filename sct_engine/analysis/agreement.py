"""The local risk-share agreement: what members sign on top of the national option.

A system signs a national option; its members may also sign a side agreement that moves money
between them each year. Every agreement here is a rule on the year's funding, so it balances
each year (no outside money) and is applied to the same simulated years as the option:

- **formulas** a board already knows: the system's funding lost shared pro rata to allocation
  or to turnover, the same with each member's contribution capped, and a gain share (members
  that receive more than on their own pay a share of that gain to those that receive less);
- **the designed agreement**: a loss-sharing table ``S`` (``S[i, j]`` is the share of each £1
  of funding lost by member ``j`` that member ``i`` bears; each column sums to one) found by a
  linear programme on the simulated years (:func:`design_agreement`, scipy's HiGHS): the
  smallest expected loss moved between members such that every member is

  1. not materially worse off than going alone in expectation:
     ``mean(final loss_i) <= mean(loss alone_i) + materiality_i``, and
  2. within its risk appetite in its worst years: ``CVaR95(final loss_i) <= appetite_i``
     (Rockafellar-Uryasev linearisation, exact on the draws); a member with no stated appetite
     is held to ``CVaR95(loss alone_i) + materiality_i``. The 1-in-20-year loss (p95) is at
     most the CVaR95, so the constraint keeps the p95 within the appetite on the draws.

  Where no table meets every constraint, the programme with slack says which members cannot
  be satisfied and by how much (:attr:`Agreement.shortfall`).

Money in £m a year; "loss" is PSF/CSF not received (allocation less funding paid). The
per-draw funding comes from the engine's traces of one system (``submodels.system_trace``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from sct_engine.analysis.rule import TAIL_LEVEL, DecisionRule
from sct_engine.analysis.submodels import scheme_index, system_model, system_trace, with_schemes
from sct_engine.engine.model import Model

#: Most simulated years the designer's programme is solved on (its size grows with them).
AGREEMENT_DRAWS = 8_192

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
    alone: np.ndarray  # (n, N) funding lost going alone (the baseline)
    option: np.ndarray  # (n, N) funding lost under the option


def system_draws(
    model: Model,
    system: int,
    scheme: str,
    baseline: str,
    seed: int,
    draws: int = AGREEMENT_DRAWS,
    engine: str = "kernel",
    rule: DecisionRule | None = None,
) -> SystemDraws:
    """Per-draw funding lost by one system's members alone and under ``scheme``, on the same
    simulated years (the engine's traces of the system on its own, without the bonus)."""
    rule = rule or DecisionRule()
    names = [baseline, scheme]
    for name in names:
        scheme_index(model, name)
    sub = replace(system_model(with_schemes(model, names), system), bonus=False)
    paid = system_trace(engine, sub, seed, draws)[0]  # (draws, 2, N)
    lost = sub.funding[None, None, :] - paid
    appetite = sub.risk_appetite if sub.risk_appetite is not None else np.full(sub.n_orgs, np.nan)
    return SystemDraws(
        system=model.system_ids[system],
        system_name=model.system_names[system],
        scheme=scheme,
        baseline=baseline,
        organisations=sub.org_ids,
        names=sub.org_names,
        allocation=sub.funding.copy(),
        turnover=sub.turnover.copy(),
        materiality=rule.threshold(sub.funding),
        appetite=np.asarray(appetite, dtype=np.float64),
        alone=lost[:, 0, :],
        option=lost[:, 1, :],
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
    """The designed loss-sharing table, or why none exists."""

    feasible: bool
    table: np.ndarray  # (N, N) share of member j's loss (column) borne by member i (row)
    expected_moved: float  # expected funding lost moved between members, £m a year
    shortfall: pd.DataFrame  # infeasible only: per member, how far each constraint is missed
    message: str


def _programme(d: SystemDraws, level: float, slack: bool) -> tuple:
    """The linear programme's arrays. Variables: S (N x N, row-major), eta (N), u (n x N) and,
    with ``slack``, one slack per member and constraint (expectation, tail)."""
    losses = d.option
    n, members = losses.shape
    n_s, n_u = members * members, n * members
    n_var = n_s + members + n_u + (2 * members if slack else 0)
    mu, mu_alone = losses.mean(axis=0), d.alone.mean(axis=0)
    limit = tail_limit(d)
    eye = sparse.identity(members, format="csr")
    rows_s = sparse.kron(eye, sparse.csr_matrix(mu[None, :]))  # (N, N^2): sum_j S_ij mu_j
    zeros = sparse.csr_matrix((members, members + n_u))
    blocks_e = [rows_s, zeros]
    if slack:
        blocks_e.append(sparse.hstack([-eye, sparse.csr_matrix((members, members))]))
    a_exp = sparse.hstack(blocks_e)
    b_exp = mu_alone + d.materiality
    # CVaR: eta_i + sum_d u_di / ((1 - level) n) <= limit_i
    tail_weight = 1.0 / ((1.0 - level) * n)
    u_rows = sparse.kron(eye, sparse.csr_matrix(np.full((1, n), tail_weight)))  # (N, nN)
    blocks_t = [sparse.csr_matrix((members, n_s)), eye, u_rows]
    if slack:
        blocks_t.append(sparse.hstack([sparse.csr_matrix((members, members)), -eye]))
    a_tail = sparse.hstack(blocks_t)
    # u_di >= sum_j S_ij L_dj - eta_i, with u laid out member-major (i, d)
    s_part = sparse.kron(eye, sparse.csr_matrix(losses))  # (N n, N^2): row (i, d)
    eta_part = -sparse.kron(eye, sparse.csr_matrix(np.ones((n, 1))))
    u_part = -sparse.identity(n_u, format="csr")
    blocks_u = [s_part, eta_part, u_part]
    if slack:
        blocks_u.append(sparse.csr_matrix((n_u, 2 * members)))
    a_u = sparse.hstack(blocks_u)
    a_ub = sparse.vstack([a_exp, a_tail, a_u]).tocsr()
    b_ub = np.concatenate([b_exp, limit, np.zeros(n_u)])
    # every column of S sums to one: sum_i S_ij = 1
    a_eq = sparse.hstack(
        [
            sparse.kron(sparse.csr_matrix(np.ones((1, members))), eye),
            sparse.csr_matrix((members, n_var - n_s)),
        ]
    ).tocsr()
    b_eq = np.ones(members)
    bounds = [(0.0, 1.0)] * n_s + [(None, None)] * members + [(0.0, None)] * n_u
    bounds += [(0.0, None)] * (2 * members if slack else 0)
    cost = np.zeros(n_var)
    if slack:
        cost[n_s + members + n_u :] = 1.0
    else:  # expected loss moved: sum_j (1 - S_jj) mu_j, i.e. minimise -sum_j S_jj mu_j;
        # a share of a loss that never occurs moves nothing: a tiny cost keeps it on its owner
        cost[:n_s] = TIE_BREAK * (1.0 + mu.sum())
        cost[np.arange(members) * (members + 1)] = -mu
    return cost, a_ub, b_ub, a_eq, b_eq, bounds, n_s


def design_agreement(d: SystemDraws, level: float = TAIL_LEVEL) -> Agreement:
    """The loss-sharing table moving the least expected loss between members that leaves each
    not materially worse off than alone in expectation and within its tail limit (module
    docstring), or the statement that none exists, with what each member would still miss."""
    members = d.option.shape[1]
    cost, a_ub, b_ub, a_eq, b_eq, bounds, n_s = _programme(d, level, slack=False)
    solved = linprog(
        cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs"
    )
    mu = d.option.mean(axis=0)
    if solved.status == 0:
        table = np.clip(solved.x[:n_s].reshape(members, members), 0.0, 1.0)
        table = table / table.sum(axis=0, keepdims=True)
        moved = float(((1.0 - np.diag(table)) * mu).sum())
        return Agreement(True, table, moved, pd.DataFrame(), "")
    if solved.status != 2:  # not "infeasible": the solver failed, say so rather than guess
        raise RuntimeError(f"the agreement's linear programme failed: {solved.message}")
    cost, a_ub, b_ub, a_eq, b_eq, bounds, n_s = _programme(d, level, slack=True)
    relaxed = linprog(
        cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs"
    )
    if relaxed.status != 0:
        raise RuntimeError(f"the agreement's linear programme failed: {relaxed.message}")
    slack = relaxed.x[-2 * members :]
    shortfall = pd.DataFrame(
        {
            "organisation": list(d.organisations),
            "expected_shortfall": slack[:members],
            "tail_shortfall": slack[members:],
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
        f"No loss-sharing agreement on top of {d.scheme} leaves every member of {d.system_name} "
        "not materially worse off than going alone in expectation and within its risk limit in "
        "its worst years: even the closest one leaves " + "; ".join(parts) + "."
    )
    return Agreement(False, np.eye(members), float("nan"), shortfall, message)


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
        out["designed agreement (smallest transfers)"] = apply_table(d.option, agreement.table)
    return out


def evaluate(d: SystemDraws, losses: np.ndarray, level: float = TAIL_LEVEL) -> pd.DataFrame:
    """Per member, an agreement's outcome against going alone: expected funding and its paired
    change (95% half-width), the 1-in-20-year loss, CVaR95, and whether it is acceptable."""
    n = losses.shape[0]
    diff = d.alone - losses  # funding gained against going alone, per draw
    change = diff.mean(axis=0)
    ci = 1.96 * diff.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(len(change))
    p95 = np.quantile(losses, level, axis=0, method="inverted_cdf")
    limit = tail_limit(d)
    tail = cvar(losses, level)
    return pd.DataFrame(
        {
            "organisation": list(d.organisations),
            "organisation_name": list(d.names),
            "expected_funding": d.allocation - losses.mean(axis=0),
            "expected_funding_alone": d.allocation - d.alone.mean(axis=0),
            "change_vs_alone": change,
            "ci95_change_vs_alone": ci,
            "funding_lost_p95": p95,
            "funding_lost_p95_alone": np.quantile(d.alone, level, axis=0, method="inverted_cdf"),
            "funding_lost_cvar95": tail,
            "risk_appetite": d.appetite,
            "tail_limit": limit,
            "not_worse_in_expectation": change >= -d.materiality - TOLERANCE,
            "within_tail_limit": tail <= limit + TOLERANCE,
        }
    )


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
    outcome = evaluate(d, apply_table(d.option, agreement.table))
    return pd.concat(
        [outcome[["organisation", "organisation_name"]], shares, outcome.iloc[:, 2:]], axis=1
    )


__all__ = [
    "AGREEMENT_DRAWS",
    "DEFAULT_CAP_SHARE",
    "Agreement",
    "SystemDraws",
    "agreement_table",
    "apply_table",
    "capped",
    "cvar",
    "design_agreement",
    "evaluate",
    "formula_table",
    "formulas",
    "gain_share",
    "pro_rata",
    "system_draws",
    "tail_limit",
]
