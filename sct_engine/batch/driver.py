"""The driver of a batch: submits runs to Dask in a bounded window and records what comes back.

It keeps the manifest current while the batch runs, builds the combined
results at the end, and on Ctrl-C or SIGTERM stops after writing the manifest,
so running the same command again finishes the batch.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sct_engine.batch.cluster import dask_client, numba_environment_plugin
from sct_engine.batch.layout import (
    DONE,
    FAILED,
    NUMBA_CACHE_DIR,
    PENDING,
    RESULTS_DIR,
    RUNS_DIR,
    TaskContext,
)
from sct_engine.batch.plan import RunSpec, base_run_ids, find_scenario_files, short_hash
from sct_engine.batch.records import exception_text, publish_failure, read_run_record
from sct_engine.batch.runs import execute_run, run_file, warm_up_engine
from sct_engine.batch.store import sweep_paths, write_manifest, write_results_part
from sct_engine.batch.summary import BatchSummary

if TYPE_CHECKING:
    from distributed import Client, Future

#: Runs per part file of the combined results; each part is written by one task.
RESULTS_PART_RUNS = 500
#: Least seconds between two manifest writes while a batch runs (it is a view of
#: ``runs/``, so lagging costs nothing, and at 10,000 runs one write takes ~1 s).
MANIFEST_EVERY_S = 10.0


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
    with dask_client(scheduler, workers, threads_per_worker) as client:
        client.register_plugin(numba_environment_plugin(context.numba_cache))
        driver = _Driver(client, context, files, _RunProgress(show))
        summary = driver.run()
    summary.wall_time_s = time.perf_counter() - started
    return summary


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
                    point.run_id + "-" + short_hash(point.file + point.sweep),
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
        return publish_failure(folder, spec, _lost_text(spec.file, err), time.perf_counter())

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
        paths = sweep_paths(done)
        building = self.out / f".results-{uuid.uuid4().hex[:8]}"
        parts = [done[i : i + RESULTS_PART_RUNS] for i in range(0, len(done), RESULTS_PART_RUNS)]
        futures = [
            self.client.submit(
                write_results_part, self.context, str(building), k, part, paths, pure=False
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
    return exception_text(file, err)


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
