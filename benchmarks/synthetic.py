"""Synthetic national-scale scenarios for benchmarks: N systems of M organisations."""

from __future__ import annotations

import numpy as np

from sct_engine.rules import builtin_menu
from sct_engine.scenario import Scenario, parse_scenario

#: The built-in menu plus a capped option: seven schemes, every rule exercised.
SEVEN_SCHEMES = [option.model_dump() for option in builtin_menu()] + [
    {"name": "capped_50", "system_linked_share": 0.5, "redistribution": "capped", "share_cap": 0.5}
]


def synthetic_scenario(
    n_systems: int = 10, orgs_per_system: int = 30, distribution: str = "normal", seed: int = 0
) -> Scenario:
    """Realistically sized systems: a third acute trusts with A&E, a third other providers, a third CCGs."""
    rng = np.random.default_rng(seed)
    systems = []
    for s in range(n_systems):
        orgs = []
        for j in range(orgs_per_system):
            kind = "commissioner" if j % 3 == 2 else "provider"
            turnover = float(rng.uniform(150, 900))
            sd = 0.012 * turnover
            orgs.append(
                {
                    "id": f"s{s}_o{j}",
                    "kind": kind,
                    "plan": round(float(rng.normal(0.6, 0.5)) * sd, 3),
                    "control_total": 0.0,
                    "sustainability_funding": round(0.025 * turnover, 2),
                    "turnover": round(turnover, 1),
                    "sd": round(sd, 3),
                    "has_ae": j % 3 == 0,
                }
            )
        systems.append({"id": f"system_{s}", "organisations": orgs})
    return parse_scenario(
        {
            "name": f"synthetic {n_systems}x{orgs_per_system} {distribution}",
            "uncertainty": {"distribution": distribution, "dof": 5},
            "schemes": SEVEN_SCHEMES,
            "systems": systems,
        }
    )
