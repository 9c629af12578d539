"""A validated scenario turned into flat arrays for the simulators.

Arrays are organisation-major and grouped by system: the members of system
``s`` are ``system_start[s]:system_start[s + 1]``, so both simulators loop
systems then members without lookups. Money in £m, float64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from sct_engine.rules import (
    QUARTER_WEIGHT_PERCENT,
    REDISTRIBUTION_CODES,
    SYSTEM_TEST_CODES,
    AeGateway,
    SchemeOption,
    ae_gate_code,
    effective_ae_gateway,
)
from sct_engine.rules.correlation import system_correlation

if TYPE_CHECKING:
    from sct_engine.scenario import Scenario

#: Integer codes of the shock distributions, shared with the kernel.
DISTRIBUTION_CODES: dict[str, int] = {"normal": 0, "student_t": 1, "skew_normal": 2}

#: Quarters of the financial year in quarterly mode (rule 6).
QUARTERS = 4

#: Default per-quarter shares of plan, control total and outturn variance: even.
EVEN_QUARTERS = (0.25, 0.25, 0.25, 0.25)


@dataclass(frozen=True)
class SchemeArrays:
    """The scheme options of a scenario as parallel arrays (one entry per option)."""

    names: tuple[str, ...]
    system_linked_share: np.ndarray  # float64
    redistribution: np.ndarray  # int64 codes, see schemes.REDISTRIBUTION_CODES
    share_cap: np.ndarray  # float64
    system_test: np.ndarray  # int64 codes, see schemes.SYSTEM_TEST_CODES
    ae_gateway: np.ndarray  # bool

    @classmethod
    def from_options(cls, options: list[SchemeOption]) -> SchemeArrays:
        return cls(
            names=tuple(o.name for o in options),
            system_linked_share=np.array(
                [o.system_linked_share for o in options], dtype=np.float64
            ),
            redistribution=np.array(
                [REDISTRIBUTION_CODES[o.redistribution] for o in options], dtype=np.int64
            ),
            share_cap=np.array([o.share_cap for o in options], dtype=np.float64),
            system_test=np.array(
                [SYSTEM_TEST_CODES[o.system_test] for o in options], dtype=np.int64
            ),
            ae_gateway=np.array([o.ae_gateway for o in options], dtype=np.bool_),
        )

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class Model:
    """Everything the simulators need, as arrays; labels kept for the result tables."""

    org_ids: tuple[str, ...]
    org_names: tuple[str, ...]
    org_kinds: tuple[str, ...]
    org_system: np.ndarray  # int64 index of each organisation's system
    system_ids: tuple[str, ...]
    system_names: tuple[str, ...]
    system_start: np.ndarray  # int64, length n_systems + 1
    plan: np.ndarray
    control_total: np.ndarray
    sd: np.ndarray
    funding: np.ndarray  # sustainability_funding (PSF or CSF) at stake
    ae_fraction: np.ndarray  # share of funding on A&E (0 without a type-1 A&E)
    p_ae: np.ndarray
    system_control_total: np.ndarray
    mitigation: np.ndarray  # £m of management actions per organisation
    control_total_uplift: np.ndarray  # agreed improvement (already added to control_total)
    turnover: np.ndarray  # £m (0 where not given)
    tail_probability: np.ndarray  # chance per year of a large adverse event (0 = none)
    tail_log_median: np.ndarray  # log of the median event size, % of turnover
    tail_sigma: np.ndarray
    incentive_rate: float
    bonus: bool
    bonus_share: float
    distribution: int
    dof: float
    skew: float
    national_share: float
    system_share: float
    # Dependence inside systems (see rules/correlation.py): each organisation's standard shock is
    # sqrt(a) Z_nat + system_loading Z_s + own_loading * own, where own is its own variate E,
    # or, in a system with a correlation matrix ("correlated" members), the row of the Cholesky
    # factor times the members' variates: sum_j correlation_root[i, j] E_{lo + j}.
    system_loading: np.ndarray  # (N,) signed loading on the system factor (0 in a matrix system)
    own_loading: (
        np.ndarray
    )  # (N,) sqrt(1 - a - system_loading^2), or sqrt(1 - a) in a matrix system
    correlated: np.ndarray  # (N,) bool: member of a system with a correlation matrix
    correlation_root: (
        np.ndarray
    )  # (N, M) row of the system's Cholesky factor (system-relative columns)
    quarterly: bool  # rule 6: Q1..Q4 year-to-date paths and tests
    recovery: bool  # rule 6: finance money missed in a quarter paid at year end on a year-end pass
    quarter_variance: tuple[
        float, ...
    ]  # share of the year's outturn variance arising in each quarter
    quarterly_profile: np.ndarray  # (N, 4) share of plan and control total falling in each quarter
    schemes: SchemeArrays
    ae_gateway: AeGateway = "finance_earned"  # rule 1: the national A&E gateway reading
    csf_quarter_weights: tuple[float, ...] = EVEN_QUARTERS  # rule 6: commissioners' weights
    csf_recovery: bool = False  # rule 6: commissioners' year-end recovery of missed quarters
    org_types: tuple[str, ...] = ()  # each organisation's provider_type ("" where none is given)
    risk_appetite: np.ndarray | None = (
        None  # (N,) £m a member can lose in a 1-in-20 year; NaN: none
    )
    # In-year re-forecast (rule 6, docs/in-year.md): quarters closed so far, and per organisation
    # the year-to-date outturn at each closed quarter and whether its A&E element was paid then.
    closed_quarters: int = 0
    actual_ytd_outturn: np.ndarray | None = None  # (N, closed_quarters) £m
    actual_ae_earned: np.ndarray | None = None  # (N, closed_quarters) bool

    @property
    def n_orgs(self) -> int:
        return len(self.org_ids)

    @property
    def n_systems(self) -> int:
        return len(self.system_ids)

    @property
    def n_shocks(self) -> int:
        """Standard variates per draw: one national, one per system, one per organisation."""
        return 1 + self.n_systems + self.n_orgs

    @property
    def has_tails(self) -> bool:
        return bool(np.any(self.tail_probability > 0))

    @property
    def finance(self) -> np.ndarray:
        """Finance element of each allocation (rule 1)."""
        return self.funding * (1.0 - self.ae_fraction)

    @property
    def ae(self) -> np.ndarray:
        """A&E element of each allocation (rule 1)."""
        return self.funding * self.ae_fraction

    @property
    def is_provider(self) -> np.ndarray:
        """``(N,)`` bool: providers (trusts, PSF); the others are commissioners (CCGs, CSF)."""
        return np.array([kind == "provider" for kind in self.org_kinds], dtype=np.bool_)

    def ae_gate_codes(self) -> np.ndarray:
        """Rule 1: each scheme's A&E gate code (``rules.ae_gate_code``), int64 ``(K,)``: the
        national reading, or none where the option sets ``ae_gateway: false``."""
        sa = self.schemes
        return np.array(
            [
                ae_gate_code(
                    effective_ae_gateway(self.ae_gateway, bool(sa.ae_gateway[k])),
                    float(sa.system_linked_share[k]),
                )
                for k in range(len(sa))
            ],
            dtype=np.int64,
        )

    def quarter_weight_percent(self) -> np.ndarray:
        """Rule 6: each organisation's quarterly payment weights in percent, ``(N, 4)``:
        PSF's 15/20/30/35 for providers, ``csf_quarter_weights`` for commissioners."""
        csf = np.round(np.asarray(self.csf_quarter_weights, dtype=np.float64) * 100.0, 9)
        psf = QUARTER_WEIGHT_PERCENT.astype(np.float64)
        return np.where(self.is_provider[:, None], psf[None, :], csf[None, :])

    def quarter_recovery(self) -> np.ndarray:
        """Rule 6: whether each organisation's missed quarters are recovered on a year-end
        pass, ``(N,)``: ``recovery`` for providers, ``csf_recovery`` for commissioners."""
        return np.where(self.is_provider, self.recovery, self.csf_recovery)

    def system_slack(self) -> np.ndarray:
        """Rule 4: how far each system control total is looser than its members' control
        totals summed, ``max(0, sum CT - SCT)``, ``(S,)``: headroom no member gives."""
        return np.maximum(0.0, -self._system_control_total_gap())

    def system_ytd_slack(self) -> np.ndarray:
        """:meth:`system_slack` by quarter, phased as the gap is (``q / 4`` of it), ``(S, 4)``."""
        slack = self.system_slack()
        ytd = slack[:, None] * (np.arange(1, QUARTERS + 1) / QUARTERS)
        ytd[:, -1] = slack
        return ytd

    def _system_control_total_gap(self) -> np.ndarray:
        """System control total minus the members' control totals summed (0 when none was given)."""
        # Summed as build_model sums them, so the difference is exactly 0 when none was given.
        bounds = zip(self.system_start[:-1], self.system_start[1:], strict=True)
        members_total = np.array([self.control_total[lo:hi].sum() for lo, hi in bounds])
        return self.system_control_total - members_total

    @property
    def cumulative_profile(self) -> np.ndarray:
        """``P_q``: share of plan and control total due by the end of each quarter, shape ``(N, 4)``.

        Q4 is exactly 1, so year-end figures are never perturbed by rounding of the profile.
        """
        cumulative = np.cumsum(self.quarterly_profile, axis=1)
        cumulative[:, -1] = 1.0
        return cumulative

    def ytd_plan(self) -> np.ndarray:
        """Year-to-date plan at the end of each quarter, ``plan * P_q``, shape ``(N, 4)``.

        With actuals (``closed_quarters = k``) it is what the year to date is expected to be
        given them: the actual outturn in the closed quarters, and the actual at quarter ``k``
        plus the plan still to come, ``plan * (P_q - P_k)``, after it (the increments are
        independent, so the expectation given the year to date is a plain continuation).
        """
        ytd = self.plan[:, None] * self.cumulative_profile
        k = self.closed_quarters
        if k == 0 or self.actual_ytd_outturn is None:
            return ytd
        cumulative = self.cumulative_profile
        actual = self.actual_ytd_outturn
        ytd[:, :k] = actual
        ytd[:, k:] = actual[:, k - 1 : k] + self.plan[:, None] * (
            cumulative[:, k:] - cumulative[:, k - 1 : k]
        )
        return ytd

    def ytd_control_total(self) -> np.ndarray:
        """Year-to-date control total, ``control_total * P_q`` (uplift included), shape ``(N, 4)``."""
        return self.control_total[:, None] * self.cumulative_profile

    def system_ytd_control_total(self) -> np.ndarray:
        """Year-to-date system control total, shape ``(S, 4)``.

        The members' year-to-date control totals summed; where the system control
        total was set apart from the members' sum, the difference is phased evenly
        (``q / 4`` of it by the end of quarter ``q``), since nothing says how a
        system-level target is profiled. Q4 is exactly the system control total.
        """
        members = np.add.reduceat(self.ytd_control_total(), self.system_start[:-1], axis=0)
        gap = self._system_control_total_gap()
        ytd = members + gap[:, None] * (np.arange(1, QUARTERS + 1) / QUARTERS)
        ytd[:, -1] = self.system_control_total
        return ytd

    def quarter_sd(self) -> np.ndarray:
        """Standard deviation of each quarter's outturn increment, ``sd * sqrt(v_q)``, shape ``(N, 4)``.

        The increments are independent, so their variances add up to ``sd^2`` at year end.
        A closed quarter (``closed_quarters``) has none: its outturn is known.
        """
        sd = self.sd[:, None] * np.sqrt(np.asarray(self.quarter_variance, dtype=np.float64))
        sd[:, : self.closed_quarters] = 0.0
        return sd

    def period_p_ae(self) -> np.ndarray:
        """Chance the A&E element is earned on performance in each period, ``(N, P)``: ``p_ae``
        in every period (one at year end, four quarters in quarterly mode), and in a closed
        quarter 1 or 0 as it was paid (``actual_ae_earned``). A draw compares one uniform in
        [0, 1) with it whatever the period, so the stream advances as without actuals."""
        periods = QUARTERS if self.quarterly else 1
        p = np.repeat(self.p_ae[:, None], periods, axis=1)
        if self.closed_quarters and self.actual_ae_earned is not None:
            p[:, : self.closed_quarters] = np.where(self.actual_ae_earned, 1.0, 0.0)
        return p

    def system_funding(self) -> np.ndarray:
        """Total sustainability funding at stake per system."""
        return np.add.reduceat(self.funding, self.system_start[:-1])

    def system_finance(self) -> np.ndarray:
        """Total finance element at stake per system (what a passed system test pays at s = 1)."""
        return np.add.reduceat(self.finance, self.system_start[:-1])


#: What an organisation's lever can move: its plan (raised by the level) or its mitigation (set to it).
LEVERS = ("plan", "mitigation")


class Lever(NamedTuple):
    """One organisation's lever at one level (``with_lever``): a run can evaluate several on
    the same draws (``KernelRun(..., levers=...)``)."""

    organisation: int  # position in the model's arrays
    name: str  # one of ``LEVERS``
    level: float


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


def build_model(scenario: Scenario) -> Model:
    """Flatten a validated scenario into a :class:`Model`."""
    orgs = [org for system in scenario.systems for org in system.organisations]
    sizes = [len(system.organisations) for system in scenario.systems]
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    uplift = np.array([o.control_total_uplift for o in orgs], dtype=np.float64)
    # Rule 7: an organisation that agreed an uplift is judged against the raised total.
    control_total = np.array([o.control_total for o in orgs], dtype=np.float64) + uplift
    tails = [o.tail or scenario.uncertainty.tail for o in orgs]
    sct = np.array(
        [
            s.system_control_total
            if s.system_control_total is not None
            else float(control_total[start[k] : start[k + 1]].sum())
            for k, s in enumerate(scenario.systems)
        ],
        dtype=np.float64,
    )
    u = scenario.uncertainty
    dependence: dict[str, Any] = dependence_arrays(
        u.national_share,
        u.system_share,
        [o.system_loading for o in orgs],
        [s.correlation_matrix() for s in scenario.systems],
        start,
    )
    return Model(
        org_ids=tuple(o.id for o in orgs),
        org_names=tuple(o.name or o.id for o in orgs),
        org_kinds=tuple(o.kind for o in orgs),
        org_types=tuple(o.provider_type or "" for o in orgs),
        org_system=np.repeat(np.arange(len(sizes), dtype=np.int64), sizes),
        system_ids=tuple(s.id for s in scenario.systems),
        system_names=tuple(s.name or s.id for s in scenario.systems),
        system_start=start,
        plan=np.array([o.plan for o in orgs], dtype=np.float64),
        control_total=control_total,
        sd=np.array([o.sd_value for o in orgs], dtype=np.float64),
        # Rule 10: 0 for a CCG without a deficit control total and for a provider that did not
        # accept its control total; both still count in the system control total and test.
        funding=np.array([o.funding_at_stake for o in orgs], dtype=np.float64),
        ae_fraction=np.array([o.ae_fraction for o in orgs], dtype=np.float64),
        p_ae=np.array([o.p_ae for o in orgs], dtype=np.float64),
        system_control_total=sct,
        mitigation=np.array([o.mitigation for o in orgs], dtype=np.float64),
        control_total_uplift=uplift,
        turnover=np.array([o.turnover or 0.0 for o in orgs], dtype=np.float64),
        tail_probability=np.array([t.probability if t else 0.0 for t in tails], dtype=np.float64),
        tail_log_median=np.array(
            [np.log(t.median_pct) if t else 0.0 for t in tails], dtype=np.float64
        ),
        tail_sigma=np.array([t.sigma if t else 0.0 for t in tails], dtype=np.float64),
        incentive_rate=float(scenario.regime.incentive_rate),
        bonus=bool(scenario.regime.bonus),
        bonus_share=float(scenario.regime.bonus_share),
        distribution=DISTRIBUTION_CODES[u.distribution],
        dof=float(u.dof),
        skew=float(u.skew),
        national_share=float(u.national_share),
        system_share=float(u.system_share),
        **dependence,
        quarterly=bool(u.quarterly),
        recovery=bool(scenario.regime.recovery),
        quarter_variance=tuple(float(v) for v in (u.quarterly_variance or EVEN_QUARTERS)),
        quarterly_profile=np.array(
            [o.quarterly_profile or EVEN_QUARTERS for o in orgs], dtype=np.float64
        ).reshape(-1, QUARTERS),
        schemes=SchemeArrays.from_options(list(scenario.schemes)),
        ae_gateway=scenario.regime.ae_gateway,
        csf_quarter_weights=tuple(float(w) for w in scenario.regime.csf_quarter_weights),
        csf_recovery=bool(scenario.regime.csf_recovery),
        risk_appetite=np.array(
            [np.nan if o.risk_appetite is None else o.risk_appetite for o in orgs],
            dtype=np.float64,
        ),
        **actual_arrays(scenario, [o.id for o in orgs]),
    )


def actual_arrays(scenario: Scenario, org_ids: Sequence[str]) -> dict[str, Any]:
    """The ``Model`` fields of the scenario's actuals (none: the whole year simulated).

    A closed quarter's A&E element counts as earned when some of it was paid: it is paid
    whole or not at all, and in a quarter whose gateway was shut its performance does not
    matter (the gateway follows from the actual year-to-date outturns, on the same rules).
    """
    actuals = scenario.actuals
    if actuals is None:
        return {}
    k = actuals.closed_quarters
    by_id = {o.id: o for o in actuals.organisations}
    ytd = np.array([by_id[i].ytd_outturn for i in org_ids], dtype=np.float64).reshape(-1, k)
    ae = np.array([by_id[i].ae_paid or [0.0] * k for i in org_ids], dtype=np.float64).reshape(-1, k)
    return {
        "closed_quarters": k,
        "actual_ytd_outturn": ytd,
        "actual_ae_earned": ae > 0.0,
    }


def dependence_arrays(
    national_share: float,
    system_share: float,
    system_loading: Sequence[float | None],
    correlation: Sequence[np.ndarray | None],
    system_start: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per-organisation loadings and Cholesky rows (the ``Model`` fields of the same names).

    ``system_loading`` has one entry per organisation (None: the default ``sqrt(b)``);
    ``correlation`` one per system (None, or the members' outturn correlation matrix,
    repaired if need be by :func:`~sct_engine.rules.correlation.system_correlation`). The
    defaults are computed exactly as the one-factor formula of docs/scenario-format.md,
    so a scenario without loadings or matrices draws bit for bit the numbers it
    always did.
    """
    a, b = national_share, system_share
    n = len(system_loading)
    loading = np.array([math.sqrt(b) if x is None else x for x in system_loading], dtype=np.float64)
    own = np.array(
        [
            math.sqrt(max(0.0, 1.0 - a - b)) if x is None else math.sqrt(max(0.0, 1.0 - a - x * x))
            for x in system_loading
        ],
        dtype=np.float64,
    )
    correlated = np.zeros(n, dtype=np.bool_)
    width = max((len(m) for m in correlation if m is not None), default=0)
    root = np.zeros((n, width), dtype=np.float64)
    for k, matrix in enumerate(correlation):
        if matrix is None:
            continue
        lo, hi = int(system_start[k]), int(system_start[k + 1])
        root[lo:hi, : hi - lo] = system_correlation(matrix, a).root
        correlated[lo:hi] = True
        loading[lo:hi] = 0.0
        own[lo:hi] = math.sqrt(max(0.0, 1.0 - a))
    return {
        "system_loading": loading,
        "own_loading": own,
        "correlated": correlated,
        "correlation_root": root,
    }
