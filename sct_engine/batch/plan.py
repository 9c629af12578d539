"""What a batch runs: scenario files from paths and globs, and a unique run id for each run.

Run ids name the folders under ``runs/``, so they are made filesystem-safe here
and kept unique across files with the same name and across sweep points.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_MAX_RUN_ID = 150
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


class BatchInputError(ValueError):
    """The paths or globs given to a batch name no scenario file."""


def find_scenario_files(inputs: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Absolute scenario paths from files, folders (their ``*.yaml``/``*.yml``) and globs.

    A glob or folder matching nothing is an error (it is almost always a typo); a
    plain path is kept even if missing, so the run records "file not found".
    """
    found: dict[Path, None] = {}
    for item in (os.fspath(path) for path in inputs):
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
        path: stem if counts[stem] == 1 else f"{stem}-{short_hash(str(path))}"
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


def _safe_id(text: str) -> str:
    return _ID_UNSAFE.sub("_", text).lstrip(".") or "scenario"


def short_hash(text: str, n: int = 8) -> str:
    """The first ``n`` hex digits of the SHA-256 of ``text``: a short id suffix."""
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def sweep_run_id(base_id: str, point: Mapping[str, float | int]) -> str:
    """The run id of one sweep point of the file whose run id is ``base_id``."""
    from sct_engine.scenario.sweep import point_slug

    slug = point_slug(point)
    run_id = f"{base_id}__{_safe_id(slug)}"
    return run_id if len(run_id) <= _MAX_RUN_ID else f"{base_id}__{short_hash(slug, 16)}"
