"""Decision analysis: which option to sign, who is better or worse off, who puts the system at risk.

Everything is computed on the same blocks of draws as ``sct run`` with the same seed
(common random numbers), so differences between options are paired and their
standard errors are those of per-draw differences, not of two independent runs
(the per-draw reductions are in ``paired.py``).

- :func:`analyse`: one pass giving the run's tables plus paired comparisons,
  participation, attribution (Euler / co-CVaR) and contagion; :meth:`Analysis.recommend`
  turns them into a recommendation per system.
- :func:`compare`: paired differences of options against the first one named.

The incentive gradient is in ``incentives.py`` and the solvers in ``solvers.py``.
Money in £m; probabilities are fractions; "95% CI" is +-1.96 standard errors.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sct_engine.analysis.paired import Z95, PairedStats, mean_se, pair_se, reduce_paired_block
from sct_engine.analysis.submodels import default_baseline, scheme_index
from sct_engine.engine.model import Model, build_model
from sct_engine.engine.reference import apply_schemes, draw_block, reduce_block
from sct_engine.engine.results import Result
from sct_engine.engine.rng import BLOCK_DRAWS, block_sizes
from sct_engine.engine.stats import HIST_BINS, Accumulator, hist_cvar, hist_quantile
from sct_engine.scenario import Scenario, load_scenario

#: Draws of the main analysis pass when neither the caller nor a run fixes them.
DEFAULT_ANALYSIS_DRAWS = 40_000

#: Tail level of the "5% worst case": p95 loss and CVaR95 / co-CVaR95.
TAIL_LEVEL = 0.95

Progress = Callable[[int], None] | None


def _provenance(
    model: Model, scenario: Scenario | None, seed: int, draws: int, extra: dict[str, Any]
) -> dict[str, Any]:
    import platform
    from datetime import UTC, datetime

    from sct_engine.version import __version__

    source = scenario.source if scenario is not None else None
    return {
        "scenario_name": scenario.name if scenario is not None else "",
        "scenario_file": str(source) if source else None,
        "scenario_hash": scenario.content_hash if scenario is not None else None,
        "scenario_warnings": [str(w) for w in scenario.warnings] if scenario is not None else [],
        "seed": seed,
        "draws": draws,
        "engine": "reference",
        "block_draws": BLOCK_DRAWS,
        "hist_bins": HIST_BINS,
        "package_version": __version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "schemes": list(model.schemes.names),
        # a sweep point and --set changes (the warnings are above)
        **(scenario.changes if scenario is not None else {}),
        **extra,
    }


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
        DEFAULT_ANALYSIS_DRAWS if draws is None else int(draws),
        {},
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
    base = scheme_index(model, baseline)
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
    return Analysis(
        result=Result(model=model, stats=acc, provenance=provenance),
        paired=paired,
        baseline=baseline,
        seed=seed,
    )


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
            scheme_index(self.model, name)
        return chosen

    # -- 1. paired comparison ---------------------------------------------------------

    def comparison(
        self, level: str = "systems", options: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Differences of each option from the baseline on the same draws, with 95% paired CIs.

        ``level`` is ``organisations``, ``systems`` or ``national``. Positive
        ``diff_expected_funding`` means more funding than the baseline;
        ``diff_p_...`` are differences of probabilities (fractions).
        """
        if level not in ("organisations", "systems", "national"):
            raise ValueError(f"level must be organisations, systems or national (got {level!r})")
        m, p, n = self.model, self.paired, self.draws
        base = scheme_index(m, self.baseline)
        rows = []
        for name in self._schemes(options):
            k = scheme_index(m, name)
            if level == "organisations":
                d_paid, se_paid = mean_se(p.org_diff_paid_sum[k], p.org_diff_paid_sumsq[k], n)
                d_any, se_any = mean_se(p.org_diff_any_sum[k], p.org_diff_any_sumsq[k], n)
                for i in range(m.n_orgs):
                    rows.append(
                        {
                            "scheme": name,
                            "baseline": self.baseline,
                            "system": m.system_ids[m.org_system[i]],
                            "organisation": m.org_ids[i],
                            "diff_expected_funding": d_paid[i],
                            "se_diff_expected_funding": se_paid[i],
                            "diff_p_any_funding_lost": d_any[i],
                            "se_diff_p_any_funding_lost": se_any[i],
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
                d_any, se_any = mean_se(p.system_diff_any_sum[k], p.system_diff_any_sumsq[k], n)
                for s in range(m.n_systems):
                    rows.append(
                        {
                            "scheme": name,
                            "baseline": self.baseline,
                            "system": m.system_ids[s],
                            "diff_expected_funding": d_paid[s],
                            "se_diff_expected_funding": se_paid[s],
                            "diff_p_any_member_loses_funding": d_any[s],
                            "se_diff_p_any_member_loses_funding": se_any[s],
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
                d_any, se_any = mean_se(p.national_diff_any_sum[k], p.national_diff_any_sumsq[k], n)
                rows.append(
                    {
                        "scheme": name,
                        "baseline": self.baseline,
                        "diff_expected_funding": float(d_paid),
                        "se_diff_expected_funding": float(se_paid),
                        "diff_p_any_organisation_loses_funding": float(d_any),
                        "se_diff_p_any_organisation_loses_funding": float(se_any),
                    }
                )
        frame = pd.DataFrame(rows)
        for col in [c for c in frame.columns if c.startswith("diff_")]:
            frame[f"ci95_{col[5:]}"] = Z95 * frame[f"se_{col}"]
        return frame

    def system_difference(self, system: int, a: str, b: str) -> tuple[float, float]:
        """Expected funding of option ``a`` minus option ``b`` for one system, and its paired SE."""
        p, n = self.paired, self.draws
        i, j = scheme_index(self.model, a), scheme_index(self.model, b)
        mean, se = pair_se(
            p.system_paid_sum[i, system],
            p.system_paid_sum[j, system],
            p.system_paid_cross[i, i, system],
            p.system_paid_cross[j, j, system],
            p.system_paid_cross[i, j, system],
            n,
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
        base = scheme_index(m, self.baseline)
        p95 = hist_quantile(st.org_hist, m.funding, TAIL_LEVEL)
        cvar = hist_cvar(st.org_hist, p.org_hist_sum, TAIL_LEVEL)
        bin_width = m.funding / HIST_BINS
        rows = []
        for k, name in enumerate(self.scheme_names):
            diff, se = mean_se(p.org_diff_paid_sum[k], p.org_diff_paid_sumsq[k], n)
            for i in range(m.n_orgs):
                worse_mean = bool(
                    diff[i] < -Z95 * se[i] and diff[i] < -1e-12 * (1.0 + m.funding[i])
                )
                better_mean = bool(diff[i] > Z95 * se[i] and diff[i] > 1e-12 * (1.0 + m.funding[i]))
                worse_tail = bool(p95[k, i] > p95[base, i] + bin_width[i] * 1.000001)
                rows.append(
                    {
                        "scheme": name,
                        "system": m.system_ids[m.org_system[i]],
                        "organisation": m.org_ids[i],
                        "expected_funding": st.org_paid_sum[k, i] / n,
                        "baseline_expected_funding": st.org_paid_sum[base, i] / n,
                        "diff_expected_funding": diff[i],
                        "se_diff_expected_funding": se[i],
                        "funding_lost_p95": p95[k, i],
                        "baseline_funding_lost_p95": p95[base, i],
                        "funding_lost_cvar95": cvar[k, i],
                        "baseline_funding_lost_cvar95": cvar[base, i],
                        "better_in_expectation": better_mean,
                        "worse_in_expectation": worse_mean,
                        "worse_in_tail": worse_tail,
                        "would_sign": not (worse_mean or worse_tail),
                    }
                )
        return pd.DataFrame(rows)

    def options_nobody_worse_off(self, tail: bool = False) -> dict[str, list[str]]:
        """Per system, the options under which no member is worse off (in expectation, and in the tail if asked)."""
        part = self.participation()
        flag = part["worse_in_expectation"] | (part["worse_in_tail"] if tail else False)
        bad = part.assign(flag=flag).groupby(["system", "scheme"])["flag"].any()
        return {
            sid: [name for name in self.scheme_names if not bad[(sid, name)]]
            for sid in self.model.system_ids
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
        weight = np.divide(
            take, counts, out=np.zeros_like(take), where=counts > 0
        )  # share of each bin in the tail
        system_cvar = hist_cvar(st.system_hist, st.system_hist_sum, level)
        system_expected = st.system_lost_sum / n
        rows = []
        for k, name in enumerate(self.scheme_names):
            co_cvar = (weight[k][m.org_system] * p.member_lost_by_system_bin[k]).sum(axis=1) / tail
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
        cond = np.divide(
            p.org_miss_system_miss, miss, out=np.full(m.n_orgs, np.nan), where=miss > 0
        )
        cond_se = np.sqrt(
            np.divide(cond * (1 - cond), miss, out=np.full(m.n_orgs, np.nan), where=miss > 0)
        )
        p_system_miss = system_miss / n
        pivotal = p.org_pivotal / n
        piv_given = np.divide(
            p.org_pivotal, system_miss, out=np.full(m.n_orgs, np.nan), where=system_miss > 0
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

    # -- 4. recommendation ------------------------------------------------------------------

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
                worse = rows[
                    rows["worse_in_expectation"] | (rows["worse_in_tail"] if tail else False)
                ]
                if name != self.baseline and len(worse):
                    excluded[name] = _exclusion_reason(worse, org_names, tail)
                    compensation[name] = float(
                        -worse["diff_expected_funding"].clip(upper=0.0).sum()
                    )
            eligible = tuple(x for x in self.scheme_names if x not in excluded)
            expected = {
                x: self.paired.system_paid_sum[scheme_index(m, x), s] / n for x in self.scheme_names
            }
            best = max(eligible, key=lambda x: expected[x])
            gain, se_gain = self.system_difference(s, best, self.baseline)
            reasons = self._reasons(
                s, best, eligible, excluded, compensation, expected, systems, tail
            )
            out.append(
                Recommendation(
                    system=sid,
                    system_name=m.system_names[s],
                    scheme=best,
                    baseline=self.baseline,
                    expected_funding=float(expected[best]),
                    gain=gain,
                    se_gain=se_gain,
                    eligible=eligible,
                    excluded=excluded,
                    reasons=tuple(reasons),
                )
            )
        return out

    def _reasons(
        self,
        s: int,
        best: str,
        eligible: tuple[str, ...],
        excluded: dict[str, str],
        compensation: dict[str, float],
        expected: dict[str, float],
        systems: pd.DataFrame,
        tail: bool,
    ) -> list[str]:
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
                reasons.append(
                    f"It beats the next acceptable option, {runner}, by £{margin:.2f}m (± £{Z95 * se:.2f}m)."
                )
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
        parts.append(
            f"it leaves {org_names[row.organisation]} ({row.organisation}) {' and '.join(bits)}"
        )
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
    analysis = analyse(
        source, draws=draws, seed=seed, baseline=names[0] if names else None, progress=progress
    )
    return Comparison(
        organisations=analysis.comparison("organisations", names),
        systems=analysis.comparison("systems", names),
        national=analysis.comparison("national", names),
        headlines=analysis.headlines(names),
    )


__all__ = [
    "DEFAULT_ANALYSIS_DRAWS",
    "TAIL_LEVEL",
    "Analysis",
    "Comparison",
    "Recommendation",
    "analyse",
    "compare",
]
