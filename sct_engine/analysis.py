"""Decision analysis: which option to sign, who is better or worse off, who puts the system at risk.

Everything is computed on the same blocks of draws as ``sct run`` with the same seed
(common random numbers), so differences between options are paired and their
standard errors are those of per-draw differences, not of two independent runs.
The draws are streamed: each block is drawn (``reference.draw_block``), every
option is applied with the reference rules and the block is reduced to sums;
nothing of size draws x organisations outlives a block.

- :func:`analyse`: one pass giving the run's tables plus paired comparisons,
  participation, attribution (Euler / co-CVaR) and contagion; :meth:`Analysis.recommend`
  turns them into a recommendation per system.
- :func:`compare`: paired differences of options against the first one named.
- :func:`incentive_gradient`: change in each organisation's expected funding per
  £1m improvement of its own outturn (central difference on common random numbers).
- :func:`control_total_buffer`, :func:`mitigation_needed` and
  :func:`largest_system_linked_share`: solvers by bisection on common random
  numbers, each answer with its standard error.

The gradient and the solvers re-run one system at a time: ``system_model`` and
``system_draws`` cut the model and a block's random inputs to one system, and
the official ``reference.apply_schemes`` applies the rules (year-end or quarterly).

Money in £m; probabilities are fractions; "95% CI" is +-1.96 standard errors.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from sct_engine import schemes
from sct_engine.model import Model, build_model
from sct_engine.reference import (
    BlockDraws,
    BlockOutcome,
    apply_schemes,
    draw_block,
    reduce_block,
)
from sct_engine.results import Result
from sct_engine.rng import BLOCK_DRAWS, block_sizes
from sct_engine.scenario import Scenario, load_scenario
from sct_engine.stats import HIST_BINS, Accumulator, BlockSums, hist_cvar, hist_quantile, loss_bins

#: Two-sided 95% normal quantile: a 95% confidence interval is +-Z95 standard errors.
Z95 = 1.959963984540054

#: Draws of the main analysis pass when neither the caller nor a run fixes them.
DEFAULT_ANALYSIS_DRAWS = 40_000

#: Draws of the incentive gradient and the solvers (each re-applies the rules many times).
DEFAULT_DETAIL_DRAWS = 16_384

#: Tail level of the "5% worst case": p95 loss and CVaR95 / co-CVaR95.
TAIL_LEVEL = 0.95

Progress = Callable[[int], None] | None


# --- streaming statistics of the analysis pass -------------------------------------


@dataclass
class PairedStats(BlockSums):
    """Per-draw reductions the run's :class:`Accumulator` does not keep (K schemes, N orgs, S systems).

    Differences are against the baseline option (index ``baseline``) unless
    stated; cross-products give the paired variance of any pair of options.
    """

    draws: np.ndarray  # int64 scalar
    org_diff_paid_sum: np.ndarray  # (K, N) paid_k - paid_baseline
    org_diff_paid_sumsq: np.ndarray  # (K, N)
    org_diff_any_sum: np.ndarray  # (K, N) 1{loses funding}_k - 1{...}_baseline
    org_diff_any_sumsq: np.ndarray  # (K, N)
    org_hist_sum: np.ndarray  # (K, N, B + 1) losses summed per loss bin (for CVaR)
    system_paid_sum: np.ndarray  # (K, S)
    system_paid_cross: np.ndarray  # (K, K, S) sum of paid_a * paid_b
    system_diff_any_sum: np.ndarray  # (K, S) some member loses funding, vs baseline
    system_diff_any_sumsq: np.ndarray  # (K, S)
    national_paid_cross: np.ndarray  # (K, K)
    national_any: np.ndarray  # (K,) draws where some organisation loses funding
    national_diff_any_sum: np.ndarray  # (K,)
    national_diff_any_sumsq: np.ndarray  # (K,)
    member_lost_by_system_bin: np.ndarray  # (K, N, B + 1) member loss per loss bin of its system
    org_miss_system_miss: np.ndarray  # (N,) organisation and its system both miss
    org_pivotal: np.ndarray  # (N,) system misses but would meet without this member's shortfall

    @classmethod
    def zeros(cls, n_schemes: int, n_orgs: int, n_systems: int, bins: int = HIST_BINS) -> PairedStats:
        k, n, s, b = n_schemes, n_orgs, n_systems, bins + 1
        f = np.float64
        return cls(
            draws=np.zeros((), np.int64),
            org_diff_paid_sum=np.zeros((k, n), f),
            org_diff_paid_sumsq=np.zeros((k, n), f),
            org_diff_any_sum=np.zeros((k, n), f),
            org_diff_any_sumsq=np.zeros((k, n), f),
            org_hist_sum=np.zeros((k, n, b), f),
            system_paid_sum=np.zeros((k, s), f),
            system_paid_cross=np.zeros((k, k, s), f),
            system_diff_any_sum=np.zeros((k, s), f),
            system_diff_any_sumsq=np.zeros((k, s), f),
            national_paid_cross=np.zeros((k, k), f),
            national_any=np.zeros(k, f),
            national_diff_any_sum=np.zeros(k, f),
            national_diff_any_sumsq=np.zeros(k, f),
            member_lost_by_system_bin=np.zeros((k, n, b), f),
            org_miss_system_miss=np.zeros(n, f),
            org_pivotal=np.zeros(n, f),
        )



def _column_bincount(bins: np.ndarray, weights: np.ndarray, n_bins: int) -> np.ndarray:
    """Per-column weighted histogram of an ``(n, m)`` array of bin indices, shape ``(m, n_bins)``."""
    m = bins.shape[1]
    flat = (bins + np.arange(m) * n_bins).ravel()
    return np.bincount(flat, weights=weights.ravel(), minlength=m * n_bins).reshape(m, n_bins)


def reduce_paired_block(
    model: Model, outcome: BlockOutcome, baseline: int, bins: int = HIST_BINS
) -> PairedStats:
    """Reduce one block of outcomes to :class:`PairedStats`."""
    n = outcome.outturn.shape[0]
    k_schemes = len(outcome.paid)
    starts = model.system_start[:-1]
    funding = model.funding
    system_funding = model.system_funding()
    acc = PairedStats.zeros(k_schemes, model.n_orgs, model.n_systems, bins)
    acc.draws[...] = n

    base_paid = outcome.paid[baseline]
    base_any = (loss_bins(funding - base_paid, funding, bins) > 0).astype(np.float64)
    base_system_any = np.logical_or.reduceat(base_any > 0, starts, axis=1).astype(np.float64)
    base_national_any = base_any.max(axis=1)
    system_paid = np.empty((k_schemes, n, model.n_systems))
    for k, paid in enumerate(outcome.paid):
        lost = funding - paid
        org_bins = loss_bins(lost, funding, bins)
        any_lost = (org_bins > 0).astype(np.float64)
        d_paid = paid - base_paid
        acc.org_diff_paid_sum[k] = d_paid.sum(axis=0)
        acc.org_diff_paid_sumsq[k] = (d_paid * d_paid).sum(axis=0)
        d_any = any_lost - base_any
        acc.org_diff_any_sum[k] = d_any.sum(axis=0)
        acc.org_diff_any_sumsq[k] = (d_any * d_any).sum(axis=0)
        acc.org_hist_sum[k] = _column_bincount(org_bins, lost, bins + 1)

        system_paid[k] = np.add.reduceat(paid, starts, axis=1)
        system_bins = loss_bins(system_funding - system_paid[k], system_funding, bins)
        acc.member_lost_by_system_bin[k] = _column_bincount(system_bins[:, model.org_system], lost, bins + 1)
        d_sys_any = np.logical_or.reduceat(any_lost > 0, starts, axis=1) - base_system_any
        acc.system_diff_any_sum[k] = d_sys_any.sum(axis=0)
        acc.system_diff_any_sumsq[k] = (d_sys_any * d_sys_any).sum(axis=0)
        national_any = any_lost.max(axis=1)
        acc.national_any[k] = national_any.sum()
        d_nat_any = national_any - base_national_any
        acc.national_diff_any_sum[k] = d_nat_any.sum()
        acc.national_diff_any_sumsq[k] = (d_nat_any * d_nat_any).sum()
    acc.system_paid_sum[:] = system_paid.sum(axis=1)
    acc.system_paid_cross[:] = np.einsum("ans,bns->abs", system_paid, system_paid)
    national_paid = system_paid.sum(axis=2)
    acc.national_paid_cross[:] = national_paid @ national_paid.T

    # Contagion does not depend on the option: the organisation and system control total tests.
    miss = ~outcome.meets
    system_miss = ~outcome.system_meets[:, model.org_system]
    acc.org_miss_system_miss[:] = (miss & system_miss).sum(axis=0)
    # The member at its control total if it was short, everyone else as drawn (X_i cancels exactly).
    system_outturn = np.add.reduceat(outcome.outturn, starts, axis=1)[:, model.org_system]
    without = (system_outturn - outcome.outturn) + np.maximum(outcome.outturn, model.control_total)
    meets_without = schemes.system_meets(without, model.system_control_total[model.org_system])
    acc.org_pivotal[:] = (system_miss & meets_without).sum(axis=0)
    return acc


# --- the analysis pass ----------------------------------------------------------------


def default_baseline(model: Model) -> str:
    """``organisation_only`` if offered, else the first option with nothing linked or shared, else the first."""
    names = model.schemes.names
    if "organisation_only" in names:
        return "organisation_only"
    sa = model.schemes
    for k, name in enumerate(names):
        if sa.system_linked_share[k] == 0.0 and sa.redistribution[k] == schemes.REDISTRIBUTION_CODES["none"]:
            return name
    return names[0]


def _scheme_index(model: Model, name: str) -> int:
    names = model.schemes.names
    if name not in names:
        raise ValueError(f"unknown scheme {name!r}; this scenario offers {', '.join(names)}")
    return names.index(name)


def _provenance(
    model: Model, scenario: Scenario | None, seed: int, draws: int, extra: dict[str, Any]
) -> dict[str, Any]:
    import platform
    from datetime import UTC, datetime

    import sct_engine

    source = scenario.source if scenario is not None else None
    return {
        "scenario_name": scenario.name if scenario is not None else "",
        "scenario_file": str(source) if source else None,
        "scenario_hash": scenario.content_hash if scenario is not None else None,
        "seed": seed,
        "draws": draws,
        "engine": "reference",
        "block_draws": BLOCK_DRAWS,
        "hist_bins": HIST_BINS,
        "package_version": sct_engine.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "schemes": list(model.schemes.names),
        **extra,
    }


def _resolve(
    source: Scenario | Result | Model | str | os.PathLike, draws: int | None, seed: int | None
) -> tuple[Model, Scenario | None, int, int, dict[str, Any]]:
    """Model, scenario, seed and draws of whatever the caller handed in."""
    if isinstance(source, Result):
        p = source.provenance
        return (
            source.model, None,
            int(p.get("seed", 0)) if seed is None else int(seed),
            source.draws if draws is None else int(draws),
            {k: p[k] for k in ("scenario_name", "scenario_file", "scenario_hash") if k in p},
        )
    if isinstance(source, Model):
        return source, None, 0 if seed is None else int(seed), draws or DEFAULT_ANALYSIS_DRAWS, {}
    scenario = source if isinstance(source, Scenario) else load_scenario(source)
    return (
        build_model(scenario), scenario,
        scenario.simulation.seed if seed is None else int(seed),
        DEFAULT_ANALYSIS_DRAWS if draws is None else int(draws), {},
    )


def analyse(
    source: Scenario | Result | Model | str | os.PathLike,
    draws: int | None = None,
    seed: int | None = None,
    baseline: str | None = None,
    progress: Progress = None,
) -> Analysis:
    """One streaming pass over the draws: the run's tables plus everything needed to decide.

    Parameters
    ----------
    source : a scenario (or its path), a :class:`Result` (its model, seed and draws
        are reused, so the analysis sees exactly the run's draws) or a :class:`Model`.
    draws, seed : override; defaults are the result's, else ``DEFAULT_ANALYSIS_DRAWS``
        and the scenario's seed.
    baseline : option everything is compared with (default ``organisation_only``).
    progress : called with the number of draws finished after each block.
    """
    model, scenario, seed, draws, inherited = _resolve(source, draws, seed)
    if draws < 1:
        raise ValueError(f"draws must be at least 1 (got {draws})")
    baseline = default_baseline(model) if baseline is None else baseline
    base = _scheme_index(model, baseline)
    k, n_orgs, n_sys = len(model.schemes), model.n_orgs, model.n_systems
    acc = Accumulator.zeros(k, n_orgs, n_sys)
    paired = PairedStats.zeros(k, n_orgs, n_sys)
    for block, n in block_sizes(draws):
        outcome = apply_schemes(model, draw_block(model, seed, block, n))
        acc.merge(reduce_block(model, outcome))
        paired.merge(reduce_paired_block(model, outcome, base))
        if progress is not None:
            progress(n)
    provenance = _provenance(model, scenario, seed, draws, inherited)
    return Analysis(result=Result(model=model, stats=acc, provenance=provenance), paired=paired,
                    baseline=baseline, seed=seed)


def _mean_se(total: np.ndarray, total_sq: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    mean = total / n
    var = np.maximum(total_sq / n - mean * mean, 0.0) * (n / max(n - 1, 1))
    return mean, np.sqrt(var / n)


def _pair_se(sum_a: np.ndarray, sum_b: np.ndarray, aa: np.ndarray, bb: np.ndarray, ab: np.ndarray,
             n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of ``a - b`` per draw from sums and cross-products."""
    return _mean_se(sum_a - sum_b, aa - 2.0 * ab + bb, n)


@dataclass(frozen=True)
class Recommendation:
    """The option one system should sign, and why."""

    system: str
    system_name: str
    scheme: str
    baseline: str
    expected_funding: float
    gain: float  # expected funding over the baseline, £m
    se_gain: float
    eligible: tuple[str, ...]  # options leaving no member worse off
    excluded: dict[str, str]  # option -> why it was ruled out
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Analysis:
    """The run's :class:`Result` and the paired statistics of the same draws."""

    result: Result
    paired: PairedStats
    baseline: str
    seed: int

    @property
    def model(self) -> Model:
        return self.result.model

    @property
    def draws(self) -> int:
        return self.result.draws

    @property
    def scheme_names(self) -> tuple[str, ...]:
        return self.model.schemes.names

    def _schemes(self, names: Sequence[str] | None) -> list[str]:
        chosen = list(self.scheme_names) if names is None else list(names)
        for name in chosen:
            _scheme_index(self.model, name)
        return chosen

    # -- 1. paired comparison ---------------------------------------------------------

    def comparison(self, level: str = "systems", options: Sequence[str] | None = None) -> pd.DataFrame:
        """Differences of each option from the baseline on the same draws, with 95% paired CIs.

        ``level`` is ``organisations``, ``systems`` or ``national``. Positive
        ``diff_expected_funding`` means more funding than the baseline;
        ``diff_p_...`` are differences of probabilities (fractions).
        """
        if level not in ("organisations", "systems", "national"):
            raise ValueError(f"level must be organisations, systems or national (got {level!r})")
        m, p, n = self.model, self.paired, self.draws
        base = _scheme_index(m, self.baseline)
        rows = []
        for name in self._schemes(options):
            k = _scheme_index(m, name)
            if level == "organisations":
                d_paid, se_paid = _mean_se(p.org_diff_paid_sum[k], p.org_diff_paid_sumsq[k], n)
                d_any, se_any = _mean_se(p.org_diff_any_sum[k], p.org_diff_any_sumsq[k], n)
                for i in range(m.n_orgs):
                    rows.append({
                        "scheme": name, "baseline": self.baseline, "system": m.system_ids[m.org_system[i]],
                        "organisation": m.org_ids[i],
                        "diff_expected_funding": d_paid[i], "se_diff_expected_funding": se_paid[i],
                        "diff_p_any_funding_lost": d_any[i], "se_diff_p_any_funding_lost": se_any[i],
                    })
            elif level == "systems":
                d_paid, se_paid = _pair_se(
                    p.system_paid_sum[k], p.system_paid_sum[base], p.system_paid_cross[k, k],
                    p.system_paid_cross[base, base], p.system_paid_cross[k, base], n,
                )
                d_any, se_any = _mean_se(p.system_diff_any_sum[k], p.system_diff_any_sumsq[k], n)
                for s in range(m.n_systems):
                    rows.append({
                        "scheme": name, "baseline": self.baseline, "system": m.system_ids[s],
                        "diff_expected_funding": d_paid[s], "se_diff_expected_funding": se_paid[s],
                        "diff_p_any_member_loses_funding": d_any[s],
                        "se_diff_p_any_member_loses_funding": se_any[s],
                    })
            else:
                total = p.system_paid_sum.sum(axis=1)
                d_paid, se_paid = _pair_se(
                    total[k], total[base], p.national_paid_cross[k, k], p.national_paid_cross[base, base],
                    p.national_paid_cross[k, base], n,
                )
                d_any, se_any = _mean_se(p.national_diff_any_sum[k], p.national_diff_any_sumsq[k], n)
                rows.append({
                    "scheme": name, "baseline": self.baseline,
                    "diff_expected_funding": float(d_paid), "se_diff_expected_funding": float(se_paid),
                    "diff_p_any_organisation_loses_funding": float(d_any),
                    "se_diff_p_any_organisation_loses_funding": float(se_any),
                })
        frame = pd.DataFrame(rows)
        for col in [c for c in frame.columns if c.startswith("diff_")]:
            frame[f"ci95_{col[5:]}"] = Z95 * frame[f"se_{col}"]
        return frame

    def system_difference(self, system: int, a: str, b: str) -> tuple[float, float]:
        """Expected funding of option ``a`` minus option ``b`` for one system, and its paired SE."""
        p, n = self.paired, self.draws
        i, j = _scheme_index(self.model, a), _scheme_index(self.model, b)
        mean, se = _pair_se(
            p.system_paid_sum[i, system], p.system_paid_sum[j, system], p.system_paid_cross[i, i, system],
            p.system_paid_cross[j, j, system], p.system_paid_cross[i, j, system], n,
        )
        return float(mean), float(se)

    def headlines(self, options: Sequence[str] | None = None) -> list[str]:
        """One plain sentence per system and option against the baseline."""
        frame = self.comparison("systems", options)
        names = dict(zip(self.model.system_ids, self.model.system_names, strict=True))
        lines = []
        for row in frame.itertuples(index=False):
            if row.scheme == self.baseline:
                continue
            lines.append(
                f"{names[row.system]}: {row.scheme} {_direction(row.diff_p_any_member_loses_funding, 'lowers', 'raises')} "
                f"the probability that any member loses funding by "
                f"{abs(row.diff_p_any_member_loses_funding) * 100:.1f} points "
                f"± {row.ci95_p_any_member_loses_funding * 100:.1f} and "
                f"{_direction(-row.diff_expected_funding, 'raises', 'lowers')} expected funding by "
                f"£{abs(row.diff_expected_funding):.2f}m ± {row.ci95_expected_funding:.2f}m "
                f"compared with {self.baseline} (95% paired CI)."
            )
        return lines

    # -- 2. participation ---------------------------------------------------------------

    def participation(self) -> pd.DataFrame:
        """Each organisation under each option against the baseline: expectation and 5% worst case.

        ``worse_in_expectation``: expected funding lower than the baseline's by more
        than 1.96 paired standard errors. ``worse_in_tail``: the 1-in-20-year loss
        (p95) higher by more than one histogram bin. ``would_sign`` is neither.
        """
        m, st, p, n = self.model, self.result.stats, self.paired, self.draws
        base = _scheme_index(m, self.baseline)
        p95 = hist_quantile(st.org_hist, m.funding, TAIL_LEVEL)
        cvar = hist_cvar(st.org_hist, p.org_hist_sum, TAIL_LEVEL)
        bin_width = m.funding / HIST_BINS
        rows = []
        for k, name in enumerate(self.scheme_names):
            diff, se = _mean_se(p.org_diff_paid_sum[k], p.org_diff_paid_sumsq[k], n)
            for i in range(m.n_orgs):
                worse_mean = bool(diff[i] < -Z95 * se[i] and diff[i] < -1e-12 * (1.0 + m.funding[i]))
                better_mean = bool(diff[i] > Z95 * se[i] and diff[i] > 1e-12 * (1.0 + m.funding[i]))
                worse_tail = bool(p95[k, i] > p95[base, i] + bin_width[i] * 1.000001)
                rows.append({
                    "scheme": name, "system": m.system_ids[m.org_system[i]], "organisation": m.org_ids[i],
                    "expected_funding": st.org_paid_sum[k, i] / n,
                    "baseline_expected_funding": st.org_paid_sum[base, i] / n,
                    "diff_expected_funding": diff[i], "se_diff_expected_funding": se[i],
                    "funding_lost_p95": p95[k, i], "baseline_funding_lost_p95": p95[base, i],
                    "funding_lost_cvar95": cvar[k, i], "baseline_funding_lost_cvar95": cvar[base, i],
                    "better_in_expectation": better_mean, "worse_in_expectation": worse_mean,
                    "worse_in_tail": worse_tail, "would_sign": not (worse_mean or worse_tail),
                })
        return pd.DataFrame(rows)

    def options_nobody_worse_off(self, tail: bool = False) -> dict[str, list[str]]:
        """Per system, the options under which no member is worse off (in expectation, and in the tail if asked)."""
        part = self.participation()
        flag = part["worse_in_expectation"] | (part["worse_in_tail"] if tail else False)
        bad = part.assign(flag=flag).groupby(["system", "scheme"])["flag"].any()
        return {
            sid: [name for name in self.scheme_names if not bad[(sid, name)]] for sid in self.model.system_ids
        }

    # -- 3. attribution and contagion ------------------------------------------------------

    def attribution(self, level: float = TAIL_LEVEL) -> pd.DataFrame:
        """Each member's share of its system's funding lost: in expectation and in the worst ``1 - level`` of years.

        ``co_cvar`` is the Euler allocation of the system's CVaR: the member's
        mean loss over the same tail draws (the boundary bin split as in
        ``stats.hist_cvar``), so members' ``co_cvar`` add up to the system's
        ``funding_lost_cvar95`` and ``expected_funding_lost`` to the system's.
        """
        m, st, p, n = self.model, self.result.stats, self.paired, self.draws
        counts = st.system_hist.astype(np.float64)  # (K, S, B + 1)
        tail = (1.0 - level) * n
        above = np.flip(np.cumsum(np.flip(counts, -1), -1), -1) - counts
        take = np.clip(tail - above, 0.0, counts)
        weight = np.divide(take, counts, out=np.zeros_like(take), where=counts > 0)  # share of each bin in the tail
        system_cvar = hist_cvar(st.system_hist, st.system_hist_sum, level)
        system_expected = st.system_lost_sum / n
        rows = []
        for k, name in enumerate(self.scheme_names):
            co_cvar = (weight[k][m.org_system] * p.member_lost_by_system_bin[k]).sum(axis=1) / tail
            expected = st.org_lost_sum[k] / n
            for i in range(m.n_orgs):
                s = m.org_system[i]
                rows.append({
                    "scheme": name, "system": m.system_ids[s], "organisation": m.org_ids[i],
                    "expected_funding_lost": expected[i],
                    "share_of_expected_loss": _share(expected[i], system_expected[k, s]),
                    "co_cvar": co_cvar[i],
                    "share_of_cvar": _share(co_cvar[i], system_cvar[k, s]),
                    "system_expected_funding_lost": system_expected[k, s],
                    "system_funding_lost_cvar": system_cvar[k, s],
                })
        return pd.DataFrame(rows)

    def contagion(self) -> pd.DataFrame:
        """Who puts the system at risk (control total tests, the same under every option).

        ``p_system_miss_given_miss`` = P(system misses | member misses);
        ``p_pivotal`` = P(system misses, and would have met had this member
        reached its own control total); ``p_pivotal_given_system_miss`` divides by
        P(system misses).
        """
        m, st, p, n = self.model, self.result.stats, self.paired, self.draws
        miss = n - st.org_meet.astype(np.float64)
        system_miss = (n - st.system_meet.astype(np.float64))[m.org_system]
        cond = np.divide(p.org_miss_system_miss, miss, out=np.full(m.n_orgs, np.nan), where=miss > 0)
        cond_se = np.sqrt(np.divide(cond * (1 - cond), miss, out=np.full(m.n_orgs, np.nan), where=miss > 0))
        p_system_miss = system_miss / n
        pivotal = p.org_pivotal / n
        piv_given = np.divide(p.org_pivotal, system_miss, out=np.full(m.n_orgs, np.nan), where=system_miss > 0)
        return pd.DataFrame({
            "system": np.array(m.system_ids)[m.org_system],
            "organisation": list(m.org_ids),
            "p_miss_control_total": miss / n,
            "p_system_miss": p_system_miss,
            "p_system_miss_given_miss": cond,
            "se_p_system_miss_given_miss": cond_se,
            "lift": np.divide(cond, p_system_miss, out=np.full(m.n_orgs, np.nan), where=p_system_miss > 0),
            "p_pivotal": pivotal,
            "se_p_pivotal": np.sqrt(pivotal * (1 - pivotal) / n),
            "p_pivotal_given_system_miss": piv_given,
        })

    # -- 6. recommendation ------------------------------------------------------------------

    def recommend(self, tail: bool = False) -> list[Recommendation]:
        """Per system: the option with the most expected funding that leaves no member worse off.

        "Worse off" is in expectation (significantly, at 95%) and, with ``tail``,
        also in a 1-in-20 bad year. The baseline is always eligible.
        """
        m, n = self.model, self.draws
        part = self.participation()
        org_names = dict(zip(m.org_ids, m.org_names, strict=True))
        systems = self.result.systems
        out = []
        for s, sid in enumerate(m.system_ids):
            sys_part = part[part["system"] == sid]
            excluded: dict[str, str] = {}
            compensation: dict[str, float] = {}  # expected funding the worse-off members give up
            for name in self.scheme_names:
                rows = sys_part[sys_part["scheme"] == name]
                worse = rows[rows["worse_in_expectation"] | (rows["worse_in_tail"] if tail else False)]
                if name != self.baseline and len(worse):
                    excluded[name] = _exclusion_reason(worse, org_names, tail)
                    compensation[name] = float(-worse["diff_expected_funding"].clip(upper=0.0).sum())
            eligible = tuple(x for x in self.scheme_names if x not in excluded)
            expected = {x: self.paired.system_paid_sum[_scheme_index(m, x), s] / n for x in self.scheme_names}
            best = max(eligible, key=lambda x: expected[x])
            gain, se_gain = self.system_difference(s, best, self.baseline)
            reasons = self._reasons(s, best, eligible, excluded, compensation, expected, systems, tail)
            out.append(Recommendation(
                system=sid, system_name=m.system_names[s], scheme=best, baseline=self.baseline,
                expected_funding=float(expected[best]), gain=gain, se_gain=se_gain,
                eligible=eligible, excluded=excluded, reasons=tuple(reasons),
            ))
        return out

    def _reasons(self, s: int, best: str, eligible: tuple[str, ...], excluded: dict[str, str],
                 compensation: dict[str, float], expected: dict[str, float], systems: pd.DataFrame,
                 tail: bool) -> list[str]:
        sid, base = self.model.system_ids[s], self.baseline
        at_stake = float(self.model.system_funding()[s])
        rows = systems[systems["system"] == sid].set_index("scheme")
        reasons = []
        if best == base:
            reasons.append(
                f"No risk-sharing option gives the system more expected funding than {base} without "
                f"leaving a member worse off, so stay with {base} (expected funding "
                f"£{expected[base]:.2f}m of £{at_stake:.2f}m at stake)."
            )
        else:
            gain, se = self.system_difference(s, best, base)
            reasons.append(
                f"{best} gives the system £{gain:.2f}m (± £{Z95 * se:.2f}m) more expected sustainability "
                f"funding a year than {base}: £{expected[best]:.2f}m of £{at_stake:.2f}m at stake."
            )
            reasons.append(
                "No member is worse off in expectation than going alone"
                + (", nor in a 1-in-20 bad year." if tail else ".")
            )
            p_any = rows["p_any_member_loses_funding"]
            reasons.append(
                f"The chance that at least one member loses funding goes from {p_any[base]:.0%} "
                f"to {p_any[best]:.0%}; the system's 1-in-20-year loss from £{rows['funding_lost_p95'][base]:.2f}m "
                f"to £{rows['funding_lost_p95'][best]:.2f}m."
            )
        runners = [x for x in eligible if x != best]
        if runners:
            runner = max(runners, key=lambda x: expected[x])
            margin, se = self.system_difference(s, best, runner)
            if margin <= Z95 * se:
                reasons.append(
                    f"{runner} is within Monte Carlo error of it (£{margin:.2f}m ± £{Z95 * se:.2f}m): "
                    "either is defensible; more draws would separate them."
                )
            else:
                reasons.append(f"It beats the next acceptable option, {runner}, by £{margin:.2f}m (± £{Z95 * se:.2f}m).")
        for name, why in excluded.items():
            if expected[name] > expected[best]:
                extra = expected[name] - expected[best]
                reasons.append(f"{name} would give the system £{extra:.2f}m more, but {why}.")
                if extra > compensation[name]:
                    reasons.append(
                        f"Compensating those members under {name} (£{compensation[name]:.2f}m a year in "
                        f"expectation) would still leave the system £{extra - compensation[name]:.2f}m ahead "
                        f"of {best}: a side agreement worth negotiating."
                    )
        return reasons


def _exclusion_reason(worse: pd.DataFrame, org_names: dict[str, str], tail: bool) -> str:
    parts = []
    for row in worse.itertuples(index=False):
        bits = []
        if row.worse_in_expectation:
            bits.append(f"£{-row.diff_expected_funding:.2f}m a year worse off in expectation")
        if tail and row.worse_in_tail:
            bits.append(
                f"£{row.funding_lost_p95 - row.baseline_funding_lost_p95:.2f}m more lost in a 1-in-20 year"
            )
        parts.append(f"it leaves {org_names[row.organisation]} ({row.organisation}) {' and '.join(bits)}")
    return "; ".join(parts)


def _direction(value: float, negative: str, positive: str) -> str:
    return negative if value < 0 else positive


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole > 0 else 0.0


@dataclass(frozen=True)
class Comparison:
    """Paired differences of options from the first one named, at three levels."""

    organisations: pd.DataFrame
    systems: pd.DataFrame
    national: pd.DataFrame
    headlines: list[str]


def compare(
    source: Scenario | Result | Model | str | os.PathLike,
    *scheme_names: str,
    draws: int | None = None,
    seed: int | None = None,
    progress: Progress = None,
) -> Comparison:
    """Compare options on the same draws: ``compare(result, "organisation_only", "flexible_50")``.

    The first option named is the baseline; with none named, every option is
    compared with ``organisation_only``. Given a :class:`Result`, the run's own
    draws are re-created from its seed.
    """
    names = list(scheme_names) or None
    analysis = analyse(source, draws=draws, seed=seed, baseline=names[0] if names else None,
                       progress=progress)
    return Comparison(
        organisations=analysis.comparison("organisations", names),
        systems=analysis.comparison("systems", names),
        national=analysis.comparison("national", names),
        headlines=analysis.headlines(names),
    )


# --- applying the rules to given outturns (the incentive gradient and the solvers) -----


def system_draws(model: Model, draws: BlockDraws, system: int) -> BlockDraws:
    """One system's share of a block's random inputs, laid out for ``system_model(model, system)``.

    Shocks keep the national factor, the system's factor and its members'
    own terms; per-organisation inputs keep the members' columns. The last axis
    is the variate (organisation) axis in every layout, year-end or quarterly.
    """
    lo, hi = int(model.system_start[system]), int(model.system_start[system + 1])
    s = model.n_systems
    shock_columns = np.concatenate([[0, 1 + system], np.arange(1 + s + lo, 1 + s + hi)])
    cut: dict[str, Any] = {}
    for f in fields(draws):
        value = getattr(draws, f.name)
        if not isinstance(value, np.ndarray):
            continue
        cut[f.name] = value[..., shock_columns] if f.name == "shocks" else value[..., lo:hi]
    return replace(draws, **cut)


#: Model arrays indexed by system, not organisation (kept whole or cut by system in ``system_model``).
_SYSTEM_ARRAYS = frozenset({"system_start", "system_control_total", "org_system"})


def system_model(model: Model, system: int) -> Model:
    """The model restricted to one system: its members' arrays, its system control total, every option.

    Every per-organisation array of :class:`Model` is cut, so fields added later follow.
    """
    lo, hi = int(model.system_start[system]), int(model.system_start[system + 1])
    cut: dict[str, Any] = {}
    for f in fields(model):
        value = getattr(model, f.name)
        if f.name in _SYSTEM_ARRAYS:
            continue
        per_org_array = isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == model.n_orgs
        if per_org_array or (isinstance(value, tuple) and f.name.startswith("org_")):
            cut[f.name] = value[lo:hi]
    return replace(
        model, **cut,
        org_system=np.zeros(hi - lo, dtype=np.int64),
        system_ids=(model.system_ids[system],), system_names=(model.system_names[system],),
        system_start=np.array([0, hi - lo], dtype=np.int64),
        system_control_total=model.system_control_total[system : system + 1],
    )


def with_schemes(model: Model, names: Sequence[str]) -> Model:
    """The model with only the named options (in that order; a name may repeat)."""
    idx = [_scheme_index(model, x) for x in names]
    sa = model.schemes
    cut = {f.name: getattr(sa, f.name)[idx] for f in fields(sa) if isinstance(getattr(sa, f.name), np.ndarray)}
    return replace(model, schemes=replace(sa, names=tuple(names), **cut))


def with_lever(model: Model, organisation: int, lever: str, level: float) -> Model:
    """The model with one organisation's plan raised by ``level`` (``lever="plan"``) or its mitigation set to it."""
    if lever == "plan":
        plan = model.plan.copy()
        plan[organisation] += level
        return replace(model, plan=plan)
    if lever == "mitigation":
        mitigation = model.mitigation.copy()
        mitigation[organisation] = level
        return replace(model, mitigation=mitigation)
    raise ValueError(f"lever must be 'plan' or 'mitigation' (got {lever!r})")


def _draw_rows(draws: BlockDraws, rows: np.ndarray) -> BlockDraws:
    """The same random inputs for a subset of draws (every per-draw array cut)."""
    return replace(draws, **{
        f.name: getattr(draws, f.name)[rows]
        for f in fields(draws) if isinstance(getattr(draws, f.name), np.ndarray)
    })


def _organisation_indices(model: Model, organisations: Sequence[str] | None) -> list[int]:
    if organisations is None:
        return list(range(model.n_orgs))
    unknown = [o for o in organisations if o not in model.org_ids]
    if unknown:
        raise ValueError(f"unknown organisation(s) {', '.join(unknown)}")
    return [model.org_ids.index(o) for o in organisations]


# --- 4. incentive gradient ---------------------------------------------------------------


def incentive_gradient(
    model: Model,
    seed: int,
    draws: int = DEFAULT_DETAIL_DRAWS,
    delta: float = 1.0,
    baseline: str | None = None,
    organisations: Sequence[str] | None = None,
    progress: Progress = None,
) -> pd.DataFrame:
    """Change in expected funding per £1m improvement of an organisation's own outturn.

    Central difference on common random numbers: every draw is re-run with the
    organisation's plan (so its outturn before management actions) ``delta / 2``
    better and ``delta / 2`` worse, all else equal, and the funding difference
    divided by ``delta`` (so the result is per £1m). ``own_gradient`` is the
    organisation's own funding, ``system_gradient`` its whole system's.
    ``incentive`` says whether the option weakens (moral hazard) or sharpens the
    organisation's own incentive relative to the baseline, by more than 1.96
    paired standard errors. The year-end bonus (rule 8) is left out.
    """
    baseline = default_baseline(model) if baseline is None else baseline
    base = _scheme_index(model, baseline)
    k_schemes = len(model.schemes)
    targets = _organisation_indices(model, organisations)
    own = np.zeros((2, k_schemes, model.n_orgs))  # sum, sum of squares
    system = np.zeros((2, k_schemes, model.n_orgs))
    diff = np.zeros((2, k_schemes, model.n_orgs))
    # The bonus pool is national and not part of the funding compared here: leave it out.
    submodels = {s: replace(system_model(model, s), bonus=False) for s in {int(model.org_system[i]) for i in targets}}
    for block, n in block_sizes(draws):
        block_draws = draw_block(model, seed, block, n)
        for i in targets:
            s = int(model.org_system[i])
            j = i - int(model.system_start[s])
            mine = system_draws(model, block_draws, s)
            paid = [
                np.stack(apply_schemes(with_lever(submodels[s], j, "plan", shift), mine).paid)  # (K, n, m)
                for shift in (delta / 2.0, -delta / 2.0)
            ]
            g_own = (paid[0][:, :, j] - paid[1][:, :, j]) / delta
            g_sys = (paid[0].sum(axis=2) - paid[1].sum(axis=2)) / delta
            g_diff = g_own - g_own[base]
            for acc, g in ((own, g_own), (system, g_sys), (diff, g_diff)):
                acc[0, :, i] += g.sum(axis=1)
                acc[1, :, i] += (g * g).sum(axis=1)
            if progress is not None:
                progress(n)
    rows = []
    for k, name in enumerate(model.schemes.names):
        g, se = _mean_se(own[0, k], own[1, k], draws)
        gs, se_s = _mean_se(system[0, k], system[1, k], draws)
        d, se_d = _mean_se(diff[0, k], diff[1, k], draws)
        for i in targets:
            if name == baseline:
                verdict = "baseline"
            elif d[i] < -Z95 * se_d[i]:
                verdict = "weaker"
            elif d[i] > Z95 * se_d[i]:
                verdict = "stronger"
            else:
                verdict = "unchanged"
            base_g = own[0, base, i] / draws
            rows.append({
                "scheme": name, "system": model.system_ids[model.org_system[i]],
                "organisation": model.org_ids[i],
                "own_gradient": g[i], "se_own_gradient": se[i],
                "system_gradient": gs[i], "se_system_gradient": se_s[i],
                "diff_own_gradient": d[i], "se_diff_own_gradient": se_d[i],
                "ratio_to_baseline": g[i] / base_g if base_g > 0 else np.nan,
                "incentive": verdict,
            })
    return pd.DataFrame(rows)


# --- 5. solvers ----------------------------------------------------------------------------


def _delta_method_se(p_se: float, slope: float) -> float:
    return p_se / abs(slope) if slope != 0 else math.inf


class _PassThresholds:
    """Per draw, bounds on the lever level at which one member starts to pass its finance test.

    Passing is monotone in the member's own outturn under every rule (a better
    outturn can only meet its own test, add headroom, shrink its shortfall or
    lift the system), and a higher plan or more mitigation never lowers it, so
    each draw has a threshold level. ``hi``: passes at any level >= hi; ``lo``:
    fails at any level < lo (and at lo itself when it was evaluated as a
    failure). A candidate level only re-runs the draws it does not already decide.
    """

    def __init__(self, model: Model, system: int, member: int, lever: str, start: float,
                 seed: int, draws: int, base_outturn: np.ndarray, base_pass: np.ndarray) -> None:
        # ``model`` has the one option solved for; ``system_model`` cuts it to the member's system.
        self.model, self.system, self.member, self.lever = model, system, member, lever
        self.seed, self.draws = seed, draws
        self.sub = system_model(model, system)
        mode = int(model.schemes.redistribution[0])
        # Level at which the member meets its own control total (exact for both levers).
        shortfall = np.maximum(self.sub.control_total[member] - base_outturn[:, member], 0.0)
        upper = start + shortfall
        if (mode == schemes.REDISTRIBUTION_CODES["full"] and lever == "plan"
                and self.sub.mitigation[member] == 0.0):
            # Without mitigation a plan improvement moves outturn one for one; a system
            # that meets its total passes every member under full redistribution.
            gap = np.maximum(self.sub.system_control_total[0] - base_outturn.sum(axis=1), 0.0)
            upper = np.minimum(upper, start + gap)
        self.hi = np.where(base_pass, start, upper)
        exact = mode == schemes.REDISTRIBUTION_CODES["none"]
        self.lo = np.where(base_pass, start, self.hi if exact else start)

    def probability(self, level: float) -> float:
        """P(the member passes with the lever at ``level``), on the same draws every call."""
        passes = self.hi <= level
        rows = np.flatnonzero(~passes & (self.lo < level))
        if rows.size:
            moved = with_lever(self.sub, self.member, self.lever, level)
            for block, n in block_sizes(self.draws):
                start = block * BLOCK_DRAWS
                mine = rows[(rows >= start) & (rows < start + n)]
                if not mine.size:
                    continue
                block_draws = system_draws(self.model, draw_block(self.model, self.seed, block, n), self.system)
                ok = apply_schemes(moved, _draw_rows(block_draws, mine - start)).org_pass[0][:, self.member]
                self.hi[mine[ok]] = np.minimum(self.hi[mine[ok]], level)
                self.lo[mine[~ok]] = np.maximum(self.lo[mine[~ok]], level)
                passes[mine[ok]] = True
        return float(passes.mean())


def _solve_lever(
    model: Model, seed: int, draws: int, scheme: str | None, target: float,
    organisations: Sequence[str] | None, tol: float, lever: str,
) -> pd.DataFrame:
    """Smallest lever level per member reaching P(passes) >= target; see ``control_total_buffer``."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must be strictly between 0 and 1 (got {target})")
    scheme = default_baseline(model) if scheme is None else scheme
    one = replace(with_schemes(model, [scheme]), bonus=False)
    by_system: dict[int, list[int]] = {}
    for i in _organisation_indices(model, organisations):
        by_system.setdefault(int(model.org_system[i]), []).append(i)
    rows = []
    for s, members in by_system.items():
        lo_i, hi_i = int(model.system_start[s]), int(model.system_start[s + 1])
        sub = system_model(one, s)
        base_x = np.empty((draws, hi_i - lo_i))
        base_pass = np.empty((draws, hi_i - lo_i), dtype=bool)
        for block, n in block_sizes(draws):
            outcome = apply_schemes(sub, system_draws(one, draw_block(one, seed, block, n), s))
            cut = slice(block * BLOCK_DRAWS, block * BLOCK_DRAWS + n)
            base_x[cut] = outcome.outturn
            base_pass[cut] = outcome.org_pass[0]
        for i in members:
            j = i - lo_i
            start = float(model.mitigation[i]) if lever == "mitigation" else 0.0
            thresholds = _PassThresholds(one, s, j, lever, start, seed, draws, base_x, base_pass[:, j])
            p_now = float(base_pass[:, j].mean())
            level, se, p_at = start, 0.0, p_now
            if p_now < target:
                # hi bounds every draw's threshold from above, so its target quantile brackets the answer.
                low = start
                high = float(np.sort(thresholds.hi)[math.ceil(target * draws) - 1]) + tol
                while high - low > tol:
                    mid = 0.5 * (low + high)
                    low, high = (low, mid) if thresholds.probability(mid) >= target else (mid, high)
                level = high
                p_at = thresholds.probability(level)
                h = max(5 * tol, 0.1 * float(model.sd[i]))
                left = max(level - h, start)
                slope = (thresholds.probability(level + h) - thresholds.probability(left)) / (level + h - left)
                se = _delta_method_se(math.sqrt(target * (1 - target) / draws), slope)
            rows.append({
                "scheme": scheme, "system": model.system_ids[s], "organisation": model.org_ids[i],
                "target": target, "p_pass_now": p_now, "level": level, "se_level": se, "p_pass_at_level": p_at,
            })
    return pd.DataFrame(rows)


def control_total_buffer(
    model: Model,
    seed: int,
    draws: int = DEFAULT_DETAIL_DRAWS,
    scheme: str | None = None,
    target: float = 0.8,
    organisations: Sequence[str] | None = None,
    tol: float = 0.01,
) -> pd.DataFrame:
    """Smallest plan improvement (control-total buffer, £m) each member needs to pass with probability ``target``.

    "Pass" is the option's finance test after redistribution (under
    ``organisation_only``: meeting its own control total). Each member is solved
    with the others at plan, by bisection on the same draws to within ``tol``;
    ``se_buffer`` is the delta-method standard error
    ``sqrt(target (1 - target) / draws) / slope`` with the slope of the pass
    probability measured by a central difference on the same draws.
    """
    out = _solve_lever(model, seed, draws, scheme, target, organisations, tol, "plan")
    out = out.rename(columns={"p_pass_now": "p_pass_at_plan", "level": "buffer", "se_level": "se_buffer",
                              "p_pass_at_level": "p_pass_with_buffer"})
    plan = dict(zip(model.org_ids, model.plan, strict=True))
    out["plan_with_buffer"] = out["organisation"].map(plan) + out["buffer"]
    return out


def mitigation_needed(
    model: Model,
    seed: int,
    draws: int = DEFAULT_DETAIL_DRAWS,
    scheme: str | None = None,
    target: float = 0.8,
    organisations: Sequence[str] | None = None,
    tol: float = 0.01,
) -> pd.DataFrame:
    """Smallest mitigation (management actions held in reserve, £m) each member needs to pass with probability ``target``.

    As :func:`control_total_buffer`, but the lever is the organisation's
    ``mitigation``: a shortfall up to it is recovered, a larger one reduced by
    it. The answer is the total mitigation (at least the scenario's own).
    """
    out = _solve_lever(model, seed, draws, scheme, target, organisations, tol, "mitigation")
    out = out.rename(columns={"p_pass_now": "p_pass_at_plan", "level": "mitigation", "se_level": "se_mitigation",
                              "p_pass_at_level": "p_pass_with_mitigation"})
    current = dict(zip(model.org_ids, model.mitigation, strict=True))
    out["current_mitigation"] = out["organisation"].map(current)
    return out


def _default_linked_template(model: Model) -> str:
    sa = model.schemes
    for k, name in enumerate(sa.names):
        if sa.redistribution[k] == schemes.REDISTRIBUTION_CODES["full"]:
            return name
    return sa.names[0]


def system_loss_lines(model: Model, seed: int, draws: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """Per draw and system, funding lost under ``scheme`` with linked share ``s`` is ``a + s * c``.

    Which members pass, and whether the system test passes, do not depend on
    the linked share, and the finance element is linear in it (rule 4, also
    quarter by quarter), so the option run with shares 0 and 1 gives the loss
    at every share: ``a`` is the loss at 0 and ``c`` the change to 1.
    """
    pair = with_schemes(model, [scheme, scheme])
    pair = replace(pair, bonus=False, schemes=replace(
        pair.schemes, names=("share_0", "share_1"), system_linked_share=np.array([0.0, 1.0])))
    starts = model.system_start[:-1]
    system_funding = model.system_funding()
    a = np.empty((draws, model.n_systems))
    c = np.empty((draws, model.n_systems))
    for block, n in block_sizes(draws):
        paid = apply_schemes(pair, draw_block(pair, seed, block, n)).paid
        lost = [system_funding - np.add.reduceat(p, starts, axis=1) for p in paid]
        rows = slice(block * BLOCK_DRAWS, block * BLOCK_DRAWS + n)
        a[rows] = lost[0]
        c[rows] = lost[1] - lost[0]
    return a, c


def largest_system_linked_share(
    model: Model,
    seed: int,
    draws: int = DEFAULT_DETAIL_DRAWS,
    scheme: str | None = None,
    target: float = 0.8,
    loss_limit: float = 0.25,
    tol: float = 0.001,
) -> pd.DataFrame:
    """Per system, the largest ``system_linked_share`` keeping P(funding lost <= loss_limit x funding) >= target.

    The option ``scheme`` (default: the first with full redistribution) gives
    the redistribution and system test; only the linked share varies. A grid
    of 21 shares finds the largest acceptable bracket, then bisection on the
    same draws narrows it to ``tol``. ``se_share`` is the delta-method standard
    error. ``feasible`` is False when even a share of 0 misses the target.
    """
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must be strictly between 0 and 1 (got {target})")
    scheme = _default_linked_template(model) if scheme is None else scheme
    a, c = system_loss_lines(model, seed, draws, scheme)
    limit = loss_limit * model.system_funding()
    rows = []
    for s in range(model.n_systems):
        def prob(share: float, s: int = s) -> float:
            return float(np.mean(a[:, s] + share * c[:, s] <= limit[s] * (1 + 1e-12) + 1e-12))

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
                low, high = float(grid[top]), float(grid[top + 1])
                while high - low > tol:
                    mid = 0.5 * (low + high)
                    low, high = (mid, high) if prob(mid) >= target else (low, mid)
                share = low
                h = 0.02
                slope = (prob(min(share + h, 1.0)) - prob(max(share - h, 0.0))) / (min(share + h, 1.0) - max(share - h, 0.0))
                se = _delta_method_se(math.sqrt(target * (1 - target) / draws), slope)
        rows.append({
            "scheme": scheme, "system": model.system_ids[s], "target": target, "loss_limit": loss_limit,
            "largest_share": share, "se_share": se, "feasible": feasible,
            "p_at_share": prob(share) if feasible else math.nan,
            "p_at_zero": prob(0.0), "p_at_one": prob(1.0),
        })
    return pd.DataFrame(rows)


__all__ = [
    "DEFAULT_ANALYSIS_DRAWS", "DEFAULT_DETAIL_DRAWS", "TAIL_LEVEL", "Z95", "Analysis",
    "Comparison", "PairedStats", "Recommendation", "analyse", "compare", "control_total_buffer",
    "default_baseline", "incentive_gradient", "largest_system_linked_share", "mitigation_needed",
    "reduce_paired_block", "system_draws", "system_loss_lines", "system_model", "with_lever", "with_schemes",
]
