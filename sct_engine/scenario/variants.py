"""A scenario file as the runs it asks for: every sweep point, with any ``--set`` changes.

``sct validate``, ``run``, ``compare`` and ``report`` read a file through
:func:`load_variants`: a plain file is one scenario; a file with a ``sweep:``
block is one scenario per point (or the one ``--point K`` picks). ``--set
PATH=VALUE`` changes (:func:`parse_sets`) are applied on top, with the paths of
sweeps. Each scenario records what was changed (``Scenario.changes``, kept in
``run.json``), and an option whose fields were changed carries them in its name
(``flexible_25[system_linked_share=0.5]``), so no table can mistake it for the
built-in option.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sct_engine.errors import Problem, ScenarioError, excerpt
from sct_engine.rules import builtin_menu
from sct_engine.scenario.loading import (
    build_scenario,
    canonical_bytes,
    load_scenario,
    parse_yaml_value,
    read_scenario_data,
)
from sct_engine.scenario.models import Scenario
from sct_engine.scenario.sweep import (
    SWEEP_KEY,
    Point,
    covering_points,
    parse_path,
    point_label,
    point_slug,
    scheme_labels,
    set_field,
    sweep_points,
)
from sct_engine.scenario.workbook.reader import is_workbook

#: The command-line option that names changes in problems.
SET_OPTION = "--set"
#: A point's folder name longer than this drops the values (the number alone is unique).
_MAX_FOLDER = 120
_DOCS = "see docs/scenario-format.md (What-if changes with --set)"


#: `sct validate` checks at most this many points of a sweep (every value of every path among
#: them); longer sweeps are counted, not built.
MAX_POINTS_CHECKED = 200


@dataclass(frozen=True)
class Variant:
    """One run a scenario file asks for: the file at one sweep point, with any ``--set`` changes."""

    scenario: Scenario
    #: The sweep point's number (from 0); None for a file without a sweep.
    index: int | None = None
    #: The sweep point: field path -> value (empty without a sweep).
    point: Point = field(default_factory=dict)
    #: How many points the file's sweep has (0 without a sweep).
    of: int = 0

    @property
    def label(self) -> str:
        """The point as text, ``schemes[3].system_linked_share=0.5``; empty without a sweep."""
        return point_label(self.point)

    @property
    def folder(self) -> str:
        """The point's own output folder name, ``point_3__schemes.3.system_linked_share=0.5``.

        Empty without a sweep. The number keeps names unique and in order.
        """
        if self.index is None:
            return ""
        number = f"point_{self.index:0{len(str(max(self.of - 1, 0)))}d}"
        named = f"{number}__{point_slug(self.point)}"
        return named if len(named) <= _MAX_FOLDER else number


def load_variants(
    path: str | os.PathLike[str],
    point: int | None = None,
    sets: Mapping[str, Any] | None = None,
    files_root: str | os.PathLike[str] | None = None,
) -> list[Variant]:
    """Every scenario a file asks for, checked, with ``sets`` applied to each.

    ``point`` picks one point of the file's sweep (from 0). Every point is
    validated before anything is returned, so a bad value fails at once,
    naming the point. ``files_root`` opens a folder beyond the file's own to its
    CSV tables (docs/scenario-format.md#file-access). Raises ScenarioError.
    """
    file = os.fspath(path)
    source = Path(os.path.abspath(file))
    sets = dict(sets or {})
    if is_workbook(source) and not sets and point is None:
        # A workbook has no sweep: read it whole, so every problem names its cell.
        return [Variant(load_scenario(file, files_root))]
    data, raw = read_scenario_data(file)
    if not isinstance(data, dict) or SWEEP_KEY not in data:
        if point is not None:
            raise _problem(
                file, "--point", "is given but the file has no sweep: block", "leave out --point"
            )
        if not sets:
            return [Variant(build_scenario(data, source, file, raw, files_root))]
        return [_variant(data, source, file, {}, None, 0, sets, files_root)]
    data = dict(data)
    points = sweep_points(data.pop(SWEEP_KEY), data, file)
    _check_sets_against_sweep(sets, points, file)
    if point is not None and not 0 <= point < len(points):
        raise _problem(
            file,
            "--point",
            f"is {point} but the sweep has {len(points)} points (0 to {len(points) - 1})",
            "give a point number from the list `sct validate` prints",
        )
    chosen = range(len(points)) if point is None else [point]
    return _build(data, source, file, points, chosen, sets, files_root)


def check_variants(
    path: str | os.PathLike[str],
    files_root: str | os.PathLike[str] | None = None,
    most: int | None = None,
) -> tuple[list[Variant], int]:
    """What ``sct validate`` checks of a file, and how many runs it makes.

    A sweep of at most ``most`` (default :data:`MAX_POINTS_CHECKED`) points is checked point
    by point, as :func:`load_variants` would; a longer one is counted without building its
    points, and at most ``most`` of them are checked, among them every value of every path
    (:func:`~sct_engine.scenario.sweep.covering_points`). Raises ScenarioError.
    """
    most = MAX_POINTS_CHECKED if most is None else most
    file = os.fspath(path)
    source = Path(os.path.abspath(file))
    if is_workbook(source):
        return [Variant(load_scenario(file, files_root))], 1
    data, raw = read_scenario_data(file)
    if not isinstance(data, dict) or SWEEP_KEY not in data:
        return [Variant(build_scenario(data, source, file, raw, files_root))], 1
    data = dict(data)
    points = sweep_points(data.pop(SWEEP_KEY), data, file)
    chosen = covering_points(points, most)
    return _build(data, source, file, points, chosen, {}, files_root), len(points)


def _build(
    data: dict[str, Any],
    source: Path,
    file: str,
    points: list[Point],
    chosen: Iterable[int],
    sets: Mapping[str, Any],
    files_root: str | os.PathLike[str] | None,
) -> list[Variant]:
    """The variants of the ``chosen`` points, each checked; every problem at once."""
    variants: list[Variant] = []
    problems: list[Problem] = []
    for k in chosen:
        try:
            variants.append(
                _variant(data, source, file, points[k], k, len(points), sets, files_root)
            )
        except ScenarioError as err:
            where = f"{file} [point {k}: {point_label(points[k])}]"
            problems += [replace(p, file=where) for p in err.problems]
    if problems:
        raise ScenarioError(problems)
    return variants


def load_point(
    path: str | os.PathLike[str],
    values: Mapping[str, Any],
    files_root: str | os.PathLike[str] | None = None,
) -> Scenario:
    """The scenario at the sweep point with these values (how a batch run reads its point)."""
    file = os.fspath(path)
    data, _ = read_scenario_data(file)
    if not isinstance(data, dict) or SWEEP_KEY not in data:
        raise _problem(file, SWEEP_KEY, "is missing", "the file no longer has its sweep: block")
    data = dict(data)
    points = sweep_points(data.pop(SWEEP_KEY), data, file)
    wanted = dict(values)
    index = next((k for k, p in enumerate(points) if p == wanted), None)
    if index is None:
        raise _problem(
            file, SWEEP_KEY, f"no longer has the point {point_label(wanted)}", "run the batch again"
        )
    return _variant(
        data, Path(os.path.abspath(file)), file, points[index], index, len(points), {}, files_root
    ).scenario


def parse_sets(texts: Sequence[str]) -> dict[str, Any]:
    """``PATH=VALUE`` texts as ``{path: value}``; each value is read as YAML.

    So ``-4`` is a number, ``true`` a boolean, ``student_t`` text and
    ``[0.2, 0.3, 0.2, 0.3]`` a list. A path given twice, or text without ``=``,
    is a problem naming the option. Paths are checked against the file later.
    """
    changes: dict[str, Any] = {}
    problems: list[Problem] = []
    for text in texts:
        path, sep, value_text = text.partition("=")
        path = path.strip()
        if not sep or not path:
            problems.append(
                Problem(
                    SET_OPTION,
                    text,
                    "is not PATH=VALUE",
                    f"write e.g. `--set systems[0].organisations[2].plan=-4`; {_DOCS}",
                )
            )
            continue
        try:
            parse_path(path)
        except ValueError as bad:
            problems.append(
                Problem(
                    SET_OPTION,
                    path,
                    f"`{bad}` is not a field name or a field name with [index]",
                    f"write paths like `uncertainty.national_share` or "
                    f"`systems[0].organisations[2].plan`; {_DOCS}",
                )
            )
            continue
        try:
            # the scenario's own bounded reader: a value is as safe and as limited as a file
            value = parse_yaml_value(value_text, SET_OPTION) if value_text.strip() else None
        except ScenarioError as err:
            problems.append(
                Problem(
                    SET_OPTION,
                    path,
                    f"cannot read the value {excerpt(value_text)!r} ({err.problems[0].message})",
                    f"give a number, true/false, text or a [list]; {_DOCS}",
                )
            )
            continue
        if path in changes:
            problems.append(
                Problem(SET_OPTION, path, "is given twice", f"give each path once; {_DOCS}")
            )
        changes[path] = value
    if problems:
        raise ScenarioError(problems)
    return changes


# --- one variant ----------------------------------------------------------------------------


def _variant(
    data: dict[str, Any],
    source: Path,
    file: str,
    point: Point,
    index: int | None,
    of: int,
    sets: Mapping[str, Any],
    files_root: str | os.PathLike[str] | None = None,
) -> Variant:
    """The file's data at ``point`` with ``sets`` applied, validated, labelled and recorded."""
    changed = copy.deepcopy(data)
    for path, value in point.items():
        set_field(changed, path, value, file)
    record = []
    for path, value in sets.items():
        was = _current(changed, path)
        set_field(changed, path, value, file, where=f"{SET_OPTION} {path}")
        record.append({"path": path, "value": value, "was": was})
    try:
        scenario = build_scenario(changed, source, file, canonical_bytes(changed, file), files_root)
    except ScenarioError as err:
        raise ScenarioError([_named_by_set(p, sets) for p in err.problems]) from None
    names = [option.name for option in scenario.schemes]
    for k, label in scheme_labels({**point, **sets}, names).items():
        scenario.schemes[k] = scenario.schemes[k].model_copy(update={"name": label})
    changes: dict[str, Any] = {}
    if index is not None:
        changes |= {"sweep_point": index, "sweep": point_label(point), "sweep_values": point}
    if record:
        changes["set"] = record
    scenario._changes = changes
    return Variant(scenario, index, dict(point), of)


def _current(data: Any, path: str) -> Any:
    """The value at ``path`` in the file's data, or None where the file leaves it to a default."""
    node = data
    parts = parse_path(path)
    if parts[0] == "schemes" and data.get("schemes") is None:
        node = {**data, "schemes": [option.model_dump() for option in builtin_menu()]}
    for part in parts:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return None
    return copy.deepcopy(node)


def _named_by_set(problem: Problem, sets: Mapping[str, Any]) -> Problem:
    """A problem in a field that ``--set`` changed names the option, so the user looks there."""
    for path in sets:
        if problem.field == path or problem.field.startswith((f"{path}.", f"{path}[")):
            return replace(problem, field=f"{SET_OPTION} {problem.field}")
    return problem


def _check_sets_against_sweep(sets: Mapping[str, Any], points: list[Point], file: str) -> None:
    swept = {path for point in points for path in point}
    clash = [path for path in sets if path in swept]
    if clash:
        raise ScenarioError(
            [
                Problem(
                    SET_OPTION,
                    path,
                    "is a field the file's sweep: block varies",
                    "leave out --set for it: the sweep sets it at every point",
                )
                for path in clash
            ]
        )


def _problem(file: str, where: str, message: str, fix: str) -> ScenarioError:
    return ScenarioError([Problem(file, where, message, fix)])
