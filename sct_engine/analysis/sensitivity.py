"""Sensitivity of the answer to its assumptions, on common random numbers.

The recommendation rests on assumptions a board or a national team cannot check: how widely
outturn varies (the members' ``sd``), how much of that variation is shared nationally and
within a system (``uncertainty.national_share`` / ``system_share``), the chance of earning the
A&E element (``p_ae``) and which finance result opens it (``regime.ae_gateway``). This module
re-runs the whole decision analysis with one assumption changed at a time (:data:`ASSUMPTIONS`,
a tuple of named variants, so every table and page lists the same ones) and reads, per
variant: the option recommended to each system under the decision rule of
:mod:`.decision` (not a second rule), how many systems would sign each option, and the
national funding lost under each option (the run's national table: every system signs it, one
joint simulation).

Every variant runs on the same seed and the same number of draws as the run "as assumed", so
every variant sees the same simulated years (common random numbers, ``engine/rng.py``): the
standard shocks are only rescaled or recombined, the A&E outcomes are the same uniforms
against a moved ``p_ae``, and large adverse events are the same events. What moves between
rows moves because of the assumption, not because of fresh noise. To keep the cost bounded the
rule gets no extra draws here: a comparison the draws cannot settle is too close to call.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import pandas as pd
from pydantic import ValidationError

from sct_engine.analysis.decision import Analysis, Recommendation, analyse
from sct_engine.analysis.national import national_view
from sct_engine.analysis.paired import Z95
from sct_engine.analysis.rule import DecisionRule
from sct_engine.errors import ScenarioError
from sct_engine.scenario import Scenario

#: What an assumption variant changes.
Change = Literal["sd_scale", "national_share", "system_share", "p_ae", "ae_gateway"]

#: The label of the run with every assumption as the scenario gives it.
AS_ASSUMED = "as assumed"

#: Whether a system's recommendation survives a variant (:func:`survival`).
SURVIVES = "yes"
CHANGES = "changes to"
TOO_CLOSE = "too close to call"


@dataclass(frozen=True)
class Assumption:
    """One variant: a named change of one assumption (``change`` by ``amount``)."""

    name: str  # id, used in tables and the workbook
    label: str  # what a reader sees
    change: Change
    amount: float | str  # a factor (sd_scale), a shift (shares, p_ae) or a gateway reading
    short: str = ""  # a column header where the variants are columns (default: the label)

    @property
    def heading(self) -> str:
        """The variant in a few words: ``short``, else the label."""
        return self.short or self.label


#: The variants of the sensitivity table, in the order shown.
ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption("sd_x0.8", "spread of outturn (sd) x 0.8", "sd_scale", 0.8, "sd x 0.8"),
    Assumption("sd_x1.2", "spread of outturn (sd) x 1.2", "sd_scale", 1.2, "sd x 1.2"),
    Assumption(
        "national_share-0.1",
        "national variance share -10 points",
        "national_share",
        -0.1,
        "national share -10",
    ),
    Assumption(
        "national_share+0.1",
        "national variance share +10 points",
        "national_share",
        0.1,
        "national share +10",
    ),
    Assumption(
        "system_share-0.1",
        "system variance share -10 points",
        "system_share",
        -0.1,
        "system share -10",
    ),
    Assumption(
        "system_share+0.1",
        "system variance share +10 points",
        "system_share",
        0.1,
        "system share +10",
    ),
    Assumption("p_ae-0.15", "chance of earning the A&E element -0.15", "p_ae", -0.15, "p_ae -0.15"),
    Assumption("p_ae+0.15", "chance of earning the A&E element +0.15", "p_ae", 0.15, "p_ae +0.15"),
    Assumption(
        "ae_gateway=own_test",
        "A&E gateway: own finance test",
        "ae_gateway",
        "own_test",
        "gateway: own test",
    ),
    Assumption(
        "ae_gateway=finance_earned",
        "A&E gateway: some finance element earned",
        "ae_gateway",
        "finance_earned",
        "gateway: finance earned",
    ),
    Assumption(
        "ae_gateway=none",
        "A&E gateway: none (A&E on performance)",
        "ae_gateway",
        "none",
        "gateway: none",
    ),
)


@dataclass(frozen=True)
class Applied:
    """A variant applied to a scenario: the changed scenario and what was set, in words."""

    assumption: Assumption
    scenario: Scenario
    setting: str  # e.g. "national_share 0.2 -> 0.3"


@dataclass(frozen=True)
class Skipped:
    """A variant that was not run, and why (it would change nothing, or cannot apply)."""

    assumption: Assumption
    reason: str


def _members(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [org for system in data["systems"] for org in system["organisations"]]


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _shift_text(field: str, was: float, now: float, shift: float) -> str:
    clipped = "" if math.isclose(now - was, shift, abs_tol=1e-12) else " (clipped to valid)"
    return f"{field} {was:g} -> {now:g}{clipped}"


def apply_assumption(scenario: Scenario, assumption: Assumption) -> Applied | Skipped:
    """The scenario with one assumption changed, validated as any scenario is.

    ``sd_scale`` multiplies every member's ``sd`` (or ``sd_pct``) by the factor (large adverse
    events are left as they are); ``national_share`` / ``system_share`` shift the share by the
    amount, clipped to what the scenario's loadings and the other share leave valid;
    ``p_ae`` shifts every member's ``p_ae``, clipped to [0, 1]; ``ae_gateway`` sets the
    national reading. A variant that would change nothing (the gateway already read so, a
    share already at its bound, no member with an A&E element, a share the scenario's
    correlation matrices or loadings leave unused) is :class:`Skipped`, with the reason.
    """
    data = scenario.model_dump()
    u, kind, amount = data["uncertainty"], assumption.change, assumption.amount
    orgs = _members(data)
    has_ae = any(o["has_ae"] and o["ae_share"] > 0 for o in orgs)
    if kind == "sd_scale":
        factor = float(amount)
        for org in orgs:
            key = "sd" if org["sd"] is not None else "sd_pct"
            org[key] = org[key] * factor
        setting = f"every member's sd x {factor:g}"
    elif kind in ("national_share", "system_share"):
        a, b = u["national_share"], u["system_share"]
        loadings = [o["system_loading"] for o in orgs if o["system_loading"] is not None]
        matrices = [s["correlation"] is not None for s in data["systems"]]
        if kind == "national_share":
            if len(matrices) == 1 and matrices[0]:
                return Skipped(
                    assumption,
                    "one system, whose correlation matrix fixes every pair's correlation",
                )
            high = 1.0 - max([b, *(x * x for x in loadings)])
            if any(matrices):
                high = min(high, 1.0 - 1e-6)
            now = _clip(a + float(amount), 0.0, high)
            was = a
        else:
            uses_b = any(
                o["system_loading"] is None and not matrices[k]
                for k, s in enumerate(data["systems"])
                for o in s["organisations"]
            )
            if not uses_b:
                return Skipped(
                    assumption,
                    "every member's correlation comes from its system's correlation matrix or "
                    "its own system_loading",
                )
            now = _clip(b + float(amount), 0.0, 1.0 - a)
            was = b
        if math.isclose(now, was, abs_tol=1e-12):
            return Skipped(assumption, f"{kind} is {was:g}, already at its bound")
        u[kind] = now
        setting = _shift_text(kind, was, now, float(amount))
    elif kind == "p_ae":
        if not has_ae:
            return Skipped(assumption, "no member has an A&E element")
        shift = float(amount)
        clipped = False
        for org in orgs:
            now = _clip(org["p_ae"] + shift, 0.0, 1.0)
            if org["has_ae"]:  # p_ae means nothing without an A&E element
                clipped |= not math.isclose(now - org["p_ae"], shift, abs_tol=1e-12)
            org["p_ae"] = now
        setting = f"every member's p_ae {shift:+g}" + (" (clipped to [0, 1])" if clipped else "")
    elif kind == "ae_gateway":
        if data["regime"]["ae_gateway"] == amount:
            return Skipped(assumption, "it is the scenario's own reading: the run as assumed")
        if not has_ae:
            return Skipped(assumption, "no member has an A&E element")
        setting = f"regime.ae_gateway {data['regime']['ae_gateway']} -> {amount}"
        data["regime"]["ae_gateway"] = amount
    else:  # pragma: no cover - Change is a closed set
        raise ValueError(f"unknown change {kind!r}")
    try:
        changed = Scenario.model_validate(data)
    except ValidationError as err:
        return Skipped(assumption, f"cannot apply: {err.errors()[0]['msg']}")
    except ScenarioError as err:
        return Skipped(assumption, f"cannot apply: {err.problems[0].message}")
    changed._source = scenario._source
    changed._content_hash = scenario._content_hash
    changed._changes = {**scenario._changes, "sensitivity": assumption.name}
    return Applied(assumption, changed, setting)


# --- running the variants -------------------------------------------------------------------


def survival(
    reference: str, variant: Recommendation, margin: float = 0.0, se_margin: float = 0.0
) -> str:
    """Whether a system's recommendation (``reference``) survives a variant.

    :data:`SURVIVES` when the variant recommends the same option; :data:`TOO_CLOSE` when the
    reference option is ruled out under the variant only by comparisons the draws cannot
    settle, or the variant's choice beats it by no more than Monte Carlo error (``margin`` ±
    1.96 ``se_margin``, the variant's expected income of its choice minus the reference's, on
    the same draws); otherwise ``"changes to <option>"``.
    """
    if variant.scheme == reference:
        return SURVIVES
    if reference in variant.too_close:
        return TOO_CLOSE
    if reference in variant.eligible and margin <= Z95 * se_margin:
        return TOO_CLOSE
    return f"{CHANGES} {variant.scheme}"


@dataclass(frozen=True)
class VariantRun:
    """What one run (as assumed, or one variant) gives the tables."""

    name: str  # :data:`AS_ASSUMED` or the assumption's name
    label: str
    setting: str
    heading: str  # a column header: :attr:`Assumption.heading`
    recommendations: tuple[Recommendation, ...]
    options: pd.DataFrame  # :func:`~sct_engine.analysis.national.national_options`
    margins: dict[str, tuple[float, float]]  # system -> its choice minus the reference's, se


@dataclass(frozen=True)
class Sensitivity:
    """The runs of a sensitivity analysis: as assumed first, then each variant run."""

    draws: int
    seed: int
    baseline: str
    reference: dict[str, str]  # system -> the option the report recommends
    runs: tuple[VariantRun, ...]
    skipped: tuple[Skipped, ...]
    wall_time_s: float = 0.0

    def options_table(self) -> pd.DataFrame:
        """One row per run and option: the systems in each position under the decision rule
        and the national funding lost if every system signs the option (with its standard
        error), on the same draws."""
        rows = []
        for run in self.runs:
            for r in run.options.itertuples(index=False):
                rows.append(
                    {
                        "variant": run.name,
                        "assumption": run.label,
                        "setting": run.setting,
                        "scheme": r.scheme,
                        "changes_national_rules": bool(r.changes_national_rules),
                        "systems_sign": int(r.systems_sign),
                        "systems_too_close": int(r.systems_too_close),
                        "systems_refuse": int(r.systems_refuse),
                        "systems_recommended": int(r.systems_recommended),
                        "expected_funding_lost": float(r.expected_funding_lost),
                        "se_expected_funding_lost": float(r.se_expected_funding_lost),
                    }
                )
        return pd.DataFrame(rows)

    def systems_table(self) -> pd.DataFrame:
        """One row per run and system: the option recommended under the variant, its gain
        against the baseline, and whether the report's recommendation survives
        (:func:`survival`)."""
        rows = []
        for run in self.runs:
            for rec in run.recommendations:
                reference = self.reference[rec.system]
                margin, se = run.margins.get(rec.system, (0.0, 0.0))
                rows.append(
                    {
                        "variant": run.name,
                        "assumption": run.label,
                        "setting": run.setting,
                        "system": rec.system,
                        "system_name": rec.system_name,
                        "reference_scheme": reference,
                        "recommended_scheme": rec.scheme,
                        "gain_vs_baseline": rec.gain,
                        "se_gain": rec.se_gain,
                        "gain_vs_reference": margin,
                        "se_gain_vs_reference": se,
                        "too_close_to_call": ", ".join(rec.too_close),
                        "survives": survival(reference, rec, margin, se),
                    }
                )
        return pd.DataFrame(rows)


def _variant_run(
    analysis: Analysis,
    name: str,
    label: str,
    setting: str,
    heading: str,
    reference: dict[str, str],
    recommendations: Sequence[Recommendation] | None = None,
) -> VariantRun:
    recs = list(analysis.recommend() if recommendations is None else recommendations)
    view = national_view(analysis, recs)
    margins = {}
    for s, rec in enumerate(recs):
        ref = reference.get(rec.system, rec.scheme)
        if rec.scheme != ref:
            margins[rec.system] = analysis.system_difference(s, rec.scheme, ref)
    return VariantRun(name, label, setting, heading, tuple(recs), view.options, margins)


def plan_variants(
    scenario: Scenario, assumptions: Sequence[Assumption] = ASSUMPTIONS
) -> tuple[tuple[Applied, ...], tuple[Skipped, ...]]:
    """Every assumption applied to the scenario (:func:`apply_assumption`): those to run, in
    order, and those skipped with their reasons. A run costs ``1 + len(applied)`` analyses."""
    applied: list[Applied] = []
    skipped: list[Skipped] = []
    for assumption in assumptions:
        result = apply_assumption(scenario, assumption)
        if isinstance(result, Applied):
            applied.append(result)
        else:
            skipped.append(result)
    return tuple(applied), tuple(skipped)


def run_sensitivity(
    scenario: Scenario,
    draws: int,
    seed: int | None = None,
    baseline: str | None = None,
    reference: Sequence[Recommendation] | None = None,
    assumptions: Sequence[Assumption] = ASSUMPTIONS,
    rule: DecisionRule | None = None,
    engine: str = "kernel",
    progress: Callable[[int], None] | None = None,
    planned: tuple[tuple[Applied, ...], tuple[Skipped, ...]] | None = None,
) -> Sensitivity:
    """Run the scenario as assumed and under each assumption variant on the same draws.

    ``draws`` and ``seed`` (default the scenario's) are those of every run; ``baseline`` as
    for :func:`~sct_engine.analysis.decision.analyse`. ``reference``: the recommendations the
    variants are read against (the report's own); default, those of the run as assumed here.
    ``rule``: the decision rule (its materiality and tail), with no extra draws
    (``max_draws = draws``), so each run costs exactly ``draws`` draws. ``progress`` is called
    with the draws each step finished (``draws x (1 + len(applied))`` in all). ``planned``:
    :func:`plan_variants`'s answer for ``assumptions``, when the caller has it already.
    """
    started = time.perf_counter()
    seed = scenario.simulation.seed if seed is None else int(seed)
    rule = replace(rule or DecisionRule(), max_draws=int(draws))
    applied, skipped = planned if planned is not None else plan_variants(scenario, assumptions)

    def run(s: Scenario, baseline: str | None) -> Analysis:
        return analyse(
            s,
            draws=int(draws),
            seed=seed,
            baseline=baseline,
            engine=engine,
            rule=rule,
            progress=progress,
        )

    base = run(scenario, baseline)
    baseline = base.baseline
    own = base.recommend()  # read once: the rule's tables are the slow part after the kernel
    ref = {r.system: r.scheme for r in (own if reference is None else reference)}
    runs = [
        _variant_run(base, AS_ASSUMED, AS_ASSUMED, "the scenario's figures", AS_ASSUMED, ref, own)
    ]
    del base
    for item in applied:
        a = item.assumption
        analysis = run(item.scenario, baseline)
        runs.append(_variant_run(analysis, a.name, a.label, item.setting, a.heading, ref))
    return Sensitivity(
        draws=int(draws),
        seed=seed,
        baseline=baseline,
        reference=ref,
        runs=tuple(runs),
        skipped=tuple(skipped),
        wall_time_s=time.perf_counter() - started,
    )


__all__ = [
    "ASSUMPTIONS",
    "AS_ASSUMED",
    "CHANGES",
    "SURVIVES",
    "TOO_CLOSE",
    "Applied",
    "Assumption",
    "Change",
    "Sensitivity",
    "Skipped",
    "VariantRun",
    "apply_assumption",
    "plan_variants",
    "run_sensitivity",
    "survival",
]
