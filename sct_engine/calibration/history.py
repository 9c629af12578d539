"""A history of plans and outturns: read and check it, one organisation-year a row.

Calibration fits the tail model to such a history; every problem in the table
is found and reported at once, naming file, row and column, so that a user can
fix the CSV in one pass.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sct_engine.errors import Problem, ScenarioError, excerpt
from sct_engine.files import MAX_MONEY, read_csv_table, read_limited
from sct_engine.rules.organisations import canonical_group

#: Fewer organisation-years than this cannot be calibrated at all.
MIN_ROWS = 10
#: Fewer rows of one kind than this give no usable sd_pct for it.
MIN_ROWS_PER_KIND = 3

REQUIRED_COLUMNS = ("organisation", "kind", "year", "plan", "outturn", "turnover")
OPTIONAL_COLUMNS = ("control_total",)
_COLUMN_HELP = {
    "organisation": "organisation id or name",
    "kind": "kind of organisation: acute, mental_health, community, ambulance, specialist, "
    "provider or commissioner (ccg)",
    "year": "financial year, e.g. 2018 or 2018/19",
    "plan": "planned surplus(+)/deficit(-) before sustainability funding, £m",
    "outturn": "year-end surplus(+)/deficit(-) before sustainability funding, £m",
    "turnover": "annual turnover, £m",
    "control_total": "control total, £m (optional)",
}
_MONEY_COLUMNS = ("plan", "outturn", "turnover", "control_total")


@dataclass(frozen=True)
class History:
    """Organisation-years of plan and outturn, one array entry per row."""

    source: str
    organisation: np.ndarray
    kind: np.ndarray
    year: np.ndarray
    plan: np.ndarray
    outturn: np.ndarray
    turnover: np.ndarray
    control_total: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.plan.size)

    @property
    def deviation_pct(self) -> np.ndarray:
        """Outturn minus plan as % of turnover (negative = worse than plan)."""
        return 100.0 * (self.outturn - self.plan) / self.turnover

    @property
    def kinds(self) -> list[str]:
        return sorted(set(self.kind.tolist()))

    @property
    def kind_index(self) -> np.ndarray:
        """Each row's position of its kind in :attr:`kinds`."""
        return np.searchsorted(self.kinds, self.kind.astype(str))

    @property
    def years(self) -> str:
        """``2014-2018``, or one year."""
        first, last = int(self.year.min()), int(self.year.max())
        return f"{first}-{last}" if first != last else str(first)

    def describe(self) -> str:
        """``1000 organisation-years, 200 organisations, 2014-2018``."""
        orgs = len(set(self.organisation.tolist()))
        return f"{self.n} organisation-years, {orgs} organisations, {self.years}"


def load_history(path: str | Path) -> History:
    """Read and check a history CSV; every problem found is raised in one :class:`ScenarioError`.

    The same limits as a scenario's files apply (:mod:`sct_engine.files`): a
    regular file of at most ``MAX_FILE_BYTES`` and ``MAX_TABLE_ROWS`` rows, each
    lined up with the header.
    """
    file = str(path)
    raw = read_limited(Path(path).expanduser(), file, "", _fix_file())
    frame = read_csv_table(raw, file, "", Path(file).name)
    return history_from_frame(frame, source=file)


def history_from_frame(frame: pd.DataFrame, source: str = "<table>") -> History:
    """Check a table of text or numbers with the history columns and build a :class:`History`.

    ``source`` names the table in problems (a file name, normally).
    """
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ScenarioError(
            [
                Problem(
                    source,
                    column,
                    "required column is missing",
                    f"add a `{column}` column ({_COLUMN_HELP[column]}) to the header row",
                )
                for column in missing
            ]
        )
    columns = [*REQUIRED_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in frame.columns)]
    problems: list[Problem] = []
    if len(frame) < MIN_ROWS:
        raise ScenarioError(
            [
                Problem(
                    source,
                    "",
                    f"has {len(frame)} rows; calibration needs at least {MIN_ROWS} organisation-years",
                    "add more organisations or years (one row per organisation and year)",
                )
            ]
        )
    values: dict[str, list[object]] = {c: [] for c in columns}
    seen: dict[tuple[str, int], int] = {}
    for index, record in enumerate(frame[columns].to_dict("records")):
        number = index + 2  # the header is row 1, as a spreadsheet shows it
        org = str(record["organisation"]).strip()
        label = f"{source} row {number}" + (f" (organisation={excerpt(org)})" if org else "")
        row_problems = _row_problems(label, record)
        problems += row_problems
        for column in columns:
            values[column].append(_cell_value(column, record[column]))
        if not row_problems:
            key = (org, _year(str(record["year"]).strip()) or 0)
            if key in seen:
                problems.append(
                    Problem(
                        label,
                        "year",
                        f"repeats organisation {excerpt(org)} in year {key[1]} (first at row {seen[key]})",
                        "keep one row per organisation and year",
                    )
                )
            seen.setdefault(key, number)
    if problems:
        raise ScenarioError(problems)
    history = History(
        source=source,
        organisation=np.array(values["organisation"], dtype=object),
        kind=np.array(values["kind"], dtype=object),
        year=np.array(values["year"], dtype=np.int64),
        plan=np.array(values["plan"], dtype=float),
        outturn=np.array(values["outturn"], dtype=float),
        turnover=np.array(values["turnover"], dtype=float),
        control_total=(
            np.array(values["control_total"], dtype=float) if "control_total" in values else None
        ),
    )
    _check_kinds(history)
    return history


def _fix_file() -> str:
    return (
        "give a CSV file with a header row and the columns "
        + ", ".join(REQUIRED_COLUMNS)
        + " (optional: control_total)"
    )


def _row_problems(label: str, record: dict[str, object]) -> list[Problem]:
    problems = []
    for column in ("organisation", "kind"):
        if not str(record[column]).strip():
            problems.append(Problem(label, column, "is empty", f"write the {_COLUMN_HELP[column]}"))
    year = str(record["year"]).strip()
    if _year(year) is None:
        problems.append(
            Problem(
                label,
                "year",
                f"must be a year (got {excerpt(year)!r})",
                "write the financial year as 2018 or 2018/19",
            )
        )
    for column in _MONEY_COLUMNS:
        if column not in record:
            continue
        text = str(record[column]).strip()
        if not text:
            problems.append(Problem(label, column, "is empty", f"write the {_COLUMN_HELP[column]}"))
            continue
        try:
            value = float(text.replace(",", ""))
        except ValueError:
            problems.append(
                Problem(
                    label,
                    column,
                    f"must be a number (got {excerpt(text)!r})",
                    "write a plain number in £m, e.g. -3.5, without units",
                )
            )
            continue
        if not math.isfinite(value):
            problems.append(
                Problem(
                    label,
                    column,
                    f"must be a finite number (got {excerpt(text)!r})",
                    "write a plain number in £m",
                )
            )
        elif abs(value) > MAX_MONEY:
            problems.append(
                Problem(
                    label,
                    column,
                    f"is {excerpt(text)}, beyond ±{MAX_MONEY:,.0f} £m",
                    "write the figure in £ millions (1,000 trillion pounds is not a plan)",
                )
            )
        elif column == "turnover" and value <= 0:
            problems.append(
                Problem(
                    label,
                    "turnover",
                    f"must be greater than 0 (got {excerpt(text)})",
                    "write the organisation's annual turnover in £m, e.g. 420",
                )
            )
    if not {problem.field for problem in problems} & {"plan", "outturn", "turnover"}:
        problems.extend(_deviation_problems(label, record))
    return problems


def _deviation_problems(label: str, record: dict[str, object]) -> list[Problem]:
    """A year's outturn cannot miss or beat its plan by more than the whole turnover: such a
    row is a unit or typing error, and would make the likelihood's grid (sized by the largest
    deviation against the spread) too large to build."""
    plan, outturn, turnover = (
        float(str(record[column]).strip().replace(",", ""))
        for column in ("plan", "outturn", "turnover")
    )
    if abs(outturn - plan) <= turnover:
        return []
    return [
        Problem(
            label,
            "outturn",
            f"is {outturn - plan:+,.6g} £m from plan, more than the turnover of {turnover:,.6g} £m",
            "check the units: plan, outturn and turnover are all in £ millions",
        )
    ]


def _year(text: str) -> int | None:
    """``2018`` or ``2018/19`` (the financial year 2018/19) as 2018; None if neither."""
    match = re.fullmatch(r"(\d{4})(?:\.0*)?(?:\s*[/-]\s*(\d{2}|\d{4}))?", text)
    if match is None:
        return None
    first = int(match.group(1))
    second = match.group(2)
    if second is not None and int(second) % 100 != (first + 1) % 100:
        return None
    return first


def _cell_value(column: str, text: object) -> object:
    text = str(text).strip()
    if column == "organisation":
        return text
    if column == "kind":
        return canonical_group(text)  # the scenario's words: `ccg` is `commissioner`
    if column == "year":
        return _year(text) or 0
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return math.nan


def _check_kinds(history: History) -> None:
    problems = []
    r = history.deviation_pct
    for kind in history.kinds:
        rows = history.kind == kind
        if rows.sum() < MIN_ROWS_PER_KIND:
            problems.append(
                Problem(
                    history.source,
                    "kind",
                    f"kind '{kind}' has {int(rows.sum())} row(s); each kind needs at least "
                    f"{MIN_ROWS_PER_KIND} to estimate its sd_pct",
                    "merge it with a similar kind (e.g. write provider) or drop those rows",
                )
            )
        elif np.all(r[rows] == 0):
            problems.append(
                Problem(
                    history.source,
                    "outturn",
                    f"every row of kind '{kind}' has outturn equal to plan, so its spread is zero",
                    "check that outturn holds the year-end figure, not a copy of plan",
                )
            )
    if problems:
        raise ScenarioError(problems)
