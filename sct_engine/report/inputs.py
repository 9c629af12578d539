"""The report's inputs and assumptions as tables: what was simulated, as a board reads it.

Built from the model the analysis simulated (so a report re-created from a result folder
shows the same inputs) and the run's provenance: the run (draws, seed, baseline), the
uncertainty and regime, the systems, the options compared, every member's figures, and any
warnings about the scenario.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sct_engine.engine.model import DISTRIBUTION_CODES, Model
from sct_engine.rules import REDISTRIBUTION_CODES, SYSTEM_TEST_CODES


def _name_of(codes: Mapping[str, int], code: int) -> str:
    return next(name for name, value in codes.items() if value == code)


def input_tables(model: Model, provenance: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """Tables by title: ``Run``, ``Uncertainty and regime`` (setting, value, unit),
    ``Systems``, ``Options compared``, ``Organisations`` and ``Warnings``."""
    return {
        "Run": _settings(
            [
                ("Scenario", provenance.get("scenario_name", ""), ""),
                ("Scenario file", provenance.get("scenario_file") or "", ""),
                ("Draws (simulated years)", provenance.get("draws"), "draws"),
                ("Random seed", provenance.get("seed"), ""),
                ("Baseline option", provenance.get("baseline", ""), ""),
                ("Source", provenance.get("source", ""), ""),
            ]
        ),
        "Uncertainty and regime": _settings(_assumptions(model)),
        "Systems": _systems(model),
        "Options compared": _options(model),
        "Organisations": _organisations(model),
        "Warnings": pd.DataFrame(
            {"warning": [str(w) for w in provenance.get("scenario_warnings", [])]},
            dtype=object,
        ),
    }


def _settings(rows: list[tuple[str, Any, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["setting", "value", "unit"])


def _assumptions(model: Model) -> list[tuple[str, Any, str]]:
    rows: list[tuple[str, Any, str]] = [
        ("Shape of shocks", _name_of(DISTRIBUTION_CODES, model.distribution), ""),
        ("Variance share from the national factor", model.national_share, "%"),
        ("Variance share from the system factor", model.system_share, "%"),
        ("Quarterly year-to-date tests", bool(model.quarterly), ""),
        ("Quarterly PSF recovered at year end", bool(model.recovery), ""),
        ("A&E gateway (national rule)", model.ae_gateway, ""),
        (
            "Share of CSF paid Q1 / Q2 / Q3 / Q4",
            " / ".join(f"{w:.0%}" for w in model.csf_quarter_weights),
            "",
        ),
        ("Quarterly CSF recovered at year end", bool(model.csf_recovery), ""),
        ("Incentive PSF per £1 of uplift", model.incentive_rate, "£ per £1"),
        ("Year-end bonus pool", bool(model.bonus), ""),
        ("Share of unearned funding in the bonus pool", model.bonus_share, "%"),
        ("Members with a full correlation matrix", int(np.sum(model.correlated)), "members"),
        ("Members with large adverse events", int(np.sum(model.tail_probability > 0)), "members"),
    ]
    if _name_of(DISTRIBUTION_CODES, model.distribution) == "student_t":
        rows.insert(1, ("Student-t degrees of freedom", model.dof, ""))
    return rows


def _systems(model: Model) -> pd.DataFrame:
    start = model.system_start
    return pd.DataFrame(
        {
            "system": list(model.system_ids),
            "system_name": list(model.system_names),
            "members": np.diff(start).astype(int),
            "system_control_total": model.system_control_total,
            "sustainability_funding": [
                float(model.funding[start[s] : start[s + 1]].sum()) for s in range(len(start) - 1)
            ],
        }
    )


def _options(model: Model) -> pd.DataFrame:
    s = model.schemes
    return pd.DataFrame(
        {
            "scheme": list(s.names),
            "system_linked_share": s.system_linked_share,
            "redistribution": [_name_of(REDISTRIBUTION_CODES, int(c)) for c in s.redistribution],
            "share_cap": s.share_cap,
            "system_test": [_name_of(SYSTEM_TEST_CODES, int(c)) for c in s.system_test],
            "ae_gateway": [bool(x) for x in s.ae_gateway],
        }
    )


def _organisations(model: Model) -> pd.DataFrame:
    uplift = model.control_total_uplift
    median = [
        math.exp(m) if p > 0 else math.nan
        for p, m in zip(model.tail_probability, model.tail_log_median, strict=True)
    ]
    return pd.DataFrame(
        {
            "system": [model.system_ids[s] for s in model.org_system],
            "organisation": list(model.org_ids),
            "organisation_name": list(model.org_names),
            "kind": list(model.org_kinds),
            "plan": model.plan,
            "control_total": model.control_total - uplift,
            "control_total_uplift": uplift,
            "sustainability_funding": model.funding,
            "turnover": np.where(model.turnover > 0, model.turnover, np.nan),
            "sd": model.sd,
            "ae_share": model.ae_fraction,
            "p_ae": model.p_ae,
            "mitigation": model.mitigation,
            "tail_probability": model.tail_probability,
            "tail_median_pct": median,
        }
    )
