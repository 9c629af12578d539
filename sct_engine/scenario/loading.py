"""Reading a scenario: YAML bytes -> safe parse -> CSV members -> validated models.

A workbook (``.xlsx``) is read into the same fields by :mod:`.workbook.reader`, then checked
the same way. Flow: YAML bytes -> safe YAML parse -> ``organisations_csv`` tables appended to
their systems (:mod:`.members_csv`) -> pydantic models (:mod:`.models`) ->
cross-field rules. Every failure becomes a :class:`~sct_engine.errors.Problem`
naming the file, the field path and a fix; the loader raises them together in
one :class:`~sct_engine.errors.ScenarioError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sct_engine.errors import Problem, ScenarioError, problems_from_validation_error
from sct_engine.scenario.limits import check_organisation_count, read_limited
from sct_engine.scenario.members_csv import CsvTables, with_csv_members
from sct_engine.scenario.models import Scenario, sha256_of
from sct_engine.scenario.sweep import SWEEP_KEY
from sct_engine.scenario.workbook.reader import (
    is_workbook,
    read_workbook,
    refuse_other_spreadsheet,
)

_DOCS = "see docs/scenario-format.md"


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and check a scenario file, YAML or Excel workbook (``.xlsx``); raise ScenarioError
    listing every problem (in a workbook, each names its sheet, cell and field).

    A file with a ``sweep:`` block is many scenarios: read it with
    :func:`sct_engine.scenario.load_variants`.
    """
    file = os.fspath(path)
    source = Path(os.path.abspath(file))
    if is_workbook(source):
        return _load_workbook(source, file)
    data, raw = read_scenario_data(file)
    return build_scenario(data, source, file, raw)


def read_scenario_data(path: str | os.PathLike[str]) -> tuple[Any, bytes]:
    """The plain data of a scenario file (safe YAML without repeated keys, or a workbook's
    fields) and its bytes."""
    file = os.fspath(path)
    source = Path(os.path.abspath(file))
    if is_workbook(source):
        book = read_workbook(source, file)
        return book.data, book.raw
    refuse_other_spreadsheet(source, file)
    raw = read_limited(source, file, "", "check the file name and folder")
    return _parse_yaml(raw, file), raw


def parse_scenario(data: dict[str, Any], source: Path | None = None) -> Scenario:
    """Check scenario fields already in memory.

    ``source`` is the file they came from: it names the file in problems and
    anchors relative ``organisations_csv`` paths (without it they must be
    absolute). ``content_hash`` covers the data's canonical JSON and any CSV bytes.
    """
    source = Path(os.path.abspath(source)) if source is not None else None
    file = os.fspath(source) if source is not None else "<scenario>"
    return build_scenario(data, source, file, canonical_bytes(data))


def canonical_bytes(data: Any) -> bytes:
    """Scenario data as canonical JSON: what the hash of a scenario built in memory covers."""
    return json.dumps(data, sort_keys=True, default=str).encode()


def validate_files(paths: Iterable[str | os.PathLike[str]]) -> dict[str, list[Problem]]:
    """Problems per scenario file, keyed by the path as given; an empty list means valid."""
    results: dict[str, list[Problem]] = {}
    for path in paths:
        try:
            load_scenario(path)
        except ScenarioError as exc:
            results[os.fspath(path)] = exc.problems
        else:
            results[os.fspath(path)] = []
    return results


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of the scenario format, for editors and the published docs."""
    return Scenario.model_json_schema()


# --- loading steps ---------------------------------------------------------------------


def _load_workbook(source: Path, file: str) -> Scenario:
    """A workbook's fields checked as a YAML file's are; problems and warnings name cells."""
    book = read_workbook(source, file)
    try:
        scenario = build_scenario(book.data, source, file, book.raw)
    except ScenarioError as exc:
        raise ScenarioError([book.locate(problem) for problem in exc.problems]) from None
    scenario._locate = book.locate
    return scenario


def build_scenario(data: Any, source: Path | None, file: str, raw: bytes) -> Scenario:
    """Append CSV members, check limits, validate, and record provenance.

    ``raw`` is what the scenario's ``content_hash`` covers (with any CSV bytes).
    """
    if not isinstance(data, dict):
        raise ScenarioError(
            [
                Problem(
                    file,
                    "",
                    f"must be a set of fields such as `name:` and `systems:` (got {type(data).__name__})",
                    f"start with `name: <text>` then `systems:`; {_DOCS}",
                )
            ]
        )
    if SWEEP_KEY in data:
        raise ScenarioError(
            [
                Problem(
                    file,
                    SWEEP_KEY,
                    "makes this file many scenarios, one per sweep point",
                    "run it with `sct run`, `sct compare`, `sct report` or `sct batch`, which run "
                    "every point (or `--point K`), or in Python read it with load_variants; "
                    "see docs/scenario-format.md (Sweeps)",
                )
            ]
        )
    tables = CsvTables(base=source.parent if source else None, file=file)
    data = with_csv_members(data, tables)
    if tables.problems:
        raise ScenarioError(tables.problems)
    check_organisation_count(data, file)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(problems_from_validation_error(exc, file, Scenario)) from None
    scenario._source = source
    scenario._content_hash = sha256_of([raw, *tables.contents])
    return scenario


class _SafeLoaderNoDuplicateKeys(yaml.SafeLoader):
    """``yaml.safe_load``'s loader (no tags, nothing executed) that also refuses repeated keys.

    Plain YAML keeps the last of two ``sd:`` lines silently; in a hand-written
    scenario that is almost always a mistake.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool):
                continue  # unhashable keys are reported by the base constructor
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key `{key}`",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(raw: bytes, file: str) -> Any:
    """Plain data from YAML bytes, with line and column for syntax errors."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [
                Problem(
                    file,
                    "",
                    f"is not UTF-8 text (bad byte at offset {exc.start})",
                    "save it as UTF-8",
                )
            ]
        ) from None
    try:
        # A SafeLoader subclass: as safe as yaml.safe_load (no object tags, nothing executed).
        data = yaml.load(text, Loader=_SafeLoaderNoDuplicateKeys)
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError([_yaml_problem(exc, file)]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(file, "", f"is not valid YAML: {exc}", _DOCS)]) from None
    if data is None:
        raise ScenarioError(
            [Problem(file, "", "is empty", f"write at least `name:` and `systems:`; {_DOCS}")]
        )
    return data


def _yaml_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = exc.problem or "invalid YAML"
    if isinstance(exc, yaml.constructor.ConstructorError) and problem.startswith("duplicate key"):
        return Problem(file, "", f"{problem}{where}", "keep only one of the two lines")
    if isinstance(exc, yaml.constructor.ConstructorError):
        return Problem(
            file,
            "",
            f"unsupported YAML tag{where}: {problem}",
            "remove the `!!` tag: a scenario holds plain numbers, text, lists and mappings, "
            "and loading one never runs code",
        )
    context = f" ({exc.context})" if exc.context else ""
    return Problem(
        file,
        "",
        f"YAML syntax error{where}: {problem}{context}",
        "check that line and the one before: indent with spaces (not tabs), put a space "
        "after each `:`, and close every quote and bracket",
    )
