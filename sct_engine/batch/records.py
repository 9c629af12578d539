"""A run's status record and its folder under ``runs/``, written whole or not at all.

Why a batch cannot lose finished work: a run is written to a hidden temporary
folder and renamed into place only when complete, with ``status.json``
(scenario hash, engine version, status) written last inside it. A folder under
``runs/`` is therefore always whole, and a done record for the same scenario
hash and engine version lets a rerun skip it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sct_engine.batch.layout import DONE, FAILED, STATUS_FILE
from sct_engine.batch.plan import RunSpec

if TYPE_CHECKING:
    from sct_engine.engine.results import Result


@cache
def engine_version() -> str:
    """The version of the code that produced a run: package version plus a source digest.

    The digest covers every module of the installed package (subpackages
    included), so a run done by an edited (development) install is not
    mistaken for one done by another; on a released install it never changes.
    Computed once per process.
    """
    from sct_engine.version import __version__, source_digest

    return f"{__version__}+src.{source_digest()[:12]}"


def make_record(
    spec: RunSpec,
    status: str,
    batch_id: str,
    provenance: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """The status record of a run, as written to ``status.json`` and the manifest.

    ``wall_time_s`` (reading, simulating and writing the run) is filled in by
    :func:`publish` just before the record is written. ``batch_id`` names the
    invocation that wrote it.
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
        "finished_utc": utc_now(),
        "batch_id": batch_id,
    }


def utc_now() -> str:
    """The time now, UTC, ISO 8601 to the millisecond (orders runs against a batch's start)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def still_valid(record: dict[str, Any] | None, scenario_hash: str) -> bool:
    """Whether a run's record is a done run of this scenario by this engine version."""
    return (
        record is not None
        and record.get("status") == DONE
        and record.get("scenario_hash") == scenario_hash
        and record.get("engine_version") == engine_version()
    )


def finished_after(record: Mapping[str, Any], started_utc: str) -> bool:
    """Whether a run's record was written after the moment ``started_utc`` (ISO 8601, UTC)."""
    try:
        return datetime.fromisoformat(str(record.get("finished_utc"))) >= datetime.fromisoformat(
            started_utc
        )
    except ValueError:
        return False


def publish_failure(
    folder: Path, spec: RunSpec, error: str, started: float, batch_id: str
) -> dict[str, Any]:
    """Publish a failed run with its error; return its record. The caller holds its claim."""
    record = make_record(spec, FAILED, batch_id, error=error)
    publish(folder, record, None, started)
    return record


def exception_text(file: str, err: BaseException) -> str:
    """The error recorded for an unexpected exception while running ``file``."""
    return f"{file}: {type(err).__name__}: {err}"


def read_run_record(folder: Path) -> dict[str, Any] | None:
    """A run folder's ``status.json``, or None when the run has not finished.

    A record that is not a run's record (a damaged or foreign file) counts as
    not finished: the run is done again, and the manifest leaves it out.
    """
    try:
        record = json.loads((folder / STATUS_FILE).read_text())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("run_id"), str):
        return None
    if record.get("status") not in (DONE, FAILED):
        return None
    return record


def publish(folder: Path, record: dict[str, Any], result: Result | None, started: float) -> None:
    """Write a run into a hidden temporary folder, then rename it to ``folder``.

    ``status.json`` goes in last, so any folder under ``runs/`` is complete.
    The caller holds the run's claim, so no other batch writes it meanwhile.
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
