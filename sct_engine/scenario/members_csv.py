"""Organisation tables in CSV (``organisations_csv``): members read from spreadsheets.

Each table's rows are checked as organisations (row numbers count the header
as row 1, as a spreadsheet shows them) and appended to their system's members
before the whole scenario is validated.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from sct_engine.errors import (
    Problem,
    ScenarioError,
    did_you_mean,
    excerpt,
    problems_from_validation_error,
)
from sct_engine.files import read_csv_table
from sct_engine.scenario.limits import (
    MAX_ORGANISATIONS,
    confined_path,
    read_limited,
)
from sct_engine.scenario.models import ID_PATTERN, Organisation

_BASE_COLUMNS = ("id", "kind", "plan", "control_total", "sustainability_funding")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def with_csv_members(data: dict[str, Any], tables: CsvTables) -> dict[str, Any]:
    """A copy of ``data`` with each organisations_csv table appended to its system's members.

    System-level tables come first, then the top-level table, whose rows for a
    system not listed create that system. Shapes pydantic will reject are left
    as they are for it to report.
    """
    systems = data.get("systems")
    top = data.get("organisations_csv")
    if systems is None and isinstance(top, str):
        systems = []
    if not isinstance(systems, list):
        return data
    systems = [_system_with_csv(system, i, tables) for i, system in enumerate(systems)]
    if isinstance(top, str):
        extra: dict[str, list[Organisation]] = {}
        for system_id, org in tables.read(top, "organisations_csv", system_id=None):
            extra.setdefault(system_id, []).append(org)
        systems = [_append_members(system, extra) for system in systems]
        systems += [{"id": sid, "organisations": orgs} for sid, orgs in extra.items()]
    return {**data, "systems": systems}


def _system_with_csv(system: Any, index: int, tables: CsvTables) -> Any:
    """``system`` with the rows of its own organisations_csv after its listed members."""
    if not (isinstance(system, dict) and isinstance(system.get("organisations_csv"), str)):
        return system
    members = system.get("organisations") or []
    if not isinstance(members, list):
        return system
    own_id = system.get("id")
    rows = tables.read(
        system["organisations_csv"],
        f"systems[{index}].organisations_csv",
        system_id=own_id if isinstance(own_id, str) else "",
    )
    return {**system, "organisations": [*members, *(org for _, org in rows)]}


def _append_members(system: Any, extra: dict[str, list[Organisation]]) -> Any:
    """``system`` with the members ``extra`` holds for its id (removed from ``extra``)."""
    system_id = system.get("id") if isinstance(system, dict) else None
    if not isinstance(system_id, str) or system_id not in extra:
        return system
    members = system.get("organisations") or []
    if not isinstance(members, list):
        return system
    return {**system, "organisations": [*members, *extra.pop(system_id)]}


@dataclass
class CsvTables:
    """Reads one scenario's organisations_csv files, keeping their bytes and problems.

    Row numbers count the header as row 1, as a spreadsheet shows them. ``base``
    is the scenario's folder, where relative paths start; ``root`` a wider folder
    opened on purpose (``files_root``), else files must lie in ``base`` or below.
    """

    base: Path | None
    file: str
    root: Path | None = None
    contents: list[bytes] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def read(
        self, written: str, where: str, system_id: str | None
    ) -> list[tuple[str, Organisation]]:
        """Valid (system id, organisation) rows of one table; problems are collected.

        ``system_id`` is the system a system-level table belongs to, or None for
        the top-level table, whose rows must name theirs in a ``system`` column.
        """
        frame = self._frame(written, where, require_system=system_id is None)
        if frame is None:
            return []
        rows = []
        for index, record in enumerate(frame.to_dict("records")):
            row = self._row(written, index + 2, record, system_id)
            if row is not None:
                rows.append(row)
        return rows

    def _frame(self, written: str, where: str, require_system: bool) -> pd.DataFrame | None:
        try:
            path = confined_path(written, self.base, self.root, self.file, where)
            shown = os.path.normpath(Path(self.base or self.root or "", written))  # as written
            raw = read_limited(path, self.file, where, self._not_found_fix(), shown=shown)
            self.contents.append(raw)
            self.paths.append(path)
            frame = read_csv_table(raw, self.file, where, written, MAX_ORGANISATIONS)
        except ScenarioError as exc:
            self.problems += exc.problems
            return None
        if not self._columns_ok(written, where, list(frame.columns), require_system):
            return None
        return frame

    def _not_found_fix(self) -> str:
        return f"check the path; it is read relative to the scenario file's folder ({self.base})"

    def _problem(self, where: str, message: str, fix: str) -> None:
        self.problems.append(Problem(self.file, where, message, fix))

    def _columns_ok(
        self, written: str, where: str, columns: list[str], require_system: bool
    ) -> bool:
        allowed = [*Organisation.model_fields, "system"]
        required = [*_BASE_COLUMNS, *(["system"] if require_system else [])]
        # sd / sd_pct may be left out: uncertainty.sd_pct_by_type can give the spread
        missing = [c for c in required if c not in columns]
        unknown = [c for c in columns if c not in allowed]
        if missing:
            # Not an organisations table (perhaps not a table at all: a key file, /proc under a
            # wide --files-root): its header is never quoted, only the field names it lacks.
            others = (
                f"; {len(unknown):,} of its columns are not organisation fields" if unknown else ""
            )
            self._problem(
                where,
                f"{excerpt(written, 80)} is missing columns: {', '.join(missing)}{others}",
                f"add them to the header row; columns are organisation fields: {', '.join(allowed)}",
            )
            return False
        for column in unknown[:10]:
            self._problem(
                where,
                f"{excerpt(written, 80)} has an unknown column `{excerpt(column)}`",
                did_you_mean(column, allowed),
            )
        return not missing and not unknown

    def _row(
        self, written: str, number: int, record: dict[str, str], system_id: str | None
    ) -> tuple[str, Organisation] | None:
        fields = {k: _cell(k, v) for k, v in record.items() if str(v).strip()}
        row_system = str(fields.pop("system", system_id or ""))
        label = f"{excerpt(written, 80)} row {number}" + (
            f" (id={excerpt(fields['id'])})" if "id" in fields else ""
        )
        problems = _row_system_problems(label, row_system, system_id)
        try:
            org = Organisation.model_validate(fields)
        except ValidationError as exc:
            problems += problems_from_validation_error(exc, label, Organisation)
        self.problems += problems
        return None if problems else (row_system, org)


def _row_system_problems(label: str, row_system: str, system_id: str | None) -> list[Problem]:
    """A top-level row must name a valid system; a system-level row may only repeat its own."""
    if system_id is None and not row_system:
        return [Problem(label, "system", "is empty", "write the id of the system it belongs to")]
    if system_id is None and not re.fullmatch(ID_PATTERN, row_system):
        return [
            Problem(
                label,
                "system",
                f"'{excerpt(row_system)}' is not a valid system id",
                "use lower-case letters, digits and _ only",
            )
        ]
    if system_id is not None and row_system != system_id:
        return [
            Problem(
                label,
                "system",
                f"says '{excerpt(row_system)}' but the file is listed under system '{system_id}'",
                "remove the system column, or move the row to the right system's file",
            )
        ]
    return []


@cache
def _column_types() -> dict[str, set[str]]:
    """JSON types each organisation column may hold, from the model's schema."""
    properties = Organisation.model_json_schema()["properties"]
    return {
        name: {str(branch.get("type")) for branch in spec.get("anyOf", [spec])}
        for name, spec in properties.items()
    }


def _cell(column: str, text: str) -> Any:
    """A CSV cell as the type its column needs; text that does not convert is kept for the error."""
    text = str(text).strip()
    types = _column_types().get(column, {"string"})
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            return text
    if "boolean" in types:
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else text
    if "array" in types:
        # A list of numbers in one cell, e.g. quarterly_profile "0.2;0.25;0.25;0.3".
        try:
            return [float(part) for part in re.split(r"[;,\s]+", text.strip("[] "))]
        except ValueError:
            return text
    return text
