"""The national view of a decision analysis: who would sign each option, what it is worth, how unevenly.

Statistics read off an :class:`~sct_engine.analysis.decision.Analysis` (no simulation, but for
:func:`joint_national`),
for a national policy team comparing options across every system of a scenario:

- **participation** per option and system, from the decision rule's one table of verdicts
  (:attr:`Analysis.decisions`): a system *would sign* an option when every member is resolved as
  not materially worse off than under the baseline, is *too close to call* when no member is
  materially worse off but some comparison is unresolved, and *would not sign* otherwise;
- per option, how many systems would sign it and what they gain or lose (expected income against
  the baseline, each system's computed with every other system staying with the baseline, as the
  decision rule computes it), the national funding at risk if every system signs (the run's
  national table) and if only the systems that would sign do;
- **fairness** across systems: how many lose against the baseline, and how concentrated the
  losses are (:func:`top_share`, :func:`gini`, defined there).

Sums over systems of per-system estimates carry a bound on their 95% half-width, the sum of the
systems' half-widths: the standard deviation of a sum is at most the sum of the standard
deviations whatever the correlation between systems (the national factor correlates them, and
the run keeps no cross-system products).

Those sums are one-system-at-a-time counterfactuals (every other system on the baseline); a
national figure is what happens when the systems act together. :func:`joint_national` simulates
that (:mod:`sct_engine.engine.joint`): every system on the option recommended to it, and every
system on each option, in one joint simulation on common random numbers with the national bonus
pool formed jointly, and sets the per-system sums beside it under labels that cannot be confused
(:data:`JOINT_BASIS`, :data:`SUM_BASIS`). Money in £m a year.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sct_engine.analysis.decision import Analysis, Recommendation
from sct_engine.analysis.paired import Z95
from sct_engine.analysis.rule import UNRESOLVED, WORSE, changes_national_rules
from sct_engine.engine.joint import JointDraws, simulate_joint

#: A system's position on an option under the decision rule.
SIGNS = "would sign"
TOO_CLOSE = "too close to call"
REFUSES = "would not sign"

#: The "worst 10% of systems" of :func:`top_share`.
WORST_SHARE = 0.1

#: The two kinds of national figure, in the words the page, the workbook and the CSV all use:
#: one simulation of every system acting together, and a sum of per-system counterfactuals.
JOINT_BASIS = "all systems together (one joint simulation)"
SUM_BASIS = "sum of one-system-at-a-time gains, others on {baseline}"

#: The joint counterfactual in which every system signs the option recommended to it.
RECOMMENDED_MIX = "each system's recommendation"


def gini(values: Sequence[float] | np.ndarray) -> float:
    """Gini coefficient of non-negative amounts (one per system).

    ``G = sum_i sum_j |x_i - x_j| / (2 n^2 mean(x))``: 0 when every system bears the same
    amount, ``(n - 1) / n`` when one system bears it all. NaN when the amounts sum to zero
    (nothing to share out). Computed from the sorted amounts, ``sum_i (2i - n + 1) x_(i) / (n
    sum x)`` with ``i`` from 0, which equals the pairwise form.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    if x.size and x[0] < 0:
        raise ValueError("gini takes non-negative amounts")
    n, total = x.size, float(x.sum())
    if n == 0 or total <= 0.0:
        return math.nan
    rank = np.arange(n, dtype=np.float64)
    # Equal amounts cancel exactly in the pairwise form but can round a hair below 0 here.
    return max(0.0, float(np.sum((2.0 * rank - n + 1.0) * x) / (n * total)))


def top_share(values: Sequence[float] | np.ndarray, share: float = WORST_SHARE) -> float:
    """Share of the total borne by the ``share`` of systems bearing the most.

    Read off the Lorenz curve, linear between systems: with 44 systems, the worst 10% is the
    worst 4 plus 0.4 of the fifth. 1 when one system bears it all and ``share`` covers it,
    ``share`` when every system bears the same. NaN when the amounts sum to zero.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))[::-1]
    if x.size and x[-1] < 0:
        raise ValueError("top_share takes non-negative amounts")
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be between 0 and 1 (got {share})")
    total = float(x.sum())
    if x.size == 0 or total <= 0.0:
        return math.nan
    span = round(share * x.size, 9)  # 0.1 * 30 is 3.0000000000000004 in floating point
    whole = math.floor(span)
    top = float(x[:whole].sum())
    if whole < x.size:
        top += (span - whole) * float(x[whole])
    return top / total


def _sum_bound(se: np.ndarray) -> float:
    """Bound on the 95% half-width of a sum of estimates with these standard errors."""
    return float(Z95 * np.sum(se))


def system_participation(
    analysis: Analysis, recommendations: Sequence[Recommendation] | None = None
) -> pd.DataFrame:
    """One row per option and system: the members' verdicts counted, the system's position
    (:data:`SIGNS`, :data:`TOO_CLOSE` or :data:`REFUSES`), what the option is worth to it
    against the baseline and its expected funding lost.

    ``members_worse`` / ``members_too_close`` count the members materially worse off / too close
    to call (:attr:`Analysis.decisions`); ``diff_expected_income`` is the system's expected
    income under the option minus under the baseline (the year-end bonus computed with every
    other system staying with the baseline), ``diff_expected_funding`` the same for PSF/CSF,
    each with its paired standard error; ``recommended`` marks the option recommended to it.
    """
    m = analysis.model
    recs = analysis.recommend() if recommendations is None else recommendations
    recommended = {r.system: r.scheme for r in recs}
    d = analysis.decisions
    counts = (
        d.assign(worse=d["verdict"] == WORSE, close=d["verdict"] == UNRESOLVED)
        .groupby(["scheme", "system"], sort=False)[["worse", "close"]]
        .sum()
    )
    compared = analysis.comparison("systems").set_index(["scheme", "system"])
    run = analysis.result.systems.set_index(["scheme", "system"])
    national = dict(zip(analysis.scheme_names, changes_national_rules(m), strict=True))
    members = np.diff(m.system_start)
    rows = []
    for name in analysis.scheme_names:
        for s, sid in enumerate(m.system_ids):
            worse = int(counts.loc[(name, sid), "worse"])
            close = int(counts.loc[(name, sid), "close"])
            c, r = compared.loc[(name, sid)], run.loc[(name, sid)]
            rows.append(
                {
                    "scheme": name,
                    "system": sid,
                    "system_name": m.system_names[s],
                    "members": int(members[s]),
                    "sustainability_funding": float(r["sustainability_funding"]),
                    "members_worse": worse,
                    "members_too_close": close,
                    "position": REFUSES if worse else TOO_CLOSE if close else SIGNS,
                    "changes_national_rules": bool(national[name]),
                    "recommended": recommended.get(sid) == name,
                    "diff_expected_income": float(c["diff_expected_income"]),
                    "se_diff_expected_income": float(c["se_diff_expected_income"]),
                    "diff_expected_funding": float(c["diff_expected_funding"]),
                    "se_diff_expected_funding": float(c["se_diff_expected_funding"]),
                    "expected_funding_lost": float(r["expected_funding_lost"]),
                    "se_expected_funding_lost": float(r["se_expected_funding_lost"]),
                }
            )
    return pd.DataFrame(rows)


def national_options(analysis: Analysis, systems: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per option: how many systems would sign it, what they gain, the funding at risk.

    ``systems_sign`` / ``systems_too_close`` / ``systems_refuse`` count the systems in each
    position (:func:`system_participation`) and ``systems_recommended`` those recommended the
    option. ``gain_signing`` is the expected income the systems that would sign gain against the
    baseline (summed), ``gain_too_close`` and ``gain_refusing`` what the others would gain (or,
    negative, lose) if they signed; ``funding_gain_signing`` is the PSF/CSF part of
    ``gain_signing``. ``expected_funding_lost`` (with its standard error), ``funding_lost_p95``
    and ``funding_lost_cvar95`` are the run's national table: every system signs.
    ``expected_funding_lost_with_participation``: the systems that would sign take the option,
    every other system stays with the baseline. ``ci95_*_bound`` bound the 95% half-widths of
    the sums over systems (module docstring).
    """
    systems = system_participation(analysis) if systems is None else systems
    nat = analysis.result.national.set_index("scheme")
    base = systems[systems["scheme"] == analysis.baseline].set_index("system")
    rows = []
    for name in analysis.scheme_names:
        sub = systems[systems["scheme"] == name]
        sign = sub["position"] == SIGNS
        close = sub["position"] == TOO_CLOSE
        refuse = sub["position"] == REFUSES
        stay = base.loc[sub.loc[~sign, "system"]]
        lost_mixed = (
            sub.loc[sign, "expected_funding_lost"].sum() + stay["expected_funding_lost"].sum()
        )
        se_mixed = np.concatenate(
            [
                sub.loc[sign, "se_expected_funding_lost"].to_numpy(),
                stay["se_expected_funding_lost"].to_numpy(),
            ]
        )
        row = nat.loc[name]
        rows.append(
            {
                "scheme": name,
                "changes_national_rules": bool(sub["changes_national_rules"].iloc[0]),
                "systems": len(sub),
                "systems_sign": int(sign.sum()),
                "systems_too_close": int(close.sum()),
                "systems_refuse": int(refuse.sum()),
                "systems_recommended": int(sub["recommended"].sum()),
                "gain_signing": float(sub.loc[sign, "diff_expected_income"].sum()),
                "ci95_gain_signing_bound": _sum_bound(
                    sub.loc[sign, "se_diff_expected_income"].to_numpy()
                ),
                "funding_gain_signing": float(sub.loc[sign, "diff_expected_funding"].sum()),
                "gain_too_close": float(sub.loc[close, "diff_expected_income"].sum()),
                "gain_refusing": float(sub.loc[refuse, "diff_expected_income"].sum()),
                "sustainability_funding": float(row["sustainability_funding"]),
                "expected_funding_lost": float(row["expected_funding_lost"]),
                "se_expected_funding_lost": float(row["se_expected_funding_lost"]),
                "funding_lost_p95": float(row["funding_lost_p95"]),
                "funding_lost_cvar95": float(row["funding_lost_cvar95"]),
                "expected_funding_lost_with_participation": float(lost_mixed),
                "ci95_expected_funding_lost_with_participation_bound": _sum_bound(se_mixed),
            }
        )
    return pd.DataFrame(rows)


def national_fairness(analysis: Analysis, systems: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per option: how unevenly it falls on systems, were every system to sign it.

    Against the baseline, a system *loses* when its expected income is lower under the option
    (``systems_losing``, point estimates; ``systems_losing_significantly``: the 95% interval of
    the difference wholly below zero). Its loss is ``max(0, -diff_expected_income)``;
    ``gross_loss`` / ``gross_gain`` sum losses / gains over systems. ``loss_worst_decile_share``:
    the share of the gross loss borne by the worst 10% of systems (:func:`top_share`);
    ``loss_gini``: the Gini coefficient of the losses over every system, those that gain
    counted as losing 0 (:func:`gini`). On the level of loss rather than the change:
    ``funding_lost_worst_decile_share`` is the share of the national expected funding lost borne
    by the 10% of systems losing most (£m), and ``funding_lost_rate_gini`` the Gini coefficient
    of the systems' expected funding lost as a share of their funding at stake. NaN where there
    is nothing to share out (e.g. no system loses against the baseline).
    """
    systems = system_participation(analysis) if systems is None else systems
    rows = []
    for name in analysis.scheme_names:
        sub = systems[systems["scheme"] == name]
        diff = sub["diff_expected_income"].to_numpy()
        se = sub["se_diff_expected_income"].to_numpy()
        losses = np.maximum(-diff, 0.0)
        lost = sub["expected_funding_lost"].to_numpy()
        at_stake = sub["sustainability_funding"].to_numpy()
        rate = np.divide(lost, at_stake, out=np.zeros_like(lost), where=at_stake > 0)
        rows.append(
            {
                "scheme": name,
                "systems": len(sub),
                "systems_losing": int((diff < 0).sum()),
                "share_systems_losing": float((diff < 0).mean()) if len(sub) else math.nan,
                "systems_losing_significantly": int((diff + Z95 * se < 0).sum()),
                "gross_loss": float(losses.sum()),
                "gross_gain": float(np.maximum(diff, 0.0).sum()),
                "loss_worst_decile_share": top_share(losses),
                "loss_gini": gini(losses),
                "funding_lost_worst_decile_share": top_share(lost),
                "funding_lost_rate_gini": gini(rate),
            }
        )
    return pd.DataFrame(rows)


def recommended_national(
    analysis: Analysis, systems: pd.DataFrame | None = None
) -> dict[str, float]:
    """National funding at risk when every system signs the option recommended to it:
    ``expected_funding_lost`` (the systems' sum) and the bound on its 95% half-width, and the
    expected income gained against the baseline (``gain``, summed) with its bound."""
    systems = system_participation(analysis) if systems is None else systems
    chosen = systems[systems["recommended"]]
    return {
        "expected_funding_lost": float(chosen["expected_funding_lost"].sum()),
        "ci95_expected_funding_lost_bound": _sum_bound(
            chosen["se_expected_funding_lost"].to_numpy()
        ),
        "gain": float(chosen["diff_expected_income"].sum()),
        "ci95_gain_bound": _sum_bound(chosen["se_diff_expected_income"].to_numpy()),
    }


def sum_basis(baseline: str) -> str:
    """:data:`SUM_BASIS` with the baseline named."""
    return SUM_BASIS.format(baseline=baseline)


def recommended_assignment(
    analysis: Analysis, recommendations: Sequence[Recommendation] | None = None
) -> np.ndarray:
    """Each system's recommended option as an option index ``(S,)`` (the baseline where the
    decision rule recommends nothing to a system)."""
    recs = analysis.recommend() if recommendations is None else recommendations
    names = list(analysis.scheme_names)
    chosen = {r.system: r.scheme for r in recs}
    return np.array(
        [names.index(chosen.get(sid, analysis.baseline)) for sid in analysis.model.system_ids],
        dtype=np.int64,
    )


def _joint_row(
    analysis: Analysis,
    name: str,
    joint: JointDraws,
    base: JointDraws,
    per_system_gain: float,
    per_system_bound: float,
) -> dict[str, object]:
    """One counterfactual's national figures (see :func:`joint_national`)."""
    m = analysis.model
    n = joint.draws
    at_stake = float(m.funding.sum())
    psf_at_stake = float(m.funding[m.is_provider].sum())
    finance_at_stake = float(m.finance.sum())
    lost = at_stake - joint.funding_paid
    income = joint.funding_paid + joint.bonus
    d_income = income - (base.funding_paid + base.bonus)
    d_funding = joint.funding_paid - base.funding_paid

    def mean_ci(x: np.ndarray) -> tuple[float, float]:
        se = float(np.std(x, ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        return float(np.mean(x)), Z95 * se

    lost_mean, lost_ci = mean_ci(lost)
    net_mean, net_ci = mean_ci(lost - joint.bonus)
    gain, gain_ci = mean_ci(d_income)
    funding_gain, funding_gain_ci = mean_ci(d_funding)
    return {
        "counterfactual": name,
        "basis": JOINT_BASIS,
        "draws": n,
        "sustainability_funding": at_stake,
        "expected_funding_lost": lost_mean,
        "ci95_expected_funding_lost": lost_ci,
        "funding_lost_p5": float(np.quantile(lost, 0.05)),
        "funding_lost_p95": float(np.quantile(lost, 0.95)),
        "expected_psf_lost": psf_at_stake - float(np.mean(joint.provider_paid)),
        "expected_csf_lost": (at_stake - psf_at_stake)
        - float(np.mean(joint.funding_paid - joint.provider_paid)),
        "expected_finance_lost": finance_at_stake - float(np.mean(joint.finance_paid)),
        "expected_ae_lost": (at_stake - finance_at_stake)
        - float(np.mean(joint.funding_paid - joint.finance_paid)),
        "expected_bonus_recycled": float(np.mean(joint.bonus)),
        "expected_funding_lost_net_of_bonus": net_mean,
        "ci95_expected_funding_lost_net_of_bonus": net_ci,
        "diff_expected_funding": funding_gain,
        "ci95_diff_expected_funding": funding_gain_ci,
        "diff_expected_bonus": float(np.mean(joint.bonus - base.bonus)),
        "diff_expected_income": gain,
        "ci95_diff_expected_income": gain_ci,
        "sum_basis": sum_basis(analysis.baseline),
        "sum_of_system_gains": per_system_gain,
        "ci95_sum_of_system_gains_bound": per_system_bound,
    }


def joint_national(
    analysis: Analysis,
    recommendations: Sequence[Recommendation] | None = None,
    systems: pd.DataFrame | None = None,
    draws: int | None = None,
    engine: str = "kernel",
) -> pd.DataFrame:
    """National figures of the systems acting together, beside the per-system sums.

    One row per joint counterfactual, :data:`RECOMMENDED_MIX` (every system on the option
    recommended to it) first, then every system on each option; all simulated on the
    analysis's seed and first ``draws`` draws (default: the run's), so on the run's own draws,
    with the bonus pool formed jointly (:func:`sct_engine.engine.joint.simulate_joint`).

    Columns: ``counterfactual``, ``basis`` (:data:`JOINT_BASIS`), ``draws``, funding at stake;
    ``expected_funding_lost`` (gross, with ``ci95_``, ``funding_lost_p5`` / ``p95``) split into
    ``expected_psf_lost`` / ``expected_csf_lost`` (trusts / commissioners) and
    ``expected_finance_lost`` / ``expected_ae_lost`` (elements); ``expected_bonus_recycled`` (the
    bonus paid out of the pool) and ``expected_funding_lost_net_of_bonus``;
    ``diff_expected_funding`` / ``diff_expected_bonus`` / ``diff_expected_income`` against every
    system on the baseline (jointly; paired 95% half-widths ``ci95_``; income is funding plus
    bonus, the incentive PSF being the same under every option). ``sum_basis``
    (:data:`SUM_BASIS`) and ``sum_of_system_gains``: the per-system gains in expected income
    summed (:func:`system_participation`: each with every other system on the baseline), with
    the bound on its 95% half-width.
    """
    m = analysis.model
    systems = system_participation(analysis, recommendations) if systems is None else systems
    names = list(analysis.scheme_names)
    assignments = {RECOMMENDED_MIX: recommended_assignment(analysis, recommendations)}
    for k, name in enumerate(names):
        assignments[f"every system on {name}"] = np.full(m.n_systems, k, dtype=np.int64)
    n = analysis.draws if draws is None else min(int(draws), analysis.draws)
    joint = simulate_joint(m, assignments, n, analysis.seed, engine=engine)
    base = joint[f"every system on {analysis.baseline}"]
    rows = []
    chosen = systems[systems["recommended"]]
    rows.append(
        _joint_row(
            analysis,
            RECOMMENDED_MIX,
            joint[RECOMMENDED_MIX],
            base,
            float(chosen["diff_expected_income"].sum()),
            _sum_bound(chosen["se_diff_expected_income"].to_numpy()),
        )
    )
    for name in names:
        sub = systems[systems["scheme"] == name]
        rows.append(
            _joint_row(
                analysis,
                f"every system on {name}",
                joint[f"every system on {name}"],
                base,
                float(sub["diff_expected_income"].sum()),
                _sum_bound(sub["se_diff_expected_income"].to_numpy()),
            )
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class NationalView:
    """The national tables of one analysis (see :func:`national_view`)."""

    systems: pd.DataFrame  # option x system: :func:`system_participation`
    options: pd.DataFrame  # option: :func:`national_options`
    fairness: pd.DataFrame  # option: :func:`national_fairness`
    recommended: dict[str, float]  # :func:`recommended_national`
    joint: pd.DataFrame | None = None  # counterfactual: :func:`joint_national` (when simulated)


def national_view(
    analysis: Analysis,
    recommendations: Sequence[Recommendation] | None = None,
    joint: bool = False,
    engine: str = "kernel",
) -> NationalView:
    """Participation, national funding at risk and fairness for every option, computed once;
    with ``joint``, also the joint counterfactuals (:func:`joint_national`, a simulation on
    ``engine``)."""
    systems = system_participation(analysis, recommendations)
    return NationalView(
        systems=systems,
        options=national_options(analysis, systems),
        fairness=national_fairness(analysis, systems),
        recommended=recommended_national(analysis, systems),
        joint=joint_national(analysis, recommendations, systems, engine=engine) if joint else None,
    )


__all__ = [
    "JOINT_BASIS",
    "RECOMMENDED_MIX",
    "REFUSES",
    "SIGNS",
    "SUM_BASIS",
    "TOO_CLOSE",
    "WORST_SHARE",
    "NationalView",
    "gini",
    "joint_national",
    "national_fairness",
    "national_options",
    "national_view",
    "recommended_assignment",
    "recommended_national",
    "sum_basis",
    "system_participation",
    "top_share",
]
