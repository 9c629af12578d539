"""In-year re-forecast: given the closed quarters, what is still at risk under the option signed.

The model conditions on the scenario's ``actuals`` (``Model.ytd_plan``, ``quarter_sd``,
``period_p_ae``): the closed quarters are fixed and the later ones simulated from them, on
the same streams as a whole-year run. This module draws those blocks with the reference
(``reference.draw_block`` and ``apply_schemes``, which the kernel matches draw for draw), for
the signed option alone, and reduces them per member and system to: the chance of earning
each remaining finance instalment, the chance of passing at year end, and the funding still
to come (expected, with its 95% confidence interval). The solvers' plan improvement against
the remaining quarters comes from ``solvers.control_total_buffer`` on the same model.
See docs/in-year.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sct_engine.analysis.solvers import control_total_buffer, mitigation_needed
from sct_engine.analysis.submodels import national_baseline, scheme_index, with_schemes
from sct_engine.engine.model import QUARTERS, Model
from sct_engine.engine.reference import apply_schemes, draw_block
from sct_engine.engine.rng import BLOCK_DRAWS, block_sizes
from sct_engine.scenario import Actuals

#: Two-sided 95% normal quantile, for the confidence interval of an expectation.
Z95 = 1.959963984540054


def signed_option(model: Model, given: str | None, option: str | None = None) -> str:
    """The option re-forecast: ``option`` (``--option``), else the scenario's
    ``actuals.signed_option`` (``given``), else the national organisation-only option."""
    name = option or given or national_baseline(model)
    scheme_index(model, name)  # an unknown name is refused with the menu
    return name


def actual_paid_so_far(actuals: Actuals, org_ids: tuple[str, ...]) -> np.ndarray | None:
    """Per organisation, £m paid in the closed quarters as the actuals report it (finance and
    A&E instalments); None unless every organisation gives its ``finance_paid``."""
    by_id = {o.id: o for o in actuals.organisations}
    if any(by_id[i].finance_paid is None for i in org_ids):
        return None
    return np.array(
        [sum(by_id[i].finance_paid or []) + sum(by_id[i].ae_paid or []) for i in org_ids],
        dtype=np.float64,
    )


@dataclass
class InYear:
    """The re-forecast's tables: ``members`` and ``systems`` (one row each), and the
    ``what_it_takes`` of the solvers (empty when not asked for); ``warnings`` in words."""

    option: str
    closed_quarters: int
    draws: int
    members: pd.DataFrame
    systems: pd.DataFrame
    what_it_takes: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Sums:
    """Per-draw sums over blocks: counts and the funding still to come (sum, sum of squares)."""

    draws: int
    instalment: np.ndarray  # (N, 4) finance instalment paid whole
    own_test: np.ndarray  # (N, 4) finance test passed after redistribution
    year_end_pass: np.ndarray  # (N,)
    to_come: np.ndarray  # (N,)
    to_come_sq: np.ndarray  # (N,)
    system_quarter: np.ndarray  # (S, 4) the option's system test passed
    system_to_come: np.ndarray  # (S,)
    system_to_come_sq: np.ndarray  # (S,)
    closed_paid: np.ndarray  # (N, k) the rules' funding paid in the closed quarters


def _simulate(model: Model, seed: int, draws: int) -> _Sums:
    """Draw blocks as every run does and sum what the re-forecast reports (one option)."""
    k, n, s = model.closed_quarters, model.n_orgs, model.n_systems
    linked = float(model.schemes.system_linked_share[0])
    sums = _Sums(
        0,
        np.zeros((n, QUARTERS), np.int64),
        np.zeros((n, QUARTERS), np.int64),
        np.zeros(n, np.int64),
        np.zeros(n),
        np.zeros(n),
        np.zeros((s, QUARTERS), np.int64),
        np.zeros(s),
        np.zeros(s),
        np.zeros((n, k)),
    )
    starts = model.system_start[:-1]
    for block, size in block_sizes(draws, BLOCK_DRAWS):
        outcome = apply_schemes(model, draw_block(model, seed, block, size))
        assert outcome.paid_quarter is not None
        assert outcome.system_pass_quarter is not None and outcome.org_pass_quarter is not None
        paid_q = outcome.paid_quarter[0]
        own = outcome.org_pass_quarter[0]  # (n, N, 4)
        system = outcome.system_pass_quarter[0][:, model.org_system, :]
        # A quarter's own instalment is earned in full when every part of it is: the own part
        # (1 - s) on the member's test, the linked part s on the system's (recovery apart).
        whole = ((linked < 1.0) <= own) & ((linked > 0.0) <= system)
        to_come = paid_q[:, :, k:].sum(axis=2)
        system_to_come = np.add.reduceat(to_come, starts, axis=1)
        sums.draws += size
        sums.instalment += whole.sum(axis=0)
        sums.own_test += outcome.org_pass_quarter[0].sum(axis=0)
        sums.year_end_pass += outcome.org_pass[0].sum(axis=0)
        sums.to_come += to_come.sum(axis=0)
        sums.to_come_sq += (to_come * to_come).sum(axis=0)
        sums.system_quarter += outcome.system_pass_quarter[0].sum(axis=0)
        sums.system_to_come += system_to_come.sum(axis=0)
        sums.system_to_come_sq += (system_to_come * system_to_come).sum(axis=0)
        sums.closed_paid = paid_q[0, :, :k]  # the same in every draw: the year to date
    return sums


def _interval(total: np.ndarray, total_sq: np.ndarray, draws: int) -> tuple[np.ndarray, ...]:
    """Mean and its 95% confidence interval from a sum and a sum of squares."""
    mean = total / draws
    var = np.maximum(total_sq / draws - mean * mean, 0.0) * draws / max(draws - 1, 1)
    half = Z95 * np.sqrt(var / draws)
    return mean, mean - half, mean + half


def reforecast(
    model: Model,
    seed: int,
    draws: int,
    option: str,
    paid_so_far: np.ndarray | None = None,
    target: float | None = 0.8,
    solver_draws: int | None = None,
    engine: str = "kernel",
) -> InYear:
    """Re-forecast the rest of the year for ``option`` given the model's actuals.

    ``paid_so_far``: ``(N,)`` £m paid in the closed quarters as the actuals report it (None:
    as the rules pay on the actual year-to-date outturns). ``target``: the P(year-end pass)
    each member's "what it takes" aims at (None: no solver), on ``solver_draws`` draws of
    ``engine``.
    """
    k = model.closed_quarters
    if k < 1 or model.actual_ytd_outturn is None:
        raise ValueError("an in-year re-forecast needs actuals (closed_quarters 1 to 3)")
    one = replace(with_schemes(model, [option]), bonus=False)
    sums = _simulate(one, seed, draws)
    n = sums.draws
    rules_paid = sums.closed_paid.sum(axis=1)
    so_far = rules_paid if paid_so_far is None else np.asarray(paid_so_far, dtype=np.float64)
    mean, low, high = _interval(sums.to_come, sums.to_come_sq, n)
    remaining = range(k, QUARTERS)
    members = pd.DataFrame(
        {
            "system": [model.system_ids[s] for s in model.org_system],
            "organisation": list(model.org_ids),
            "kind": list(model.org_kinds),
            "funding_at_stake": model.funding,
            "ytd_outturn": model.actual_ytd_outturn[:, -1],
            "ytd_control_total": model.ytd_control_total()[:, k - 1],
            "funding_paid_so_far": so_far,
            **{f"p_own_test_q{q + 1}": sums.own_test[:, q] / n for q in remaining},
            **{
                f"p_instalment_q{q + 1}": np.where(
                    model.finance > 0, sums.instalment[:, q] / n, np.nan
                )
                for q in remaining
            },
            "p_year_end_pass": sums.year_end_pass / n,
            "expected_funding_to_come": mean,
            "funding_to_come_ci_low": low,
            "funding_to_come_ci_high": high,
        }
    )
    s_mean, s_low, s_high = _interval(sums.system_to_come, sums.system_to_come_sq, n)
    starts = model.system_start[:-1]
    systems = pd.DataFrame(
        {
            "system": list(model.system_ids),
            "funding_at_stake": model.system_funding(),
            "ytd_outturn": np.add.reduceat(model.actual_ytd_outturn[:, -1], starts),
            "ytd_system_control_total": model.system_ytd_control_total()[:, k - 1],
            "funding_paid_so_far": np.add.reduceat(so_far, starts),
            **{f"p_system_test_q{q + 1}": sums.system_quarter[:, q] / n for q in remaining},
            "p_year_end_pass": sums.system_quarter[:, QUARTERS - 1] / n,
            "expected_funding_to_come": s_mean,
            "funding_to_come_ci_low": s_low,
            "funding_to_come_ci_high": s_high,
        }
    )
    warnings = []
    if paid_so_far is not None:
        for i in np.flatnonzero(np.abs(so_far - rules_paid) > 1e-6):
            warnings.append(
                f"{model.org_ids[i]}: the actuals report {so_far[i]:g} £m paid so far, but "
                f"{option} pays {rules_paid[i]:g} £m on its actual year-to-date outturns; the "
                "re-forecast takes the closed quarters' tests from the outturns"
            )
    result = InYear(option, k, n, members, systems, warnings=warnings)
    if target is not None:
        result.what_it_takes = what_it_takes(
            model, seed, solver_draws or draws, option, target, engine
        )
    return result


def what_it_takes(
    model: Model, seed: int, draws: int, option: str, target: float, engine: str = "kernel"
) -> pd.DataFrame:
    """Per member, what brings P(year-end pass) under ``option`` to ``target``, each member
    alone: the improvement over the remaining quarters, from ``solvers.control_total_buffer``
    on the conditioned model (its plan lever moves the remaining quarters by
    ``plan (P_q - P_k)``, so a plan raised by ``b`` adds ``b (1 - P_k)`` to the year-end
    outturn: that is the improvement reported); or, instead, the management actions held for
    the year end (``solvers.mitigation_needed``: the total, at least the member's own)."""
    k = model.closed_quarters
    still = 1.0 - model.cumulative_profile[:, k - 1]
    movable = [model.org_ids[i] for i in range(model.n_orgs) if still[i] > 0]
    table = control_total_buffer(
        model, seed, draws, scheme=option, target=target, organisations=movable, engine=engine
    )
    if table.empty:
        return table
    actions = mitigation_needed(
        model, seed, draws, scheme=option, target=target, organisations=movable, engine=engine
    ).set_index("organisation")
    share = table["organisation"].map(dict(zip(model.org_ids, still, strict=True)))
    by_member = actions.loc[table["organisation"]]
    return pd.DataFrame(
        {
            "system": table["system"],
            "organisation": table["organisation"],
            "target": table["target"],
            "p_year_end_pass_now": table["p_pass_at_plan"],
            "improvement_needed": table["buffer"] * share,
            "se_improvement_needed": table["se_buffer"] * share,
            "p_year_end_pass_with_improvement": table["p_pass_with_buffer"],
            "current_mitigation": by_member["current_mitigation"].to_numpy(),
            "mitigation_needed": by_member["mitigation"].to_numpy(),
            "se_mitigation_needed": by_member["se_mitigation"].to_numpy(),
            "p_year_end_pass_with_mitigation": by_member["p_pass_with_mitigation"].to_numpy(),
        }
    )


def format_table(result: InYear) -> str:
    """The re-forecast as text: one line per member and system."""
    k = result.closed_quarters
    heads = [f"Q{q + 1}" for q in range(k, QUARTERS)]
    lines = [
        f"In-year re-forecast at Q{k} for option {result.option} ({result.draws:,} draws). "
        "P(Qn): chance of passing quarter n's year-to-date finance test (members: own test "
        "after redistribution; system: the option's system test); Q4 is the year-end pass "
        "that recovers missed PSF. Paid and to come: funding (PSF/CSF) in £m.",
        f"{'member':<16}{'ytd':>8}{'paid':>7}"
        + "".join(f"{'P(' + h + ')':>8}" for h in heads)
        + f"{'to come (95% CI)':>26}",
    ]

    def money(mean: float, low: float, high: float) -> str:
        return f"{mean:8.2f} ({low:.2f} to {high:.2f})"

    def pct(x: float) -> str:
        return f"{'-':>8}" if math.isnan(x) else f"{x:8.1%}"

    def line(label: str, r: dict, test: str) -> str:
        """One row of the table: a member (its own tests) or a system (its system tests)."""
        return (
            f"{label:<16}{r['ytd_outturn']:8.2f}{r['funding_paid_so_far']:7.2f}"
            + "".join(pct(r[f"p_{test}_test_q{q + 1}"]) for q in range(k, QUARTERS))
            + f"{money(r['expected_funding_to_come'], r['funding_to_come_ci_low'], r['funding_to_come_ci_high']):>26}"
        )

    for row in result.members.itertuples(index=False):
        r = row._asdict()
        lines.append(line(r["organisation"][:15], r, "own"))
    for row in result.systems.itertuples(index=False):
        r = row._asdict()
        lines.append(line("= " + r["system"][:13], r, "system"))
    if not result.what_it_takes.empty:
        target = float(result.what_it_takes["target"].iloc[0])
        lines += [
            "",
            f"What it takes for P(year-end pass) >= {target:.0%}, each member alone: the "
            "improvement over the remaining quarters (£m of year-to-date surplus), or instead "
            "the management actions held for the year end (£m, in total)",
        ]
        for row in result.what_it_takes.itertuples(index=False):
            r = row._asdict()
            lines.append(
                f"{r['organisation'][:15]:<16}now {r['p_year_end_pass_now']:6.1%}  "
                f"needs {r['improvement_needed']:7.2f} (se {r['se_improvement_needed']:.2f})  "
                f"or actions {r['mitigation_needed']:7.2f} (has {r['current_mitigation']:.2f})"
            )
    return "\n".join(lines)
