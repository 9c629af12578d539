"""Many scenarios on Dask distributed: one task per run, resumable, no finished work lost.

Flow: paths and globs -> scenario files -> (task per file) simulate and write
``DIR/runs/<run_id>/``, or for a file with a ``sweep:`` block, (task per point)
the same for each point -> manifest -> (task per part) the combined results
dataset ``DIR/results/<table>/``.

Why it cannot lose finished work: a run is written to a hidden temporary folder
and renamed into place only when complete, with ``status.json`` (scenario hash,
engine version, status) written last inside it. A folder under ``runs/`` is
therefore always whole. Running the same command again skips every run whose
``status.json`` says done for the same scenario hash and engine version, so a
batch killed at any moment (the driver, a worker, or everything) is finished by
running it again. The manifest and results are rebuilt from the runs and
written by rename too, so a kill never leaves them half-written.

The same code path serves a ``LocalCluster`` of worker processes (the default)
and an existing cluster (``scheduler=``). Dask and pandas are imported inside
functions so that ``import sct_engine.batch`` (done by the ``sct`` command) stays
cheap.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client, Future

    from sct_engine.results import Result
    from sct_engine.scenario import Scenario

RUNS_DIR = "runs"
RESULTS_DIR = "results"
MANIFEST_PARQUET = "manifest.parquet"
MANIFEST_CSV = "manifest.csv"
STATUS_FILE = "status.json"
NUMBA_CACHE_DIR = ".numba_cache"
#: The tables of a run (``results.TABLES``, named here to keep this module's import light).
RESULT_TABLES = ("organisations", "systems", "national")
#: Failures listed in full by ``BatchSummary.text``; the manifest has them all.
FAILURES_SHOWN = 20

#: Runs per part file of the combined results; each part is written by one task.
RESULTS_PART_RUNS = 500
#: Least seconds between two manifest writes while a batch runs (it is a view of
#: ``runs/``, so lagging costs nothing, and at 10,000 runs one write takes ~1 s).
MANIFEST_EVERY_S = 10.0
#: Prefix of manifest and results columns holding a run's sweep values.
SWEEP_COLUMN_PREFIX = "sweep."

#: Manifest columns, in order; ``sweep.<path>`` columns follow.
MANIFEST_COLUMNS = [
    "run_id",
    "status",
    "file",
    "sweep",
    "error",
    "scenario_name",
    "scenario_hash",
    "seed",
    "draws",
    "engine",
    "engine_version",
    "wall_time_s",
    "simulate_time_s",
    "host",
    "finished_utc",
]

DONE, FAILED, PENDING = "done", "failed", "pending"
_MAX_RUN_ID = 150
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")

# A worker simulates one scenario at a time; its threads are for the kernel's own
# parallel loops. Two numba parallel launches at once can abort a process under
# numba's default threading layer, so tasks in one worker take turns.
_SIMULATE_LOCK = threading.Lock()


class BatchInputError(ValueError):
    """The paths or globs given to a batch name no scenario file."""


# --- inputs and run ids ---------------------------------------------------------------


def find_scenario_files(inputs: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Absolute scenario paths from files, folders (their ``*.yaml``/``*.yml``) and globs.

    A glob or folder matching nothing is an error (it is almost always a typo); a
    plain path is kept even if missing, so the run records "file not found".
    """
    found: dict[Path, None] = {}
    for item in map(os.fspath, inputs):
        if glob.has_magic(item):
            matches = [
                Path(p) for p in sorted(glob.glob(item, recursive=True)) if Path(p).is_file()
            ]
        elif Path(item).is_dir():
            matches = sorted([*Path(item).glob("*.yaml"), *Path(item).glob("*.yml")])
        else:
            matches = [Path(item)]
        if not matches:
            raise BatchInputError(f"no scenario files match {item!r}")
        for path in matches:
            found.setdefault(Path(os.path.abspath(path)), None)
    return sorted(found)


def base_run_ids(files: Sequence[Path]) -> dict[Path, str]:
    """A run id per file: its name without extension, plus a path hash where names clash."""
    stems = {path: _safe_id(path.stem) for path in files}
    counts: dict[str, int] = {}
    for stem in stems.values():
        counts[stem] = counts.get(stem, 0) + 1
    return {
        path: stem if counts[stem] == 1 else f"{stem}-{_short_hash(str(path))}"
        for path, stem in stems.items()
    }


@dataclass(frozen=True)
class RunSpec:
    """One run of a batch: a scenario file, optionally at one sweep point.

    ``sweep`` is the point's readable label; ``error``, when set, is recorded as
    the run's failure instead of running it (e.g. its run id is already taken).
    """

    run_id: str
    file: str
    point: dict[str, float | int] | None = None
    sweep: str = ""
    error: str | None = None


@dataclass(frozen=True)
class TaskContext:
    """What every worker task needs besides its own input: where the batch lives.

    ``out_dir`` and ``numba_cache`` must be the same paths on every worker (a
    shared filesystem on a multi-machine cluster).
    """

    out_dir: str
    numba_cache: str
    force: bool = False

    @property
    def runs(self) -> Path:
        return Path(self.out_dir) / RUNS_DIR


def _safe_id(text: str) -> str:
    return _ID_UNSAFE.sub("_", text).lstrip(".") or "scenario"


def _short_hash(text: str, n: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _sweep_run_id(base_id: str, point: Mapping[str, float | int]) -> str:
    from sct_engine.sweep import point_slug

    slug = point_slug(point)
    run_id = f"{base_id}__{_safe_id(slug)}"
    return run_id if len(run_id) <= _MAX_RUN_ID else f"{base_id}__{_short_hash(slug, 16)}"


# --- worker tasks: a file, a sweep point ----------------------------------------------------


def run_file(file: str, base_id: str, context: TaskContext) -> dict[str, Any] | list[RunSpec]:
    """Run one scenario file; for a file with a ``sweep:`` block, return its runs instead.

    A plain file (the usual case) is read once and run in this task; a sweep's
    points come back to the driver to be spread over the workers as
    :func:`execute_run` tasks. A file that cannot be read or expanded becomes a
    failed run; nothing is raised.
    """
    from sct_engine.errors import ScenarioError
    from sct_engine.sweep import SWEEP_KEY, point_label, sweep_points

    started = time.perf_counter()
    spec = RunSpec(base_id, file)
    try:
        loaded = _scenario_or_sweep(file)
        if not isinstance(loaded, dict):
            return _run_scenario(spec, loaded, context, started)
        points = sweep_points(loaded.pop(SWEEP_KEY), loaded, file)
    except ScenarioError as err:
        return _publish_failure(context.runs / base_id, spec, str(err), started)
    except Exception as err:  # an unexpected failure is recorded, the batch carries on
        return _publish_failure(context.runs / base_id, spec, _exception_text(file, err), started)
    return [
        RunSpec(_sweep_run_id(base_id, point), file, point, sweep=point_label(point))
        for point in points
    ]


def execute_run(spec: RunSpec, context: TaskContext) -> dict[str, Any]:
    """Run one sweep point (or a run planned with an error); return its status record."""
    from sct_engine.errors import ScenarioError

    started = time.perf_counter()
    folder = context.runs / spec.run_id
    if spec.error is not None:
        return _publish_failure(folder, spec, spec.error, started)
    try:
        scenario = scenario_for(spec)
    except ScenarioError as err:
        return _publish_failure(folder, spec, str(err), started)
    except Exception as err:
        return _publish_failure(folder, spec, _exception_text(spec.file, err), started)
    return _run_scenario(spec, scenario, context, started)


def _run_scenario(
    spec: RunSpec, scenario: Scenario, context: TaskContext, started: float
) -> dict[str, Any]:
    """Simulate and publish ``DIR/runs/<run_id>/``; return the run's status record.

    Skips the simulation when the folder already holds a done run of the same
    scenario hash and engine version (unless ``context.force``); such records
    come back with ``"skipped": True``. A failure is recorded, not raised.
    """
    folder = context.runs / spec.run_id
    previous = read_run_record(folder)
    if not context.force and _still_valid(previous, scenario.content_hash):
        return {**previous, "skipped": True}
    try:
        result = _simulate(scenario)
    except Exception as err:
        return _publish_failure(folder, spec, _exception_text(spec.file, err), started)
    record = _record(spec, DONE, provenance=result.provenance)
    _publish(folder, record, result, started)
    return record


def _scenario_or_sweep(file: str) -> Scenario | dict[str, Any]:
    """The validated scenario of a plain file, or the raw data of a file with a sweep.

    ``load_scenario`` does the reading, so bad YAML or a bad plain scenario fails
    with its usual messages; a ``sweep`` key is the one problem it reports that
    this module knows how to handle.
    """
    from sct_engine.errors import ScenarioError
    from sct_engine.scenario import load_scenario
    from sct_engine.sweep import SWEEP_KEY

    try:
        return load_scenario(file)
    except ScenarioError as err:
        if not any(problem.field == SWEEP_KEY for problem in err.problems):
            raise
    return _read_yaml(file)


def _read_yaml(file: str) -> dict[str, Any]:
    """Plain data of a scenario file already known to be valid YAML holding a mapping."""
    import yaml

    from sct_engine.errors import Problem, ScenarioError

    try:
        data = yaml.safe_load(Path(file).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ScenarioError(
            [Problem(file, "", f"cannot be read: {err}", "check the file")]
        ) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            [Problem(file, "", "is not a set of fields", "see docs/scenario-format.md")]
        )
    return data


def scenario_for(spec: RunSpec) -> Scenario:
    """The validated scenario of a run: the file itself, or the file at its sweep point."""
    from sct_engine.scenario import load_scenario, parse_scenario
    from sct_engine.sweep import SWEEP_KEY, apply_point

    if spec.point is None:
        return load_scenario(spec.file)
    data = _read_yaml(spec.file)
    data.pop(SWEEP_KEY, None)
    return parse_scenario(apply_point(data, spec.point, spec.file), source=Path(spec.file))


def _simulate(scenario: Scenario, draws: int | None = None) -> Result:
    from sct_engine.simulate import simulate

    with _SIMULATE_LOCK:
        return simulate(scenario, draws=draws)


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
    """Compile (or load from the shared cache) the simulation kernel; return seconds taken.

    The batch runs this on one worker before any run, so that the kernel is
    compiled once and the other workers load it from the cache, instead of
    every worker compiling it at the same time.
    """
    from sct_engine.scenario import parse_scenario

    started = time.perf_counter()
    _simulate(parse_scenario(_WARM_UP_SCENARIO), draws=1)
    return time.perf_counter() - started


def _still_valid(record: dict[str, Any] | None, scenario_hash: str) -> bool:
    return (
        record is not None
        and record.get("status") == DONE
        and record.get("scenario_hash") == scenario_hash
        and record.get("engine_version") == engine_version()
    )


@cache
def engine_version() -> str:
    """The version of the code that produced a run: package version plus a source digest.

    The digest covers every module of the installed package, so a run done by
    an edited (development) install is not mistaken for one done by another;
    on a released install it never changes. Computed once per process.
    """
    import sct_engine

    package = Path(sct_engine.__file__).parent
    digest = hashlib.sha256()
    for module in sorted(package.glob("*.py")):
        digest.update(module.name.encode() + b"\0" + module.read_bytes())
    return f"{sct_engine.__version__}+src.{digest.hexdigest()[:12]}"


def _record(
    spec: RunSpec,
    status: str,
    provenance: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The status record of a run, as written to ``status.json`` and the manifest.

    ``wall_time_s`` (reading, simulating and writing the run) is filled in by
    :func:`_publish` just before the record is written.
    """
    p = provenance or {}
    return {
        "run_id": spec.run_id,
        "status": status,
        "file": spec.file,
        "sweep": spec.sweep,
        "sweep_values": dict(spec.point or {}),
        "error": error,
        "scenario_name": p.get("scenario_name"),
        "scenario_hash": p.get("scenario_hash"),
        "seed": p.get("seed"),
        "draws": p.get("draws"),
        "engine": p.get("engine"),
        "engine_version": engine_version(),
        "wall_time_s": None,
        "simulate_time_s": p.get("wall_time_s"),
        "host": socket.gethostname(),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _publish_failure(folder: Path, spec: RunSpec, error: str, started: float) -> dict[str, Any]:
    record = _record(spec, FAILED, error=error)
    _publish(folder, record, None, started)
    return record


def _exception_text(file: str, err: BaseException) -> str:
    return f"{file}: {type(err).__name__}: {err}"


def read_run_record(folder: Path) -> dict[str, Any] | None:
    """A run folder's ``status.json``, or None when the run has not finished."""
    try:
        return json.loads((folder / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None


def _publish(folder: Path, record: dict[str, Any], result: Result | None, started: float) -> None:
    """Write a run into a hidden temporary folder, then rename it to ``folder``.

    ``status.json`` goes in last, so any folder under ``runs/`` is complete.
    """
    temporary = folder.parent / f".tmp-{folder.name}-{uuid.uuid4().hex[:8]}"
    temporary.mkdir(parents=True)
    try:
        if result is not None:
            result.save(temporary)
        record["wall_time_s"] = round(time.perf_counter() - started, 4)
        (temporary / STATUS_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n")
        _rename_into_place(temporary, folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _rename_into_place(temporary: Path, folder: Path, attempts: int = 5) -> None:
    """Rename a folder over another; an older one there is moved aside and deleted."""
    for _ in range(attempts):
        try:
            os.rename(temporary, folder)
            return
        except OSError:
            if not folder.exists():
                raise
        aside = folder.parent / f".trash-{folder.name}-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(folder, aside)
        except FileNotFoundError:
            continue  # someone else moved it; try again
        shutil.rmtree(aside, ignore_errors=True)
    os.rename(temporary, folder)


def numba_environment_plugin(numba_cache: str) -> Any:
    """A Dask worker plugin pointing numba at the shared cache and the worker's thread count.

    It runs on every worker before its first task, including workers that join
    later or are restarted after a crash, on a LocalCluster and on an existing
    cluster alike. numba reads ``NUMBA_CACHE_DIR`` and ``NUMBA_NUM_THREADS``
    when imported, and a worker may already have imported it (a LocalCluster
    worker re-imports the ``sct`` command's module, which imports the package),
    so the plugin also has numba re-read them; a thread count already in force
    (threads launched, or set in the worker's environment) is kept. The class
    is defined inside this function so that Dask ships it by value (cloudpickle):
    installing it does not make the worker import ``sct_engine``.
    """
    from distributed import WorkerPlugin

    class NumbaEnvironment(WorkerPlugin):
        name = "sct-numba-environment"

        def __init__(self, cache: str) -> None:
            self.cache = cache

        def setup(self, worker: Any) -> None:
            import os
            import sys

            os.environ["NUMBA_CACHE_DIR"] = self.cache
            threads_set_here = "NUMBA_NUM_THREADS" not in os.environ
            if threads_set_here:
                os.environ["NUMBA_NUM_THREADS"] = str(worker.state.nthreads)
            if "numba" not in sys.modules:
                return  # numba will read both when first imported
            from numba.core import config

            try:
                config.reload_config()
            except RuntimeError:  # its threads are running: their number can no longer change
                if threads_set_here:
                    del os.environ["NUMBA_NUM_THREADS"]
                config.reload_config()

    return NumbaEnvironment(numba_cache)


# --- worker task: combined results ----------------------------------------------------------


def write_results_part(
    context: TaskContext,
    folder: str,
    index: int,
    records: Sequence[Mapping[str, Any]],
    sweep_paths: Sequence[str],
) -> int:
    """Write part ``index`` of each combined table from the given done runs; return rows written.

    Every part has the same columns in the same order (run columns, one float
    ``sweep.<path>`` column per path swept anywhere in the batch, then the
    table's own), so the parts read back as one dataset.
    """
    import pandas as pd

    rows = 0
    for table in RESULT_TABLES:
        frames = []
        for record in records:
            frame = pd.read_parquet(context.runs / record["run_id"] / f"{table}.parquet")
            frame.insert(0, "run_id", record["run_id"])
            frame.insert(1, "file", record["file"])
            frame.insert(2, "sweep", record["sweep"])
            for k, path in enumerate(sweep_paths):
                value = record["sweep_values"].get(path)
                frame.insert(
                    3 + k,
                    SWEEP_COLUMN_PREFIX + path,
                    float("nan") if value is None else float(value),
                )
            frames.append(frame)
        combined = pd.concat(frames, ignore_index=True)
        target = Path(folder) / table
        target.mkdir(parents=True, exist_ok=True)
        combined.to_parquet(target / f"part-{index:05d}.parquet", index=False)
        rows += len(combined)
    return rows


# --- the manifest ---------------------------------------------------------------------


def manifest_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run: status, error, scenario hash, seed, draws, engine version, times."""
    import pandas as pd

    sweep_paths = _sweep_paths(records)
    rows = []
    for record in sorted(records, key=lambda r: r["run_id"]):
        row = {name: record.get(name) for name in MANIFEST_COLUMNS}
        for path in sweep_paths:
            row[SWEEP_COLUMN_PREFIX + path] = record.get("sweep_values", {}).get(path)
        rows.append(row)
    columns = MANIFEST_COLUMNS + [SWEEP_COLUMN_PREFIX + p for p in sweep_paths]
    frame = pd.DataFrame(rows, columns=columns)
    for name in ("seed", "draws"):
        frame[name] = frame[name].astype("Int64")
    for name in ("wall_time_s", "simulate_time_s", *columns[len(MANIFEST_COLUMNS) :]):
        frame[name] = frame[name].astype("float64")
    return frame


def write_manifest(out: Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Write ``manifest.parquet`` and ``manifest.csv``, each by rename so never half-written."""
    frame = manifest_frame(records)
    _write_by_rename(out / MANIFEST_PARQUET, lambda p: frame.to_parquet(p, index=False))
    _write_by_rename(out / MANIFEST_CSV, lambda p: frame.to_csv(p, index=False))


def read_manifest(out: str | os.PathLike[str]) -> pd.DataFrame:
    """The manifest of a batch folder."""
    import pandas as pd

    return pd.read_parquet(Path(out) / MANIFEST_PARQUET)


def read_results(out: str | os.PathLike[str], table: str) -> pd.DataFrame:
    """One combined table (``organisations``, ``systems`` or ``national``) of a batch folder."""
    import pandas as pd

    if table not in RESULT_TABLES:
        raise ValueError(f"unknown table {table!r}; choose one of {', '.join(RESULT_TABLES)}")
    return pd.read_parquet(Path(out) / RESULTS_DIR / table)


def _sweep_paths(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every path swept anywhere in the batch, in first-seen order of sorted run ids."""
    paths: dict[str, None] = {}
    for record in sorted(records, key=lambda r: r["run_id"]):
        for path in record.get("sweep_values") or {}:
            paths.setdefault(path, None)
    return list(paths)


def _write_by_rename(path: Path, write: Callable[[str], object]) -> None:
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        write(str(temporary))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# --- the driver -----------------------------------------------------------------------


@dataclass
class BatchSummary:
    """What a batch did: counts of runs, the failures, where the outputs are."""

    out: Path
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    interrupted: bool = False
    wall_time_s: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return self.total - self.done - self.failed

    @property
    def exit_status(self) -> int:
        """130 when interrupted, else the number of failed runs (at most 125)."""
        return 130 if self.interrupted else min(self.failed, 125)

    def text(self) -> str:
        lines = [
            f"{self.total} runs: {self.done} done ({self.skipped} already done before), "
            f"{self.failed} failed, {self.pending} not run; {self.wall_time_s:.1f} s",
        ]
        lines += [f"FAILED {run_id}: {error}" for run_id, error in self.failures[:FAILURES_SHOWN]]
        if len(self.failures) > FAILURES_SHOWN:
            lines.append(f"... and {len(self.failures) - FAILURES_SHOWN} more failures")
        if self.interrupted:
            lines.append("Interrupted: run the same command again to finish the remaining runs.")
        lines.append(f"Manifest: {self.out / MANIFEST_CSV}; results: {self.out / RESULTS_DIR}/")
        return "\n".join(lines)


def run_batch(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    workers: int | None = None,
    threads_per_worker: int = 1,
    scheduler: str | None = None,
    force: bool = False,
    numba_cache: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> BatchSummary:
    """Run every scenario (and sweep point) named by ``inputs`` on Dask; write ``out``.

    ``scheduler`` is the address of an existing Dask scheduler (or the path of
    its scheduler file); without it a LocalCluster of ``workers`` processes
    (default: one per core) with ``threads_per_worker`` threads each is started.
    Runs already done for the same scenario hash and engine version are reused
    unless ``force``. ``numba_cache`` is where workers keep compiled kernels
    (default: ``NUMBA_CACHE_DIR`` if set, else ``out/.numba_cache``); give a
    folder outside ``out`` to reuse them across batches. ``progress`` shows a
    bar on stderr (default: when it is a terminal). A KeyboardInterrupt stops the batch after writing the manifest,
    with ``interrupted`` set in the summary.
    """
    files = find_scenario_files(inputs)
    out_dir = Path(os.path.abspath(out))
    (out_dir / RUNS_DIR).mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out_dir)
    cache = numba_cache or os.environ.get("NUMBA_CACHE_DIR") or out_dir / NUMBA_CACHE_DIR
    context = TaskContext(str(out_dir), os.path.abspath(cache), force)
    started = time.perf_counter()
    show = sys.stderr.isatty() if progress is None else progress
    with _dask_client(scheduler, workers, threads_per_worker) as client:
        client.register_plugin(numba_environment_plugin(context.numba_cache))
        driver = _Driver(client, context, files, _RunProgress(show))
        summary = driver.run()
    summary.wall_time_s = time.perf_counter() - started
    return summary


@contextmanager
def _dask_client(
    scheduler: str | None, workers: int | None, threads_per_worker: int
) -> Iterator[Client]:
    """A client of the given scheduler, or of a LocalCluster of worker processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        is_file = scheduler.endswith(".json") and Path(scheduler).is_file()
        with Client(scheduler_file=scheduler) if is_file else Client(scheduler) as client:
            yield client
        return
    with _workers_ignore_ctrl_c():
        cluster = LocalCluster(
            n_workers=workers or _cores(),
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    with cluster, Client(cluster) as client:
        yield client


@contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start worker processes with SIGINT ignored (they inherit it), so Ctrl-C reaches the
    driver alone, which then stops the workers cleanly instead of each printing a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _remove_leftovers(out: Path) -> None:
    """Delete temporary folders a killed batch left behind (never finished runs)."""
    for pattern in (f"{RUNS_DIR}/.tmp-*", f"{RUNS_DIR}/.trash-*", ".results-*"):
        for path in out.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)


class _Driver:
    """Keeps a bounded window of tasks in flight and records what comes back.

    First one worker loads (or compiles) the kernel; then one task per file
    runs it, and the points of sweep files come back as further tasks. At most
    ``window`` tasks are in flight at once, so ten thousand files never flood
    the scheduler. The manifest is rewritten after each wave of ``window``
    finished runs (at most every ``MANIFEST_EVERY_S`` seconds), when stopped,
    and at the end.
    """

    def __init__(
        self, client: Client, context: TaskContext, files: list[Path], progress: _RunProgress
    ) -> None:
        self.client = client
        self.context = context
        self.out = Path(context.out_dir)
        self.progress = progress
        threads = sum(client.nthreads().values())
        self.window = max(4 * threads, 16)
        self.files = deque(base_run_ids(files).items())
        self.unread: dict[str, RunSpec] = {b: RunSpec(b, str(p)) for p, b in self.files}
        self.points: deque[RunSpec] = deque()
        self.specs: dict[str, RunSpec] = dict(self.unread)
        self.records: dict[str, dict[str, Any]] = {}
        self.in_flight: dict[Future, tuple[str, RunSpec]] = {}
        self.warm = False
        self.skipped = 0
        self._since_manifest = 0
        self._manifest_at = time.monotonic()
        progress.add(len(self.files))

    def run(self) -> BatchSummary:
        from distributed import as_completed

        interrupted = False
        try:
            with self.progress:
                completed = as_completed()
                self._submit(completed, "warm_up", RunSpec("", ""), warm_up_engine, self.context)
                for future in completed:
                    kind, spec = self.in_flight.pop(future)
                    if kind == "warm_up":
                        self.warm = True  # if it failed, every run will say why
                    elif kind == "file":
                        self._file_done(future, spec)
                    else:
                        self._finished(spec, self._outcome(future, spec))
                    self._top_up(completed)
        except KeyboardInterrupt:
            interrupted = True
            for future in self.in_flight:
                future.cancel()
        write_manifest(self.out, self._manifest_records())
        if not interrupted:
            self._write_results()
        return self._summary(interrupted)

    def _submit(self, completed: Any, kind: str, spec: RunSpec, task: Callable, *args: Any) -> None:
        future = self.client.submit(task, *args, pure=False)
        self.in_flight[future] = (kind, spec)
        completed.add(future)

    def _top_up(self, completed: Any) -> None:
        while self.warm and len(self.in_flight) < self.window:
            if self.points:  # sweep points first: they were planned earliest
                spec = self.points.popleft()
                self._submit(completed, "point", spec, execute_run, spec, self.context)
            elif self.files:
                path, base_id = self.files.popleft()
                spec = self.unread[base_id]
                self._submit(completed, "file", spec, run_file, str(path), base_id, self.context)
            else:
                return

    def _file_done(self, future: Future, spec: RunSpec) -> None:
        outcome = self._outcome(future, spec)
        self.unread.pop(spec.run_id)
        if isinstance(outcome, dict):
            self._finished(spec, outcome)
            return
        del self.specs[spec.run_id]
        for point in outcome:
            if point.run_id in self.specs:
                point = RunSpec(
                    point.run_id + "-" + _short_hash(point.file + point.sweep),
                    point.file,
                    point.point,
                    point.sweep,
                    error=f"{point.file}: run id {point.run_id} is already used by "
                    f"{self.specs[point.run_id].file}: rename one of the files",
                )
            self.specs[point.run_id] = point
            self.points.append(point)
        self.progress.add(len(outcome) - 1)

    def _outcome(self, future: Future, spec: RunSpec) -> Any:
        try:
            return future.result()
        except Exception as err:  # e.g. KilledWorker: the task's workers died too often
            return self._lost(spec, err)

    def _finished(self, spec: RunSpec, record: dict[str, Any]) -> None:
        if record.pop("skipped", False):
            self.skipped += 1
        self.records[spec.run_id] = record
        self.progress.finished(record["status"], self.skipped)
        self._since_manifest += 1
        now = time.monotonic()
        if self._since_manifest >= self.window and now - self._manifest_at >= MANIFEST_EVERY_S:
            write_manifest(self.out, self._manifest_records())
            self._since_manifest, self._manifest_at = 0, now

    def _lost(self, spec: RunSpec, err: BaseException) -> dict[str, Any]:
        """Record a run whose task raised; a done folder (it finished first) wins."""
        folder = self.context.runs / spec.run_id
        record = read_run_record(folder)
        if record is not None and record.get("status") == DONE:
            return record
        return _publish_failure(folder, spec, _lost_text(spec.file, err), time.perf_counter())

    def _manifest_records(self) -> list[dict[str, Any]]:
        pending = [
            {
                "run_id": spec.run_id,
                "status": PENDING,
                "file": spec.file,
                "sweep": spec.sweep,
                "sweep_values": dict(spec.point or {}),
            }
            for run_id, spec in self.specs.items()
            if run_id not in self.records
        ]
        return [*self.records.values(), *pending]

    def _write_results(self) -> None:
        """Build ``results/`` from the done runs on the cluster, then swap it into place."""
        done = sorted(
            (r for r in self.records.values() if r["status"] == DONE), key=lambda r: r["run_id"]
        )
        if not done:
            return
        sweep_paths = _sweep_paths(done)
        building = self.out / f".results-{uuid.uuid4().hex[:8]}"
        parts = [done[i : i + RESULTS_PART_RUNS] for i in range(0, len(done), RESULTS_PART_RUNS)]
        futures = [
            self.client.submit(
                write_results_part, self.context, str(building), k, part, sweep_paths, pure=False
            )
            for k, part in enumerate(parts)
        ]
        self.client.gather(futures)
        final = self.out / RESULTS_DIR
        if final.exists():
            aside = self.out / f".results-old-{uuid.uuid4().hex[:8]}"
            os.rename(final, aside)
            shutil.rmtree(aside, ignore_errors=True)
        os.rename(building, final)

    def _summary(self, interrupted: bool) -> BatchSummary:
        records = self.records.values()
        failed = sorted((r["run_id"], r["error"] or "") for r in records if r["status"] == FAILED)
        return BatchSummary(
            out=self.out,
            total=len(self.specs),
            done=sum(r["status"] == DONE for r in records),
            failed=len(failed),
            skipped=self.skipped,
            interrupted=interrupted,
            failures=failed,
        )


def _lost_text(file: str, err: BaseException) -> str:
    if type(err).__name__ == "KilledWorker":
        return f"{file}: the workers running it died repeatedly (killed, or out of memory): {err}"
    return _exception_text(file, err)


class _RunProgress:
    """Runs done / failed / remaining with time left, on stderr; silent when disabled."""

    def __init__(self, enabled: bool) -> None:
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=0, unit=" runs", desc="batch", file=sys.stderr, leave=True)
        self._failed = 0

    def add(self, runs: int) -> None:
        if self._bar is not None:
            self._bar.total += runs
            self._bar.refresh()

    def finished(self, status: str, skipped: int) -> None:
        self._failed += status == FAILED
        if self._bar is not None:
            self._bar.set_postfix(failed=self._failed, reused=skipped, refresh=False)
            self._bar.update(1)

    def __enter__(self) -> _RunProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()


# --- summary of a batch folder ----------------------------------------------------------


def batch_summary_text(out: str | os.PathLike[str], max_rows: int = 20) -> str:
    """Counts by status, the failures, and national expected funding lost per run and scheme."""
    import pandas as pd

    out = Path(out)
    manifest = read_manifest(out)
    counts = manifest["status"].value_counts()
    lines = [
        f"{out}: {len(manifest)} runs, "
        + ", ".join(f"{counts.get(s, 0)} {s}" for s in (DONE, FAILED, PENDING)),
    ]
    failed = manifest[manifest["status"] == FAILED]
    for row in failed.head(max_rows).itertuples():
        lines.append(f"  FAILED {row.run_id}: {str(row.error).splitlines()[0]}")
    if (out / RESULTS_DIR / "national").is_dir():
        national = read_results(out, "national")
        table = national.pivot(index="run_id", columns="scheme", values="expected_funding_lost")
        table = table[list(pd.unique(national["scheme"]))]
        lines += [
            "",
            "National expected funding lost (£m) by run and scheme",
            table.head(max_rows).to_string(float_format=lambda v: f"{v:,.3f}"),
        ]
        if len(table) > max_rows:
            lines.append(f"... {len(table) - max_rows} more runs: see {out / RESULTS_DIR}/national")
    return "\n".join(lines)


# --- command line -----------------------------------------------------------------------


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    from sct_engine.cli import positive_int

    """Add the ``batch`` and ``batch-summary`` subcommands to the ``sct`` parser."""
    batch = subparsers.add_parser(
        "batch",
        help="run many scenarios (and sweeps) on Dask; resumable",
        description="Run every scenario file (and every point of its sweep) on Dask distributed. "
        "Running the same command again skips finished runs and completes the rest. "
        "The exit status is the number of failed runs (130 if interrupted).",
    )
    batch.add_argument(
        "inputs", nargs="+", metavar="PATH_OR_GLOB", help="scenario files, folders or globs"
    )
    batch.add_argument(
        "--out", required=True, metavar="DIR", help="batch folder (runs, manifest, results)"
    )
    batch.add_argument(
        "--workers", type=positive_int, metavar="N", help="local worker processes (default: one per core)"
    )
    batch.add_argument(
        "--threads-per-worker",
        type=positive_int,
        default=1,
        metavar="T",
        help="threads per local worker, for the simulation kernel (default 1)",
    )
    batch.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="use an existing Dask cluster: scheduler address (tcp://host:8786) or scheduler file",
    )
    batch.add_argument(
        "--numba-cache",
        metavar="DIR",
        help="shared folder for compiled kernels (default: $NUMBA_CACHE_DIR, else OUT/.numba_cache)",
    )
    batch.add_argument("--force", action="store_true", help="rerun runs that are already done")
    batch.add_argument("--quiet", action="store_true", help="print nothing but errors")
    batch.set_defaults(func=_cmd_batch)

    summary = subparsers.add_parser("batch-summary", help="summarise a batch folder")
    summary.add_argument("out", metavar="DIR", help="the --out folder of a batch")
    summary.add_argument(
        "--rows", type=positive_int, default=20, metavar="N", help="most runs to list (default 20)"
    )
    summary.set_defaults(func=_cmd_batch_summary)


def _cmd_batch(args: argparse.Namespace) -> int:
    if args.scheduler and args.workers:
        print(
            "note: --workers is ignored with --scheduler (the cluster has its own)", file=sys.stderr
        )
    previous = _raise_on_sigterm()
    try:
        summary = run_batch(
            args.inputs,
            args.out,
            workers=args.workers,
            threads_per_worker=args.threads_per_worker,
            scheduler=args.scheduler,
            force=args.force,
            numba_cache=args.numba_cache,
            progress=None if not args.quiet else False,
        )
    except BatchInputError as err:
        print(f"sct batch: {err}", file=sys.stderr)
        return 2
    finally:
        _restore_sigterm(previous)
    if not args.quiet or summary.failed or summary.interrupted:
        print(summary.text(), file=sys.stdout if not args.quiet else sys.stderr)
    return summary.exit_status


def _cmd_batch_summary(args: argparse.Namespace) -> int:
    if not (Path(args.out) / MANIFEST_PARQUET).is_file():
        print(f"sct batch-summary: no {MANIFEST_PARQUET} in {args.out}", file=sys.stderr)
        return 2
    print(batch_summary_text(args.out, max_rows=args.rows))
    return 0


def _raise_on_sigterm() -> Any:
    """Treat SIGTERM like Ctrl-C, so a terminated batch writes its manifest before leaving."""

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)


def _restore_sigterm(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sct_engine.batch batch ...``: the batch commands without the rest of ``sct``."""
    parser = argparse.ArgumentParser(
        prog="sct", description="Batch runs of many scenarios on Dask."
    )
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    # Import the module under its real name so that Dask pickles tasks as
    # sct_engine.batch.<function>, which workers can import, not __main__.<function>.
    from sct_engine.batch import main as _main

    raise SystemExit(_main())
