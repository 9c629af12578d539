"""The driver of a batch: submits runs to Dask in a bounded window and records what comes back.

It keeps the manifest current while the batch runs, builds the combined
results at the end, and on Ctrl-C or SIGTERM stops, shuts the cluster down and
then writes the manifest from the run folders, so running the same command
again finishes the batch. Several batches may share one ``--out``: each run is
written under its claim (:mod:`.claims`), a run another batch holds is asked
for again later, and the manifest and results cover every finished run folder.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sct_engine.batch.claims import (
    LOCKS_DIR,
    batch_running_here,
    locks_work,
    outputs_lock,
    try_claim,
)
from sct_engine.batch.cluster import (
    dask_client,
    kernel_cache_base,
    numba_cache_setting,
    numba_environment_plugin,
)
from sct_engine.batch.layout import (
    DONE,
    FAILED,
    MANIFEST_CSV,
    MANIFEST_PARQUET,
    PENDING,
    RESULTS_DIR,
    RUNS_DIR,
    TaskContext,
)
from sct_engine.batch.plan import RunSpec, base_run_ids, find_scenario_files, short_hash
from sct_engine.batch.records import exception_text, finished_after, utc_now
from sct_engine.batch.runs import CLAIMED_BY, execute_run, record_failure, run_file, warm_up_engine
from sct_engine.batch.store import (
    BatchOutputError,
    finished_runs,
    sweep_kinds,
    write_manifest,
    write_results_part,
)
from sct_engine.batch.summary import BatchSummary

if TYPE_CHECKING:
    from distributed import Client, Future

#: Runs per part file of the combined results; each part is written by one task.
RESULTS_PART_RUNS = 500
#: Least seconds between two manifest writes while a batch runs (it is a view of
#: ``runs/``, so lagging costs nothing, and at 10,000 runs one write takes ~1 s).
MANIFEST_EVERY_S = 10.0
#: Seconds before asking again for a run that another batch holds.
CLAIM_RETRY_S = 1.0

#: A temporary run folder: ``.tmp-<run_id>-<8 hex>`` (or ``.trash-...``, see records.py).
_RUN_LEFTOVER = re.compile(r"^\.(?:tmp|trash)-(?P<run_id>.+)-[0-9a-f]{8}$")


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
    draws: int | None = None,
) -> BatchSummary:
    """Run every scenario (and sweep point) named by ``inputs`` on Dask; write ``out``.

    ``scheduler`` is the address of an existing Dask scheduler (or the path of
    its scheduler file); without it a LocalCluster of ``workers`` processes
    (default: one per core) with ``threads_per_worker`` threads each is started.
    Runs already done for the same scenario hash and engine version are reused
    unless ``force``; runs another batch on ``out`` finishes meanwhile are
    taken as they are. ``numba_cache`` is where workers keep compiled kernels
    (default: ``NUMBA_CACHE_DIR`` if set, else each worker's per-user cache, where
    ``sct run`` keeps them too); a compile is announced on stderr unless
    ``progress`` is False. ``progress`` shows a bar on stderr (default: when it is a
    terminal). ``draws`` runs every scenario with that many draws instead of its own (a
    quick first pass); a run done earlier with other draws is run again. A KeyboardInterrupt stops
    the batch after writing the manifest, with ``interrupted`` set in the
    summary. An unusable ``out`` raises :class:`BatchOutputError`.
    """
    files = find_scenario_files(inputs)
    out_dir = Path(os.path.abspath(out))
    claims = _prepare_out(out_dir)
    cache = numba_cache_setting(numba_cache)
    context = TaskContext(
        str(out_dir),
        cache,
        force,
        batch_id=new_batch_id(),
        started_utc=utc_now(),
        draws=draws,
    )
    if not claims:
        print(
            f"warning: the filesystem of {out_dir} cannot lock files, so runs are not "
            "claimed: run one batch at a time on this folder",
            file=sys.stderr,
        )
    _remove_leftovers(out_dir)
    started = time.perf_counter()
    show = sys.stderr.isatty() if progress is None else progress
    driver = _Driver(context, files, _RunProgress(show))
    interrupted = False
    with batch_running_here(out_dir, context.batch_id):
        try:
            with dask_client(scheduler, workers, threads_per_worker) as client:
                client.register_plugin(numba_environment_plugin(context.numba_cache))
                if progress is not False:  # once Dask is there: a missing one is the only line
                    _announce_compile(cache)
                interrupted = driver.run(client)
                if not interrupted:
                    driver.write_outputs(client)
        except KeyboardInterrupt:
            interrupted = True
        if interrupted:
            # Written last, once the cluster is down, so that it lists every run a
            # worker finished while the batch was stopping.
            driver.write_manifest_from_folders()
    summary = driver.summary(interrupted)
    summary.wall_time_s = time.perf_counter() - started
    return summary


def _announce_compile(cache: str) -> None:
    """Say on stderr that the workers will compile the kernel first, when its cache (as this
    machine sees it) holds no compiled code for this install: a minute or more of silence
    otherwise looks like a hung batch."""
    from sct_engine.engine.kernel import kernel_compiled

    base = kernel_cache_base(cache)
    if not kernel_compiled(base):
        print(
            f"sct batch: compiling the simulation kernel into {base} first (once per install "
            "or upgrade, a minute or more); later runs and batches load it from there",
            file=sys.stderr,
            flush=True,
        )


def new_batch_id() -> str:
    """An id for one invocation: when it started (UTC) and a random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def _prepare_out(out: Path) -> bool:
    """Create the batch folder; return whether its filesystem can lock files.

    Raises :class:`BatchOutputError` naming the path and the fix when ``out``
    (or a file the batch writes in it) cannot be used.
    """
    fix = "Fix: give --out a folder you can write to (it is created if missing)"
    if out.exists() and not out.is_dir():
        raise BatchOutputError(f"--out {out}: is a file, not a folder. {fix}")
    for name, want_dir in (
        (RUNS_DIR, True),
        (RESULTS_DIR, True),
        (LOCKS_DIR, True),
        (MANIFEST_PARQUET, False),
        (MANIFEST_CSV, False),
    ):
        path = out / name
        if path.exists() and path.is_dir() != want_dir:
            kind = "a file" if want_dir else "a folder"
            raise BatchOutputError(
                f"{path}: is {kind}, where the batch keeps its own {name}. Fix: move it "
                "away, or give --out another folder"
            )
    try:
        (out / RUNS_DIR).mkdir(parents=True, exist_ok=True)
        return locks_work(out)
    except OSError as err:
        where = err.filename or out
        raise BatchOutputError(
            f"--out {out}: cannot write {where} ({err.strerror}). {fix}"
        ) from None


def _remove_leftovers(out: Path) -> None:
    """Delete temporary folders that stopped batches left behind, never a live batch's.

    A run's temporary folder exists only while its claim is held, so one whose
    claim is free is a leftover; ``.results-*`` folders exist only while the
    outputs lock is held (if another batch holds it now, they wait for next time).
    """
    for path in (out / RUNS_DIR).glob(".*"):
        match = _RUN_LEFTOVER.match(path.name)
        if match is None:
            continue
        claim = try_claim(out, match["run_id"], "a batch removing leftovers")
        if isinstance(claim, str):
            continue  # a live batch is writing it
        with claim:
            shutil.rmtree(path, ignore_errors=True)
    with outputs_lock(out, wait=False) as locked:
        for path in out.glob(".results-*") if locked else []:  # else: next time
            shutil.rmtree(path, ignore_errors=True)


class _Driver:
    """Keeps a bounded window of tasks in flight and records what comes back.

    First one worker loads (or compiles) the kernel; then one task per file
    runs it, and the points of sweep files come back as further tasks. At most
    ``window`` tasks are in flight at once, so ten thousand files never flood
    the scheduler. A run another batch holds comes back as claimed and is
    submitted again after ``CLAIM_RETRY_S``. The manifest is rewritten after
    each wave of ``window`` finished runs (at most every ``MANIFEST_EVERY_S``
    seconds), when stopped, and at the end.
    """

    def __init__(self, context: TaskContext, files: list[Path], progress: _RunProgress) -> None:
        self.client: Client
        self.context = context
        self.out = Path(context.out_dir)
        self.progress = progress
        self.window = 16
        self.files = deque(base_run_ids(files).items())
        self.unread: dict[str, RunSpec] = {b: RunSpec(b, str(p)) for p, b in self.files}
        self.points: deque[RunSpec] = deque()
        self.specs: dict[str, RunSpec] = dict(self.unread)
        self.records: dict[str, dict[str, Any]] = {}
        self.in_flight: dict[Future, tuple[str, RunSpec]] = {}
        self.deferred: deque[tuple[float, str, RunSpec]] = deque()
        self.holders: set[str] = set()
        self.warm = False
        self.skipped = 0
        self.listed = 0
        self.unreadable: list[str] = []
        self.folders = finished_runs(self.out)  # what other batches left, for the manifest
        self._since_manifest = 0
        self._manifest_at = time.monotonic()
        progress.add(len(self.files))

    def run(self, client: Client) -> bool:
        """Run every planned run; return whether the batch was interrupted."""
        from distributed import as_completed

        self.client = client
        self.window = max(4 * sum(client.nthreads().values()), 16)
        try:
            with self.progress:
                completed = as_completed()
                self._submit(completed, "warm_up", RunSpec("", ""), warm_up_engine, self.context)
                while True:
                    for future in completed:
                        kind, spec = self.in_flight.pop(future)
                        if kind == "warm_up":
                            self.warm = True  # if it failed, every run will say why
                        elif kind == "file":
                            self._file_done(future, spec)
                        else:
                            self._finished(kind, spec, self._outcome(future, spec))
                        self._top_up(completed)
                    if not self.deferred:
                        return False
                    time.sleep(max(0.0, self.deferred[0][0] - time.monotonic()))
                    self._top_up(completed)
        except KeyboardInterrupt:
            for future in self.in_flight:
                future.cancel()
            return True

    def _submit(self, completed: Any, kind: str, spec: RunSpec, task: Callable, *args: Any) -> None:
        future = self.client.submit(task, *args, pure=False)
        self.in_flight[future] = (kind, spec)
        completed.add(future)

    def _top_up(self, completed: Any) -> None:
        while self.warm and len(self.in_flight) < self.window:
            if self.points:  # sweep points first: they were planned earliest
                spec = self.points.popleft()
                self._submit_run(completed, "point", spec)
            elif self.files:
                _, base_id = self.files.popleft()
                self._submit_run(completed, "file", self.unread[base_id])
            elif self.deferred and self.deferred[0][0] <= time.monotonic():
                _, kind, spec = self.deferred.popleft()
                self._submit_run(completed, kind, spec)
            else:
                return

    def _submit_run(self, completed: Any, kind: str, spec: RunSpec) -> None:
        if kind == "file":
            self._submit(completed, kind, spec, run_file, spec.file, spec.run_id, self.context)
        else:
            self._submit(completed, kind, spec, execute_run, spec, self.context)

    def _file_done(self, future: Future, spec: RunSpec) -> None:
        outcome = self._outcome(future, spec)
        if isinstance(outcome, dict):
            self._finished("file", spec, outcome)
            return
        self.unread.pop(spec.run_id)
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
            return record_failure(
                spec, _lost_text(spec.file, err), self.context, time.perf_counter()
            )

    def _finished(self, kind: str, spec: RunSpec, record: dict[str, Any]) -> None:
        if CLAIMED_BY in record:  # another batch is writing it: ask again later
            self.holders.add(record[CLAIMED_BY])
            self.deferred.append((time.monotonic() + CLAIM_RETRY_S, kind, spec))
            return
        self.unread.pop(spec.run_id, None)
        if record.pop("skipped", False):
            self.skipped += 1
        self.records[spec.run_id] = record
        self.progress.finished(record["status"], self.skipped)
        self._since_manifest += 1
        now = time.monotonic()
        if self._since_manifest >= self.window and now - self._manifest_at >= MANIFEST_EVERY_S:
            with outputs_lock(self.out, wait=False) as locked:
                if locked:  # else another batch is writing them; try after the next wave
                    write_manifest(
                        self.out, self._manifest_records({**self.folders, **self.records})
                    )
                    self._since_manifest, self._manifest_at = 0, now

    def _manifest_records(self, folders: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """Every finished run folder's record, and this batch's runs not yet finished as pending.

        ``folders`` is the latest known record of each run folder. A run this
        batch planned but has not finished shows as pending unless its folder
        was written after this batch started (by another batch).
        """
        records = dict(folders)
        for run_id, spec in self.specs.items():
            if run_id in self.records:
                records.setdefault(run_id, self.records[run_id])
                continue
            folder = records.get(run_id)
            if folder is None or not finished_after(folder, self.context.started_utc):
                records[run_id] = {
                    "run_id": spec.run_id,
                    "status": PENDING,
                    "file": spec.file,
                    "sweep": spec.sweep,
                    "sweep_values": dict(spec.point or {}),
                    "batch_id": self.context.batch_id,
                }
        self.listed = len(records)
        return list(records.values())

    def write_manifest_from_folders(self) -> None:
        """Write the manifest from every run folder as it is now (waits for other writers)."""
        with outputs_lock(self.out):
            write_manifest(self.out, self._manifest_records(finished_runs(self.out)))

    def write_outputs(self, client: Client) -> None:
        """Write the manifest and build ``results/`` from every done run folder, then swap it in.

        Both are written under the outputs lock, from one reading of the run
        folders, so two batches finishing together leave the later view.
        """
        with outputs_lock(self.out):
            records = self._manifest_records(finished_runs(self.out))
            write_manifest(self.out, records)
            done = sorted((r for r in records if r["status"] == DONE), key=lambda r: r["run_id"])
            if not done:
                return
            kinds = sweep_kinds(done)
            building = self.out / f".results-{uuid.uuid4().hex[:8]}"
            parts = [
                done[i : i + RESULTS_PART_RUNS] for i in range(0, len(done), RESULTS_PART_RUNS)
            ]
            futures = [
                client.submit(
                    write_results_part, self.context, str(building), k, part, kinds, pure=False
                )
                for k, part in enumerate(parts)
            ]
            self.unreadable = sorted(run_id for left in client.gather(futures) for run_id in left)
            final = self.out / RESULTS_DIR
            if final.exists():
                aside = self.out / f".results-old-{uuid.uuid4().hex[:8]}"
                os.rename(final, aside)
                shutil.rmtree(aside, ignore_errors=True)
            if building.exists():
                os.rename(building, final)

    def summary(self, interrupted: bool) -> BatchSummary:
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
            listed=self.listed,
            unreadable=self.unreadable,
            shared_with=sorted(self.holders),
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
