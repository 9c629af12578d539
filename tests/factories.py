"""Test factories: models built straight from arrays, without a YAML file."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sct_engine.engine.model import (
    DISTRIBUTION_CODES,
    EVEN_QUARTERS,
    Model,
    SchemeArrays,
    dependence_arrays,
)
from sct_engine.rules import AeGateway, SchemeOption, builtin_menu


def make_model(
    systems: Sequence[Sequence[dict]],
    schemes: Sequence[SchemeOption] | None = None,
    distribution: str = "normal",
    dof: float = 5.0,
    skew: float = 0.0,
    national_share: float = 0.2,
    system_share: float = 0.3,
    system_control_total: Sequence[float | None] | None = None,
    bonus: bool = False,
    bonus_share: float = 1.0,
    incentive_rate: float = 2.0,
    quarterly: bool = False,
    recovery: bool = True,
    quarter_variance: Sequence[float] = EVEN_QUARTERS,
    correlation: Sequence[np.ndarray | None] | None = None,
    ae_gateway: AeGateway = "finance_earned",
    csf_quarter_weights: Sequence[float] = EVEN_QUARTERS,
    csf_recovery: bool = False,
) -> Model:
    """A model from plain dicts: each org needs plan, control_total, sd, funding.

    Optional per organisation: kind (provider or commissioner), ae, p_ae, mitigation,
    uplift, turnover, a tail ``(probability, median_pct, sigma)``, a quarterly
    ``profile`` (four shares) and a signed system ``loading``. ``correlation``: per
    system, None or its members' matrix.
    """
    orgs = [org for members in systems for org in members]
    sizes = [len(members) for members in systems]
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    uplift = np.array([o.get("uplift", 0.0) for o in orgs], dtype=np.float64)
    ct = np.array([o["control_total"] for o in orgs], dtype=np.float64) + uplift
    tails = [o.get("tail") for o in orgs]
    given = system_control_total or [None] * len(systems)
    sct = np.array(
        [g if g is not None else ct[start[k] : start[k + 1]].sum() for k, g in enumerate(given)]
    )
    return Model(
        org_ids=tuple(f"org_{i}" for i in range(len(orgs))),
        org_names=tuple(f"Organisation {i}" for i in range(len(orgs))),
        org_kinds=tuple(o.get("kind", "provider") for o in orgs),
        org_system=np.repeat(np.arange(len(sizes), dtype=np.int64), sizes),
        system_ids=tuple(f"sys_{k}" for k in range(len(sizes))),
        system_names=tuple(f"System {k}" for k in range(len(sizes))),
        system_start=start,
        plan=np.array([o["plan"] for o in orgs], dtype=np.float64),
        control_total=ct,
        sd=np.array([o["sd"] for o in orgs], dtype=np.float64),
        funding=np.array([o["funding"] for o in orgs], dtype=np.float64),
        ae_fraction=np.array([o.get("ae", 0.0) for o in orgs], dtype=np.float64),
        p_ae=np.array([o.get("p_ae", 0.5) for o in orgs], dtype=np.float64),
        system_control_total=sct,
        mitigation=np.array([o.get("mitigation", 0.0) for o in orgs], dtype=np.float64),
        control_total_uplift=uplift,
        turnover=np.array([o.get("turnover", 0.0) for o in orgs], dtype=np.float64),
        tail_probability=np.array([t[0] if t else 0.0 for t in tails], dtype=np.float64),
        tail_log_median=np.array([np.log(t[1]) if t else 0.0 for t in tails], dtype=np.float64),
        tail_sigma=np.array([t[2] if t else 0.0 for t in tails], dtype=np.float64),
        incentive_rate=incentive_rate,
        bonus=bonus,
        bonus_share=bonus_share,
        distribution=DISTRIBUTION_CODES[distribution],
        dof=dof,
        skew=skew,
        national_share=national_share,
        system_share=system_share,
        **dependence_arrays(
            national_share,
            system_share,
            [o.get("loading") for o in orgs],
            correlation or [None] * len(systems),
            start,
        ),
        quarterly=quarterly,
        recovery=recovery,
        quarter_variance=tuple(quarter_variance),
        quarterly_profile=np.array(
            [o.get("profile", EVEN_QUARTERS) for o in orgs], dtype=np.float64
        ),
        schemes=SchemeArrays.from_options(list(schemes) if schemes is not None else builtin_menu()),
        ae_gateway=ae_gateway,
        csf_quarter_weights=tuple(csf_quarter_weights),
        csf_recovery=csf_recovery,
    )


def small_scenario(k: int, draws: int, seed: int, name: str, skew: float | None = None) -> dict:
    """A scenario dict of two systems of three members; plans, spreads and shock shape vary with ``k``.

    Used by the batch tests and the batch benchmark, which need many small, different scenarios.
    """

    def member(s: int, j: int) -> dict:
        kind = "commissioner" if j == 2 else "provider"
        return {
            "id": f"s{s}_o{j}",
            "kind": kind,
            "plan": round(-0.5 + 0.3 * j - 0.1 * (k % 5), 2),
            "control_total": -1.0,
            "sustainability_funding": 2.0 + j + s,
            "sd": 1.0 + 0.25 * ((k + j) % 3),
            "has_ae": kind == "provider" and j == 0,
        }

    uncertainty: dict = {"distribution": ["normal", "student_t", "skew_normal"][k % 3]}
    if skew is not None:
        uncertainty["skew"] = skew
    return {
        "name": name,
        "simulation": {"draws": draws, "seed": seed},
        "uncertainty": uncertainty,
        "systems": [
            {"id": f"sys_{s}", "organisations": [member(s, j) for j in range(3)]} for s in range(2)
        ],
    }
