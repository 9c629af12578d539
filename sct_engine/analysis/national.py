"""The national view of a decision analysis: who would sign each option, what it is worth, how unevenly.

Statistics read off an :class:`~sct_engine.analysis.decision.Analysis` (no simulation here),
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
the run keeps no cross-system products). Money in £m a year.
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

#: A system's position on an option under the decision rule.
SIGNS = "would sign"
TOO_CLOSE = "too close to call"
REFUSES = "would not sign"

#: The "worst 10% of systems" of :func:`top_share`.
WORST_SHARE = 0.1


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
    return float(np.sum((2.0 * rank - n + 1.0) * x) / (n * total))


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


@dataclass(frozen=True)
class NationalView:
    """The national tables of one analysis (see :func:`national_view`)."""

    systems: pd.DataFrame  # option x system: :func:`system_participation`
    options: pd.DataFrame  # option: :func:`national_options`
    fairness: pd.DataFrame  # option: :func:`national_fairness`
    recommended: dict[str, float]  # :func:`recommended_national`


def national_view(
    analysis: Analysis, recommendations: Sequence[Recommendation] | None = None
) -> NationalView:
    """Participation, national funding at risk and fairness for every option, computed once."""
    systems = system_participation(analysis, recommendations)
    return NationalView(
        systems=systems,
        options=national_options(analysis, systems),
        fairness=national_fairness(analysis, systems),
        recommended=recommended_national(analysis, systems),
    )


__all__ = [
    "REFUSES",
    "SIGNS",
    "TOO_CLOSE",
    "WORST_SHARE",
    "NationalView",
    "gini",
    "national_fairness",
    "national_options",
    "national_view",
    "recommended_national",
    "system_participation",
    "top_share",
]
