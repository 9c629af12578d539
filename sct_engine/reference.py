"""Plain numpy simulator: the correctness oracle.

Readable rather than fast. It draws each block from the block's own streams
(``rng.py``), turns shocks into outturns (``uncertainty.py``), applies every
scheme option to the same draws with the pure rules of ``schemes.py``, and
reduces the block to streaming statistics (``stats.py``), so memory does not
grow with the number of draws. The numba kernel must reproduce it exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sct_engine import schemes
from sct_engine.model import Model
from sct_engine.rng import (
    AE_STREAM,
    BLOCK_DRAWS,
    SHOCK_STREAM,
    TAIL_OCCURS_STREAM,
    TAIL_SIZE_STREAM,
    block_generator,
    block_sizes,
)
from sct_engine.stats import Accumulator, block_accumulator
from sct_engine.uncertainty import draw_ae_earned, draw_shocks, draw_tail_losses, mitigate, outturns


@dataclass(frozen=True)
class BlockDraws:
    """The random inputs of one block: standard shocks, A&E outcomes, large adverse events."""

    shocks: np.ndarray  # (n, 1 + S + N)
    ae_earned: np.ndarray  # (n, N) bool
    tail_loss: np.ndarray | None = None  # (n, N) £m, None when the model has no tails


@dataclass(frozen=True)
class BlockOutcome:
    """Every scheme applied to one block of draws (lists indexed by scheme)."""

    outturn: np.ndarray  # (n, N)
    meets: np.ndarray  # (n, N) organisation meets its own control total
    system_meets: np.ndarray  # (n, S) system outturn >= system control total
    org_pass: list[np.ndarray]  # (n, N) finance test passed after redistribution
    system_test_pass: list[np.ndarray]  # (n, S)
    paid: list[np.ndarray]  # (n, N) funding paid (finance + A&E)
    bonus: list[np.ndarray] | None = None  # (n, N) year-end bonus, when the regime has one


def draw_block(model: Model, seed: int, block: int, n: int) -> BlockDraws:
    """The random inputs of block ``block`` (identical whoever computes it)."""
    shocks = draw_shocks(block_generator(seed, block, SHOCK_STREAM), model, n)
    ae_earned = draw_ae_earned(block_generator(seed, block, AE_STREAM), model, n)
    tail_loss = None
    if model.has_tails:
        tail_loss = draw_tail_losses(
            block_generator(seed, block, TAIL_OCCURS_STREAM), block_generator(seed, block, TAIL_SIZE_STREAM), model, n
        )
    return BlockDraws(shocks=shocks, ae_earned=ae_earned, tail_loss=tail_loss)


def block_outturns(model: Model, draws: BlockDraws) -> np.ndarray:
    """Year-end outturn after large adverse events and management actions, shape ``(n, N)``."""
    outturn = outturns(model, draws.shocks)
    if draws.tail_loss is not None:
        outturn = outturn - draws.tail_loss
    return mitigate(outturn, model.control_total, model.mitigation)


def bonus_paid(model: Model, finance_paid: np.ndarray, passes: np.ndarray) -> np.ndarray:
    """Rule 8: unearned finance funding (times ``bonus_share``) paid to organisations that
    passed, pro rata to their allocations; nothing is paid in a draw where nobody passed."""
    pool = model.bonus_share * (model.finance - finance_paid).sum(axis=1)
    recipients = model.funding * passes
    weight = recipients.sum(axis=1)
    ratio = np.divide(pool, weight, out=np.zeros_like(pool), where=weight > 0)
    return ratio[:, None] * recipients


def passes_after_redistribution(
    model: Model, outturn: np.ndarray, meets: np.ndarray, system_meets: np.ndarray,
    redistribution: int, share_cap: float,
) -> np.ndarray:
    """Which members pass their finance test once control totals are varied within systems."""
    org_pass = meets.copy()
    if redistribution == schemes.REDISTRIBUTION_CODES["none"]:
        return org_pass
    finance = model.finance
    full = redistribution == schemes.REDISTRIBUTION_CODES["full"]
    for s in range(model.n_systems):
        lo, hi = model.system_start[s], model.system_start[s + 1]
        block_meets = meets[:, lo:hi]
        if full:
            org_pass[system_meets[:, s], lo:hi] = True
            todo = ~system_meets[:, s] & ~block_meets.all(axis=1)
        else:
            todo = ~block_meets.all(axis=1)
        for r in np.flatnonzero(todo):
            org_pass[r, lo:hi], _ = schemes.redistribute(
                outturn[r, lo:hi], model.control_total[lo:hi], finance[lo:hi],
                redistribution, share_cap, bool(system_meets[r, s]),
            )
    return org_pass


def apply_schemes(model: Model, draws: BlockDraws) -> BlockOutcome:
    """Apply every scheme option of the model to one block of draws (common random numbers)."""
    outturn = block_outturns(model, draws)
    meets = schemes.meets_control_total(outturn, model.control_total)
    system_outturn = np.add.reduceat(outturn, model.system_start[:-1], axis=1)
    system_meets = schemes.system_meets(system_outturn, model.system_control_total)
    finance, ae = model.finance, model.ae
    sa = model.schemes
    # Redistribution does not depend on the linked share: compute once per (mode, cap).
    cache: dict[tuple[int, float], np.ndarray] = {}
    org_pass, system_pass, paid, bonus = [], [], [], []
    for k in range(len(sa)):
        mode = int(sa.redistribution[k])
        key = (mode, float(sa.share_cap[k]) if mode == schemes.REDISTRIBUTION_CODES["capped"] else 0.0)
        if key not in cache:
            cache[key] = passes_after_redistribution(model, outturn, meets, system_meets, mode, key[1])
        passes = cache[key]
        if sa.system_test[k] == schemes.SYSTEM_TEST_CODES["every_member"]:
            sys_pass = np.logical_and.reduceat(passes, model.system_start[:-1], axis=1)
        else:
            sys_pass = system_meets
        finance_k = schemes.finance_paid(
            finance, float(sa.system_linked_share[k]), passes, sys_pass[:, model.org_system]
        )
        paid_k = finance_k + schemes.ae_paid(ae, draws.ae_earned, passes, bool(sa.ae_gateway[k]))
        if model.bonus:
            bonus.append(bonus_paid(model, finance_k, passes))
        org_pass.append(passes)
        system_pass.append(sys_pass)
        paid.append(paid_k)
    return BlockOutcome(outturn, meets, system_meets, org_pass, system_pass, paid, bonus if model.bonus else None)


def reduce_block(model: Model, outcome: BlockOutcome) -> Accumulator:
    """Streaming statistics of one block."""
    return block_accumulator(
        model.funding, model.system_start, outcome.meets, outcome.outturn, outcome.system_meets,
        outcome.paid, outcome.org_pass, outcome.system_test_pass, bonus=outcome.bonus,
    )


class ReferenceRun:
    """Block-by-block run of the reference; ``extend`` continues with the next blocks."""

    def __init__(self, model: Model, seed: int, block_draws: int = BLOCK_DRAWS) -> None:
        self.model = model
        self.seed = seed
        self.block_draws = block_draws
        self.acc = Accumulator.zeros(len(model.schemes), model.n_orgs, model.n_systems)
        self.next_block = 0

    @property
    def draws(self) -> int:
        return self.acc.n

    def extend(self, draws: int, progress: Callable[[int], None] | None = None) -> None:
        """Add ``draws`` more draws: whole blocks from ``next_block`` on, the last possibly short."""
        for offset, n in block_sizes(draws, self.block_draws):
            block = self.next_block + offset
            self.acc.merge(reduce_block(self.model, apply_schemes(self.model, draw_block(self.model, self.seed, block, n))))
            if progress is not None:
                progress(n)
        self.next_block += -(-draws // self.block_draws)

    def accumulator(self) -> Accumulator:
        return self.acc


def simulate_reference(
    model: Model, draws: int, seed: int, block_draws: int = BLOCK_DRAWS,
    progress: Callable[[int], None] | None = None,
) -> Accumulator:
    """Run ``draws`` draws block by block and return the merged statistics."""
    run = ReferenceRun(model, seed, block_draws)
    run.extend(draws, progress)
    return run.accumulator()
