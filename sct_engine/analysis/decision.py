"""Decision analysis: which option to sign, who is better or worse off, who puts the system at risk.

:func:`analyse` runs the scenario once on the engine of ``sct run`` (the fused kernel by
default) with the decision statistics switched on, so its tables are exactly those of
``sct run`` for the same seed and draws, and every option is compared with the baseline on
the same draws (common random numbers). It then settles the decision rule of ``rule.py``:
comparisons the confidence intervals leave unresolved get more draws, in whole waves, up to
the rule's cap, and what is still unresolved is reported as too close to call.

- :meth:`Analysis.decisions` is the one table of verdicts (member x option) from which both
  :meth:`Analysis.participation` and :meth:`Analysis.recommend` are read, so they cannot
  contradict each other.
- :func:`compare`: paired differences of options against the first one named.

Money in £m; probabilities are fractions; "95% CI" is +-1.96 standard errors. The incentive
gradient is in ``incentives.py`` and the solvers in ``solvers.py``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sct_engine.analysis.paired import Z95, count_difference, mean_se, pair_se
from sct_engine.analysis.rule import (
    LOWER,
    NATIONAL_RULE_NOTE,
    NOT_WORSE,
    TAIL_LEVEL,
    UNRESOLVED,
    WORSE,
    DecisionRule,
    appetite_verdict,
    changes_national_rules,
    combine,
    expectation_verdict,
    lower_verdict,
    quantile_interval,
    tail_verdict,
)
from sct_engine.analysis.submodels import (
    BaselineError,
    national_baseline,
    scheme_index,
    with_schemes,
)
from sct_engine.engine.model import Model, build_model
from sct_engine.engine.results import Result
from sct_engine.engine.simulate import CHECK_EVERY, engine_run, run_provenance
from sct_engine.engine.stats import (
    FIXED_POINT,
    SYSTEM_LOSS_ABS,
    SYSTEM_LOSS_SHARE,
    Accumulator,
    PairedStats,
    hist_cvar,
)
from sct_engine.scenario import Scenario, load_scenario

#: Draws when neither the caller, a run nor a scenario fixes them (a bare :class:`Model`).
DEFAULT_ANALYSIS_DRAWS = 40_000

#: A member "loses heavily" when it loses more than this share of its allocation in a year.
HEAVY_LOSS_SHARE = 0.1

Progress = Callable[[int], None] | None


def _resolve(
    source: Scenario | Result | Model | str | os.PathLike, draws: int | None, seed: int | None
) -> tuple[Model, Scenario | None, int, int, dict[str, Any]]:
    """Model, scenario, seed and draws of whatever the caller handed in."""
    if isinstance(source, Result):
        p = source.provenance
        return (
            source.model,
            None,
            int(p.get("seed", 0)) if seed is None else int(seed),
            source.draws if draws is None else int(draws),
            {k: p[k] for k in ("scenario_name", "scenario_file", "scenario_hash") if k in p},
        )
    if isinstance(source, Model):
        return source, None, 0 if seed is None else int(seed), draws or DEFAULT_ANALYSIS_DRAWS, {}
    scenario = source if isinstance(source, Scenario) else load_scenario(source)
    return (
        build_model(scenario),
        scenario,
        scenario.simulation.seed if seed is None else int(seed),
        scenario.simulation.draws if draws is None else int(draws),
        {},
    )


def analyse(
    source: Scenario | Result | Model | str | os.PathLike,
    draws: int | None = None,
    seed: int | None = None,
    baseline: str | None = None,
    progress: Progress = None,
    engine: str = "kernel",
    rule: DecisionRule | None = None,
) -> Analysis:
    """One streaming pass over the draws: the run's tables plus everything needed to decide.

    Parameters
    ----------
    source : a scenario (or its path), a :class:`Result` (its model, seed and draws are
        reused, so the analysis sees exactly the run's draws) or a :class:`Model`.
    draws, seed : override; defaults are the result's or the scenario's (``simulation:``),
        as ``sct run`` uses them, else ``DEFAULT_ANALYSIS_DRAWS`` and 0.
    baseline : option everything is compared with; default: the national rules'
        organisation-only option (``submodels.national_baseline``; a scenario without one is
        refused, as is a baseline that changes a national rule).
    progress : called with the number of draws finished after each block or wave.
    engine : ``kernel`` (default) or ``reference``, as for ``simulate``.
    rule : the decision rule (materiality, tail, cap on draws); default :class:`DecisionRule`.
    """
    model, scenario, seed, draws, inherited = _resolve(source, draws, seed)
    if draws < 1:
        raise ValueError(f"draws must be at least 1 (got {draws})")
    rule = rule or DecisionRule()
    where = str(scenario.source) if scenario is not None and scenario.source else ""
    where = where or str(inherited.get("scenario_file", ""))
    baseline = national_baseline(model, where) if baseline is None else baseline
    base = scheme_index(model, baseline)
    if changes_national_rules(model)[base]:
        raise BaselineError(
            f"{where + ': ' if where else ''}the baseline {baseline} {NATIONAL_RULE_NOTE} (its "
            "A&E gateway differs from regime.ae_gateway), so every option would be judged "
            "against rules no system can choose; compare with the national rules' "
            f"organisation-only option ({national_baseline(model, where)}) instead"
        )
    run = engine_run(engine, model, seed, baseline=base)
    started = time.perf_counter()
    run.extend(draws, progress)
    stats, paired = run.accumulator(), run.paired()
    wall = time.perf_counter() - started
    provenance = {**run_provenance(scenario, model, stats, seed, engine, wall), **inherited}
    settle_started = time.perf_counter()
    decisions, extension = _settle(model, stats, paired, base, rule, engine, seed, run.next_block)
    provenance["decision_extension_draws"] = extension
    provenance["decision_wall_time_s"] = round(time.perf_counter() - settle_started, 4)
    return Analysis(
        result=Result(model=model, stats=stats, provenance=provenance),
        paired=paired,
        baseline=baseline,
        seed=seed,
        rule=rule,
        decisions=decisions,
    )


# --- settling the rule: verdicts, extended where unresolved ---------------------------------


@dataclass
class _Evidence:
    """What one option's verdicts rest on: draws, the income difference's sums, the member's
    funding difference's sum of squares, and its and the baseline's loss histograms."""

    n: int
    diff_sum: np.ndarray  # (N,) income_k - income_baseline
    diff_sumsq: np.ndarray
    paid_sumsq: np.ndarray  # (N,) funding difference squared: 0 when identical in every draw
    hist: np.ndarray  # (N, B + 1)
    baseline_hist: np.ndarray

    def __add__(self, other: _Evidence) -> _Evidence:
        return _Evidence(
            self.n + other.n,
            self.diff_sum + other.diff_sum,
            self.diff_sumsq + other.diff_sumsq,
            self.paid_sumsq + other.paid_sumsq,
            self.hist + other.hist,
            self.baseline_hist + other.baseline_hist,
        )


def _evidence(stats: Accumulator, paired: PairedStats, k: int, base: int) -> _Evidence:
    return _Evidence(
        stats.n,
        paired.org_diff_income_sum[k].copy(),
        paired.org_diff_income_sumsq[k].copy(),
        paired.org_diff_paid_sumsq[k].copy(),
        stats.org_hist[k].copy(),
        stats.org_hist[base].copy(),
    )


def _judge(model: Model, ev: _Evidence, rule: DecisionRule, is_baseline: bool) -> dict[str, Any]:
    """Every member's verdicts under one option from its evidence (arrays over members)."""
    threshold = rule.threshold(model.funding)
    diff, se = mean_se(ev.diff_sum, ev.diff_sumsq, ev.n)
    p95, low, high = quantile_interval(ev.hist, model.funding, ev.n, TAIL_LEVEL)
    p95_b, low_b, high_b = quantile_interval(ev.baseline_hist, model.funding, ev.n, TAIL_LEVEL)
    expectation = expectation_verdict(diff, se, threshold)
    tail = tail_verdict((low, high), (low_b, high_b), threshold, model.funding)
    # A member whose funding is the same in every draw has the same tail under both options.
    same = ev.paid_sumsq == 0.0
    tail = np.where(same, NOT_WORSE, tail)
    # Against the baseline's tail too, paired like the tail test (an untouched member has the
    # same p95 exactly): an option lowering a member's 1-in-20-year loss by more than its
    # materiality is not ruled out for a breach the baseline has as well; one resolved as not
    # materially lower is (the baseline is read on appetite alone).
    over_appetite = appetite_verdict((low, high), model.risk_appetite, model.funding)
    lower = lower_verdict((low, high), (low_b, high_b), threshold, model.funding, same)
    appetite = appetite_verdict(
        (low, high), model.risk_appetite, model.funding, None if is_baseline else lower
    )
    if is_baseline:
        expectation = tail = np.full(model.n_orgs, NOT_WORSE)
    verdict = combine(expectation, tail if rule.tail else None)
    if not is_baseline:  # the baseline stays allowed; a breach there is reported, not ruled on
        verdict = combine(verdict, appetite)
    stated = (
        model.risk_appetite if model.risk_appetite is not None else np.full(model.n_orgs, np.nan)
    )
    return {
        "decision_draws": np.full(model.n_orgs, ev.n),
        "materiality": threshold,
        "diff_expected_income": diff,
        "se_diff_expected_income": se,
        "expectation": expectation,
        "funding_lost_p95": p95,
        "funding_lost_p95_low": low,
        "funding_lost_p95_high": high,
        "baseline_funding_lost_p95": p95_b,
        "baseline_funding_lost_p95_low": low_b,
        "baseline_funding_lost_p95_high": high_b,
        "tail": tail,
        "risk_appetite": stated,
        "over_appetite": over_appetite,
        "lower_than_baseline": lower,
        "appetite": appetite,
        "verdict": verdict,
    }


def _open_options(
    model: Model,
    verdicts: dict[int, dict[str, Any]],
    base: int,
    national: np.ndarray,
    income: np.ndarray,
) -> list[int]:
    """Options whose verdict could still change a system's recommendation: not the baseline,
    no national rule changed, no member of the system materially worse off, some member
    unresolved, and more expected income for the system (``income``, ``(K, S)``) than the best
    option already allowed there (an option below it cannot be recommended either way)."""
    out = []
    for s in range(model.n_systems):
        lo, hi = model.system_start[s], model.system_start[s + 1]
        allowed = [
            k
            for k, v in verdicts.items()
            if k == base or (not national[k] and (v["verdict"][lo:hi] == NOT_WORSE).all())
        ]
        best = max(income[k, s] for k in allowed)
        for k, v in verdicts.items():
            members = v["verdict"][lo:hi]
            if (
                k != base
                and not national[k]
                and not (members == WORSE).any()
                and (members == UNRESOLVED).any()
                and income[k, s] > best
                and k not in out
            ):
                out.append(k)
    return sorted(out)


def _settle(
    model: Model,
    stats: Accumulator,
    paired: PairedStats,
    base: int,
    rule: DecisionRule,
    engine: str,
    seed: int,
    next_block: int,
) -> tuple[pd.DataFrame, int]:
    """The verdict of every (option, member), extending unresolved comparisons.

    More draws come in whole waves (``CHECK_EVERY``) continuing the run's blocks, from a run
    of the baseline and the options still open only (every option sees the same draws, so
    the extra draws are those the full run would have had); a verdict, once resolved, is
    kept. It stops when nothing that could change a recommendation is open (``_open_options``),
    or at the cap. Returns the table and the extra draws simulated.
    """
    national = changes_national_rules(model)
    income = paired.system_income_sum / stats.n
    k_schemes = len(model.schemes)
    evidence = {k: _evidence(stats, paired, k, base) for k in range(k_schemes)}
    verdicts = {k: _judge(model, evidence[k], rule, k == base) for k in range(k_schemes)}
    extra = 0
    open_options = _open_options(model, verdicts, base, national, income)
    if open_options and stats.n < rule.max_draws:
        names = model.schemes.names
        sub = with_schemes(model, [names[base], *(names[k] for k in open_options)])
        run = engine_run(engine, sub, seed, baseline=0)
        run.next_block = next_block
        while open_options and stats.n + run.draws < rule.max_draws:
            run.extend(min(CHECK_EVERY, rule.max_draws - stats.n - run.draws))
            more_stats, more_paired = run.accumulator(), run.paired()
            for j, k in enumerate(open_options):
                merged = evidence[k] + _evidence(more_stats, more_paired, 1 + j, 0)
                fresh = _judge(model, merged, rule, False)
                still = verdicts[k]["verdict"] == UNRESOLVED
                for name, values in fresh.items():
                    verdicts[k][name] = np.where(still, values, verdicts[k][name])
            extra = run.draws
            open_options = [
                k
                for k in _open_options(model, verdicts, base, national, income)
                if k in open_options
            ]
    rows = []
    for k, name in enumerate(model.schemes.names):
        v = verdicts[k]
        for i in range(model.n_orgs):
            rows.append(
                {
                    "scheme": name,
                    "system": model.system_ids[model.org_system[i]],
                    "organisation": model.org_ids[i],
                    **{col: values[i] for col, values in v.items()},
                    "changes_national_rules": bool(national[k]),
                }
            )
    return pd.DataFrame(rows), extra


# --- the analysis -------------------------------------------------------------------------


@dataclass(frozen=True)
class Recommendation:
    """The option one system should sign, and why."""

    system: str
    system_name: str
    scheme: str
    baseline: str
    expected_funding: float  # expected PSF/CSF paid to the system under the option
    expected_income: float  # funding + incentive + bonus (other systems at the baseline)
    gain: float  # expected income over the baseline, £m
    se_gain: float
    eligible: tuple[str, ...]  # options leaving no member materially worse off (resolved)
    excluded: dict[str, str]  # option -> why it was ruled out
    reasons: tuple[str, ...]
    too_close: tuple[str, ...] = ()  # options ruled out only by comparisons too close to call
    national_rule_changes: tuple[str, ...] = ()  # options shown but never recommended
    runner_up: str = ""  # the next option the rule allows ("" when the baseline alone is)
    margin: float = float("nan")  # expected income of the recommendation over the runner-up
    se_margin: float = float("nan")

    @property
    def stays(self) -> bool:
        """Whether the system is told to stay with the baseline (sign nothing new)."""
        return self.scheme == self.baseline

    @property
    def near_tie(self) -> bool:
        """Whether the runner-up is within Monte Carlo error (95%) of the recommendation."""
        return bool(self.runner_up) and self.margin <= Z95 * self.se_margin

    @property
    def action(self) -> str:
        """The recommendation in two or three words: ``stay with X`` or ``sign X``."""
        return f"stay with {self.scheme}" if self.stays else f"sign {self.scheme}"


@dataclass(frozen=True)
class Analysis:
    """The run's :class:`Result`, the decision statistics of the same draws and the verdicts."""

    result: Result
    paired: PairedStats
    baseline: str
    seed: int
    rule: DecisionRule = field(default_factory=DecisionRule)
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def model(self) -> Model:
        return self.result.model

    @property
    def draws(self) -> int:
        return self.result.draws

    @property
    def scheme_names(self) -> tuple[str, ...]:
        return self.model.schemes.names

    @property
    def counts_bonus(self) -> bool:
        """Whether income differs from funding: the regime pays a year-end bonus."""
        return bool(self.model.bonus)

    @property
    def counts_incentive(self) -> bool:
        """Whether income carries incentive PSF (some control total has an uplift)."""
        return bool(np.any(self.model.control_total_uplift != 0))

    @property
    def gain_word(self) -> str:
        """The one word for a gain between options: ``income`` where the year-end bonus moves
        with the option, else ``funding`` (incentive PSF is the same under every option, so it
        cancels in a gain)."""
        return "income" if self.counts_bonus else "funding"

    @property
    def income_parts(self) -> tuple[str, ...]:
        """What income adds to funding in this analysis, in words (empty: income is funding)."""
        parts = (
            ("incentive PSF", self.counts_incentive),
            ("the year-end bonus", self.counts_bonus),
        )
        return tuple(words for words, on in parts if on)

    @property
    def level_word(self) -> str:
        """The one word for an option's expected money: ``income`` where bonus or incentive PSF
        is in it, else ``funding`` (PSF/CSF paid)."""
        return "income" if self.counts_bonus or self.counts_incentive else "funding"

    def _schemes(self, names: Sequence[str] | None) -> list[str]:
        chosen = list(self.scheme_names) if names is None else list(names)
        for name in chosen:
            scheme_index(self.model, name)
        return chosen

    def _incentive(self) -> np.ndarray:
        """Expected incentive PSF per member (the same under every option)."""
        st, m = self.result.stats, self.model
        return m.incentive_rate * m.control_total_uplift * st.org_meet / self.draws

    def expected_income(self) -> np.ndarray:
        """(K, N) expected income: funding + bonus (other systems at the baseline) + incentive."""
        return self.paired.org_income_sum / self.draws + self._incentive()[None, :]

    def system_expected_income(self) -> np.ndarray:
        """(K, S) the members' expected income summed."""
        incentive = np.add.reduceat(self._incentive(), self.model.system_start[:-1])
        return self.paired.system_income_sum / self.draws + incentive[None, :]

    def heavy_loss_probability(self) -> np.ndarray:
        """(K, N) P(a member loses more than 10% of its allocation in the year)."""
        hist = self.result.stats.org_hist
        first = round(HEAVY_LOSS_SHARE * (hist.shape[-1] - 1)) + 1
        return hist[..., first:].sum(axis=-1) / self.draws

    def system_loss_over(self) -> np.ndarray:
        """(K, S, 2) P(a system loses more than £1m), P(more than 10% of its funding at stake)."""
        return self.paired.system_over / self.draws

    # -- 1. paired comparison ---------------------------------------------------------

    def comparison(
        self, level: str = "systems", options: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Differences of each option from the baseline on the same draws, with 95% paired CIs.

        ``level`` is ``organisations``, ``systems`` or ``national``. Positive
        ``diff_expected_funding`` means more PSF/CSF than the baseline; ``diff_expected_income``
        adds the bonus (other systems at the baseline); ``diff_p_...`` are differences of
        probabilities (fractions).
        """
        if level not in ("organisations", "systems", "national"):
            raise ValueError(f"level must be organisations, systems or national (got {level!r})")
        m, p, n = self.model, self.paired, self.draws
        base = scheme_index(m, self.baseline)
        heavy = self.heavy_loss_probability()
        over = self.system_loss_over()
        rows = []
        for name in self._schemes(options):
            k = scheme_index(m, name)
            if level == "organisations":
                d_paid, se_paid = mean_se(p.org_diff_paid_sum[k], p.org_diff_paid_sumsq[k], n)
                d_inc, se_inc = mean_se(p.org_diff_income_sum[k], p.org_diff_income_sumsq[k], n)
                for i in range(m.n_orgs):
                    rows.append(
                        {
                            "scheme": name,
                            "baseline": self.baseline,
                            "system": m.system_ids[m.org_system[i]],
                            "organisation": m.org_ids[i],
                            "diff_expected_funding": d_paid[i],
                            "se_diff_expected_funding": se_paid[i],
                            "diff_expected_income": d_inc[i],
                            "se_diff_expected_income": se_inc[i],
                            "p_lose_over_10pct": heavy[k, i],
                            "baseline_p_lose_over_10pct": heavy[base, i],
                        }
                    )
            elif level == "systems":
                d_paid, se_paid = pair_se(
                    p.system_paid_sum[k],
                    p.system_paid_sum[base],
                    p.system_paid_cross[k, k],
                    p.system_paid_cross[base, base],
                    p.system_paid_cross[k, base],
                    n,
                )
                d_inc, se_inc = pair_se(
                    p.system_income_sum[k],
                    p.system_income_sum[base],
                    p.system_income_cross[k, k],
                    p.system_income_cross[base, base],
                    p.system_income_cross[k, base],
                    n,
                )
                d_over, se_over = count_difference(
                    p.system_over_only[k, :, :, 0], p.system_over_only[k, :, :, 1], n
                )
                for s in range(m.n_systems):
                    rows.append(
                        {
                            "scheme": name,
                            "baseline": self.baseline,
                            "system": m.system_ids[s],
                            "diff_expected_funding": d_paid[s],
                            "se_diff_expected_funding": se_paid[s],
                            "diff_expected_income": d_inc[s],
                            "se_diff_expected_income": se_inc[s],
                            "p_lose_over_1m": over[k, s, 0],
                            "baseline_p_lose_over_1m": over[base, s, 0],
                            "diff_p_lose_over_1m": d_over[s, 0],
                            "se_diff_p_lose_over_1m": se_over[s, 0],
                            "p_lose_over_10pct": over[k, s, 1],
                            "baseline_p_lose_over_10pct": over[base, s, 1],
                            "diff_p_lose_over_10pct": d_over[s, 1],
                            "se_diff_p_lose_over_10pct": se_over[s, 1],
                        }
                    )
            else:
                total = p.system_paid_sum.sum(axis=1)
                d_paid, se_paid = pair_se(
                    total[k],
                    total[base],
                    p.national_paid_cross[k, k],
                    p.national_paid_cross[base, base],
                    p.national_paid_cross[k, base],
                    n,
                )
                rows.append(
                    {
                        "scheme": name,
                        "baseline": self.baseline,
                        "diff_expected_funding": float(d_paid),
                        "se_diff_expected_funding": float(se_paid),
                    }
                )
        frame = pd.DataFrame(rows)
        for col in [c for c in frame.columns if c.startswith("diff_")]:
            frame[f"ci95_{col[5:]}"] = Z95 * frame[f"se_{col}"]
        return frame

    def system_difference(self, system: int, a: str, b: str) -> tuple[float, float]:
        """Expected income of option ``a`` minus option ``b`` for one system, and its paired SE."""
        p, n = self.paired, self.draws
        i, j = scheme_index(self.model, a), scheme_index(self.model, b)
        mean, se = pair_se(
            p.system_income_sum[i, system],
            p.system_income_sum[j, system],
            p.system_income_cross[i, i, system],
            p.system_income_cross[j, j, system],
            p.system_income_cross[i, j, system],
            n,
        )
        return float(mean), float(se)

    def headlines(self, options: Sequence[str] | None = None) -> list[str]:
        """One plain sentence per system and option against the baseline: expected money, the
        chance of a heavy system loss, and who is materially worse off or too close to call."""
        frame = self.comparison("systems", options)
        m = self.model
        names = dict(zip(m.system_ids, m.system_names, strict=True))
        at_stake = dict(zip(m.system_ids, m.system_funding(), strict=True))
        money = self.gain_word
        lines = []
        for row in frame.itertuples(index=False):
            if row.scheme == self.baseline:
                continue
            diff = row.diff_expected_income if self.counts_bonus else row.diff_expected_funding
            ci = row.ci95_expected_income if self.counts_bonus else row.ci95_expected_funding
            who = self._members_by_verdict(row.scheme, row.system)
            lines.append(
                f"{names[row.system]}: {row.scheme} {_direction(diff, 'lowers', 'raises')} expected "
                f"{money} by £{abs(diff):.2f}m ± {ci:.2f}m; the chance of losing more than "
                f"£{SYSTEM_LOSS_ABS:g}m goes from {row.baseline_p_lose_over_1m:.1%} to "
                f"{row.p_lose_over_1m:.1%} (± {row.ci95_p_lose_over_1m * 100:.1f} points) and of "
                f"losing more than {SYSTEM_LOSS_SHARE:.0%} of its £{at_stake[row.system]:.1f}m at "
                f"stake from {row.baseline_p_lose_over_10pct:.1%} to {row.p_lose_over_10pct:.1%} "
                f"(± {row.ci95_p_lose_over_10pct * 100:.1f} points), compared with {self.baseline} "
                f"(95% paired CI). Materially worse off: {', '.join(who[WORSE]) or 'nobody'}"
                + (f"; too close to call: {', '.join(who[UNRESOLVED])}" if who[UNRESOLVED] else "")
                + "."
            )
        return lines

    def _members_by_verdict(self, scheme: str, system: str) -> dict[str, list[str]]:
        d = self.decisions
        rows = d[(d["scheme"] == scheme) & (d["system"] == system)]
        return {
            verdict: list(rows.loc[rows["verdict"] == verdict, "organisation"])
            for verdict in (WORSE, UNRESOLVED, NOT_WORSE)
        }

    # -- 2. participation ---------------------------------------------------------------

    def participation(self) -> pd.DataFrame:
        """Each organisation under each option against the baseline: the decision rule's verdicts.

        Read off :attr:`decisions` (the table :meth:`recommend` uses too): ``expectation`` and
        ``tail`` verdicts, ``verdict`` combining them (the tail only when the rule has it),
        ``would_sign`` (resolved as not materially worse), the figures behind them
        (``decision_draws`` draws) and, for reading, the run's expected funding and income.
        """
        m, st, p, n = self.model, self.result.stats, self.paired, self.draws
        base = scheme_index(m, self.baseline)
        cvar = hist_cvar(st.org_hist, self._org_hist_sum(), TAIL_LEVEL)
        income = self.expected_income()
        rows = []
        for k in range(len(self.scheme_names)):
            diff, se = mean_se(p.org_diff_paid_sum[k], p.org_diff_paid_sumsq[k], n)
            for i in range(m.n_orgs):
                rows.append(
                    {
                        "expected_funding": st.org_paid_sum[k, i] / n,
                        "baseline_expected_funding": st.org_paid_sum[base, i] / n,
                        "diff_expected_funding": diff[i],
                        "se_diff_expected_funding": se[i],
                        "expected_income": income[k, i],
                        "baseline_expected_income": income[base, i],
                        "funding_lost_cvar95": cvar[k, i],
                        "baseline_funding_lost_cvar95": cvar[base, i],
                    }
                )
        extra = pd.DataFrame(rows)
        d = self.decisions.reset_index(drop=True)
        frame = pd.concat([d, extra], axis=1)
        frame["better_in_expectation"] = (
            frame["diff_expected_income"] - Z95 * frame["se_diff_expected_income"]
            > frame["materiality"]
        )
        frame["worse_in_expectation"] = frame["expectation"] == WORSE
        frame["worse_in_tail"] = frame["tail"] == WORSE
        frame["too_close_to_call"] = frame["verdict"] == UNRESOLVED
        frame["would_sign"] = frame["verdict"] == NOT_WORSE
        return frame

    def options_nobody_worse_off(self) -> dict[str, list[str]]:
        """Per system, the options the rule lets it sign: every member resolved as not
        materially worse off, and no national rule changed (the baseline always)."""
        return {r.system: list(r.eligible) for r in self.recommend()}

    # -- 3. attribution and contagion ------------------------------------------------------

    def _org_hist_sum(self) -> np.ndarray:
        """(K, N, B + 1) losses summed per own loss bin, £m (from the fixed-point sums)."""
        return self.paired.org_hist_sum * (self.model.funding[None, :, None] / FIXED_POINT)

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
        weight = np.divide(take, counts, out=np.zeros_like(take), where=counts > 0)
        system_cvar = hist_cvar(st.system_hist, st.system_hist_sum, level)
        system_expected = st.system_lost_sum / n
        member_sums = p.member_lost_by_system_bin * (m.funding[None, :, None] / FIXED_POINT)
        rows = []
        for k, name in enumerate(self.scheme_names):
            co_cvar = (weight[k][m.org_system] * member_sums[k]).sum(axis=1) / tail
            expected = st.org_lost_sum[k] / n
            for i in range(m.n_orgs):
                s = m.org_system[i]
                rows.append(
                    {
                        "scheme": name,
                        "system": m.system_ids[s],
                        "organisation": m.org_ids[i],
                        "expected_funding_lost": expected[i],
                        "share_of_expected_loss": _share(expected[i], system_expected[k, s]),
                        "co_cvar": co_cvar[i],
                        "share_of_cvar": _share(co_cvar[i], system_cvar[k, s]),
                        "system_expected_funding_lost": system_expected[k, s],
                        "system_funding_lost_cvar": system_cvar[k, s],
                    }
                )
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
        both = p.org_miss_system_miss.astype(np.float64)
        cond = np.divide(both, miss, out=np.full(m.n_orgs, np.nan), where=miss > 0)
        cond_se = np.sqrt(
            np.divide(cond * (1 - cond), miss, out=np.full(m.n_orgs, np.nan), where=miss > 0)
        )
        p_system_miss = system_miss / n
        pivotal = p.org_pivotal / n
        piv_given = np.divide(
            p.org_pivotal.astype(np.float64),
            system_miss,
            out=np.full(m.n_orgs, np.nan),
            where=system_miss > 0,
        )
        return pd.DataFrame(
            {
                "system": np.array(m.system_ids)[m.org_system],
                "organisation": list(m.org_ids),
                "p_miss_control_total": miss / n,
                "p_system_miss": p_system_miss,
                "p_system_miss_given_miss": cond,
                "se_p_system_miss_given_miss": cond_se,
                "lift": np.divide(
                    cond, p_system_miss, out=np.full(m.n_orgs, np.nan), where=p_system_miss > 0
                ),
                "p_pivotal": pivotal,
                "se_p_pivotal": np.sqrt(pivotal * (1 - pivotal) / n),
                "p_pivotal_given_system_miss": piv_given,
            }
        )

    def finance_and_ae(self) -> pd.DataFrame:
        """Per option and member, expected funding lost split into the finance element (what
        the options move) and the A&E element (earned on performance, behind the gateway)."""
        m, st, p, n = self.model, self.result.stats, self.paired, self.draws
        rows = []
        for k, name in enumerate(self.scheme_names):
            ae_paid = p.org_ae_paid_sum[k] / n
            finance_paid = st.org_paid_sum[k] / n - ae_paid
            for i in range(m.n_orgs):
                rows.append(
                    {
                        "scheme": name,
                        "system": m.system_ids[m.org_system[i]],
                        "organisation": m.org_ids[i],
                        "finance_element": m.finance[i],
                        "expected_finance_lost": m.finance[i] - finance_paid[i],
                        "ae_element": m.ae[i],
                        "expected_ae_lost": m.ae[i] - ae_paid[i],
                    }
                )
        return pd.DataFrame(rows)

    # -- 4. recommendation ------------------------------------------------------------------

    def recommend(self) -> list[Recommendation]:
        """Per system: the option with the most expected income that the rule lets it sign.

        An option is eligible when it changes no national rule and every member of the system
        is resolved as not materially worse off (in expectation and, with the rule's tail, in
        its 1-in-20 year): read off :attr:`decisions`, the table of :meth:`participation`.
        The baseline is always eligible.
        """
        m = self.model
        d = self.decisions
        org_names = dict(zip(m.org_ids, m.org_names, strict=True))
        income = self.system_expected_income()
        national = changes_national_rules(m)
        out = []
        for s, sid in enumerate(m.system_ids):
            excluded: dict[str, str] = {}
            too_close: list[str] = []
            compensation: dict[str, float] = {}
            for k, name in enumerate(self.scheme_names):
                if name == self.baseline:
                    continue
                if national[k]:
                    excluded[name] = (
                        f"it {NATIONAL_RULE_NOTE} (its A&E gateway differs from {self.baseline}'s, "
                        "which no system can choose)"
                    )
                    continue
                rows = d[(d["scheme"] == name) & (d["system"] == sid)]
                worse = rows[rows["verdict"] == WORSE]
                close = rows[rows["verdict"] == UNRESOLVED]
                if len(worse):
                    excluded[name] = _exclusion_reason(worse, org_names, self.rule.tail)
                    compensation[name] = float(-worse["diff_expected_income"].clip(upper=0.0).sum())
                elif len(close):
                    too_close.append(name)
                    excluded[name] = _too_close_reason(close, org_names, self.rule.tail)
            eligible = tuple(x for x in self.scheme_names if x not in excluded)
            expected = {x: float(income[scheme_index(m, x), s]) for x in self.scheme_names}
            best = max(eligible, key=lambda x: expected[x])
            gain, se_gain = self.system_difference(s, best, self.baseline)
            k_best = scheme_index(m, best)
            runners = [x for x in eligible if x != best]
            runner = max(runners, key=lambda x: expected[x]) if runners else ""
            margin, se_margin = (
                self.system_difference(s, best, runner) if runner else (float("nan"),) * 2
            )
            out.append(
                Recommendation(
                    system=sid,
                    system_name=m.system_names[s],
                    scheme=best,
                    baseline=self.baseline,
                    expected_funding=float(self.paired.system_paid_sum[k_best, s] / self.draws),
                    expected_income=expected[best],
                    gain=gain,
                    se_gain=se_gain,
                    eligible=eligible,
                    excluded=excluded,
                    reasons=tuple(
                        self._reasons(s, best, eligible, excluded, compensation, expected)
                    ),
                    too_close=tuple(too_close),
                    national_rule_changes=tuple(
                        x for k, x in enumerate(self.scheme_names) if national[k]
                    ),
                    runner_up=runner,
                    margin=margin,
                    se_margin=se_margin,
                )
            )
        return out

    def rule_text(self) -> str:
        """The decision rule in one paragraph, with this analysis's settings (printed by
        ``sct compare`` and in the report; docs/decisions.md explains it)."""
        rule = self.rule
        if self.counts_bonus:
            money = (
                "expected income (PSF/CSF, incentive PSF and the year-end bonus, the bonus "
                "computed with every other system staying with the baseline)"
            )
        elif self.counts_incentive:
            money = (
                "expected income (PSF/CSF and incentive PSF; the incentive is the same under "
                "every option, so the comparison is one of funding)"
            )
        else:
            money = "expected funding (PSF/CSF)"
        return (
            f"A member is materially worse off under an option when its {money} is lower than "
            f"under {self.baseline} by more than {rule.describe()}"
            + (", or its 1-in-20-year loss is higher by more than that" if rule.tail else "")
            + ". Each comparison is decided on its 95% confidence interval: materially worse, "
            "not materially worse, or unresolved; unresolved comparisons get more draws, in "
            f"whole waves, up to {rule.max_draws:,} draws, and what is still unresolved is too "
            "close to call. "
            + (
                "A member that states a risk appetite also finds an option unacceptable when "
                "its 1-in-20-year loss under it exceeds that appetite and is not lower than "
                "under the baseline by more than its materiality (an option that does not "
                "change the member's funding leaves it exactly as high); an option lowering it "
                "by more than that is allowed, and the report says the appetite is still "
                "breached. "
                if self.model.risk_appetite is not None
                and np.isfinite(self.model.risk_appetite).any()
                else ""
            )
            + "Each system is recommended the option with the most expected money "
            "among those under which every member is resolved as not materially worse off; "
            "options that change national rules are shown but never recommended."
        )

    def _money_words(self) -> str:
        parts = ("PSF/CSF", *self.income_parts)
        return (
            "expected income (" + ", ".join(parts) + ")" if len(parts) > 1 else "expected funding"
        )

    def _reasons(
        self,
        s: int,
        best: str,
        eligible: tuple[str, ...],
        excluded: dict[str, str],
        compensation: dict[str, float],
        expected: dict[str, float],
    ) -> list[str]:
        base = self.baseline
        at_stake = float(self.model.system_funding()[s])
        money = self._money_words()
        reasons = []
        if best == base:
            reasons.append(
                f"No risk-sharing option the rule lets this system sign gives it more {money} "
                f"than {base}, so stay with {base} (£{expected[base]:.2f}m a year, of "
                f"£{at_stake:.2f}m at stake)."
            )
        else:
            gain, se = self.system_difference(s, best, base)
            reasons.append(
                f"{best} gives the system £{gain:.2f}m (± £{Z95 * se:.2f}m) more {money} a year "
                f"than {base}: £{expected[best]:.2f}m, with £{at_stake:.2f}m of PSF/CSF at stake."
            )
            reasons.append(
                f"No member is materially worse off (by more than {self.rule.describe()}) in "
                "expectation" + (", nor in its 1-in-20-year loss." if self.rule.tail else ".")
            )
            d = self.decisions
            rows = d[(d["scheme"] == best) & (d["system"] == self.model.system_ids[s])]
            names = dict(zip(self.model.org_ids, self.model.org_names, strict=True))
            reasons.extend(f"{x}." for x in over_appetite_but_lower(rows, names, base))
            over = self.system_loss_over()
            b, k = scheme_index(self.model, base), scheme_index(self.model, best)
            reasons.append(
                f"The chance that the system loses more than £{SYSTEM_LOSS_ABS:g}m in a year goes "
                f"from {over[b, s, 0]:.0%} to {over[k, s, 0]:.0%}, and more than "
                f"{SYSTEM_LOSS_SHARE:.0%} of its funding at stake from {over[b, s, 1]:.0%} to "
                f"{over[k, s, 1]:.0%}."
            )
        if self.counts_bonus:
            reasons.append(
                "Income counts the year-end bonus this system's members would receive with every "
                f"other system staying with {base}, so its choice cannot move another system's "
                "bonus in the comparison; incentive PSF is the same under every option."
            )
        runners = [x for x in eligible if x != best]
        if runners:
            runner = max(runners, key=lambda x: expected[x])
            margin, se = self.system_difference(s, best, runner)
            if margin <= Z95 * se:
                reasons.append(
                    f"A near tie: {runner} is within Monte Carlo error of it (£{margin:.2f}m "
                    f"± £{Z95 * se:.2f}m a year apart): either is defensible."
                )
            else:
                reasons.append(
                    f"It beats the next option the rule allows, {runner}, by £{margin:.2f}m "
                    f"(± £{Z95 * se:.2f}m)."
                )
        for name, why in excluded.items():
            if expected[name] > expected[best]:
                extra = expected[name] - expected[best]
                reasons.append(f"{name} would give the system £{extra:.2f}m more, but {why}.")
                if name in compensation and extra > compensation[name]:
                    reasons.append(
                        f"Compensating those members under {name} (£{compensation[name]:.2f}m a year "
                        f"in expectation) would still leave the system £{extra - compensation[name]:.2f}m "
                        f"ahead of {best}: a side agreement worth negotiating."
                    )
        return reasons


def _exclusion_reason(worse: pd.DataFrame, org_names: dict[str, str], tail: bool) -> str:
    parts = []
    for row in worse.itertuples(index=False):
        bits = []
        if row.expectation == WORSE:
            bits.append(f"£{-row.diff_expected_income:.2f}m a year worse off in expectation")
        if tail and row.tail == WORSE:
            bits.append(
                f"£{row.funding_lost_p95 - row.baseline_funding_lost_p95:.2f}m more lost in a 1-in-20 year"
            )
        who = f"{org_names[row.organisation]} ({row.organisation})"
        if bits:
            parts.append(f"it leaves {who} materially {' and '.join(bits)}")
        if row.appetite == WORSE:
            parts.append(
                f"{who} would lose £{row.funding_lost_p95:.2f}m in a 1-in-20 year, beyond its "
                f"risk appetite of £{row.risk_appetite:.2f}m, so the option is unacceptable to it"
            )
    return "; ".join(parts)


def _too_close_reason(close: pd.DataFrame, org_names: dict[str, str], tail: bool) -> str:
    """Why an option is too close to call: per member, each comparison still unresolved."""
    parts = []
    appetite_only = True
    for row in close.itertuples(index=False):
        bits = []
        if row.expectation == UNRESOLVED:
            bits.append(
                f"£{row.diff_expected_income:+.3f}m ± £{Z95 * row.se_diff_expected_income:.3f}m "
                f"a year against a materiality of £{row.materiality:.3f}m"
            )
        if tail and row.tail == UNRESOLVED:
            bits.append(
                f"1-in-20-year loss £{row.funding_lost_p95_low:.2f}m to "
                f"£{row.funding_lost_p95_high:.2f}m against £{row.baseline_funding_lost_p95_low:.2f}m "
                f"to £{row.baseline_funding_lost_p95_high:.2f}m under the baseline, with a "
                f"materiality of £{row.materiality:.3f}m"
            )
        appetite_only = appetite_only and not bits
        if row.appetite == UNRESOLVED:
            if row.over_appetite == WORSE:
                bits.append(
                    f"1-in-20-year loss £{row.funding_lost_p95_low:.2f}m to "
                    f"£{row.funding_lost_p95_high:.2f}m, over its risk appetite of "
                    f"£{row.risk_appetite:.2f}m, and whether it is lower than under the baseline "
                    f"(£{row.baseline_funding_lost_p95_low:.2f}m to "
                    f"£{row.baseline_funding_lost_p95_high:.2f}m) by more than "
                    f"£{row.materiality:.3f}m is unresolved"
                )
            else:
                bits.append(
                    f"1-in-20-year loss £{row.funding_lost_p95_low:.2f}m to "
                    f"£{row.funding_lost_p95_high:.2f}m against its risk appetite of "
                    f"£{row.risk_appetite:.2f}m"
                )
        parts.append(
            f"{org_names[row.organisation]} ({row.organisation}): {'; '.join(bits)}, "
            f"after {row.decision_draws:,} draws"
        )
    what = (
        "whether it is within a member's risk appetite"
        if appetite_only
        else "whether it leaves a member materially worse off"
        + (" or beyond its risk appetite" if (close["appetite"] == UNRESOLVED).any() else "")
    )
    return f"{what} is too close to call (" + "; ".join(parts) + ")"


def over_appetite_but_lower(
    rows: pd.DataFrame, org_names: dict[str, str], baseline: str
) -> list[str]:
    """Members an option leaves over their risk appetite, though lower than the baseline by
    more than the materiality (so the rule allows it): one sentence each, for the board."""
    still = rows[(rows["over_appetite"] == WORSE) & (rows["lower_than_baseline"] == LOWER)]
    return [
        f"{org_names[row.organisation]}: over its risk appetite of £{row.risk_appetite:.2f}m in a "
        f"1-in-20 year under {row.scheme} (£{row.funding_lost_p95:.2f}m), but less so than under "
        f"{baseline} (£{row.baseline_funding_lost_p95:.2f}m)"
        for row in still.itertuples(index=False)
    ]


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
    engine: str = "kernel",
    rule: DecisionRule | None = None,
) -> Comparison:
    """Compare options on the same draws: ``compare(result, "organisation_only", "flexible_50")``.

    The first option named is the baseline; with none named, every option is
    compared with ``organisation_only``. Given a :class:`Result`, the run's own
    draws are re-created from its seed.
    """
    names = list(scheme_names) or None
    analysis = analyse(
        source,
        draws=draws,
        seed=seed,
        baseline=names[0] if names else None,
        progress=progress,
        engine=engine,
        rule=rule,
    )
    return Comparison(
        organisations=analysis.comparison("organisations", names),
        systems=analysis.comparison("systems", names),
        national=analysis.comparison("national", names),
        headlines=analysis.headlines(names),
    )


__all__ = [
    "DEFAULT_ANALYSIS_DRAWS",
    "HEAVY_LOSS_SHARE",
    "TAIL_LEVEL",
    "Analysis",
    "Comparison",
    "Recommendation",
    "analyse",
    "compare",
    "over_appetite_but_lower",
]
