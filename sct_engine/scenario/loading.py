"""Reading a scenario: YAML bytes -> safe parse -> CSV members -> validated models.

A workbook (``.xlsx``) is read into the same fields by :mod:`.workbook.reader`, then checked
the same way. Flow: YAML bytes -> safe, bounded YAML parse (depth, size after aliases) ->
``organisations_csv`` tables appended to their systems (:mod:`.members_csv`, only files the
scenario may read, :mod:`.limits`) -> pydantic models in strict mode (:mod:`.models`) ->
cross-field rules. Every failure becomes a :class:`~sct_engine.errors.Problem`
naming the file, the field path and a fix; the loader raises them together in
one :class:`~sct_engine.errors.ScenarioError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sct_engine.errors import Problem, ScenarioError, excerpt, problems_from_validation_error
from sct_engine.scenario.limits import (
    MAX_DOCUMENT_NODES,
    MAX_NESTING,
    OverlongInteger,
    check_document,
    check_files_root,
    check_organisation_count,
    files_root_from_env,
    read_limited,
)
from sct_engine.scenario.members_csv import CsvTables, with_csv_members
from sct_engine.scenario.models import Scenario, sha256_of
from sct_engine.scenario.sweep import SWEEP_KEY
from sct_engine.scenario.workbook.reader import (
    is_workbook,
    read_workbook,
    refuse_other_spreadsheet,
)

_DOCS = "see docs/scenario-format.md"


def load_scenario(
    path: str | os.PathLike[str], files_root: str | os.PathLike[str] | None = None
) -> Scenario:
    """Read and check a scenario file, YAML or Excel workbook (``.xlsx``); raise ScenarioError
    listing every problem (in a workbook, each names its sheet, cell and field).

    A file with a ``sweep:`` block is many scenarios: read it with
    :func:`sct_engine.scenario.load_variants`. Files the scenario names
    (``organisations_csv``) must lie in its own folder or below it; ``files_root``
    (else ``$SCT_FILES_ROOT``) opens a wider folder for trusted setups
    (docs/scenario-format.md#file-access).
    """
    file = os.fspath(path)
    source = Path(os.path.abspath(file))
    if is_workbook(source):
        return _load_workbook(source, file, files_root)
    data, raw = read_scenario_data(file)
    return build_scenario(data, source, file, raw, files_root)


def read_scenario_data(path: str | os.PathLike[str]) -> tuple[Any, bytes]:
    """The plain data of a scenario file and its bytes: safe and bounded YAML (size after
    aliases, depth, integers) without repeated keys, or a workbook's fields."""
    file = os.fspath(path)
    source = Path(os.path.abspath(file))
    if is_workbook(source):
        book = read_workbook(source, file, partial(_model_problems, source=source, file=file))
        check_document(book.data, file)
        return book.data, book.raw
    refuse_other_spreadsheet(source, file)
    raw = read_limited(source, file, "", "check the file name and folder")
    data = _parse_yaml(raw, file)
    check_document(data, file)
    return data, raw


def parse_yaml_value(text: str, file: str) -> Any:
    """One value written in YAML (``--set PATH=VALUE``), read as safely and within the same
    bounds as a scenario file; ``file`` names it in problems."""
    data = _load_yaml(text, file)
    check_document(data, file)
    return data


def parse_scenario(
    data: dict[str, Any],
    source: Path | None = None,
    files_root: str | os.PathLike[str] | None = None,
) -> Scenario:
    """Check scenario fields already in memory.

    ``source`` is the file they came from: it names the file in problems and
    anchors relative ``organisations_csv`` paths, which must lie in its folder
    (or ``files_root``). ``content_hash`` covers the data's canonical JSON and any CSV bytes.
    """
    source = Path(os.path.abspath(source)) if source is not None else None
    file = os.fspath(source) if source is not None else "<scenario>"
    return build_scenario(data, source, file, canonical_bytes(data, file), files_root)


def canonical_bytes(data: Any, file: str = "<scenario>") -> bytes:
    """Scenario data as canonical JSON: what the hash of a scenario built in memory covers.

    The data is bounded first (:func:`~sct_engine.scenario.limits.check_document`),
    so data too large, too deep or with huge integers is a problem naming its field.
    """
    check_document(data, file)
    return json.dumps(data, sort_keys=True, default=str).encode()


def scenario_inputs(scenarios: Iterable[Scenario]) -> list[tuple[str, Path]]:
    """(what, path) of every file the scenarios were read from, each once: what a command
    checks its outputs against (:func:`sct_engine.files.check_destinations`)."""
    found: dict[Path, str] = {}
    for scenario in scenarios:
        for k, path in enumerate(scenario.input_files):
            found.setdefault(path, "the scenario file" if k == 0 else "a CSV table it reads")
    return [(what, path) for path, what in found.items()]


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


def _root(files_root: str | os.PathLike[str] | None) -> Path | None:
    """The folder opened to scenarios on purpose: the argument, else ``$SCT_FILES_ROOT``."""
    if files_root is None:
        return files_root_from_env()
    return check_files_root(files_root, "files_root")


def _load_workbook(source: Path, file: str, files_root: str | os.PathLike[str] | None) -> Scenario:
    """A workbook's fields checked as a YAML file's are; problems and warnings name cells."""
    check = partial(_model_problems, source=source, file=file, files_root=files_root)
    book = read_workbook(source, file, check)
    try:
        scenario = build_scenario(book.data, source, file, book.raw, files_root)
    except ScenarioError as exc:
        raise ScenarioError([book.locate(problem) for problem in exc.problems]) from None
    scenario._locate = book.locate
    return scenario


def _model_problems(
    data: dict[str, Any],
    source: Path,
    file: str,
    files_root: str | os.PathLike[str] | None = None,
) -> list[Problem]:
    """The models' problems with a workbook's fields, reported with the reader's own."""
    try:
        build_scenario(data, source, file, b"", files_root)
    except ScenarioError as exc:
        return exc.problems
    return []


def build_scenario(
    data: Any,
    source: Path | None,
    file: str,
    raw: bytes,
    files_root: str | os.PathLike[str] | None = None,
) -> Scenario:
    """Append CSV members, check limits, validate strictly, and record provenance.

    ``raw`` is what the scenario's ``content_hash`` covers (with any CSV bytes);
    ``files_root`` opens a folder beyond the scenario's own to its CSV tables.
    """
    check_document(data, file)
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
    tables = CsvTables(base=source.parent if source else None, root=_root(files_root), file=file)
    data = with_csv_members(data, tables)
    if tables.problems:
        raise ScenarioError(tables.problems)
    check_organisation_count(data, file)
    try:
        # strict: a boolean or a text where a number goes (`true`, `"0.5"`) names its field.
        scenario = Scenario.model_validate(data, strict=True)
    except ValidationError as exc:
        raise ScenarioError(problems_from_validation_error(exc, file, Scenario)) from None
    scenario._source = source
    scenario._content_hash = sha256_of([raw, *tables.contents])
    scenario._inputs = tuple([*([source] if source else []), *tables.paths])
    return scenario


_MERGE_TAG = "tag:yaml.org,2002:merge"


class _ScenarioLoader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader (no tags, nothing executed) with bounds and plain messages.

    On top of the safe loader: nesting deeper than ``MAX_NESTING`` is refused while
    the document is composed (before Python's recursion limit), and its size with
    every alias expanded is counted on the composed graph before anything is
    built (a "billion laughs" costs nothing); an alias that refers to itself is
    refused; a repeated key is an error; merge keys (``<<: *defaults``) work as
    in YAML 1.1; an integer too long to convert is kept for :func:`check_document`
    to report at its field.
    """

    def __init__(self, stream: str, file: str) -> None:
        super().__init__(stream)
        self.file = file
        self._labels: list[Any] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._labels.append(index.value if isinstance(index, yaml.ScalarNode) else index)
        try:
            if len(self._labels) - 1 > MAX_NESTING:
                raise ScenarioError(
                    [
                        Problem(
                            self.file,
                            _label_path(self._labels),
                            f"is nested more than {MAX_NESTING} lists or mappings deep "
                            f"(line {self.peek_event().start_mark.line + 1})",
                            "a scenario nests at most a few levels (systems, organisations, "
                            "correlation matrices); check the indentation and brackets",
                        )
                    ]
                )
            return super().compose_node(parent, index)
        finally:
            self._labels.pop()

    def construct_document(self, node: yaml.Node) -> Any:
        _check_expanded_size(node, self.file)
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # merged keys may be overridden: that is what merging is for
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool):
                continue  # unhashable keys are reported by the base constructor
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key `{excerpt(key)}`",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_long_int(self, node: yaml.ScalarNode) -> Any:
        try:
            return self.construct_yaml_int(node)
        except ValueError:  # Python refuses to convert more than 4,300 digits
            return OverlongInteger(sum(c.isdigit() for c in str(node.value)))


_ScenarioLoader.add_constructor("tag:yaml.org,2002:int", _ScenarioLoader.construct_long_int)


def _label_path(labels: list[Any]) -> str:
    """The field path of the node being composed, shortened when absurdly long."""
    path = ""
    for label in labels:
        if isinstance(label, int):
            path += f"[{label}]"
        elif isinstance(label, str):
            path = f"{path}.{excerpt(label)}" if path else excerpt(label)
    return path if len(path) <= 120 else f"{path[:60]}...{path[-50:]}"


def _check_expanded_size(root: yaml.Node, file: str) -> None:
    """Refuse a document whose aliases expand beyond ``MAX_DOCUMENT_NODES`` values or
    ``MAX_NESTING`` levels, or refer to themselves; counted on the composed graph, each
    node once, so the check costs no more than the text."""
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = _child_nodes(node)
        if finished:
            on_path.discard(key)
            size[key] = min(1 + sum(size[id(c)] for c in children), MAX_DOCUMENT_NODES + 1)
            height[key] = 1 + max((height[id(c)] for c in children), default=0)
            if size[key] > MAX_DOCUMENT_NODES or height[key] > MAX_NESTING + 1:
                break
            continue
        if key in size:
            continue
        if key in on_path:
            raise ScenarioError(
                [
                    _shape_problem(
                        file,
                        node,
                        "an alias refers to the list or mapping it is inside, which never ends",
                        "refer with `*name` only to an anchor `&name` defined earlier and "
                        "elsewhere",
                    )
                ]
            )
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in size)
    else:
        return
    if size[key] > MAX_DOCUMENT_NODES:
        raise ScenarioError(
            [
                _shape_problem(
                    file,
                    node,
                    f"holds more than {MAX_DOCUMENT_NODES:,} values once its aliases (`*name`) "
                    "are expanded",
                    "write a smaller scenario: split it into several files, and do not build "
                    "large lists or matrices out of aliases",
                )
            ]
        )
    raise ScenarioError(
        [
            _shape_problem(
                file,
                node,
                f"is nested more than {MAX_NESTING} lists or mappings deep once its aliases "
                "(`*name`) are expanded",
                "a scenario nests at most a few levels; do not nest aliases inside aliases",
            )
        ]
    )


def _child_nodes(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _shape_problem(file: str, node: yaml.Node, message: str, fix: str) -> Problem:
    line = node.start_mark.line + 1 if node.start_mark else 0
    return Problem(file, "", f"{message} (the part starting at line {line})", fix)


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
    data = _load_yaml(text, file)
    if data is None:
        raise ScenarioError(
            [Problem(file, "", "is empty", f"write at least `name:` and `systems:`; {_DOCS}")]
        )
    return data


def _load_yaml(text: str, file: str) -> Any:
    """Plain data from YAML text through the bounded loader; problems name ``file``."""
    # A SafeLoader subclass: as safe as yaml.safe_load (no object tags, nothing executed).
    try:
        loader = _ScenarioLoader(text, file)
    except yaml.reader.ReaderError as exc:  # found before any parsing: a NUL, a bell, ...
        raise ScenarioError(
            [
                Problem(
                    file,
                    "",
                    f"holds the control character U+{exc.character:04X} (character "
                    f"{exc.position + 1:,}), so it is not a text file a scenario can be",
                    "check that this is the right file; save it as plain UTF-8 text, and write "
                    'a character such as a tab inside quotes as an escape ("\\t")',
                )
            ]
        ) from None
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError([_yaml_problem(exc, file)]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(
            [Problem(file, "", f"is not valid YAML: {excerpt(exc, 120)}", _DOCS)]
        ) from None
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = excerpt(exc.problem or "invalid YAML", 120)
    if isinstance(exc, yaml.constructor.ConstructorError):
        return _constructor_problem(problem, where, file)
    context = f" ({excerpt(exc.context, 80)})" if exc.context else ""
    return Problem(
        file,
        "",
        f"YAML syntax error{where}: {problem}{context}",
        "check that line and the one before: indent with spaces (not tabs), put a space "
        "after each `:`, and close every quote and bracket",
    )


def _constructor_problem(problem: str, where: str, file: str) -> Problem:
    """A YAML construction error in words: a repeated key, a list used as a key, a bad
    merge key, or a tag."""
    if problem.startswith("duplicate key"):
        return Problem(file, "", f"{problem}{where}", "keep only one of the two lines")
    if "unhashable key" in problem:
        return Problem(
            file,
            "",
            f"a key{where} is a list or a mapping; keys are plain names",
            "write each key as a plain name followed by `:`, e.g. `plan: -3.0`; a line "
            "starting with `? ` or a key in brackets makes a complex key, which scenarios "
            "do not use",
        )
    if "for merging" in problem:
        return Problem(
            file,
            "",
            f"a merge key `<<:`{where} must be followed by an alias of a mapping",
            "write `<<: *defaults` (or `<<: [*a, *b]`) where `&defaults` marks a mapping "
            "defined earlier; the keys written beside `<<:` override the merged ones",
        )
    return Problem(
        file,
        "",
        f"unsupported YAML tag{where}: {problem}",
        "remove the `!!` tag: a scenario holds plain numbers, text, lists and mappings, "
        "and loading one never runs code",
    )
