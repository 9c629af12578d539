"""The kernel's driver: per-block generators and buffers in, one wave at a time, totals out.

:class:`KernelRun` prepares a model's tables (:mod:`.tables`), draws each
block's generators, calls the jitted wave (:mod:`.loops`) and merges the float
sums in block order, so that a seed fixes every number whatever the number of
threads; :func:`simulate_kernel` is one whole run.
"""

import math
import time
from collections.abc import Callable, Sequence

import numba
import numpy as np
from numba.typed import List

from sct_engine.engine.kernel.inputs import (
    Decision,
    Groups,
    Levers,
    Members,
    MemberStats,
    Money,
    Periods,
    QuarterlyTables,
    Shocks,
    Streams,
    SystemStats,
    YearEndTables,
)
from sct_engine.engine.kernel.loops import PHASES, run_wave, run_wave_quarterly
from sct_engine.engine.kernel.tables import (
    N_CODES,
    class_loss_bits,
    lever_tables,
    outcome_classes,
    outcome_tables,
    quarterly_tables,
)
from sct_engine.engine.model import QUARTERS, Lever, Model
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
from sct_engine.engine.stats import HIST_BINS, Accumulator, PairedStats
from sct_engine.engine.uncertainty import skew_normal_constants, sobol_common_factors

#: Blocks per wave: fixed, so the order of float reductions never depends on threads.
WAVE_BLOCKS = 16


#: Decision statistics kept as float sums per block of a wave (``PairedStats`` fields), in the
#: order the loops unpack them.
DECISION_FLOATS = (
    "org_diff_paid_sum",
    "org_diff_paid_sumsq",
    "org_income_sum",
    "org_diff_income_sum",
    "org_diff_income_sumsq",
    "org_ae_paid_sum",
    "system_paid_sum",
    "system_paid_cross",
    "system_income_sum",
    "system_income_cross",
    "national_paid_cross",
)
#: Decision statistics kept as integers per thread, in the loops' order; the two fixed-point
#: loss sums are laid out bin first, like the quarterly organisation histogram.
DECISION_INTS = ("org_hist_sum", "member_lost_by_system_bin", "system_over", "system_over_only")


class KernelRun:
    """Runs a model wave by wave, keeping totals; ``extend`` adds more draws deterministically.

    With a ``baseline`` (scheme index) the same kernel pass also keeps the decision
    statistics (``paired``): paired differences from that option, tails, attribution and
    contagion. The run's own statistics are the same with or without them.

    With ``trace`` it keeps per-draw traces instead of the run's statistics (``trace``);
    with ``levers`` as well, the rules are applied to every draw once per lever position
    (an organisation's plan or mitigation moved), all on the same draws, and the traces
    follow each position's member.

    With a ``replicate`` (:class:`~sct_engine.engine.rng.Replicate`, randomised quasi-Monte
    Carlo, :mod:`~sct_engine.engine.sampling`) its blocks are that replicate's: streams keyed
    by the replicate's block numbers and, with Sobol' sampling, the common factors read from
    its scrambled Sobol' sequence (``Streams.common``), as ``ReferenceRun`` does.

    With ``profile`` it also counts CPU cycles per thread and phase of the loops
    (``loops.PHASES``) into ``phase_cycles``, and the wall seconds spent in the loops and
    in this driver between waves into ``wave_seconds`` and ``host_seconds``
    (``benchmarks/profile.py`` reads them).
    """

    def __init__(
        self,
        model: Model,
        seed: int,
        bins: int = HIST_BINS,
        baseline: int | None = None,
        trace: bool = False,
        levers: Sequence[Lever] | None = None,
        profile: bool = False,
        replicate: Replicate | None = None,
    ) -> None:
        if levers and (not trace or baseline is not None):
            raise ValueError("lever positions need trace=True and no baseline")
        self.model = model
        self.seed = seed
        self.replicate = replicate
        self.bins = bins
        self.baseline = baseline
        self.tracing = trace
        # The run's own statistics (off for traces; a profile may switch them off to see
        # what accumulating them costs).
        self._stats = not trace
        self.levered = bool(levers)
        self._levers = lever_tables(model, levers)
        self._traces: list[tuple[np.ndarray, ...]] = []
        k, n, s, b1 = len(model.schemes), model.n_orgs, model.n_systems, bins + 1
        self.totals = Accumulator.zeros(k, n, s, bins)
        self._classes = outcome_classes(model)
        n_classes = self._classes[2].shape[0]
        t, w = numba.get_num_threads(), WAVE_BLOCKS
        self.phase_cycles = np.zeros((t if profile else 0, len(PHASES)), np.int64)
        self.wave_seconds = 0.0
        self.host_seconds = 0.0
        # Integer counts per thread (order-free); float partial sums per block of a wave.
        # Names are Accumulator fields, except the year-end path's per-class outcome codes.
        self._ints = {
            "org_meet": np.zeros((t, n), np.int64),
            "system_meet": np.zeros((t, s), np.int64),
            "system_all_lost": np.zeros((t, k, s), np.int64),
            "system_any_lost": np.zeros((t, k, s), np.int64),
            "system_hist": np.zeros((t, k, s, b1), np.int64),
            "national_hist": np.zeros((t, k, b1), np.int64),
        }
        self._floats = {
            "org_outturn_sum": np.zeros((w, n)),
            "system_lost_sum": np.zeros((w, k, s)),
            "system_lost_sumsq": np.zeros((w, k, s)),
            "system_hist_sum": np.zeros((w, k, s, b1)),
            "national_lost_sum": np.zeros((w, k)),
            "national_lost_sumsq": np.zeros((w, k)),
            "national_hist_sum": np.zeros((w, k, b1)),
            "org_bonus_sum": np.zeros((w, k, n)),
            "org_bonus_sumsq": np.zeros((w, k, n)),
        }
        if model.quarterly:
            self._ints |= {
                "org_pass": np.zeros((t, k, n), np.int64),
                "org_any_lost": np.zeros((t, k, n), np.int64),
                # Bin first: the no-loss bin of every organisation and scheme is one contiguous
                # row, so the commonest increments stay in cache (bin last made the kernel ~35% slower).
                "org_hist": np.zeros((t, b1, k, n), np.int64),
                "system_test_pass": np.zeros((t, k, s), np.int64),
            }
            self._floats |= {
                "org_paid_sum": np.zeros((w, k, n)),
                "org_lost_sum": np.zeros((w, k, n)),
                "org_lost_sumsq": np.zeros((w, k, n)),
                "org_paid_quarter_sum": np.zeros((w, k, n, QUARTERS)),
            }
            self._tables = quarterly_tables(model)
        else:
            self._ints |= {
                "org_code": np.zeros((t, n_classes, n, N_CODES), np.int64),
                "system_test_pass": np.zeros((t, n_classes, s), np.int64),
            }
            self._paid, self._lost, self._bin, self._unearned = outcome_tables(model, bins)
            self._class_bits = class_loss_bits(self._classes[-1], self._bin)
        self._decision_buffers(t, w)
        self._build_inputs()
        self.draws = 0
        self.next_block = 0

    def _build_inputs(self) -> None:
        """The loops' fixed inputs as named structures (:mod:`.inputs`), built by keyword once:
        the factor model and events, the periods (one at year end, four quarters' year to date), members, money at stake,
        redistribution groups, lever positions and the pass's tables."""
        m = self.model
        group_mode, group_cap, class_group, class_test, class_gate, scheme_class = self._classes
        t_scale = math.sqrt((m.dof - 2.0) / m.dof) if m.dof > 2 else 1.0
        self.shocks = Shocks(
            distribution=(m.distribution, m.dof, t_scale, *skew_normal_constants(m.skew)),
            dependence=(
                math.sqrt(m.national_share),
                m.system_loading,
                m.own_loading,
                m.correlated,
                m.correlation_root,
            ),
            events=(
                m.has_tails,
                m.turnover,
                m.tail_probability,
                m.tail_log_median,
                m.tail_sigma,
                m.mitigation,
            ),
        )
        if m.quarterly:
            self.periods = Periods(
                plan=np.ascontiguousarray(m.ytd_plan().T),
                sd=np.ascontiguousarray(m.quarter_sd().T),
                period_control_total=np.ascontiguousarray(m.ytd_control_total().T),
                system_control_total=np.ascontiguousarray(m.system_ytd_control_total().T),
                slack=np.ascontiguousarray(m.system_ytd_slack().T),
                control_total=m.control_total,
            )
        else:
            self.periods = Periods(
                plan=m.plan[None, :],
                sd=m.sd[None, :],
                period_control_total=m.control_total[None, :],
                system_control_total=m.system_control_total[None, :],
                slack=m.system_slack()[None, :],
                control_total=m.control_total,
            )
        self.members = Members(
            finance=m.finance,
            ae=m.ae,
            p_ae=np.ascontiguousarray(m.period_p_ae().T),
            funding=m.funding,
            org_system=m.org_system,
            system_start=m.system_start,
            is_provider=m.is_provider,
        )
        self.money = Money(
            system_funding=m.system_funding(),
            system_finance=m.system_finance(),
            national_funding=float(m.funding.sum()),
            bins=int(self.bins),
            bonus=bool(m.bonus),
            bonus_share=float(m.bonus_share),
        )
        self.groups = Groups(mode=group_mode, cap=group_cap)
        self.levers = Levers(*self._levers)
        self.tables: YearEndTables | QuarterlyTables
        if m.quarterly:
            self.tables = QuarterlyTables(
                scheme_group=class_group[scheme_class],
                scheme_test=m.schemes.system_test,
                scheme_gate=m.ae_gate_codes(),
                share=m.schemes.system_linked_share,
                share_table=self._tables[0],
                instalment_table=self._tables[1],
                ae_share_table=self._tables[2],
                ae_instalment_table=self._tables[3],
            )
        else:
            class_start, class_schemes, lossy = self._class_bits
            self.tables = YearEndTables(
                class_group=class_group,
                class_test=class_test,
                class_gate=class_gate,
                class_start=class_start,
                class_schemes=class_schemes,
                scheme_class=scheme_class,
                share=m.schemes.system_linked_share,
                lossy=lossy,
                paid=self._paid,
                lost=self._lost,
                unearned=self._unearned,
            )
        f, i = self._floats, self._ints
        # The other pass's fields: no elements, same rank (floats per block, counts per thread).
        w, t = f["org_outturn_sum"].shape[0], i["org_meet"].shape[0]
        none_f3, none_f4 = np.zeros((w, 0, 0)), np.zeros((w, 0, 0, 0))
        none_i3, none_i4 = np.zeros((t, 0, 0), np.int64), np.zeros((t, 0, 0, 0), np.int64)
        self.member_stats = MemberStats(
            org_outturn_sum=f["org_outturn_sum"],
            org_bonus_sum=f["org_bonus_sum"],
            org_bonus_sumsq=f["org_bonus_sumsq"],
            org_meet=i["org_meet"],
            system_meet=i["system_meet"],
            system_test_pass=i["system_test_pass"],
            org_code=i.get("org_code", none_i4),
            org_paid_sum=f.get("org_paid_sum", none_f3),
            org_lost_sum=f.get("org_lost_sum", none_f3),
            org_lost_sumsq=f.get("org_lost_sumsq", none_f3),
            org_paid_quarter_sum=f.get("org_paid_quarter_sum", none_f4),
            org_pass=i.get("org_pass", none_i3),
            org_any_lost=i.get("org_any_lost", none_i3),
            org_hist=i.get("org_hist", none_i4),
        )
        self.system_stats = SystemStats(
            system_lost_sum=f["system_lost_sum"],
            system_lost_sumsq=f["system_lost_sumsq"],
            system_hist_sum=f["system_hist_sum"],
            national_lost_sum=f["national_lost_sum"],
            national_lost_sumsq=f["national_lost_sumsq"],
            national_hist_sum=f["national_hist_sum"],
            system_hist=i["system_hist"],
            national_hist=i["national_hist"],
            system_any_lost=i["system_any_lost"],
            system_all_lost=i["system_all_lost"],
        )

    def _decision_buffers(self, t: int, w: int) -> None:
        """Decision statistics: per-block floats and per-thread integers (empty when off)."""
        m = self.model
        on = self.baseline is not None
        k, n, s, b1 = len(m.schemes), m.n_orgs, m.n_systems, self.bins + 1
        shapes = PairedStats.zeros(k, n, s, self.bins).arrays() if on else {}
        size = (lambda name: shapes[name].shape) if on else (lambda name: ())
        self.paired_totals = PairedStats.zeros(k, n, s, self.bins)
        self._dec_floats = {
            name: np.zeros((w, *size(name))) if on else np.zeros((w, 0, 0))
            for name in DECISION_FLOATS
        }
        # The few float statistics of rank 3 or 4 need placeholders of that rank when off.
        if not on:
            self._dec_floats["system_paid_cross"] = np.zeros((w, 0, 0, 0))
            self._dec_floats["system_income_cross"] = np.zeros((w, 0, 0, 0))
        self._dec_ints = {
            "org_hist_sum": np.zeros((t, b1, k, n) if on else (t, 0, 0, 0), np.int64),
            "member_lost_by_system_bin": np.zeros((t, b1, k, n) if on else (t, 0, 0, 0), np.int64),
            "system_over": np.zeros((t, k, s, 2) if on else (t, 0, 0, 0), np.int64),
            "system_over_only": np.zeros((t, k, s, 2, 2) if on else (t, 0, 0, 0, 0), np.int64),
            "org_miss_system_miss": np.zeros((t, n) if on else (t, 0), np.int64),
            "org_pivotal": np.zeros((t, n) if on else (t, 0), np.int64),
        }

    def _decision_args(self, block_n: np.ndarray) -> Decision:
        """The decision statistics' switch, baseline and buffers, with this wave's per-draw
        trace arrays (no rows unless tracing)."""
        f, i = self._dec_floats, self._dec_ints
        m = self.model
        k, n, s = len(m.schemes), m.n_orgs, m.n_systems
        rows = int(block_n.sum()) if self.tracing else 0
        row0 = np.concatenate([[0], np.cumsum(block_n)[:-1]]).astype(np.int64)
        # One entry per lever position, of every member (no levers) or of the lever's member.
        positions, members = self._levers[0].shape[0], 1 if self.levered else n
        trace = (
            row0,
            np.zeros((rows, positions, k, members)),
            np.zeros((rows, positions, k, members), dtype=np.bool_),
            np.zeros((rows, positions, k, s)),
            np.zeros((rows, positions, members)),
        )
        if self.tracing:
            self._traces.append(trace[1:])
        # Traces without a baseline: the decision path runs with base -1, statistics off.
        return Decision(
            on=self.baseline is not None or self.tracing,
            baseline=-1 if self.baseline is None else int(self.baseline),
            floats=tuple(f[name] for name in DECISION_FLOATS),
            ints=tuple(i[name] for name in DECISION_INTS),
            miss_miss=i["org_miss_system_miss"],
            pivotal=i["org_pivotal"],
            trace=trace,
        )

    def _wave(self, blocks: list[tuple[int, int]]) -> None:
        host_started = time.perf_counter()
        m = self.model
        shock_gens, ae_gens, occurs_gens, size_gens = List(), List(), List(), List()
        rep = self.replicate
        for local, _ in blocks:
            block = local if rep is None else rep.block(local)
            shock_gens.append(block_generator(self.seed, block, SHOCK_STREAM))
            ae_gens.append(block_generator(self.seed, block, AE_STREAM))
            if m.has_tails:
                occurs_gens.append(block_generator(self.seed, block, TAIL_OCCURS_STREAM))
                size_gens.append(block_generator(self.seed, block, TAIL_SIZE_STREAM))
        if not m.has_tails:  # never drawn from; the kernel only needs lists of the right type
            occurs_gens, size_gens = ae_gens, ae_gens
        block_n = np.array([n for _, n in blocks], dtype=np.int64)
        for arr in (*self._floats.values(), *self._dec_floats.values()):
            arr[...] = 0.0
        streams = Streams(
            shocks=shock_gens,
            ae=ae_gens,
            tail_occurs=occurs_gens,
            tail_size=size_gens,
            block_n=block_n,
            common=self._common_factors(blocks),
        )
        decision = self._decision_args(block_n)
        wave_started = time.perf_counter()
        if isinstance(self.tables, QuarterlyTables):
            run_wave_quarterly(
                streams=streams,
                shocks=self.shocks,
                periods=self.periods,
                members=self.members,
                money=self.money,
                groups=self.groups,
                tables=self.tables,
                ms=self.member_stats,
                ss=self.system_stats,
                dec=decision,
                stats=self._stats,
                levers=self.levers,
                prof=self.phase_cycles,
            )
        else:
            run_wave(
                streams=streams,
                shocks=self.shocks,
                periods=self.periods,
                members=self.members,
                money=self.money,
                groups=self.groups,
                tables=self.tables,
                ms=self.member_stats,
                ss=self.system_stats,
                dec=decision,
                stats=self._stats,
                levers=self.levers,
                prof=self.phase_cycles,
            )
        wave_ended = time.perf_counter()
        # Float partial sums enter the totals in block order, as in the reference.
        for j in range(len(blocks)):
            if not self.tracing:
                for name, arr in self._floats.items():
                    getattr(self.totals, name)[...] += arr[j]
            if self.baseline is not None:
                for name, arr in self._dec_floats.items():
                    getattr(self.paired_totals, name)[...] += arr[j]
        self.draws += int(block_n.sum())
        self.wave_seconds += wave_ended - wave_started
        self.host_seconds += (wave_started - host_started) + (time.perf_counter() - wave_ended)

    def _common_factors(self, blocks: list[tuple[int, int]]) -> np.ndarray:
        """Sobol' sampling: the wave's common factors ``(blocks, draws, P, 1 + S)`` (block ``b``
        of the replicate: points ``b * BLOCK_DRAWS`` onwards); no elements otherwise."""
        rep = self.replicate
        if rep is None or not rep.sobol:
            return np.zeros((0, 0, 0, 0))
        m = self.model
        periods = self.periods.plan.shape[0]
        out = np.zeros((len(blocks), max(n for _, n in blocks), periods, m.n_systems + 1))
        for j, (local, n) in enumerate(blocks):
            out[j, :n] = sobol_common_factors(m, self.seed, rep.index, local * BLOCK_DRAWS, n)
        return out

    def reset(self) -> None:
        """Forget the statistics and draws so far (the next blocks and traces stay as set):
        :class:`~sct_engine.engine.sampling.ReplicatedRun` reuses one run for every replicate."""
        m = self.model
        self.totals = Accumulator.zeros(len(m.schemes), m.n_orgs, m.n_systems, self.bins)
        self.paired_totals = PairedStats.zeros(len(m.schemes), m.n_orgs, m.n_systems, self.bins)
        for arr in (*self._ints.values(), *self._dec_ints.values()):
            arr[...] = 0
        self.draws = 0

    def extend(self, draws: int, progress: Callable[[int], None] | None = None) -> None:
        """Add ``draws`` more draws (whole blocks from ``next_block`` on, the last one possibly short)."""
        pending = [(self.next_block + b, n) for b, n in block_sizes(draws, BLOCK_DRAWS)]
        for w in range(0, len(pending), WAVE_BLOCKS):
            wave = pending[w : w + WAVE_BLOCKS]
            self._wave(wave)
            if progress is not None:
                progress(sum(n for _, n in wave))
        self.next_block += len(pending)

    def accumulator(self) -> Accumulator:
        """The statistics so far: thread counts summed; in year-end mode the organisation
        statistics are read off the outcome-code counts."""
        if self.tracing:
            raise ValueError("a run with per-draw traces keeps no run statistics")
        acc = Accumulator(**{name: value.copy() for name, value in self.totals.arrays().items()})
        ints = {name: arr.sum(axis=0) for name, arr in self._ints.items()}
        if self.model.quarterly:
            ints["org_hist"] = ints["org_hist"].transpose(1, 2, 0)
        else:
            self._read_outcome_codes(acc, ints)
        for name, value in ints.items():
            getattr(acc, name)[...] = value
        acc.draws[...] = self.draws
        return acc

    def trace(self) -> tuple[np.ndarray, ...]:
        """Per draw (a run made with ``trace=True``): funding paid and the year-end finance
        pass ``(draws, K, N)``, each scheme's system loss ``(draws, K, S)`` and the year-end
        outturn ``(draws, N)``. With ``levers``, per draw and lever position, the lever
        member's funding paid and pass ``(draws, L, K)``, system loss ``(draws, L, K, S)``
        and outturn ``(draws, L)``."""
        if not self.tracing or not self._traces:
            raise ValueError("per-draw traces need KernelRun(..., trace=True) and some draws")
        paid, passed, sys_lost, outturn = (
            parts[0] if len(parts) == 1 else np.concatenate(parts)
            for parts in zip(*self._traces, strict=True)
        )
        if self.levered:
            return paid[..., 0], passed[..., 0], sys_lost, outturn[..., 0]
        return paid[:, 0], passed[:, 0], sys_lost[:, 0], outturn[:, 0]

    def paired(self) -> PairedStats:
        """The decision statistics so far (a run made with a ``baseline``): thread counts summed."""
        if self.baseline is None:
            raise ValueError("decision statistics need a baseline: KernelRun(..., baseline=k)")
        acc = PairedStats(
            **{name: value.copy() for name, value in self.paired_totals.arrays().items()}
        )
        for name, arr in self._dec_ints.items():
            total = arr.sum(axis=0)
            if name in ("org_hist_sum", "member_lost_by_system_bin"):
                total = total.transpose(1, 2, 0)
            getattr(acc, name)[...] = total
        acc.draws[...] = self.draws
        return acc

    def _read_outcome_codes(self, acc: Accumulator, ints: dict[str, np.ndarray]) -> None:
        """Year-end mode: per-class counts to per-scheme ones, and organisation statistics from codes."""
        scheme_class = self._classes[-1]
        codes = ints.pop("org_code")[scheme_class]  # per class -> per scheme, (K, N, 8)
        ints["system_test_pass"] = ints["system_test_pass"][scheme_class]
        acc.org_pass[...] = codes[..., 1::2].sum(axis=-1)
        acc.org_paid_sum[...] = (codes * self._paid).sum(axis=-1)
        acc.org_paid_quarter_sum[..., -1] = acc.org_paid_sum  # everything paid at year end
        acc.org_lost_sum[...] = (codes * self._lost).sum(axis=-1)
        acc.org_lost_sumsq[...] = (codes * self._lost * self._lost).sum(axis=-1)
        acc.org_any_lost[...] = (codes * (self._bin > 0)).sum(axis=-1)
        k_idx, n_idx, _ = np.indices(codes.shape)
        np.add.at(acc.org_hist, (k_idx, n_idx, self._bin), codes)


def simulate_kernel(
    model: Model, draws: int, seed: int, progress: Callable[[int], None] | None = None
) -> Accumulator:
    """Run ``draws`` draws with the numba kernel; same statistics as ``simulate_reference``."""
    run = KernelRun(model, seed)
    run.extend(draws, progress)
    return run.accumulator()
