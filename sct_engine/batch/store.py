"""Parquet I/O of a batch folder: the manifest (one row per run) and the combined results.

Both are views rebuilt from every finished folder under ``runs/``, whichever
batch wrote it; the manifest is written by rename, so a kill never leaves it
half-written. :func:`write_results_part` is a worker task, imported by Dask
from this module's path.

Seeds are kept as decimal text (a scenario accepts any non-negative integer,
beyond what a 64-bit column holds), and so is a ``sweep.<path>`` column whose
values a float64 column would round.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sct_engine.batch.layout import (
    MANIFEST_CSV,
    MANIFEST_PARQUET,
    RESULT_TABLES,
    RESULTS_DIR,
    RUNS_DIR,
    TaskContext,
)
from sct_engine.batch.records import read_run_record
from sct_engine.files import write_csv

if TYPE_CHECKING:
    import pandas as pd

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
    "batch_id",
]

#: Leading columns of each combined results table; ``sweep.<path>`` columns follow.
RESULT_RUN_COLUMNS = ["run_id", "file", "sweep", "batch_id"]
#: How a ``sweep.<path>`` column is stored: float64, or decimal text when a value
#: (an integer beyond 2**53, e.g. a seed) would not survive float64.
FLOAT, TEXT = "float", "text"
#: Tries at reading a run folder that another batch is replacing at that moment.
_READ_ATTEMPTS = 5


class BatchOutputError(ValueError):
    """A batch folder, or a file in it, that cannot be used: the message names it and the fix."""


def write_results_part(
    context: TaskContext,
    folder: str,
    index: int,
    records: Sequence[Mapping[str, Any]],
    kinds: Mapping[str, str],
) -> list[str]:
    """Write part ``index`` of each combined table from the given done runs.

    Every part has the same columns in the same order (run columns, one
    ``sweep.<path>`` column per path swept anywhere, of the kind given in
    ``kinds`` (see :func:`sweep_kinds`), then the table's own), so the parts read back as one
    dataset. Returns the ids of runs left out because their tables could not
    be read (a damaged folder), so the caller can say so.
    """
    import pandas as pd

    tables: dict[str, list[pd.DataFrame]] = {table: [] for table in RESULT_TABLES}
    unreadable = []
    for record in records:
        run_tables = _run_tables(context.runs / record["run_id"])
        if run_tables is None:
            unreadable.append(record["run_id"])
            continue
        for table, frame in run_tables.items():
            for k, name in enumerate(RESULT_RUN_COLUMNS):
                frame.insert(k, name, _text_column([record.get(name)] * len(frame)))
            for k, (path, kind) in enumerate(kinds.items()):
                value = (record.get("sweep_values") or {}).get(path)
                column = _sweep_column([value] * len(frame), kind)
                frame.insert(len(RESULT_RUN_COLUMNS) + k, SWEEP_COLUMN_PREFIX + path, column)
            tables[table].append(frame)
    for table, frames in tables.items():
        if not frames:
            continue
        target = Path(folder) / table
        target.mkdir(parents=True, exist_ok=True)
        combined = pd.concat(frames, ignore_index=True)
        combined.to_parquet(target / f"part-{index:05d}.parquet", index=False)
    return unreadable


def _run_tables(folder: Path) -> dict[str, pd.DataFrame] | None:
    """A done run's tables, or None if they cannot be read.

    Another batch may be replacing the folder (the old one is moved aside just
    before the new one is renamed in), so a missing file is tried again.
    """
    import pandas as pd

    for attempt in range(_READ_ATTEMPTS):
        try:
            return {t: pd.read_parquet(folder / f"{t}.parquet") for t in RESULT_TABLES}
        except FileNotFoundError:
            time.sleep(0.05 * 2**attempt)
        except (OSError, ValueError):
            return None
    return None


def manifest_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run: status, error, scenario hash, seed, draws, engine version, times.

    Columns have fixed types whatever the records hold (a record written by
    hand or by an older version cannot stop the manifest being written): text,
    except ``draws`` (Int64) and the times (float64); ``seed`` is text.
    """
    import pandas as pd

    ordered = sorted(records, key=lambda r: r["run_id"])
    columns: dict[str, Any] = {}
    for name in MANIFEST_COLUMNS:
        values = [r.get(name) for r in ordered]
        if name == "draws":
            columns[name] = pd.Series([_as_int(v) for v in values], dtype="object").astype("Int64")
        elif name in ("wall_time_s", "simulate_time_s"):
            columns[name] = pd.Series([_as_float(v) for v in values], dtype="float64")
        else:
            columns[name] = _text_column(values)
    for path, kind in sweep_kinds(ordered).items():
        values = [(r.get("sweep_values") or {}).get(path) for r in ordered]
        columns[SWEEP_COLUMN_PREFIX + path] = _sweep_column(values, kind)
    return pd.DataFrame(columns)


def _text_column(values: Sequence[Any]) -> Any:
    import pandas as pd

    return pd.Series([None if v is None else _number_text(v) for v in values], dtype="string")


def _as_int(value: Any) -> int | None:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    return value if is_int and abs(value) < 2**63 else None


def _as_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.nan


def write_manifest(out: Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Write ``manifest.parquet`` and ``manifest.csv``, each by rename so never half-written."""
    frame = manifest_frame(records)
    _write_by_rename(out / MANIFEST_PARQUET, lambda p: frame.to_parquet(p, index=False))
    _write_by_rename(out / MANIFEST_CSV, partial(write_csv, frame))


def finished_runs(out: Path) -> dict[str, dict[str, Any]]:
    """The record of every finished run folder under ``out/runs/``, by run id.

    Hidden folders (runs being written) and folders without a readable run
    record are left out.
    """
    runs = Path(out) / RUNS_DIR
    found = {}
    for folder in sorted(runs.iterdir()) if runs.is_dir() else []:
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        record = read_run_record(folder)
        if record is not None:
            found[folder.name] = {**record, "run_id": folder.name}
    return found


def read_manifest(out: str | os.PathLike[str]) -> pd.DataFrame:
    """The manifest of a batch folder; :class:`BatchOutputError` if it cannot be read."""
    import pandas as pd

    path = Path(out) / MANIFEST_PARQUET
    if not path.is_file():
        raise BatchOutputError(
            f"{path}: there is no batch manifest here. Fix: give the --out folder of a batch"
        )
    try:
        manifest = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several kinds for a damaged file
        raise BatchOutputError(
            f"{path}: is not a readable batch manifest ({_first_line(err)}). Fix: run the "
            f"batch command again with --out {out}: it rebuilds the manifest from {RUNS_DIR}/"
        ) from None
    if not {"run_id", "status"} <= set(manifest.columns):
        raise BatchOutputError(
            f"{path}: is not a batch manifest (no run_id and status columns). Fix: run the "
            f"batch command again with --out {out}: it rebuilds the manifest from {RUNS_DIR}/"
        )
    return manifest


def read_results(out: str | os.PathLike[str], table: str) -> pd.DataFrame:
    """One combined table (``organisations``, ``systems`` or ``national``) of a batch folder."""
    import pandas as pd

    if table not in RESULT_TABLES:
        raise ValueError(f"unknown table {table!r}; choose one of {', '.join(RESULT_TABLES)}")
    path = Path(out) / RESULTS_DIR / table
    try:
        return pd.read_parquet(path)
    except Exception as err:
        raise BatchOutputError(
            f"{path}: cannot be read as combined results ({_first_line(err)}). Fix: run the "
            f"batch command again with --out {out}: it rebuilds them from {RUNS_DIR}/"
        ) from None


def sweep_kinds(records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Every path swept anywhere in the batch (first-seen order of sorted run ids), and how
    its column is stored: :data:`FLOAT`, or :data:`TEXT` if float64 would round a value."""
    kinds: dict[str, str] = {}
    for record in sorted(records, key=lambda r: r["run_id"]):
        for path, value in (record.get("sweep_values") or {}).items():
            exact = kinds.get(path, FLOAT) == FLOAT and _float_exact(value)
            kinds[path] = FLOAT if exact else TEXT
    return kinds


def _float_exact(value: Any) -> bool:
    if value is None or isinstance(value, float):
        return True
    try:
        return float(value) == value
    except (OverflowError, TypeError, ValueError):
        return False


def _sweep_column(values: Sequence[Any], kind: str) -> Any:
    import pandas as pd

    if kind == FLOAT:
        return pd.Series([_as_float(v) for v in values], dtype="float64")
    return _text_column(values)


def _number_text(value: Any) -> str:
    """Exact text of a value: a float's shortest round-trip form, an integer's digits."""
    return repr(value) if isinstance(value, float) else str(value)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def _write_by_rename(path: Path, write: Callable[[str], object]) -> None:
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        write(str(temporary))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
