"""Plain numpy simulator: the correctness oracle.

Readable rather than fast. It draws each block from the block's own streams
(``rng.py``), turns shocks into outturns (``uncertainty.py``), applies every
scheme option to the same draws with the pure rules of :mod:`sct_engine.rules`, and
reduces the block to streaming statistics (``stats.py``), so memory does not
grow with the number of draws. The numba kernel must reproduce it exactly.

Quarterly mode (rule 6) runs the same tests on year-to-date figures at the end of
each quarter and pays each element by the quarter weights. Large adverse events
and management actions act on the year-end (Q4) position only: events crystallise,
and non-recurrent savings are found, at year end. Year-end statistics of the
accumulator (meeting the control total, outturn, passing after redistribution,
the system test) then refer to Q4; funding paid and lost is the year's total.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from sct_engine import rules
from sct_engine.engine.model import Lever, Model, with_lever
from sct_engine.engine.rng import (
    AE_STREAM,
    BLOCK_DRAWS,
    SHOCK_STREAM,
    TAIL_OCCURS_STREAM,
    TAIL_SIZE_STREAM,
    Replicate,
    block_generator,
    block_sizes,
)
from sct_engine.engine.stats import (
    HIST_BINS,
    Accumulator,
    PairedStats,
    block_accumulator,
    fixed_point_loss,
    loss_bins,
    system_over,
)
from sct_engine.engine.uncertainty import (
    draw_ae_earned,
    draw_own_shocks,
    draw_shocks,
    draw_tail_losses,
    mitigate,
    outturns,
    sobol_common_factors,
    ytd_outturns,
)


@dataclass(frozen=True)
class BlockDraws:
    """The random inputs of one block: standard shocks, A&E outcomes, large adverse events."""

    shocks: np.ndarray  # (n, 1 + S + N), quarterly (n, 4, 1 + S + N)
    ae_earned: np.ndarray  # (n, N) bool, quarterly (n, 4, N)
    tail_loss: np.ndarray | None = None  # (n, N) £m, None when the model has no tails


@dataclass(frozen=True)
class BlockOutcome:
    """Every scheme applied to one block of draws (lists indexed by scheme).

    In quarterly mode the outturn and the tests are the year-end (Q4) ones and
    ``paid_quarter`` splits each draw's funding paid by quarter (recovered money in Q4).
    """

    outturn: np.ndarray  # (n, N)
    meets: np.ndarray  # (n, N) organisation meets its own control total
    system_meets: np.ndarray  # (n, S) system outturn >= system control total
    org_pass: list[np.ndarray]  # (n, N) finance test passed after redistribution
    system_test_pass: list[np.ndarray]  # (n, S)
    paid: list[np.ndarray]  # (n, N) funding paid (finance + A&E)
    bonus: list[np.ndarray] | None = None  # (n, N) year-end bonus, when the regime has one
    paid_quarter: list[np.ndarray] | None = None  # (n, N, 4) quarterly mode only
    finance_paid: list[np.ndarray] | None = None  # (n, N) the finance element of ``paid``
    ae_paid: list[np.ndarray] | None = None  # (n, N) the A&E element of ``paid``
    # Quarterly mode only: the finance test after redistribution (n, N, 4) and each system's
    # test (n, S, 4) by quarter, read by the in-year re-forecast (analysis/inyear.py).
    org_pass_quarter: list[np.ndarray] | None = None
    system_pass_quarter: list[np.ndarray] | None = None


def draw_block(
    model: Model, seed: int, block: int, n: int, common: np.ndarray | None = None
) -> BlockDraws:
    """The random inputs of block ``block`` (identical whoever computes it). With ``common``
    (Sobol' sampling: the national and system variates, ``(n, 1 + S)`` or quarterly
    ``(n, 4, 1 + S)``) the shock stream gives only the organisations' own variates."""
    rng = block_generator(seed, block, SHOCK_STREAM)
    if common is None:
        shocks = draw_shocks(rng, model, n)
    else:
        shocks = np.concatenate([common, draw_own_shocks(rng, model, n)], axis=-1)
    ae_earned = draw_ae_earned(block_generator(seed, block, AE_STREAM), model, n)
    tail_loss = None
    if model.has_tails:
        tail_loss = draw_tail_losses(
            block_generator(seed, block, TAIL_OCCURS_STREAM),
            block_generator(seed, block, TAIL_SIZE_STREAM),
            model,
            n,
        )
    return BlockDraws(shocks=shocks, ae_earned=ae_earned, tail_loss=tail_loss)


def year_end_events(model: Model, outturn: np.ndarray, tail_loss: np.ndarray | None) -> np.ndarray:
    """Year-end outturn after large adverse events and then management actions."""
    if tail_loss is not None:
        outturn = outturn - tail_loss
    return mitigate(outturn, model.control_total, model.mitigation)


def block_ytd_outturns(model: Model, draws: BlockDraws) -> np.ndarray:
    """Quarterly mode: year-to-date outturn per quarter, shape ``(n, 4, N)``; Q4 after
    large adverse events and management actions, which belong to the year end."""
    ytd = ytd_outturns(model, draws.shocks)
    ytd[:, -1] = year_end_events(model, ytd[:, -1], draws.tail_loss)
    return ytd


def block_outturns(model: Model, draws: BlockDraws) -> np.ndarray:
    """Year-end outturn after large adverse events and management actions, shape ``(n, N)``."""
    if model.quarterly:
        return block_ytd_outturns(model, draws)[:, -1]
    return year_end_events(model, outturns(model, draws.shocks), draws.tail_loss)


def bonus_paid(model: Model, finance_paid: np.ndarray, passes: np.ndarray) -> np.ndarray:
    """Rule 8: PSF finance funding left unearned by trusts (times ``bonus_share``) paid to the
    trusts that passed, pro rata to their allocations; nothing is paid in a draw where no
    trust passed, and unearned CSF stays out of the pool (``rules.bonus_paid``)."""
    return rules.bonus_paid(
        model.finance, finance_paid, model.funding, passes, model.is_provider, model.bonus_share
    )


def passes_after_redistribution(
    model: Model,
    outturn: np.ndarray,
    meets: np.ndarray,
    system_meets: np.ndarray,
    redistribution: int,
    share_cap: float,
    control_total: np.ndarray | None = None,
    slack: np.ndarray | None = None,
) -> np.ndarray:
    """Which members pass their finance test once control totals are varied within systems.

    ``control_total`` is what ``outturn`` is judged against: the year-end control
    totals by default, or a quarter's year-to-date ones; ``slack`` (per system) how far
    the system control total is looser than the members' (``Model.system_slack`` by default).
    """
    org_pass = meets.copy()
    if redistribution == rules.REDISTRIBUTION_CODES["none"]:
        return org_pass
    control_total = model.control_total if control_total is None else control_total
    slack = model.system_slack() if slack is None else slack
    finance = model.finance
    full = redistribution == rules.REDISTRIBUTION_CODES["full"]
    for s in range(model.n_systems):
        lo, hi = model.system_start[s], model.system_start[s + 1]
        block_meets = meets[:, lo:hi]
        if full:
            org_pass[system_meets[:, s], lo:hi] = True
            todo = ~system_meets[:, s] & ~block_meets.all(axis=1)
        else:
            # A 2-D array reduced over axis 1 is a 1-D array, never a scalar.
            todo = cast(np.ndarray, ~block_meets.all(axis=1))
        for r in np.flatnonzero(todo):
            org_pass[r, lo:hi], _ = rules.redistribute(
                outturn[r, lo:hi],
                control_total[lo:hi],
                finance[lo:hi],
                redistribution,
                share_cap,
                bool(system_meets[r, s]),
                float(slack[s]),
            )
    return org_pass


@dataclass(frozen=True)
class SchemeTests:
    """Rules 2 to 5 on one set of figures (the year end, or one quarter's year to date)."""

    meets: np.ndarray  # (n, N) organisation meets its own control total
    system_meets: np.ndarray  # (n, S) system outturn >= system control total
    org_pass: list[np.ndarray]  # per scheme (n, N): finance test passed after redistribution
    system_pass: list[np.ndarray]  # per scheme (n, S): the scheme's system test passed


def scheme_tests(
    model: Model,
    outturn: np.ndarray,
    control_total: np.ndarray,
    system_control_total: np.ndarray,
    slack: np.ndarray | None = None,
) -> SchemeTests:
    """Organisation and system tests, redistribution and every scheme's system test
    (``slack``: see :func:`passes_after_redistribution`)."""
    meets = rules.meets_control_total(outturn, control_total)
    system_outturn = np.add.reduceat(outturn, model.system_start[:-1], axis=1)
    system_meets = rules.system_meets(system_outturn, system_control_total)
    sa = model.schemes
    # Redistribution does not depend on the linked share: compute once per (mode, cap).
    cache: dict[tuple[int, float], np.ndarray] = {}
    org_pass, system_pass = [], []
    for k in range(len(sa)):
        mode = int(sa.redistribution[k])
        key = (
            mode,
            float(sa.share_cap[k]) if mode == rules.REDISTRIBUTION_CODES["capped"] else 0.0,
        )
        if key not in cache:
            cache[key] = passes_after_redistribution(
                model, outturn, meets, system_meets, mode, key[1], control_total, slack
            )
        passes = cache[key]
        if sa.system_test[k] == rules.SYSTEM_TEST_CODES["every_member"]:
            system_pass.append(np.logical_and.reduceat(passes, model.system_start[:-1], axis=1))
        else:
            system_pass.append(system_meets)
        org_pass.append(passes)
    return SchemeTests(meets, system_meets, org_pass, system_pass)


def apply_schemes(model: Model, draws: BlockDraws) -> BlockOutcome:
    """Apply every scheme option of the model to one block of draws (common random numbers)."""
    if model.quarterly:
        return apply_schemes_quarterly(model, draws)
    outturn = block_outturns(model, draws)
    tests = scheme_tests(model, outturn, model.control_total, model.system_control_total)
    finance, ae = model.finance, model.ae
    sa = model.schemes
    gates = model.ae_gate_codes()
    paid, bonus, finance_parts, ae_parts = [], [], [], []
    for k in range(len(sa)):
        passes = tests.org_pass[k]
        system_pass = tests.system_pass[k][:, model.org_system]
        finance_k = rules.finance_paid(
            finance, float(sa.system_linked_share[k]), passes, system_pass
        )
        ae_k = rules.ae_paid(ae, draws.ae_earned, passes, system_pass, int(gates[k]))
        paid.append(finance_k + ae_k)
        finance_parts.append(finance_k)
        ae_parts.append(ae_k)
        if model.bonus:
            bonus.append(bonus_paid(model, finance_k, passes))
    return BlockOutcome(
        outturn,
        tests.meets,
        tests.system_meets,
        tests.org_pass,
        tests.system_pass,
        paid,
        bonus if model.bonus else None,
        finance_paid=finance_parts,
        ae_paid=ae_parts,
    )


def apply_schemes_quarterly(model: Model, draws: BlockDraws) -> BlockOutcome:
    """Rule 6: every scheme tested on each quarter's year-to-date figures and paid by quarter.

    The finance element pays ``fin * ((1 - s) O + s Y)`` with ``O`` and ``Y`` the
    shares of ``rules.quarterly_share`` for the organisation's and the system's
    quarterly passes (with recovery when the model has it); the A&E element pays
    ``ae * sum_q w_q ae_q`` (earned that quarter, and behind the gateway only in a
    quarter whose tests open it; never recovered). Commissioners' finance element is
    paid with the CSF weights and recovery setting. The bonus pool is formed at year
    end from the PSF finance funding left unearned over the year and paid to the
    trusts that passed at year end.
    """
    ytd = block_ytd_outturns(model, draws)
    control_total, system_control_total = (
        model.ytd_control_total(),
        model.system_ytd_control_total(),
    )
    slack = model.system_ytd_slack()
    quarters = [
        scheme_tests(model, ytd[:, q], control_total[:, q], system_control_total[:, q], slack[:, q])
        for q in range(ytd.shape[1])
    ]
    year_end = quarters[-1]
    earned = draws.ae_earned.transpose(0, 2, 1)  # (n, N, 4)
    finance, ae = model.finance, model.ae
    sa = model.schemes
    gates = model.ae_gate_codes()
    # Finance instalments by kind: PSF weights and recovery for trusts, CSF's for CCGs.
    weights, recovery = model.quarter_weight_percent(), model.quarter_recovery()
    paid, paid_quarter, bonus, finance_parts, ae_parts = [], [], [], [], []
    org_quarter, system_quarter = [], []
    for k in range(len(sa)):
        passes = np.stack([t.org_pass[k] for t in quarters], axis=-1)  # (n, N, 4)
        system_pass = np.stack([t.system_pass[k][:, model.org_system] for t in quarters], axis=-1)
        ae_passes = earned & rules.ae_gate_open(int(gates[k]), passes, system_pass)
        share = float(sa.system_linked_share[k])
        finance_k = rules.finance_paid(
            finance,
            share,
            rules.quarterly_share(passes, recovery, weights),
            rules.quarterly_share(system_pass, recovery, weights),
        )
        ae_k = ae * rules.quarterly_share(ae_passes, recovery=False)
        paid.append(finance_k + ae_k)
        finance_parts.append(finance_k)
        ae_parts.append(ae_k)
        paid_quarter.append(
            rules.finance_paid(
                finance[:, None],
                share,
                rules.quarterly_instalments(passes, recovery, weights),
                rules.quarterly_instalments(system_pass, recovery, weights),
            )
            + ae[:, None] * rules.quarterly_instalments(ae_passes, recovery=False)
        )
        org_quarter.append(passes)
        system_quarter.append(np.stack([t.system_pass[k] for t in quarters], axis=-1))
        if model.bonus:
            bonus.append(bonus_paid(model, finance_k, year_end.org_pass[k]))
    return BlockOutcome(
        ytd[:, -1],
        year_end.meets,
        year_end.system_meets,
        year_end.org_pass,
        year_end.system_pass,
        paid,
        bonus if model.bonus else None,
        paid_quarter,
        finance_parts,
        ae_parts,
        org_quarter,
        system_quarter,
    )


def reduce_block(model: Model, outcome: BlockOutcome) -> Accumulator:
    """Streaming statistics of one block."""
    return block_accumulator(
        model.funding,
        model.system_start,
        outcome.meets,
        outcome.outturn,
        outcome.system_meets,
        outcome.paid,
        outcome.org_pass,
        outcome.system_test_pass,
        bonus=outcome.bonus,
        paid_quarter=outcome.paid_quarter,
    )


def bonus_held_at_baseline(model: Model, outcome: BlockOutcome, baseline: int) -> list[np.ndarray]:
    """Per option, the year-end bonus (rule 8) each member would receive if its own system signed
    the option and every other system stayed with the baseline: ``bonus_paid`` (the run's own
    rule) on the baseline's figures with the system's members replaced by the option's.
    Zeros when the regime has no bonus."""
    bonus = [np.zeros_like(p) for p in outcome.paid]
    if not model.bonus or outcome.finance_paid is None:
        return bonus
    finance_b, passes_b = outcome.finance_paid[baseline], outcome.org_pass[baseline]
    for k in range(len(outcome.paid)):
        for s in range(model.n_systems):
            lo, hi = int(model.system_start[s]), int(model.system_start[s + 1])
            finance = finance_b.copy()
            finance[:, lo:hi] = outcome.finance_paid[k][:, lo:hi]
            passes = passes_b.copy()
            passes[:, lo:hi] = outcome.org_pass[k][:, lo:hi]
            bonus[k][:, lo:hi] = bonus_paid(model, finance, passes)[:, lo:hi]
    return bonus


def _column_sums(bins: np.ndarray, weights: np.ndarray, n_bins: int) -> np.ndarray:
    """Per-column integer sums of ``weights`` by bin, shape ``(m, n_bins)`` (exact: below 2^53 per block)."""
    m = bins.shape[1]
    flat = (bins + np.arange(m) * n_bins).ravel()
    sums = np.bincount(flat, weights=weights.ravel().astype(np.float64), minlength=m * n_bins)
    return np.rint(sums).astype(np.int64).reshape(m, n_bins)


def reduce_paired_block(
    model: Model, outcome: BlockOutcome, baseline: int, bins: int = HIST_BINS
) -> PairedStats:
    """Decision statistics of one block (``stats.PairedStats``): the oracle of the kernel's."""
    n = outcome.outturn.shape[0]
    k_schemes = len(outcome.paid)
    starts = model.system_start[:-1]
    funding = model.funding
    system_funding = model.system_funding()
    acc = PairedStats.zeros(k_schemes, model.n_orgs, model.n_systems, bins)
    acc.draws[...] = n
    assert outcome.ae_paid is not None
    bonus = bonus_held_at_baseline(model, outcome, baseline)
    income = [p + b for p, b in zip(outcome.paid, bonus, strict=True)]
    base_paid, base_income = outcome.paid[baseline], income[baseline]
    system_paid = np.empty((k_schemes, n, model.n_systems))
    system_income = np.empty((k_schemes, n, model.n_systems))
    over = []
    for k, paid in enumerate(outcome.paid):
        d_paid = paid - base_paid
        acc.org_diff_paid_sum[k] = d_paid.sum(axis=0)
        acc.org_diff_paid_sumsq[k] = (d_paid * d_paid).sum(axis=0)
        d_income = income[k] - base_income
        acc.org_income_sum[k] = income[k].sum(axis=0)
        acc.org_diff_income_sum[k] = d_income.sum(axis=0)
        acc.org_diff_income_sumsq[k] = (d_income * d_income).sum(axis=0)
        acc.org_ae_paid_sum[k] = outcome.ae_paid[k].sum(axis=0)
        lost = funding - paid
        fixed = fixed_point_loss(lost, funding)
        acc.org_hist_sum[k] = _column_sums(loss_bins(lost, funding, bins), fixed, bins + 1)

        system_lost = np.add.reduceat(lost, starts, axis=1)
        system_paid[k] = system_funding - system_lost
        system_income[k] = system_paid[k] + np.add.reduceat(bonus[k], starts, axis=1)
        system_bins = loss_bins(system_lost, system_funding, bins)
        acc.member_lost_by_system_bin[k] = _column_sums(
            system_bins[:, model.org_system], fixed, bins + 1
        )
        over.append(system_over(system_lost, system_funding))
    for k in range(k_schemes):
        for t in range(2):
            mine, theirs = over[k][t], over[baseline][t]
            acc.system_over[k, :, t] = mine.sum(axis=0)
            acc.system_over_only[k, :, t, 0] = (mine & ~theirs).sum(axis=0)
            acc.system_over_only[k, :, t, 1] = (theirs & ~mine).sum(axis=0)
    acc.system_paid_sum[:] = system_paid.sum(axis=1)
    acc.system_paid_cross[:] = np.einsum("ans,bns->abs", system_paid, system_paid)
    acc.system_income_sum[:] = system_income.sum(axis=1)
    acc.system_income_cross[:] = np.einsum("ans,bns->abs", system_income, system_income)
    national_paid = system_paid.sum(axis=2)
    acc.national_paid_cross[:] = national_paid @ national_paid.T

    # Contagion does not depend on the option: the organisation and system control total tests.
    miss = ~outcome.meets
    system_miss = ~outcome.system_meets[:, model.org_system]
    acc.org_miss_system_miss[:] = (miss & system_miss).sum(axis=0)
    # The member at its control total if it was short, everyone else as drawn.
    system_outturn = np.add.reduceat(outcome.outturn, starts, axis=1)[:, model.org_system]
    without = (system_outturn - outcome.outturn) + np.maximum(outcome.outturn, model.control_total)
    meets_without = rules.system_meets(without, model.system_control_total[model.org_system])
    acc.org_pivotal[:] = (system_miss & meets_without).sum(axis=0)
    return acc


class ReferenceRun:
    """Block-by-block run of the reference; ``extend`` continues with the next blocks.

    With a ``baseline`` (scheme index) it also keeps the decision statistics (``paired``).
    With ``trace`` it keeps per-draw traces (``trace``); with ``levers`` as well, every block
    is applied to the moved model of each lever (``with_lever``) on the same draws, the
    oracle of the kernel's lever positions. With a ``replicate`` its blocks are that
    replicate's (``rng.Replicate``; Sobol' common factors from ``rng.sobol_variates``), as
    ``KernelRun``'s.
    """

    def __init__(
        self,
        model: Model,
        seed: int,
        block_draws: int = BLOCK_DRAWS,
        baseline: int | None = None,
        trace: bool = False,
        levers: Sequence[Lever] | None = None,
        replicate: Replicate | None = None,
    ) -> None:
        if levers and (not trace or baseline is not None):
            raise ValueError("lever positions need trace=True and no baseline")
        self.model = model
        self.seed = seed
        self.replicate = replicate
        self.block_draws = block_draws
        self.baseline = baseline
        self.tracing = trace
        self.levers = list(levers or [])
        self._draws = 0
        self._traces: list[tuple[np.ndarray, ...]] = []
        k, n, s = len(model.schemes), model.n_orgs, model.n_systems
        self.acc = Accumulator.zeros(k, n, s)
        self._paired = PairedStats.zeros(k, n, s) if baseline is not None else None
        self.next_block = 0

    @property
    def draws(self) -> int:
        return self._draws

    def _trace_block(self, outcome: BlockOutcome) -> tuple[np.ndarray, ...]:
        """One block's traces: paid and pass ``(n, K, N)``, system loss ``(n, K, S)``, outturn."""
        lost = [self.model.funding - p for p in outcome.paid]
        starts = self.model.system_start[:-1]
        return (
            np.stack(outcome.paid, axis=1),
            np.stack(outcome.org_pass, axis=1),
            np.stack([np.add.reduceat(x, starts, axis=1) for x in lost], axis=1),
            outcome.outturn,
        )

    def extend(self, draws: int, progress: Callable[[int], None] | None = None) -> None:
        """Add ``draws`` more draws: whole blocks from ``next_block`` on, the last possibly short."""
        for offset, n in block_sizes(draws, self.block_draws):
            local = self.next_block + offset
            drawn = draw_block(
                self.model, self.seed, self._block(local), n, self._common_factors(local, n)
            )
            if self.levers:
                # The lever's member only, at every position: (n, L, K), (n, L, K, S), (n, L).
                parts = []
                for j, name, level in self.levers:
                    moved = with_lever(self.model, j, name, level)
                    paid, passed, sys_lost, outturn = self._trace_block(apply_schemes(moved, drawn))
                    parts.append((paid[:, :, j], passed[:, :, j], sys_lost, outturn[:, j]))
                self._traces.append(tuple(np.stack(x, axis=1) for x in zip(*parts, strict=True)))
            else:
                outcome = apply_schemes(self.model, drawn)
                self.acc.merge(reduce_block(self.model, outcome))
                if self._paired is not None and self.baseline is not None:
                    self._paired.merge(reduce_paired_block(self.model, outcome, self.baseline))
                if self.tracing:
                    self._traces.append(self._trace_block(outcome))
                del outcome  # one block's arrays alive at a time, not two
            self._draws += n
            if progress is not None:
                progress(n)
        self.next_block += -(-draws // self.block_draws)

    def _block(self, local: int) -> int:
        return local if self.replicate is None else self.replicate.block(local)

    def _common_factors(self, local: int, n: int) -> np.ndarray | None:
        """Sobol' sampling: block ``local``'s common factors (points ``local * block_draws`` on
        of the replicate's sequence, ``block_draws`` a block), shaped as the shocks without their own variates."""
        rep, m = self.replicate, self.model
        if rep is None or not rep.sobol:
            return None
        z = sobol_common_factors(m, self.seed, rep.index, local * self.block_draws, n)
        return z if m.quarterly else z[:, 0]

    def reset(self) -> None:
        """Forget the statistics and draws so far (the next blocks stay as set)."""
        k, n, s = len(self.model.schemes), self.model.n_orgs, self.model.n_systems
        self.acc = Accumulator.zeros(k, n, s)
        self._paired = PairedStats.zeros(k, n, s) if self.baseline is not None else None
        self._draws = 0

    def accumulator(self) -> Accumulator:
        return self.acc

    def trace(self) -> tuple[np.ndarray, ...]:
        """Per draw (``trace=True``): funding paid and year-end finance pass ``(draws, K, N)``,
        each scheme's system loss ``(draws, K, S)`` and the year-end outturn ``(draws, N)``,
        as ``KernelRun.trace`` (with ``levers``: per lever position, of its member)."""
        if not self.tracing or not self._traces:
            raise ValueError("per-draw traces need ReferenceRun(..., trace=True) and some draws")
        return tuple(np.concatenate(parts) for parts in zip(*self._traces, strict=True))

    def paired(self) -> PairedStats:
        """The decision statistics so far (needs a ``baseline``)."""
        if self._paired is None:
            raise ValueError("decision statistics need a baseline: ReferenceRun(..., baseline=k)")
        return self._paired


def simulate_reference(
    model: Model,
    draws: int,
    seed: int,
    block_draws: int = BLOCK_DRAWS,
    progress: Callable[[int], None] | None = None,
) -> Accumulator:
    """Run ``draws`` draws block by block and return the merged statistics."""
    run = ReferenceRun(model, seed, block_draws)
    run.extend(draws, progress)
    return run.accumulator()
