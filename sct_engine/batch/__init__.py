"""Many scenarios on Dask distributed: one task per run, resumable, no finished work lost.

Flow: paths and globs -> scenario files (:mod:`.plan`) -> (task per file)
simulate and write ``DIR/runs/<run_id>/`` (:mod:`.runs`, :mod:`.records`), or
for a file with a ``sweep:`` block, (task per point) the same for each point ->
manifest -> (task per part) the combined results dataset
``DIR/results/<table>/`` (:mod:`.store`). :mod:`.driver` submits the tasks to
the cluster of :mod:`.cluster`; :mod:`.commands` is ``sct batch``. Runs are
written under per-run claims (:mod:`.claims`), so batches sharing a folder
split the work.

This package re-exports the public names of those modules. Dask and pandas are
imported inside functions so that ``import sct_engine.batch`` (done by the
``sct`` command) stays cheap.
"""

from sct_engine.batch.cluster import numba_environment_plugin
from sct_engine.batch.commands import main, register_cli
from sct_engine.batch.driver import MANIFEST_EVERY_S, RESULTS_PART_RUNS, run_batch
from sct_engine.batch.layout import (
    DONE,
    FAILED,
    MANIFEST_CSV,
    MANIFEST_PARQUET,
    PENDING,
    RESULT_TABLES,
    RESULTS_DIR,
    RUNS_DIR,
    STATUS_FILE,
    TaskContext,
)
from sct_engine.batch.plan import BatchInputError, RunSpec, base_run_ids, find_scenario_files
from sct_engine.batch.records import engine_version, read_run_record
from sct_engine.batch.runs import execute_run, run_file, scenario_for, warm_up_engine
from sct_engine.batch.store import (
    MANIFEST_COLUMNS,
    RESULT_RUN_COLUMNS,
    SWEEP_COLUMN_PREFIX,
    BatchOutputError,
    finished_runs,
    manifest_frame,
    read_manifest,
    read_results,
    write_manifest,
    write_results_part,
)
from sct_engine.batch.summary import FAILURES_SHOWN, BatchSummary, batch_summary_text

__all__ = [
    "DONE",
    "FAILED",
    "FAILURES_SHOWN",
    "MANIFEST_COLUMNS",
    "MANIFEST_CSV",
    "MANIFEST_EVERY_S",
    "MANIFEST_PARQUET",
    "PENDING",
    "RESULTS_DIR",
    "RESULTS_PART_RUNS",
    "RESULT_RUN_COLUMNS",
    "RESULT_TABLES",
    "RUNS_DIR",
    "STATUS_FILE",
    "SWEEP_COLUMN_PREFIX",
    "BatchInputError",
    "BatchOutputError",
    "BatchSummary",
    "RunSpec",
    "TaskContext",
    "base_run_ids",
    "batch_summary_text",
    "engine_version",
    "execute_run",
    "find_scenario_files",
    "finished_runs",
    "main",
    "manifest_frame",
    "numba_environment_plugin",
    "read_manifest",
    "read_results",
    "read_run_record",
    "register_cli",
    "run_batch",
    "run_file",
    "scenario_for",
    "warm_up_engine",
    "write_manifest",
    "write_results_part",
]
