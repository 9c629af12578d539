"""Size limits of scenario input: the largest file read (and workbook unpacked), the most organisations.

A hand-written scenario is far below both; the limits turn a wrong file (or a
typo in a generator) into a clear message instead of a long wait.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sct_engine.errors import Problem, ScenarioError

#: Largest scenario YAML or organisations CSV read; hand-written files are far smaller.
MAX_FILE_BYTES = 5 * 1024 * 1024
#: Largest scenario workbook once unpacked (an .xlsx is a zip archive of XML parts): the
#: 5 MiB file limit alone would let a small file unpack to gigabytes.
MAX_WORKBOOK_UNZIPPED_BYTES = 64 * 1024 * 1024
#: Most organisations in one scenario (England has a few hundred NHS bodies).
MAX_ORGANISATIONS = 20_000


def read_limited(path: Path, file: str, field: str, not_found_fix: str) -> bytes:
    """The bytes of a scenario or CSV file, refusing a missing or oversized one."""
    if not path.is_file():
        raise ScenarioError([Problem(file, field, f"file not found: {path}", not_found_fix)])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ScenarioError(
            [
                Problem(
                    file,
                    field,
                    f"{path.name} is {size:,} bytes, above the limit of {MAX_FILE_BYTES:,} bytes",
                    "check that this is the right file; a scenario this large should be split "
                    "into several smaller ones",
                )
            ]
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ScenarioError(
            [Problem(file, field, f"cannot read {path}: {exc.strerror}", "check its permissions")]
        ) from None


def check_organisation_count(data: dict[str, Any], file: str) -> None:
    """Refuse a scenario too large to be real before spending time validating it."""
    systems = data.get("systems")
    if not isinstance(systems, list):
        return
    count = sum(
        len(s["organisations"])
        for s in systems
        if isinstance(s, dict) and isinstance(s.get("organisations"), list)
    )
    if count > MAX_ORGANISATIONS:
        raise ScenarioError([too_many_organisations(file, "systems", count)])


def too_many_organisations(file: str, field: str, count: int) -> Problem:
    return Problem(
        file,
        field,
        f"{count:,} organisations is above the limit of {MAX_ORGANISATIONS:,}",
        "split the scenario into several files, e.g. one per region",
    )
