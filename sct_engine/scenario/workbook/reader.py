"""Reading a scenario workbook: the sheets of :mod:`.layout` -> the dict the YAML loader checks.

The reader only finds and converts cells; the scenario models check every value, as they do
for YAML. It records the cell each field came from, so that every problem (its own and the
models') names the sheet, the cell and the field: ``Organisations!F7 (sustainability_funding)``.

Excel specifics, each a clear message rather than a guess: formulas are read through the
values Excel saved with them (a formula never calculated, e.g. one written by a script, is
refused); error values (``#N/A``), dates in number columns, merged cells, hidden sheets and
hidden rows holding data, unknown sheets and columns are refused. Sheets whose names start
with ``Notes`` are the user's own and never read.

Memory is bounded whatever the workbook says its size is: it is opened in openpyxl's
read-only (streaming) mode, only the sheets of the layout are read, each only as wide as its
layout needs, and a sheet is read down to the first band of :data:`EMPTY_ROW_BAND` blank rows.
Every problem is reported at once (a cell's problems with the models' problems of the other
cells), each kind of problem at most :data:`MAX_SAME_PROBLEMS` times, then counted.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import iterparse

from sct_engine.errors import Problem, ScenarioError, did_you_mean, excerpt
from sct_engine.scenario import limits
from sct_engine.scenario.limits import read_limited, too_many_organisations
from sct_engine.scenario.workbook.layout import (
    ACTUALS,
    CORRELATION,
    CORRELATION_LABEL,
    FIELD_ROW,
    FIRST_DATA_ROW,
    INPUT_SHEETS,
    NOTES_PREFIX,
    OPTIONS,
    ORGANISATIONS,
    REQUIRED_SHEETS,
    SETTINGS,
    SETTINGS_FIELD_COLUMN,
    SETTINGS_HEADER,
    SETTINGS_VALUE_COLUMN,
    SHEETS,
    SYSTEMS,
    Column,
    Table,
    actuals_table,
    options_table,
    organisations_table,
    settings_columns,
    systems_table,
)

if TYPE_CHECKING:  # openpyxl is imported only when a workbook is read
    from openpyxl import Workbook

#: File endings read as workbooks; other spreadsheet formats get a "save as .xlsx" message.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
OTHER_SPREADSHEETS = (".xls", ".xlsb", ".ods", ".numbers")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_DOCS = "see docs/workbook.md"
#: A sheet is read down to the first run of this many blank rows: data never lies below such a
#: gap, and a stray cell near row 1,048,576 costs nothing.
EMPTY_ROW_BAND = 1000
#: Columns read to the right of a table's layout (a value there is reported, not read).
EXTRA_COLUMNS = 10
#: The same kind of problem (an unknown column, a bad cell) is listed this many times, then counted.
MAX_SAME_PROBLEMS = 10
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_SAVE_AS = "open it in Excel and save it as an Excel Workbook (.xlsx)"


@dataclass(frozen=True)
class WorkbookScenario:
    """A workbook's scenario fields, its bytes (for the content hash) and where each came from."""

    data: dict[str, Any]
    raw: bytes
    locate: Locator


@dataclass
class Locator:
    """Field paths -> the cell they were read from, to name cells in problems and warnings."""

    cells: dict[str, tuple[str, str]] = field(default_factory=dict)

    def add(self, path: str, where: str, name: str) -> None:
        """Record that ``path`` is at ``where`` (``Sheet!B7``), shown as ``name``."""
        self.cells[path] = (where, name)

    def add_parents(self, path: str, where: str, stop: str) -> None:
        """Claim the paths between ``stop`` and ``path`` for ``where`` if nothing holds them yet."""
        probe = _parent(path)
        while probe and probe != stop and len(probe) > len(stop):
            self.cells.setdefault(probe, (where, probe[len(stop) :].lstrip(".")))
            probe = _parent(probe)

    def place(self, path: str) -> str:
        """``Organisations!F7 (sustainability_funding)`` for a field path, or the path itself."""
        probe = path
        while probe:
            if probe in self.cells:
                where, name = self.cells[probe]
                rest = path[len(probe) :].lstrip(".")
                label = f"{name}{'.' if name and rest and not rest.startswith('[') else ''}{rest}"
                return f"{where} ({label})" if label else where
            probe = _parent(probe)
        return path

    def __call__(self, problem: Problem) -> Problem:
        """The problem with its field path replaced by the cell it names."""
        message = problem.message.replace("(got None)", "(the cell is blank)")
        if message == "required field is missing":
            return replace(
                problem,
                field=self.place(problem.field),
                message="is blank but required",
                fix=re.sub(r"^add `[^`]*`", "fill in this cell", problem.fix),
            )
        return replace(problem, field=self.place(problem.field), message=message)


def _parent(path: str) -> str:
    match = re.fullmatch(r"(.*?)(\[\d+\]|\.[^.\[\]]+)", path)
    return match.group(1) if match else ""


def is_workbook(path: Path) -> bool:
    """Whether ``path`` names an Excel workbook by its ending."""
    return path.suffix.lower() in WORKBOOK_SUFFIXES


def refuse_other_spreadsheet(path: Path, file: str) -> None:
    """A clear message for spreadsheet formats that are not .xlsx."""
    if path.suffix.lower() in OTHER_SPREADSHEETS:
        raise ScenarioError(
            [
                Problem(
                    file,
                    "",
                    f"is a {path.suffix} spreadsheet; scenario workbooks are .xlsx files",
                    _SAVE_AS,
                )
            ]
        )


def read_workbook(
    path: Path, file: str, check: Callable[[dict[str, Any]], list[Problem]] | None = None
) -> WorkbookScenario:
    """The scenario fields of a workbook; raise ScenarioError naming sheet, cell and field.

    Every problem comes at once: when cells are wrong, ``check`` (the models' validation of
    the fields read) adds the problems of the other cells, each located by its cell, so a
    user fixes the workbook in one round rather than one kind of problem at a time.
    """
    raw = read_limited(path, file, "", "check the file name and folder")
    values, formulas = _open(raw, file)
    reader = _Reader(file, values, formulas, raw)
    try:
        data = reader.scenario()
    finally:
        values.close()
        formulas.close()
    if reader.problems:
        problems = reader.finished_problems()
        if check is not None and not reader.structural:
            # The models' word on the other rows: a row with a bad cell is reported for that
            # cell only (its other fields' problems would follow from it), and a member left out
            # (its system unknown) would only make its correlation block look wrong.
            flagged = {_row_of(problem.field) for problem in problems}
            located = [reader.locate(problem) for problem in check(data)]
            problems += [
                p
                for p in located
                if _row_of(p.field) not in flagged
                and not (reader.dropped and p.field.startswith(f"{CORRELATION}!"))
            ]
        raise ScenarioError(problems)
    return WorkbookScenario(data, raw, reader.locate)


_ROW = re.compile(r"^(?P<sheet>[^!]+)!\$?(?:[A-Z]+)?\$?(?P<row>\d+)")


def _row_of(where: str) -> str:
    """``Organisations!7`` of ``Organisations!F7 (plan)``: the sheet row a problem names."""
    found = _ROW.match(where)
    return f"{found['sheet']}!{found['row']}" if found else where


def _open(raw: bytes, file: str) -> tuple[Workbook, Workbook]:
    """The workbook twice, streamed (read-only mode): with the values Excel saved, and with the
    formulas themselves. Nothing is read until a sheet's rows are."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise ScenarioError(
            [
                Problem(
                    file,
                    "",
                    "is not an .xlsx workbook (it is not the zip archive an .xlsx file is; an old "
                    ".xls file or a CSV renamed .xlsx looks like this)",
                    _SAVE_AS,
                )
            ]
        ) from None
    if unzipped > limits.MAX_WORKBOOK_UNZIPPED_BYTES:
        raise ScenarioError(
            [
                Problem(
                    file,
                    "",
                    f"unpacks to {unzipped:,} bytes, above the limit of "
                    f"{limits.MAX_WORKBOOK_UNZIPPED_BYTES:,} bytes",
                    "check that this is the right file; split a scenario this large into several",
                )
            ]
        )
    try:
        with warnings.catch_warnings():
            # openpyxl warns about Excel features it drops (extensions, slicers): not our concern.
            warnings.simplefilter("ignore")
            values = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
            formulas = load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds of error on a damaged file
        raise ScenarioError([_damaged(file, exc)]) from None
    return values, formulas


def _damaged(file: str, exc: Exception) -> Problem:
    return Problem(
        file,
        "",
        f"cannot be read as an Excel workbook ({type(exc).__name__}: {excerpt(exc, 120)})",
        _SAVE_AS,
    )


@dataclass(frozen=True)
class _Cell:
    """One cell as the reader needs it: the value Excel saved, and the formula if any."""

    row: int
    column: int
    value: Any
    data_type: str
    number_format: str
    formula: str | None

    @property
    def coordinate(self) -> str:
        from openpyxl.utils import get_column_letter

        return f"{get_column_letter(self.column)}{self.row}"


@dataclass(frozen=True)
class _Layout:
    """What a sheet's XML says beyond its cells: merged ranges and hidden rows."""

    merged: list[str]
    hidden: set[int]
    not_numbers: list[tuple[str, str]]  # (cell, text) of number cells holding no number


class _Reader:
    """One workbook's sheets -> scenario fields, with the problems found and the cell locator."""

    def __init__(self, file: str, values: Workbook, formulas: Workbook, raw: bytes) -> None:
        self.file = file
        self.values = values
        self.formulas = formulas
        self.raw = raw
        self.problems: list[Problem] = []
        self.locate = Locator()
        self.structural = False  # a sheet or header row missing: the models would only repeat it
        self.dropped = False  # a member row left out (its system unknown)
        self._seen: dict[str, int] = {}
        self._layouts: dict[str, _Layout] = {}
        self.unreadable: set[str] = set()  # sheets openpyxl cannot read (a NaN number cell)

    def problem(self, where: str, message: str, fix: str) -> None:
        """Note a problem; past :data:`MAX_SAME_PROBLEMS` of one kind, only count it."""
        kind = where.split("!", 1)[0] + "|" + re.sub(r"`[^`]*`|'[^']*'|\d+|\([^)]*\)", "", message)
        self._seen[kind] = self._seen.get(kind, 0) + 1
        if self._seen[kind] <= MAX_SAME_PROBLEMS:
            self.problems.append(Problem(self.file, where, message, fix))

    def finished_problems(self) -> list[Problem]:
        """The problems, with a count of those of each kind left out."""
        more = sum(n - MAX_SAME_PROBLEMS for n in self._seen.values() if n > MAX_SAME_PROBLEMS)
        if not more:
            return list(self.problems)
        return [
            *self.problems,
            Problem(
                self.file,
                "",
                f"... and {more:,} more problems like those above (each kind is listed "
                f"{MAX_SAME_PROBLEMS} times)",
                "fix those listed (often one paste or one column), then check it again",
            ),
        ]

    # -- the whole scenario ------------------------------------------------------------------

    def scenario(self) -> dict[str, Any]:
        present = self._sheets()
        for sheet in SHEETS[:-1]:
            if sheet in present:
                self._merged(sheet)
        data = self._settings() if SETTINGS in present else {}
        systems: list[dict[str, Any]] = []
        if SYSTEMS in present:
            for _, record, located in self._rows(systems_table()):
                self._place(f"systems[{len(systems)}]", located)
                systems.append(record)
        if ORGANISATIONS in present:
            self._members(systems)
        if CORRELATION in present:
            self._correlations(systems)
        data["systems"] = systems
        self.locate.cells.setdefault("systems", (f"{SYSTEMS}!A{FIRST_DATA_ROW}", "systems"))
        if OPTIONS in present:
            schemes: list[dict[str, Any]] = []
            for _, record, located in self._rows(options_table()):
                self._place(f"schemes[{len(schemes)}]", located)
                schemes.append(record)
            if schemes:
                data["schemes"] = schemes
            self.locate.cells.setdefault("schemes", (f"{OPTIONS}!A{FIRST_DATA_ROW}", "schemes"))
        if ACTUALS in present:
            rows: list[dict[str, Any]] = []
            for _, record, located in self._rows(actuals_table()):
                self._place(f"actuals.organisations[{len(rows)}]", located)
                rows.append(record)
            if rows:
                data.setdefault("actuals", {})["organisations"] = rows
            self.locate.cells.setdefault(
                "actuals.organisations", (f"{ACTUALS}!A{FIRST_DATA_ROW}", "organisations")
            )
        return data

    def _sheets(self) -> set[str]:
        """The layout's sheets present in the workbook; problems for the others and the missing."""
        names = self.values.sheetnames
        for name in names:
            state = self.values[name].sheet_state
            if name.startswith(NOTES_PREFIX):
                continue
            if name not in SHEETS:
                hint = did_you_mean(name, SHEETS)
                hint = f"{hint} Rename it, or delete it" if hint.startswith("did") else "delete it"
                self.problem(
                    excerpt(name, 80),
                    f"is not a sheet of a scenario workbook (those are {', '.join(SHEETS)})",
                    f"{hint}; to keep workings in this workbook, give the sheet a name starting "
                    f"with '{NOTES_PREFIX}' (e.g. '{NOTES_PREFIX} workings'): such sheets are "
                    "never read",
                )
            elif state != "visible" and name != SHEETS[-1]:
                self.problem(
                    name,
                    f"the {name} sheet is {state}, so what is read is not what you see",
                    "unhide it (right-click any sheet tab > Unhide)",
                )
        for name in REQUIRED_SHEETS:
            if name not in names:
                self.structural = True
                self.problem(
                    name,
                    "the sheet is missing",
                    f"add a sheet named {name} (start from `sct template`, which writes every "
                    f"sheet); {_DOCS}",
                )
        return {name for name in INPUT_SHEETS if name in names}

    def _layout(self, sheet: str) -> _Layout:
        """Merged ranges and hidden rows of a sheet, streamed from its XML (read-only mode
        does not keep them), each element dropped once seen."""
        if sheet not in self._layouts:
            merged: list[str] = []
            hidden: set[int] = set()
            not_numbers: list[tuple[str, str]] = []
            part = str(getattr(self.values[sheet], "_worksheet_path", ""))
            try:
                with zipfile.ZipFile(io.BytesIO(self.raw)) as archive, archive.open(part) as xml:
                    parent = None
                    for event, element in iterparse(xml, events=("start", "end")):
                        if event == "start":
                            if element.tag == f"{_MAIN}sheetData":
                                parent = element
                            elif element.tag == f"{_MAIN}row" and element.get("hidden") in (
                                "1",
                                "true",
                            ):
                                hidden.add(int(element.get("r", "0")))
                            elif element.tag == f"{_MAIN}mergeCell" and len(merged) < 1000:
                                merged.append(str(element.get("ref", "")))
                        elif element.tag == f"{_MAIN}c" and element.get("t", "n") == "n":
                            saved = element.findtext(f"{_MAIN}v")
                            if saved and not _finite(saved) and len(not_numbers) < 1000:
                                not_numbers.append((str(element.get("r", "")), saved))
                        elif element.tag == f"{_MAIN}row" and parent is not None:
                            parent.clear()  # keep no rows: memory stays flat
            except Exception as exc:  # a damaged part: openpyxl's own reading says so too
                raise ScenarioError([_damaged(self.file, exc)]) from None
            self._layouts[sheet] = _Layout(merged, hidden, not_numbers)
        return self._layouts[sheet]

    def _merged(self, sheet: str) -> None:
        """Problems for merged ranges, and for number cells that hold no number (``NaN``),
        which would stop the whole sheet being read: such a sheet is then not read."""
        for cell, text in self._layout(sheet).not_numbers:
            self.structural = True
            self.unreadable.add(sheet)
            self.problem(
                f"{sheet}!{cell}",
                f"holds '{excerpt(text)}', which is not a number",
                "type a number, or clear the cell",
            )
        for cells in self._layout(sheet).merged:
            self.problem(
                f"{sheet}!{cells}",
                "merged cells: each value must sit in a cell of its own",
                "select them and unmerge (Home > Merge & Center), then put each value in its cell",
            )

    # -- cells -------------------------------------------------------------------------------

    def _sheet_rows(
        self, sheet: str, width: int, first: int = 1, last: int | None = None
    ) -> Iterator[list[_Cell]]:
        """Rows ``first`` .. of a sheet, ``width`` cells each (values and formulas side by side),
        streamed, ending at the first band of :data:`EMPTY_ROW_BAND` blank rows."""
        if sheet in self.unreadable:
            return
        for book in (self.values, self.formulas):
            book[sheet].reset_dimensions()  # what a sheet says its size is may be anything
        saved = self.values[sheet].iter_rows(min_row=first, max_row=last, max_col=width)
        written = self.formulas[sheet].iter_rows(min_row=first, max_row=last, max_col=width)
        blank = 0
        try:
            for number, (values, formulas) in enumerate(
                zip(saved, written, strict=True), start=first
            ):
                cells = [
                    _Cell(
                        number,
                        column,
                        value.value,
                        value.data_type or "n",
                        str(getattr(value, "number_format", "General")),
                        str(formula.value) if formula.data_type == "f" else None,
                    )
                    for column, (value, formula) in enumerate(
                        zip(values, formulas, strict=True), start=1
                    )
                ]
                if all(_text(c.value) == "" and c.formula is None for c in cells):
                    blank += 1
                    if blank >= EMPTY_ROW_BAND:
                        return
                else:
                    blank = 0
                yield cells
        except ScenarioError:
            raise
        except Exception as exc:  # openpyxl raises many kinds of error on a damaged sheet
            raise ScenarioError([_damaged(self.file, exc)]) from None

    def _value(self, sheet: str, cell: _Cell, column: Column) -> Any:
        """The cell's value as its column needs it; None for blank or unusable (problem noted)."""
        where = f"{sheet}!{cell.coordinate} ({column.name})"
        value = cell.value
        if cell.formula is not None and value is None:
            self.problem(
                where,
                f"holds a formula with no saved value ({excerpt(cell.formula, 60)})",
                "open the workbook in Excel and save it (Excel saves each formula's value), "
                "or type the value",
            )
            return None
        if cell.data_type == "e":
            self.problem(
                where, f"holds the Excel error {excerpt(value)}", "fix the formula or type a value"
            )
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(
                where,
                f"holds {value}, which is not a number",
                f"type a number ({column.allowed()}), or clear the cell",
            )
            return None
        if isinstance(value, datetime | date | time | timedelta):
            self.problem(
                where,
                f"holds a date or time ({value}); Excel may have turned what was typed into one",
                f"format the cell as Number or General and type the value ({column.allowed()})",
            )
            return None
        if (
            column.kind in ("number", "integer")
            and not column.percent
            and isinstance(value, int | float)
            and "%" in cell.number_format
        ):
            self.problem(
                where,
                f"shows {value * 100:g}% (the value {value:g}), but this column is in "
                f"{column.unit or 'plain numbers'}, not a percentage",
                f"type {value * 100:g} without the % sign and format the cell as Number",
            )
            return None
        return convert(value, column)

    # -- the Settings sheet ------------------------------------------------------------------

    def _settings(self) -> dict[str, Any]:
        if SETTINGS in self.unreadable:
            return {}
        width = max(SETTINGS_FIELD_COLUMN, SETTINGS_VALUE_COLUMN)
        rows = self._sheet_rows(SETTINGS, width)
        first = next(rows, None)
        header = first[SETTINGS_FIELD_COLUMN - 1] if first else None
        expected = SETTINGS_HEADER[SETTINGS_FIELD_COLUMN - 1]
        if header is None or _text(header.value).lower() != expected.lower():
            self.structural = True
            self.problem(
                f"{SETTINGS}!{get_letter(SETTINGS_FIELD_COLUMN)}1",
                f"the Settings sheet's column D must be headed `{expected}` and hold the field "
                "names (it holds the values in column B)",
                f"restore the layout `sct template` writes; {_DOCS}",
            )
            return {}
        known = settings_columns()
        data: dict[str, Any] = {}
        seen: dict[str, str] = {}
        hidden = self._layout(SETTINGS).hidden
        for cells in rows:
            name_cell = cells[SETTINGS_FIELD_COLUMN - 1]
            value_cell = cells[SETTINGS_VALUE_COLUMN - 1]
            name = _text(name_cell.value)
            if not name:
                if _text(value_cell.value):
                    self.problem(
                        f"{SETTINGS}!{value_cell.coordinate}",
                        "holds a value but its row names no field in column D",
                        "put the field name in column D, or clear the cell",
                    )
                continue
            column = known.get(name)
            where = f"{SETTINGS}!{name_cell.coordinate}"
            if column is None:
                self.problem(where, f"unknown field `{excerpt(name)}`", did_you_mean(name, known))
                continue
            if name in seen:
                self.problem(where, f"`{name}` is given twice (also {seen[name]})", "keep one row")
                continue
            seen[name] = where
            self._hidden_row(SETTINGS, hidden, name_cell.row, value_cell.value)
            self.locate.add(name, f"{SETTINGS}!{value_cell.coordinate}", name)
            self.locate.add_parents(name, f"{SETTINGS}!{value_cell.coordinate}", "")
            value = self._value(SETTINGS, value_cell, column)
            if value is not None:
                _set(data, column.path, value)
        return data

    def _hidden_row(self, sheet: str, hidden: set[int], row: int, *values: Any) -> None:
        if row in hidden and any(_text(v) for v in values):
            self.problem(
                f"{sheet}!{row}:{row}",
                f"row {row} is hidden (or filtered out) but holds data, which would be read "
                "without being seen",
                "unhide the row (or clear the filter), or delete it",
            )

    # -- table sheets ------------------------------------------------------------------------

    def _header(self, sheet: str, table: Table) -> dict[int, Column]:
        """Column index -> column, from the field-name row; problems for unknown or missing."""
        found: dict[int, Column] = {}
        names = [c.name for c in table.columns]
        row = next(self._sheet_rows(sheet, _MAX_COLUMNS, FIELD_ROW, FIELD_ROW), [])
        for cell in row:
            name = _text(cell.value)
            if not name:
                continue
            column = table.column(name)
            where = f"{sheet}!{cell.coordinate}"
            if column is None:
                self.problem(
                    where,
                    f"unknown column `{excerpt(name)}` in the field-name row (row {FIELD_ROW})",
                    did_you_mean(name, names),
                )
            elif column in found.values():
                self.problem(where, f"column `{name}` appears twice", "delete one of them")
            else:
                found[cell.column] = column
        if not found:
            self.structural = True
            self.problem(
                f"{sheet}!{FIELD_ROW}:{FIELD_ROW}",
                f"row {FIELD_ROW} must hold the field names (e.g. {', '.join(names[:4])}) under "
                "the plain-English headers of row 1",
                f"start from `sct template`, which writes both header rows; {_DOCS}",
            )
            return {}
        for column in table.columns:
            if column.required and column not in found.values():
                self.structural = True
                self.problem(
                    f"{sheet}!{FIELD_ROW}:{FIELD_ROW}",
                    f"has no column `{column.name}` ({column.title}), which is required",
                    f"add a column with `{column.name}` in row {FIELD_ROW} and "
                    f"{column.title} in row 1",
                )
        return found

    def _rows(self, table: Table) -> Iterator[tuple[int, dict[str, Any], Locator]]:
        """(sheet row, fields, cells by path relative to the row) of each non-blank row."""
        if table.sheet in self.unreadable:
            return
        columns = self._header(table.sheet, table)
        if not columns:
            return
        width = min(max(columns), len(table.columns) + EXTRA_COLUMNS) + EXTRA_COLUMNS
        hidden = self._layout(table.sheet).hidden
        count = 0
        for cells in self._sheet_rows(table.sheet, width, FIRST_DATA_ROW):
            if all(_text(c.value) == "" for c in cells):
                continue
            row = cells[0].row
            count += 1
            if count > limits.MAX_ORGANISATIONS:
                # Any table this long is a wrong file; members are what the limit counts.
                self.problems.append(too_many_organisations(self.file, table.sheet, count))
                self.structural = True
                return
            self._hidden_row(table.sheet, hidden, row, *(c.value for c in cells))
            record: dict[str, Any] = {}
            located = Locator({"": (f"{table.sheet}!A{row}", "")})
            for cell in cells:
                column = columns.get(cell.column)
                if column is None:
                    if _text(cell.value):
                        self.problem(
                            f"{table.sheet}!{cell.coordinate}",
                            f"holds a value but its column has no field name in row {FIELD_ROW}",
                            "clear the cell, or give the column a field name",
                        )
                    continue
                where = f"{table.sheet}!{cell.coordinate}"
                located.add(column.name, where, column.name)
                located.add_parents(column.name, where, "")
                value = self._value(table.sheet, cell, column)
                if value is not None:
                    _set(record, column.path, value)
            yield row, record, located

    def _place(self, prefix: str, located: Locator) -> None:
        """Record a row's cells under its path in the scenario (``systems[0]``)."""
        for path, spot in located.cells.items():
            key = prefix if not path else f"{prefix}{'' if path.startswith('[') else '.'}{path}"
            self.locate.cells.setdefault(key, spot)

    def _members(self, systems: list[dict[str, Any]]) -> None:
        """Organisations rows appended to the systems their ``system`` cell names."""
        ids = [s.get("id") for s in systems]
        for row, record, located in self._rows(organisations_table()):
            where = (
                located.place("system") if "system" in located.cells else f"{ORGANISATIONS}!A{row}"
            )
            system_id = record.pop("system", None)
            if system_id is None and len(systems) == 1:
                index = 0
            elif system_id is None:
                self.problem(
                    where,
                    "is blank; with several systems every organisation must name its system",
                    f"write one of the system ids of the Systems sheet: {', '.join(map(str, ids))}",
                )
                self.dropped = True
                continue
            elif system_id in ids:
                index = ids.index(system_id)
            else:
                self.problem(
                    where,
                    f"'{system_id}' is not a system id on the Systems sheet",
                    did_you_mean(str(system_id), [str(i) for i in ids])
                    + " (or add a row for it on the Systems sheet)",
                )
                self.dropped = True
                continue
            members = systems[index].setdefault("organisations", [])
            self._place(f"systems[{index}].organisations[{len(members)}]", located)
            members.append(record)

    # -- the Correlation sheet ---------------------------------------------------------------

    def _correlations(self, systems: list[dict[str, Any]]) -> None:
        """Blocks of the Correlation sheet: ``System | id``, a row of member ids, then the
        matrix with each row's member id in column A."""
        ids = [s.get("id") for s in systems]
        most = max((len(s.get("organisations") or []) for s in systems), default=0)
        rows = list(self._sheet_rows(CORRELATION, most + 1 + EXTRA_COLUMNS, 2))
        r = 0
        while r < len(rows):
            cells = rows[r]
            if all(_text(c.value) == "" for c in cells):
                r += 1
                continue
            label = cells[0]
            if _text(label.value).lower() != CORRELATION_LABEL.lower():
                self.problem(
                    f"{CORRELATION}!{label.coordinate}",
                    f"is not part of a correlation block (a block starts with `{CORRELATION_LABEL}` "
                    "in column A and the system id in column B)",
                    f"clear the row or start a block; {_DOCS}",
                )
                return
            r = self._block(rows, r, systems, ids)

    def _block(
        self, rows: list[list[_Cell]], r: int, systems: list[dict[str, Any]], ids: list[Any]
    ) -> int:
        """Read one block starting at ``rows[r]``; the index of the row after it."""
        label_row = rows[r]
        system_cell = label_row[1] if len(label_row) > 1 else label_row[0]
        system_id = _text(system_cell.value)
        where = f"{CORRELATION}!{system_cell.coordinate}"
        header = rows[r + 1] if r + 1 < len(rows) else []
        members = []
        for cell in header[1:]:
            if _text(cell.value) == "":
                break
            members.append(cell)
        end = r + 2
        body = []
        while end < len(rows) and _text(rows[end][0].value):
            body.append(rows[end])
            end += 1
        if system_id not in ids:
            self.problem(
                where,
                f"'{system_id}' is not a system id on the Systems sheet",
                did_you_mean(system_id, [str(i) for i in ids]),
            )
            return end
        index = ids.index(system_id)
        if "correlation" in systems[index]:
            self.problem(where, f"system '{system_id}' has two correlation blocks", "keep one")
            return end
        path = f"systems[{index}].correlation"
        self.locate.add(path, where, "correlation")
        order = [_text(row[0].value) for row in body]
        for k, cell in enumerate(members):
            name = _text(cell.value)
            if k >= len(order) or order[k] != name:
                self.problem(
                    f"{CORRELATION}!{cell.coordinate}",
                    f"column member '{name}' does not match the row member "
                    f"'{order[k] if k < len(order) else ''}' in the same position",
                    "list the same members in the same order across the top and down column A",
                )
                return end
        for k, row in enumerate(body):
            self.locate.add(f"{path}.organisations[{k}]", f"{CORRELATION}!{row[0].coordinate}", "")
        self.locate.add(
            f"{path}.organisations", f"{CORRELATION}!{label_row[0].coordinate}", "organisations"
        )
        self.locate.add(f"{path}.matrix", where, "matrix")
        entry = Column(name="correlation", path=("x",), label="Correlation", kind="number")
        matrix = []
        for k, row in enumerate(body):
            self.locate.add(f"{path}.matrix[{k}]", f"{CORRELATION}!{row[0].coordinate}", "")
            values: list[Any] = []
            for c in range(1, max(len(members), len(order)) + 1):
                if c >= len(row):
                    values.append(None)
                    continue
                cell = row[c]
                self.locate.add(
                    f"{path}.matrix[{k}][{c - 1}]",
                    f"{CORRELATION}!{cell.coordinate}",
                    f"matrix[{k}][{c - 1}]",
                )
                values.append(self._value(CORRELATION, cell, entry))
            matrix.append(values)
        systems[index]["correlation"] = {"organisations": order, "matrix": matrix}
        return end


# --- pure helpers ----------------------------------------------------------------------------


#: The widest row a sheet can have (Excel's last column, XFD): a field-name row is read to it.
_MAX_COLUMNS = 16_384


def get_letter(column: int) -> str:
    """The letter(s) of a column number (4 -> D)."""
    from openpyxl.utils import get_column_letter

    return get_column_letter(column)


def _finite(text: str) -> bool:
    """Whether a number cell's saved text is a finite number."""
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _set(record: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    """Put ``value`` at ``path`` (keys, then at most one list slot), creating what lies between."""
    node: Any = record
    for step, after in itertools.pairwise(path):
        if isinstance(after, int):
            node = node.setdefault(step, [])
            node.extend([None] * (after + 1 - len(node)))
        else:
            node = node.setdefault(step, {})
    node[path[-1]] = value


def convert(value: Any, column: Column) -> Any:
    """A cell's value as ``column`` needs it; what does not convert is left for the models to
    refuse with a message (blank text is None)."""
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    if column.kind == "number":
        return _number(value, column.percent)
    if column.kind == "integer":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
            return int(value)
        return value
    if column.kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        lowered = str(value).lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else value
    if column.kind == "choice":
        lowered = str(value).lower()
        return next((c for c in column.choices if c.lower() == lowered), value)
    if column.kind == "list":
        if value is None:  # a blank cell: the field's default
            return None
        if isinstance(value, str):
            parts = [p for p in re.split(r"[;,\s]+", value.strip("[] ")) if p]
            return [_number(p, False) for p in parts]
        return [value]
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if isinstance(value, int | float) else value


def _number(value: Any, percent: bool) -> Any:
    """Numbers as floats; numeric text (``3.5``, ``30%`` in a percentage column) converted."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.replace("\u2212", "-")
        scale = 1.0
        if percent and text.endswith("%"):
            text, scale = text[:-1].strip(), 0.01
        try:
            return float(text) * scale
        except ValueError:
            return value
    return value
