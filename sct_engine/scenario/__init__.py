"""The scenario: typed models of a scenario file, its loading and checks, and sweeps.

Flow: YAML bytes (:mod:`.loading`, within the :mod:`.limits`) -> members from
CSV tables (:mod:`.members_csv`) -> validated models (:mod:`.models`). A
``sweep:`` block (:mod:`.sweep`) expands one file into many scenarios, and
:mod:`.variants` reads a file as every run it asks for (sweep points, ``--set``
changes). :mod:`.plausibility` warns of figures that are probably a slip. Every
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
    read_scenario_data,
    scenario_inputs,
    scenario_json_schema,
    validate_files,
)
from sct_engine.scenario.models import (
    ID_PATTERN,
    MAX_DRAWS,
    MAX_MONEY,
    MAX_SEED,
    Actuals,
    Correlation,
    Organisation,
    OrganisationActuals,
    Regime,
    Scenario,
    Simulation,
    System,
    Tail,
    Uncertainty,
    check_run_numbers,
)
from sct_engine.scenario.plausibility import LIMITS, PlausibilityLimits, plausibility_warnings
from sct_engine.scenario.sweep import (
    MAX_SWEEP_RUNS,
    SWEEP_KEY,
    apply_point,
    parse_path,
    point_label,
    point_slug,
    scheme_labels,
    set_field,
    sweep_points,
)
from sct_engine.scenario.variants import (
    Variant,
    check_variants,
    load_point,
    load_variants,
    parse_sets,
)

__all__ = [
    "FILES_ROOT_ENV",
    "ID_PATTERN",
    "LIMITS",
    "MAX_DOCUMENT_NODES",
    "MAX_DRAWS",
    "MAX_FILE_BYTES",
    "MAX_MONEY",
    "MAX_NESTING",
    "MAX_ORGANISATIONS",
    "MAX_SEED",
    "MAX_SWEEP_RUNS",
    "SWEEP_KEY",
    "Actuals",
    "Correlation",
    "Organisation",
    "OrganisationActuals",
    "PlausibilityLimits",
    "Regime",
    "Scenario",
    "Simulation",
    "System",
    "Tail",
    "Uncertainty",
    "Variant",
    "apply_point",
    "check_run_numbers",
    "check_variants",
    "load_point",
    "load_scenario",
    "load_variants",
    "parse_path",
    "parse_scenario",
    "parse_sets",
    "plausibility_warnings",
    "point_label",
    "point_slug",
    "read_scenario_data",
    "scenario_inputs",
    "scenario_json_schema",
    "scheme_labels",
    "set_field",
    "sweep_points",
    "validate_files",
]
