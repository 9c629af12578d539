"""Limits of scenario input: what a scenario may read, how big and how deep it may be.

A hand-written scenario is far below every limit; they turn a wrong file, a
typo in a generator or a hostile file into a clear message instead of a long
wait, an exhausted memory or a leaked file:

- **files**: a scenario reads only files in its own folder or below it
  (:func:`confined_path`), unless the caller widens that root on purpose;
- **size**: at most :data:`MAX_FILE_BYTES` a file (and
  :data:`MAX_WORKBOOK_UNZIPPED_BYTES` a workbook unpacked) and :data:`MAX_ORGANISATIONS`
  organisations;
- **shape**: at most :data:`MAX_DOCUMENT_NODES` values once YAML aliases are
  expanded, nested at most :data:`MAX_NESTING` deep, and no integer too large
  for any field (:func:`check_document`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sct_engine.errors import Problem, ScenarioError, excerpt, integer_digits
from sct_engine.files import MAX_FILE_BYTES, MAX_TABLE_ROWS, read_limited

__all__ = [
    "FILES_ROOT_ENV",
    "MAX_DOCUMENT_NODES",
    "MAX_FILE_BYTES",
    "MAX_INTEGER_BITS",
    "MAX_NESTING",
    "MAX_ORGANISATIONS",
    "MAX_TABLE_ROWS",
    "MAX_WORKBOOK_UNZIPPED_BYTES",
    "OverlongInteger",
    "check_document",
    "check_files_root",
    "check_organisation_count",
    "confined_path",
    "files_root_from_env",
    "read_limited",
    "too_many_organisations",
]

#: Largest scenario workbook once unpacked (an .xlsx is a zip archive of XML parts): the
#: 5 MiB file limit alone would let a small file unpack to gigabytes.
MAX_WORKBOOK_UNZIPPED_BYTES = 64 * 1024 * 1024
#: Most organisations in one scenario (England has a few hundred NHS bodies).
MAX_ORGANISATIONS = 20_000
#: Most values (numbers, texts, lists, mappings) in a scenario once YAML aliases are expanded.
MAX_DOCUMENT_NODES = 1_000_000
#: Deepest nesting of lists and mappings (a scenario needs 7: systems[i].correlation.matrix[r][c]).
MAX_NESTING = 32
#: Integers wider than this cannot be any field's value (seeds stop at 2**64 - 1).
MAX_INTEGER_BITS = 64
#: Environment variable naming a folder that scenarios may read files from (a trusted setup).
FILES_ROOT_ENV = "SCT_FILES_ROOT"

_ACCESS_DOCS = "see docs/scenario-format.md#file-access"


# --- files a scenario refers to ------------------------------------------------------


def files_root_from_env() -> Path | None:
    """The folder ``SCT_FILES_ROOT`` opens to scenarios, or None when it is not set."""
    value = os.environ.get(FILES_ROOT_ENV, "").strip()
    return check_files_root(value, FILES_ROOT_ENV) if value else None


def check_files_root(value: str | os.PathLike[str], given_as: str) -> Path:
    """The folder a caller opens to scenarios (``--files-root``, ``files_root=``,
    ``SCT_FILES_ROOT``), which must be an existing folder; ScenarioError otherwise.

    An empty text would mean the current folder, a file or a missing folder a typo: each is
    refused rather than opening something other than what was meant.
    """
    text = os.fspath(value)
    shown = excerpt(text, 120)
    fix = "give the folder scenarios may read files from, e.g. --files-root /data/scenarios"
    if not text.strip():
        raise _refused(given_as, "", "is empty; it must name an existing folder", fix)
    try:
        is_folder = os.path.isdir(text)
        exists = os.path.lexists(text)
    except ValueError:  # a NUL character
        is_folder = exists = False
    if not is_folder:
        what = "is not a folder" if exists else "does not exist"
        raise _refused(given_as, "", f"{shown} {what}; it must name an existing folder", fix)
    return Path(os.path.abspath(text))


def confined_path(
    written: str, base: Path | None, root: Path | None, file: str, field: str
) -> Path:
    """The path a scenario field names, if the scenario may read it; ScenarioError otherwise.

    ``base`` is the scenario file's folder (relative paths start there); ``root``
    the folder files must lie in: ``base`` unless the caller opened a wider one
    on purpose (``files_root``, ``--files-root``, ``SCT_FILES_ROOT``). Refused:
    an absolute path outside ``root`` (any absolute path without an opened
    root), a ``..`` that leaves it, and a symbolic link that points out of it.
    Whether the path is a regular file is checked when it is read.

    The path returned is the one checked, with every symbolic link resolved, so
    what is read is what was allowed (messages still quote the path as written).
    """
    allowed = root if root is not None else base
    shown = excerpt(written, 80)
    if allowed is None:
        raise _refused(
            file,
            field,
            f"'{shown}' has no scenario folder to be relative to",
            "pass source= (the scenario file's path) or files_root= to parse_scenario",
        )
    if "\0" in written:
        raise _refused(file, field, "the path contains a NUL character", "write a plain file name")
    allowed_real = Path(os.path.realpath(allowed))
    given = Path(written)
    if given.is_absolute() and root is None:
        raise _refused(
            file,
            field,
            f"'{shown}' is an absolute path; a scenario may only read files in its own folder "
            "or below it",
            "put the file beside the scenario (or in a folder below it) and write its name "
            "relative to the scenario, e.g. `members.csv`; to read from a wider trusted folder "
            f"use --files-root DIR; {_ACCESS_DOCS}",
        )
    candidate = Path(os.path.normpath(given if given.is_absolute() else (base or allowed) / given))
    lexical = Path(os.path.normpath(os.path.abspath(candidate)))
    allowed_lexical = Path(os.path.normpath(os.path.abspath(allowed)))
    if not (_inside(lexical, allowed_lexical) or _inside(lexical, allowed_real)):
        raise _refused(
            file,
            field,
            f"'{shown}' leads outside the folder scenarios may read ({excerpt(allowed, 120)})",
            "keep the file in the scenario's folder or below it, and do not climb out with `..`; "
            f"to read from a wider trusted folder use --files-root DIR; {_ACCESS_DOCS}",
        )
    real = Path(os.path.realpath(candidate))
    if not _inside(real, allowed_real):
        raise _refused(
            file,
            field,
            f"'{shown}' is a symbolic link (or passes through one) to a place outside the folder "
            f"scenarios may read ({excerpt(allowed, 120)})",
            "copy the file into the scenario's folder instead of linking to it; to read from a "
            f"wider trusted folder use --files-root DIR; {_ACCESS_DOCS}",
        )
    return real


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _refused(file: str, field: str, message: str, fix: str) -> ScenarioError:
    return ScenarioError([Problem(file, field, message, fix)])


# --- the document's shape ------------------------------------------------------------


class OverlongInteger:
    """Stands in for a YAML integer too long to convert (Python refuses over 4,300 digits),
    so that :func:`check_document` reports it at its field instead of a crash."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"a whole number of {self.digits:,} digits"


def check_document(data: Any, file: str) -> None:
    """Refuse data too large, too deep or holding integers too large for any field.

    Walks the data once, iteratively, and stops at the first limit crossed, so
    data built from YAML aliases (shared, even self-referring) costs at most
    :data:`MAX_DOCUMENT_NODES` steps. Problems name the field path.
    """
    problems = list(_document_problems(data))
    if problems:
        raise ScenarioError(
            [Problem(file, field, message, fix) for field, message, fix in problems]
        )


def _document_problems(data: Any) -> Iterator[tuple[str, str, str]]:
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    seen = 0
    too_large = 0
    while stack:
        value, path, depth = stack.pop()
        seen += 1
        if seen > MAX_DOCUMENT_NODES:
            yield (
                "",
                f"holds more than {MAX_DOCUMENT_NODES:,} values (counting every copy a YAML "
                "alias `*name` makes)",
                "write a smaller scenario: split it into several files, and do not build large "
                "lists or matrices out of aliases",
            )
            return
        if depth > MAX_NESTING:
            yield (
                _short_path(path),
                f"is nested more than {MAX_NESTING} lists or mappings deep",
                "a scenario nests at most a few levels (systems, organisations, correlation "
                "matrices); check the indentation and brackets, and that no alias refers to "
                "itself",
            )
            return
        if isinstance(value, OverlongInteger) or (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value.bit_length() > MAX_INTEGER_BITS
        ):
            digits = value.digits if isinstance(value, OverlongInteger) else integer_digits(value)
            too_large += 1
            if too_large <= 10:
                yield (
                    _short_path(path),
                    f"is a whole number of about {digits:,} digits, far too large for any field",
                    "write a number within the field's range (see docs/scenario-format.md)",
                )
        elif isinstance(value, dict):
            for key, child in reversed(list(value.items())):
                stack.append((child, _join(path, excerpt(key)), depth + 1))
        elif isinstance(value, list | tuple):
            for index in range(len(value) - 1, -1, -1):
                stack.append((value[index], f"{path}[{index}]", depth + 1))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _short_path(path: str) -> str:
    """A field path for a message: its start and end when it is absurdly long."""
    return path if len(path) <= 120 else f"{path[:60]}...{path[-50:]}"


# --- counts --------------------------------------------------------------------------


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
