"""A validated scenario written back as YAML (``sct convert``): the fields a user would write.

Defaults are left out, so the file reads like a hand-written one; members read from CSV
tables or a workbook are written out in full (``organisations_csv`` is dropped, or they
would be read twice).
"""

from __future__ import annotations

from typing import Any

import yaml

from sct_engine.scenario.models import Scenario

#: Fields not written: the CSV members are already in ``organisations``.
_NOT_WRITTEN: Any = {"organisations_csv": True, "systems": {"__all__": {"organisations_csv"}}}


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario's fields as plain data, defaults left out."""
    return scenario.model_dump(mode="json", exclude_defaults=True, exclude=_NOT_WRITTEN)


def scenario_yaml(scenario: Scenario, origin: str = "") -> str:
    """The scenario as YAML text that loads back to the same scenario."""
    header = [
        "# Scenario written by `sct convert`"
        + (f" from {origin}" if origin else "")
        + ". Fields: docs/scenario-format.md",
        "# Money in £m (surplus +, deficit -), before sustainability funding.",
    ]
    body = yaml.safe_dump(
        scenario_data(scenario), sort_keys=False, allow_unicode=True, default_flow_style=None
    )
    return "\n".join(header) + "\n" + body
