"""Worker tasks that execute runs: read a scenario (or expand its sweep), simulate, publish.

These functions are what the driver submits to Dask; workers import them by
this module's path. Failures become failed runs, never exceptions, so one bad
file cannot stop a batch. A run is written only under its claim
(:mod:`.claims`); a run claimed by another batch comes back as
``{"run_id": ..., "claimed_by": ...}`` for the driver to try again later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sct_engine.batch.claims import batch_running, holder_text, try_claim
from sct_engine.batch.layout import DONE, TaskContext
from sct_engine.batch.plan import RunSpec, sweep_run_id
from sct_engine.batch.records import (
    engine_version,
    exception_text,
    finished_after,
    make_record,
    publish,
    publish_failure,
    read_run_record,
    still_valid,
)

if TYPE_CHECKING:
    from sct_engine.engine.results import Result
    from sct_engine.scenario import Scenario

# A worker simulates one scenario at a time; its threads are for the kernel's own
# parallel loops. Two numba parallel launches at once can abort a process under
# numba's default threading layer, so tasks in one worker take turns.
_SIMULATE_LOCK = threading.Lock()


def run_file(file: str, base_id: str, context: TaskContext) -> dict[str, Any] | list[RunSpec]:
    """Run one scenario file; for a file with a ``sweep:`` block, return its runs instead.

    A plain file (the usual case) is read once and run in this task; a sweep's
    points come back to the driver to be spread over the workers as
    :func:`execute_run` tasks. A file that cannot be read or expanded becomes a
    failed run; nothing is raised.
    """
    from sct_engine.errors import ScenarioError
    from sct_engine.scenario.sweep import SWEEP_KEY, point_label, sweep_points

    started = time.perf_counter()
    spec = RunSpec(base_id, file)
    try:
        loaded = _scenario_or_sweep(file)
        if not isinstance(loaded, dict):
            return _run_scenario(spec, loaded, context, started)
        points = sweep_points(loaded.pop(SWEEP_KEY), loaded, file)
    except ScenarioError as err:
        return record_failure(spec, str(err), context, started)
    except Exception as err:  # an unexpected failure is recorded, the batch carries on
        return record_failure(spec, exception_text(file, err), context, started)
    return [
        RunSpec(sweep_run_id(base_id, point), file, point, sweep=point_label(point))
        for point in points
    ]


def execute_run(spec: RunSpec, context: TaskContext) -> dict[str, Any]:
    """Run one sweep point (or a run planned with an error); return its status record."""
    from sct_engine.errors import ScenarioError

    started = time.perf_counter()
    if spec.error is not None:
        return record_failure(spec, spec.error, context, started)
    try:
        scenario = scenario_for(spec)
    except ScenarioError as err:
        return record_failure(spec, str(err), context, started)
    except Exception as err:
        return record_failure(spec, exception_text(spec.file, err), context, started)
    return _run_scenario(spec, scenario, context, started)


def record_failure(
    spec: RunSpec, error: str, context: TaskContext, started: float
) -> dict[str, Any]:
    """Publish a failed run under its claim (or take what a concurrent batch published)."""
    folder = context.runs / spec.run_id
    return _under_claim(
        spec,
        context,
        None,
        lambda: publish_failure(folder, spec, error, started, context.batch_id),
    )


def _under_claim(
    spec: RunSpec,
    context: TaskContext,
    scenario_hash: str | None,
    write: Callable[[], dict[str, Any]],
    draws: int | None = None,
) -> dict[str, Any]:
    """Write a run with ``write`` while holding its claim, unless its folder makes that needless.

    The folder's record is taken instead when :func:`_reusable` says so, checked
    again once the claim is held (the holder before us may just have written
    it). A run claimed elsewhere is not waited for: the answer says who holds
    it, and the driver asks again later.
    """
    folder = context.runs / spec.run_id
    reused = _reusable(read_run_record(folder), scenario_hash, context, draws)
    if reused is not None:
        return reused
    claim = try_claim(context.out_dir, spec.run_id, holder_text(context.batch_id))
    if isinstance(claim, str):
        return {"run_id": spec.run_id, CLAIMED_BY: claim}
    with claim:
        reused = _reusable(read_run_record(folder), scenario_hash, context, draws)
        if reused is not None:
            return reused
        return write()


def _reusable(
    record: dict[str, Any] | None,
    scenario_hash: str | None,
    context: TaskContext,
    draws: int | None = None,
) -> dict[str, Any] | None:
    """The record to keep instead of running again, marked ``"skipped"``; None to run.

    Kept, so that batches sharing a folder never redo each other's work (even
    with ``--force``): a run, done or failed, by this engine version (and, when
    this batch knows it, for the same scenario hash) that was finished after
    this batch started, or by a batch still running. And, without ``--force``,
    a done run of the same scenario hash and engine version from any earlier
    batch, with the same number of ``draws`` when given (a quick ``--draws`` pass
    never stands for a full run, nor the other way round). Failures of earlier
    batches are re-tried.
    """
    if record is None:
        return None
    same = record.get("engine_version") == engine_version() and scenario_hash in (
        None,
        record.get("scenario_hash"),
    )
    if same and context.started_utc and finished_after(record, context.started_utc):
        return {**record, "skipped": record.get("batch_id") != context.batch_id}
    if (
        scenario_hash is not None
        and not context.force
        and still_valid(record, scenario_hash)
        and (draws is None or record.get("draws") == draws)
    ):
        return {**record, "skipped": True}
    if same and batch_running(context.out_dir, record.get("batch_id")):
        return {**record, "skipped": True}
    return None


def _run_scenario(
    spec: RunSpec, scenario: Scenario, context: TaskContext, started: float
) -> dict[str, Any]:
    """Simulate and publish ``DIR/runs/<run_id>/``; return the run's status record.

    Skips the simulation when the folder already holds a run to keep (see
    :func:`_reusable`); such records come back with ``"skipped": True``. A
    failure is recorded, not raised.
    """
    folder = context.runs / spec.run_id

    def simulate_and_publish() -> dict[str, Any]:
        try:
            result = _simulate(scenario, draws=context.draws)
        except Exception as err:
            error = exception_text(spec.file, err)
            return publish_failure(folder, spec, error, started, context.batch_id)
        record = make_record(spec, DONE, context.batch_id, provenance=result.provenance)
        publish(folder, record, result, started)
        return record

    draws = context.draws or scenario.simulation.draws
    return _under_claim(spec, context, scenario.content_hash, simulate_and_publish, draws)


def _scenario_or_sweep(file: str) -> Scenario | dict[str, Any]:
    """The validated scenario of a plain file, or the raw data of a file with a sweep.

    ``load_scenario`` does the reading, so bad YAML or a bad plain scenario fails
    with its usual messages; a ``sweep`` key is the one problem it reports that
    this module knows how to handle.
    """
    from sct_engine.errors import ScenarioError
    from sct_engine.scenario import load_scenario
    from sct_engine.scenario.sweep import SWEEP_KEY

    try:
        return load_scenario(file)
    except ScenarioError as err:
        if not any(problem.field == SWEEP_KEY for problem in err.problems):
            raise
    return _read_yaml(file)


def _read_yaml(file: str) -> dict[str, Any]:
    """Plain data of a scenario file already known to hold a mapping, read as ``sct run``
    reads it: safe and bounded YAML, confined to its folder (``read_scenario_data``)."""
    from sct_engine.errors import Problem, ScenarioError
    from sct_engine.scenario import read_scenario_data

    data, _ = read_scenario_data(file)
    if not isinstance(data, dict):
        raise ScenarioError(
            [Problem(file, "", "is not a set of fields", "see docs/scenario-format.md")]
        )
    return data


def scenario_for(spec: RunSpec) -> Scenario:
    """The validated scenario of a run: the file itself, or the file at its sweep point.

    A point is read as ``sct run`` reads it (:func:`sct_engine.scenario.load_point`),
    so a swept option carries its value in its name there too.
    """
    from sct_engine.scenario import load_point, load_scenario

    if spec.point is None:
        return load_scenario(spec.file)
    return load_point(spec.file, spec.point)


def _simulate(scenario: Scenario, draws: int | None = None) -> Result:
    from sct_engine.engine.simulate import simulate

    with _SIMULATE_LOCK:
        return simulate(scenario, draws=draws)


#: Key of the answer of a task whose run another batch holds: who holds it.
CLAIMED_BY = "claimed_by"


#: A minimal valid scenario: numba compiles the kernel for argument types, which
#: every scenario shares, so compiling it for this one compiles it for all.
_WARM_UP_SCENARIO: dict[str, Any] = {
    "name": "engine warm-up",
    "systems": [
        {
            "id": "warm_up",
            "organisations": [
                {"id": "trust", "kind": "provider", "plan": 0.0, "control_total": 0.0,
                 "sustainability_funding": 1.0, "sd": 1.0, "has_ae": True},
                {"id": "ccg", "kind": "commissioner", "plan": 0.0, "control_total": 0.0,
                 "sustainability_funding": 1.0, "sd": 1.0},
            ],
        }
    ],
}  # fmt: skip


def warm_up_engine(context: TaskContext) -> float:
    """Compile (or load from the cache) the simulation kernel; return seconds taken.

    The batch runs this on one worker before any run, so that the kernel is
    compiled once and the other workers load it from the cache, instead of
    every worker compiling it at the same time. Both entry points: the year-end
    pass and the quarterly one (``uncertainty.quarterly``).
    """
    from sct_engine.scenario import parse_scenario

    started = time.perf_counter()
    for quarterly in (False, True):
        scenario = {**_WARM_UP_SCENARIO, "uncertainty": {"quarterly": quarterly}}
        _simulate(parse_scenario(scenario), draws=1)
    return time.perf_counter() - started
