"""The scenario: typed models of a scenario file, its loading and checks, and sweeps.

Flow: YAML bytes (:mod:`.loading`, within the :mod:`.limits`) -> members from
CSV tables (:mod:`.members_csv`) -> validated models (:mod:`.models`). A
``sweep:`` block (:mod:`.sweep`) expands one file into many scenarios. Every
problem names the file, the field path and the fix.

This package re-exports the public names of those modules, so
``from sct_engine.scenario import load_scenario, Scenario`` works as it always has.
"""

from sct_engine.scenario.limits import (
    FILES_ROOT_ENV,
    MAX_DOCUMENT_NODES,
    MAX_FILE_BYTES,
    MAX_NESTING,
    MAX_ORGANISATIONS,
)
from sct_engine.scenario.loading import (
    load_scenario,
    parse_scenario,
    scenario_json_schema,
    validate_files,
)
from sct_engine.scenario.models import (
    ID_PATTERN,
    MAX_DRAWS,
    MAX_MONEY,
    MAX_SEED,
    Correlation,
    Organisation,
    Regime,
    Scenario,
    Simulation,
    System,
    Tail,
    Uncertainty,
    check_run_numbers,
)
from sct_engine.scenario.sweep import (
    MAX_SWEEP_RUNS,
    SWEEP_KEY,
    apply_point,
    parse_path,
    point_label,
    point_slug,
    sweep_not_run_here,
    sweep_points,
)

__all__ = [
    "FILES_ROOT_ENV",
    "ID_PATTERN",
    "MAX_DOCUMENT_NODES",
    "MAX_DRAWS",
    "MAX_FILE_BYTES",
    "MAX_MONEY",
    "MAX_NESTING",
    "MAX_ORGANISATIONS",
    "MAX_SEED",
    "MAX_SWEEP_RUNS",
    "SWEEP_KEY",
    "Correlation",
    "Organisation",
    "Regime",
    "Scenario",
    "Simulation",
    "System",
    "Tail",
    "Uncertainty",
    "apply_point",
    "check_run_numbers",
    "load_scenario",
    "parse_path",
    "parse_scenario",
    "point_label",
    "point_slug",
    "scenario_json_schema",
    "sweep_not_run_here",
    "sweep_points",
    "validate_files",
]
