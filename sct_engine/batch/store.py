"""Parquet I/O of a batch folder: the manifest (one row per run) and the combined results.

Both are views rebuilt from ``runs/``; the manifest is written by rename, so a
kill never leaves it half-written. :func:`write_results_part` is a worker task,
imported by Dask from this module's path.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sct_engine.batch.layout import (
    MANIFEST_CSV,
    MANIFEST_PARQUET,
    RESULT_TABLES,
    RESULTS_DIR,
    TaskContext,
)

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
]


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


def manifest_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run: status, error, scenario hash, seed, draws, engine version, times."""
    import pandas as pd

    paths = sweep_paths(records)
    rows = []
    for record in sorted(records, key=lambda r: r["run_id"]):
        row = {name: record.get(name) for name in MANIFEST_COLUMNS}
        for path in paths:
            row[SWEEP_COLUMN_PREFIX + path] = record.get("sweep_values", {}).get(path)
        rows.append(row)
    columns = MANIFEST_COLUMNS + [SWEEP_COLUMN_PREFIX + p for p in paths]
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


def sweep_paths(records: Sequence[Mapping[str, Any]]) -> list[str]:
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
