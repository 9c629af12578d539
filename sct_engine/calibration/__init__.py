"""Calibrating the uncertainty: fit the spread of outturn and the adverse-event tail to history.

Flow: a history file (:mod:`.history`) -> the tail model's likelihood
(:mod:`.likelihood`) -> maximised with standard errors
(:mod:`.maximum_likelihood`) -> the fits, tests and checks (:mod:`.fit`) ->
the printed table and the YAML snippet for a scenario (:mod:`.text`).
:mod:`.commands` is ``sct calibrate``. Beside the simulation: nothing here
imports the engine.

This package re-exports the public names of those modules.
"""

from sct_engine.calibration.commands import register_cli
from sct_engine.calibration.fit import (
    MIN_ROWS_FOR_TAIL,
    MIN_TAIL_EVENTS,
    TAIL_PARAMETERS,
    TAIL_TEST_LEVEL,
    Calibration,
    Estimate,
    Fit,
    LikelihoodRatio,
    TailFit,
    TailMode,
    calibrate,
    fit_history,
)
from sct_engine.calibration.history import (
    MIN_ROWS,
    MIN_ROWS_PER_KIND,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    History,
    history_from_frame,
    load_history,
)
from sct_engine.calibration.likelihood import (
    Design,
    log_density,
    negative_log_likelihood,
    prob_worse_than,
)
from sct_engine.calibration.maximum_likelihood import Solution, maximise
from sct_engine.calibration.text import calibration_snippet, calibration_table

__all__ = [
    "MIN_ROWS",
    "MIN_ROWS_FOR_TAIL",
    "MIN_ROWS_PER_KIND",
    "MIN_TAIL_EVENTS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "TAIL_PARAMETERS",
    "TAIL_TEST_LEVEL",
    "Calibration",
    "Design",
    "Estimate",
    "Fit",
    "History",
    "LikelihoodRatio",
    "Solution",
    "TailFit",
    "TailMode",
    "calibrate",
    "calibration_snippet",
    "calibration_table",
    "fit_history",
    "history_from_frame",
    "load_history",
    "log_density",
    "maximise",
    "negative_log_likelihood",
    "prob_worse_than",
    "register_cli",
]
