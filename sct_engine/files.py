"""Reading input files within limits and writing outputs whole or not at all.

Scenarios, CSV tables and histories come from other people, and batches read
hundreds of them unattended, so every input file is read the same way: only a
regular file (never a folder, a device or a named pipe, which could hang or
never end), at most :data:`MAX_FILE_BYTES`, and a CSV table of at most
:data:`MAX_TABLE_ROWS` rows whose rows line up with its header. Outputs are
checked before any work starts (never one of the command's inputs or another of
its outputs, by resolved path, and named with their format's ending) and
written to a temporary name beside their destination, then renamed into
place, so a failure never leaves a half-written file and existing outputs stay
as they were. Text written into a spreadsheet (a workbook cell, a CSV cell) is
always text, never a live formula (:func:`text_cell`, :func:`csv_text`).
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sct_engine.errors import OutputError, Problem, ScenarioError, excerpt

if TYPE_CHECKING:
    import pandas as pd
    from openpyxl.cell.cell import Cell

#: Largest scenario YAML, organisations CSV or history CSV read; hand-written files are far smaller.
MAX_FILE_BYTES = 5 * 1024 * 1024
#: Most data rows of a CSV table (organisations or organisation-years).
MAX_TABLE_ROWS = 20_000
#: Largest £m figure in size any input may hold (£1,000 trillion): float64 sums and squares
#: of many such figures over billions of draws stay finite, with a wide margin.
MAX_MONEY = 1e9

#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP's list): such
#: text cells are written with a leading single quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Most characters Excel holds in one cell; longer text would be cut short in a workbook.
MAX_CELL_CHARS = 32_767

#: Longest output file name, in bytes: file systems allow 255, and the temporary name written
#: first adds a dot, a random part and ``.tmp``.
MAX_NAME_BYTES = 200

#: What a path that is not a regular file is, by ``stat`` file type.
_NOT_A_FILE = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


# --- reading -------------------------------------------------------------------------


def read_limited(
    path: Path,
    file: str,
    field: str,
    not_found_fix: str,
    limit: int | None = None,
    shown: str | None = None,
) -> bytes:
    """The bytes of a regular file of at most ``limit`` (default :data:`MAX_FILE_BYTES`)
    bytes; ScenarioError otherwise.

    A folder, a device, a named pipe or a socket is refused by name before it is
    opened; the file is opened without blocking and read at most ``limit + 1``
    bytes, so neither a pipe swapped in after the check nor a file that reports
    size 0 (``/proc``) can hang the reader or exhaust memory. ``shown`` is the
    path as the user wrote it, for messages (default ``path``).
    """

    def problem(message: str, fix: str) -> ScenarioError:
        return ScenarioError([Problem(file, field, message, fix)])

    limit = MAX_FILE_BYTES if limit is None else limit
    named = Path(path if shown is None else shown)
    shown = excerpt(named, 200)
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise problem(f"file not found: {shown}", not_found_fix) from None
    except (OSError, ValueError) as exc:
        raise problem(f"cannot read {shown}: {_reason(exc)}", not_found_fix) from None
    kind = _file_kind(info.st_mode)
    if kind:
        raise problem(f"{shown} is {kind}, not a file", f"name a file; {not_found_fix}")
    if info.st_size > limit:
        raise _too_large(file, field, named, info.st_size, limit)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise problem(f"cannot read {shown}: {_reason(exc)}", "check its permissions") from None
    try:
        if _file_kind(os.fstat(fd).st_mode):  # replaced since the check above
            raise problem(f"{shown} is not a regular file", f"name a file; {not_found_fix}")
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise problem(f"cannot read {shown}: {_reason(exc)}", "check its permissions") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _too_large(file, field, named, None, limit)
    return data


def read_csv_table(
    raw: bytes, file: str, field: str, name: str, max_rows: int | None = None
) -> pd.DataFrame:
    """A CSV table as text cells, every row checked against the header.

    ``name`` is how the table is written in messages (its path as given);
    ``max_rows`` defaults to :data:`MAX_TABLE_ROWS`. Blank
    lines are skipped; empty cells at the end of a row (a spreadsheet's trailing
    commas) are ignored and a short row's missing cells are empty. A row with
    more non-empty cells than the header has columns is an error naming the row,
    never a silent shift of its cells into the wrong columns. Raises ScenarioError.
    """
    import pandas as pd

    def problem(message: str, fix: str) -> ScenarioError:
        return ScenarioError([Problem(file, field, message, fix)])

    max_rows = MAX_TABLE_ROWS if max_rows is None else max_rows
    shown = excerpt(name, 200)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise problem(
            f"{shown} is not UTF-8 text (bad byte at offset {exc.start})",
            "save it as CSV (UTF-8) with a header row",
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[list[str]] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if header is None:
                header = _header(cells, shown, problem)
                continue
            number = len(rows) + 2  # the header is row 1, as a spreadsheet shows it
            if len(rows) >= max_rows:
                raise problem(
                    f"{shown} has more than {max_rows:,} rows, the limit",
                    "check that this is the right file, or split it into several smaller ones",
                )
            extra = [cell for cell in cells[len(header) :] if cell.strip()]
            if extra:  # never quoted: the file may not be a table at all (a key file, /proc)
                raise problem(
                    f"{shown} row {number} has {len(header) + len(extra)} cells but the header "
                    f"has {len(header)} columns",
                    "remove the extra cells or add their column to the header row; a cell "
                    'holding a comma must be in double quotes ("a, b")',
                )
            cells = cells[: len(header)]
            rows.append(cells + [""] * (len(header) - len(cells)))
    except csv.Error as exc:
        raise problem(
            f"{shown} is not a readable CSV table (line {reader.line_num}: {excerpt(exc, 80)})",
            "save it as CSV (UTF-8) with a header row; close every double quote",
        ) from None
    if header is None:
        raise problem(
            f"{shown} is not a readable CSV table (it is empty)",
            "save it as CSV (UTF-8) with a header row",
        )
    return pd.DataFrame(rows, columns=header, dtype=str)


def _header(
    cells: list[str], shown: str, problem: Callable[[str, str], ScenarioError]
) -> list[str]:
    """Column names of a header row: stripped, trailing empty ones dropped, none repeated."""
    names = [cell.strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    seen: dict[str, int] = {}
    for number, column in enumerate(names, start=1):
        if column in seen:  # named by position: the "header" may be a line of some other file
            raise problem(
                f"{shown} has the same name in columns {seen[column]} and {number} of its "
                "header row",
                "keep one column of each name in the header row",
            )
        seen[column] = number
    return names


def _file_kind(mode: int) -> str:
    """``""`` for a regular file, else what it is (``"a folder"``, ``"a device"``, ...)."""
    if stat.S_ISREG(mode):
        return ""
    for test, kind in _NOT_A_FILE:
        if test(mode):
            return kind
    return "not a regular file"


def _too_large(file: str, field: str, path: Path, size: int | None, limit: int) -> ScenarioError:
    amount = f"is {size:,} bytes" if size is not None else f"holds more than {limit:,} bytes"
    return ScenarioError(
        [
            Problem(
                file,
                field,
                f"{excerpt(Path(path).name, 80)} {amount}, above the limit of {limit:,} bytes",
                "check that this is the right file; a file this large should be split into "
                "several smaller ones",
            )
        ]
    )


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else excerpt(exc, 80)


# --- writing -------------------------------------------------------------------------


def check_output_folder(path: str | os.PathLike[str], option: str) -> Path:
    """Refuse, before any work, an output folder that cannot be created or written.

    Checks that ``path`` is a folder or can be made one (no file, device or
    non-folder in the way) and that a file can be created where it will be,
    by creating and removing an empty folder there. Raises OutputError.
    """
    out = Path(path)
    existing = _nearest_existing(out, option)
    if existing == out and not out.is_dir():
        raise OutputError(
            option,
            str(out),
            f"is {_kind_of(out)}, not a folder",
            "give a folder name (it is created if missing); results are never written into a "
            "file or device",
        )
    _probe(existing, option, str(out))
    return out


def check_output_file(
    path: str | os.PathLike[str],
    option: str,
    example: str = "report.html",
    suffixes: Sequence[str] = (),
) -> Path:
    """Refuse, before any work, an output file that cannot be written (see :func:`check_output_folder`).

    An existing destination must be a regular file, which is then replaced whole;
    ``example`` is the file name a message suggests. ``suffixes`` are the endings
    of the format written (``(".html", ".htm")``): a name with another ending
    (``board.pdf`` for HTML) is refused with the right one suggested, so a file
    never holds a format its name does not say.
    """
    out = Path(path)
    if len(os.fsencode(out.name)) > MAX_NAME_BYTES:
        raise OutputError(
            option,
            excerpt(out, 120),
            f"has a file name of {len(os.fsencode(out.name)):,} bytes, longer than file "
            f"systems allow (with room for a temporary name: {MAX_NAME_BYTES})",
            f"give a shorter name, e.g. {example}",
        )
    existing = _nearest_existing(out, option)
    if existing == out:
        if out.is_dir():
            raise OutputError(option, str(out), "is a folder", f"give a file name, e.g. {example}")
        if _file_kind(out.stat().st_mode):
            raise OutputError(
                option,
                str(out),
                f"is {_kind_of(out)}, not a regular file",
                "give the name of a file to create or replace",
            )
        existing = out.parent
    if suffixes and out.suffix.lower() not in suffixes:
        right = out.with_suffix(suffixes[0]).name if out.name else example
        raise OutputError(
            option,
            str(out),
            f"does not end in {' or '.join(suffixes)}, the format written",
            f"give a name ending in {suffixes[0]}, e.g. {right}",
        )
    _probe(existing, option, str(out))
    return out


def check_destinations(
    outputs: Iterable[tuple[str, str | os.PathLike[str]]],
    inputs: Iterable[tuple[str, str | os.PathLike[str]]],
) -> None:
    """Refuse, before any work, an output that is one of the command's inputs or another
    of its own outputs.

    ``outputs`` are (option, path) of every file the command will write (for a
    folder, each file it writes there); ``inputs`` (what, path) of every file it
    reads (``("the scenario", path)``, its CSV tables, a history). Paths are
    compared resolved: symbolic links, ``..`` and a second (hard-linked) name of
    the same file all count as that file. Raises OutputError naming the option,
    the path and what it would have replaced.
    """
    read: list[tuple[str, tuple[object, ...]]] = []
    for what, path in inputs:
        read += [(what, key) for key in _identities(Path(path))]
    written: dict[tuple[object, ...], str] = {}
    for option, path in outputs:
        out = Path(path)
        keys = _identities(out)
        for what, key in read:
            if key in keys:
                raise OutputError(
                    option,
                    str(out),
                    f"is {what}, an input of this command; an output never replaces an input",
                    "give the output another name (or folder)",
                )
        for key in keys:
            if key in written:
                raise OutputError(
                    option,
                    str(out),
                    f"is also where {written[key] or 'another output'} is written; each output "
                    "needs a file of its own",
                    "give each output its own name",
                )
        written.update(dict.fromkeys(keys, option))


def _identities(path: Path) -> list[tuple[object, ...]]:
    """What identifies a file: its resolved path, and its device and inode when it exists."""
    try:
        keys: list[tuple[object, ...]] = [("path", os.path.normcase(os.path.realpath(path)))]
    except (OSError, ValueError):
        return []
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return keys
    return [*keys, ("inode", info.st_dev, info.st_ino)]


def write_file_atomically(
    path: str | os.PathLike[str], write: Callable[[Path], object], option: str
) -> Path:
    """Write a file through ``write(temporary path)`` beside it, then rename it into place.

    The temporary name keeps the destination's suffix (writers pick a format
    from it). On any failure the temporary file is removed, the destination is
    unchanged and OutputError names the path.
    """
    out = check_output_file(path, option)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_failed(option, out, exc) from None
    tmp = out.parent / f".{out.stem}.{secrets.token_hex(6)}.tmp{out.suffix}"
    try:
        write(tmp)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _write_failed(option, out, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def write_folder_atomically(
    path: str | os.PathLike[str], files: Mapping[str, Callable[[Path], object]], option: str
) -> Path:
    """Write several files into a folder, all of them or none.

    ``files`` maps each file name to ``write(path)``. They are written into a
    hidden staging folder first: beside the destination when it does not exist
    yet (the staging folder is then renamed into place), inside it when it
    does (so that it is on the same file system even when the destination is a
    mount point). Into an existing folder, each old version is kept under a
    second name in a hidden folder there and each new file renamed over it; if
    any step fails, the old versions are renamed back (new files without one are
    removed), so the folder holds the old outputs or the new ones, never a mix,
    and every name always holds a whole file. Other files in an
    existing folder are left alone. On failure OutputError names the path.
    """
    out = check_output_folder(path, option)
    existed = out.is_dir()
    try:
        if not existed:
            out.parent.mkdir(parents=True, exist_ok=True)
        stage = (out if existed else out.parent) / f".{out.name}.{secrets.token_hex(6)}.tmp"
        stage.mkdir()
    except OSError as exc:
        raise _write_failed(option, out, exc) from None
    try:
        for name, write in files.items():
            write(stage / name)
        if not existed:
            try:
                stage.rename(out)
                return out
            except OSError:  # the folder appeared meanwhile: swap the files in one by one
                out.mkdir(parents=True, exist_ok=True)
        _swap_files_in(stage, out, list(files), option)
    except OSError as exc:
        raise _write_failed(option, out, exc) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out


def _swap_files_in(stage: Path, out: Path, names: list[str], option: str) -> None:
    """Replace ``names`` in ``out`` with those in ``stage``: all of them, or (on an error,
    which is raised) none, the old versions being put back.

    Each old version is first kept under a second name (a hard link, or a copy where the
    file system has none) in a hidden folder, and the new file then renamed over it, so
    every name in ``out`` always holds a whole file, old or new, even if the process dies.
    """
    old = out / f".{out.name}.{secrets.token_hex(6)}.old"
    old.mkdir()
    kept: set[str] = set()
    placed: list[str] = []
    try:
        for name in names:
            if os.path.lexists(out / name):
                _keep(out / name, old / name)
                kept.add(name)
            os.replace(stage / name, out / name)
            placed.append(name)
    except BaseException:
        try:
            for name in placed:
                if name in kept:
                    os.replace(old / name, out / name)
                else:
                    (out / name).unlink(missing_ok=True)
        except OSError as exc:
            raise OutputError(
                option,
                str(out),
                f"could not be written ({_reason(exc)}), and the previous files could not all "
                f"be put back: they are in {old}",
                "move them back into the folder, check its free space and permissions, then "
                "run again",
            ) from None
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _keep(path: Path, backup: Path) -> None:
    """A second name for ``path`` at ``backup``: a hard link, else a copy."""
    try:
        os.link(path, backup, follow_symlinks=False)
    except OSError:
        shutil.copy2(path, backup, follow_symlinks=False)


def _nearest_existing(out: Path, option: str) -> Path:
    """``out`` if it exists, else its nearest existing parent, which must be a folder."""
    candidate = Path(os.path.abspath(out))
    while True:
        try:
            os.stat(candidate)
        except FileNotFoundError:
            if candidate.parent == candidate:
                break
            candidate = candidate.parent
            continue
        except (OSError, ValueError) as exc:
            raise OutputError(
                option, str(out), f"cannot be used ({_reason(exc)})", "choose another path"
            ) from None
        break
    if candidate != Path(os.path.abspath(out)) and not candidate.is_dir():
        raise OutputError(
            option,
            str(out),
            f"cannot be created because {excerpt(candidate, 200)} is {_kind_of(candidate)}, "
            "not a folder",
            "choose a path whose parent folders are folders",
        )
    return out if candidate == Path(os.path.abspath(out)) else candidate


def _probe(folder: Path, option: str, shown: str) -> None:
    """Create and remove an empty folder in ``folder``: the one sure test that it is writable."""
    probe = folder / f".sct-write-check-{secrets.token_hex(6)}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise OutputError(
            option,
            shown,
            f"cannot be written ({_reason(exc)} in {excerpt(folder, 200)})",
            "choose a folder you can write to",
        ) from None


def _kind_of(path: Path) -> str:
    try:
        return _file_kind(path.stat().st_mode) or "a file"
    except OSError:
        return "not usable"


def _write_failed(option: str, out: Path, exc: OSError) -> OutputError:
    return OutputError(
        option,
        str(out),
        f"could not be written ({_reason(exc)}); nothing was changed",
        "check the free space and permissions of its folder, then run again",
    )


# --- text that stays text in spreadsheets ------------------------------------------------


def text_cell(cell: Cell, value: Any) -> Cell:
    """Put ``value`` into a workbook cell, text stored as text (openpyxl data type ``s``).

    openpyxl would make text starting with ``=`` a live formula; a name such as
    ``=HYPERLINK(...)`` or ``-2+3`` stays the text it is, and reads back exactly.
    Characters a workbook cannot hold (control characters, refused in scenarios)
    are replaced by U+FFFD rather than failing the whole file.
    """
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        cell.value = value
        cell.data_type = "s"
    else:
        cell.value = value
    return cell


def csv_text(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: text starting with ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return gets a leading single quote (as spreadsheet-safe exporters do,
    after OWASP's CSV injection advice); numbers and every other value are unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a table as CSV (no index) with every text cell and column name through
    :func:`csv_text`; numeric columns, negative numbers included, are written as numbers."""
    import pandas as pd

    safe = frame.copy(deep=False)
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            safe[column] = values.map(csv_text)
    safe.columns = [csv_text(name) for name in frame.columns]
    safe.to_csv(path, index=False)
