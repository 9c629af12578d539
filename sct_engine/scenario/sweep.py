"""Parameter sweeps: a scenario's ``sweep:`` block expanded into one point per run.

A sweep names scenario fields by path (``schemes[2].system_linked_share``,
``uncertainty.national_share``) and lists values for each::

    sweep:                                    # a grid: every combination (2 x 3 = 6 runs)
      uncertainty.national_share: [0.1, 0.3]
      schemes[2].system_linked_share: [0, 0.5, 1]

    sweep:                                    # a list: exactly these points (2 runs)
      - {uncertainty.national_share: 0.1, uncertainty.system_share: 0.2}
      - {uncertainty.national_share: 0.3, uncertainty.system_share: 0.4}

A list of values may also be an even progression, ``[0, 0.1, ..., 1]``, or
``{start: 0, stop: 1, num: 11}`` (both ends included). Paths are checked
against the scenario model and the file before anything runs, so a typo fails
once, naming the file and the path, instead of once per run. The ``sweep:``
block itself is not part of the scenario: :mod:`.variants` pops it, applies each
point to a copy of the data with :func:`apply_point`, then validates that copy.
``--set PATH=VALUE`` on the command line uses the same paths (:func:`set_field`).
A swept or set scheme field shows in the option's name (:func:`scheme_labels`).
"""

from __future__ import annotations

import copy
import itertools
import math
import re
import types
from collections.abc import Mapping, Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from sct_engine.errors import Problem, ScenarioError, did_you_mean
from sct_engine.rules import builtin_menu
from sct_engine.scenario.models import Scenario

#: The key of the sweep block in a scenario file.
SWEEP_KEY = "sweep"
#: More runs than this from one file is a typo, not a plan.
MAX_SWEEP_RUNS = 100_000

#: A sweep point: field path -> value, in the order the sweep lists the paths.
Point = dict[str, float | int]

_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$")
_INDEX = re.compile(r"\[(\d+)\]")
_DOCS = "see docs/batch.md (Sweeps)"


def sweep_points(spec: Any, data: Mapping[str, Any], file: str) -> list[Point]:
    """Every point of a sweep block, after checking each path exists in ``data``.

    ``spec`` is the value of the ``sweep:`` key; ``data`` the rest of the
    scenario; ``file`` names the file in problems. Raises ScenarioError.
    """
    if isinstance(spec, Mapping):
        points = _grid(spec, file)
    elif isinstance(spec, list):
        points = _listed(spec, file)
    else:
        raise _error(
            file,
            SWEEP_KEY,
            f"must be a mapping of field paths to values, or a list of points (got {_kind(spec)})",
            "write e.g. `sweep: {uncertainty.national_share: [0.1, 0.3]}`",
        )
    _check_paths(points, data, file)
    return points


def apply_point(data: Mapping[str, Any], point: Mapping[str, float | int], file: str) -> dict:
    """A deep copy of ``data`` with each path of ``point`` set to its value.

    ``schemes[k]`` on a scenario that omits ``schemes`` refers to the built-in
    menu, which is written out first so that the other options still run.
    """
    result = copy.deepcopy(dict(data))
    for path, value in point.items():
        set_field(result, path, value, file)
    return result


def scheme_labels(changes: Mapping[str, Any], names: Sequence[str]) -> dict[int, str]:
    """New names of the options whose fields ``changes`` sets: ``flexible_25[system_linked_share=0.5]``.

    ``changes`` maps field paths to values (a sweep point, ``--set`` changes);
    ``names`` are the options' names in order. A changed ``name`` is left as it is.
    """
    fields: dict[int, list[str]] = {}
    for path, value in changes.items():
        try:
            parts = parse_path(path)
        except ValueError:
            continue
        if len(parts) == 3 and parts[0] == "schemes" and isinstance(parts[1], int):
            index, name = parts[1], parts[2]
            if name != "name" and index < len(names):
                fields.setdefault(index, []).append(f"{name}={value_text(value)}")
    return {k: f"{names[k]}[{','.join(parts)}]" for k, parts in fields.items()}


def value_text(value: Any) -> str:
    """A value as a label shows it: numbers exactly (``0.5``), booleans as ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    return str(value)


def point_label(point: Mapping[str, float | int]) -> str:
    """Readable name of a point: ``uncertainty.national_share=0.1, schemes[2].share=0.5``."""
    return ", ".join(f"{path}={_number_text(value)}" for path, value in point.items())


def point_slug(point: Mapping[str, float | int]) -> str:
    """File-name-safe name of a point: ``uncertainty.national_share=0.1__schemes.2.share=0.5``."""
    return "__".join(
        f"{path.replace('[', '.').replace(']', '')}={_number_text(value)}"
        for path, value in point.items()
    )


def parse_path(path: str) -> tuple[str | int, ...]:
    """``systems[0].organisations[2].sd`` as ``("systems", 0, "organisations", 2, "sd")``."""
    parts: list[str | int] = []
    for segment in path.split("."):
        match = _SEGMENT.match(segment.strip())
        if match is None:
            raise ValueError(segment)
        parts.append(match.group(1))
        parts += [int(i) for i in _INDEX.findall(match.group(2))]
    return tuple(parts)


# --- expanding the block --------------------------------------------------------------


def count_points(spec: Any, file: str) -> int:
    """How many runs a sweep block makes, counted without building its points."""
    if isinstance(spec, Mapping) and spec:
        return math.prod(len(_values(str(path), raw, file)) for path, raw in spec.items())
    return len(spec) if isinstance(spec, list) else 0


def covering_points(points: Sequence[Point], most: int) -> list[int]:
    """At most ``most`` point numbers among which every value of every path appears (as far
    as ``most`` allows), first and last points included: what ``sct validate`` checks of a
    sweep too long to check point by point."""
    if len(points) <= most:
        return list(range(len(points)))
    seen: set[tuple[str, str]] = set()
    chosen: list[int] = []
    for k in (0, len(points) - 1, *range(1, len(points) - 1)):
        keys = {(path, _number_text(value)) for path, value in points[k].items()}
        if len(chosen) < 2 or not keys <= seen:
            chosen.append(k)
            seen |= keys
        if len(chosen) >= most:
            break
    return sorted(chosen)


def _grid(spec: Mapping[Any, Any], file: str) -> list[Point]:
    """The cartesian product of each path's values, the last path varying fastest."""
    if not spec:
        raise _error(file, SWEEP_KEY, "is empty", "list at least one field path and its values")
    axes = {str(path): _values(str(path), raw, file) for path, raw in spec.items()}
    count = math.prod(len(values) for values in axes.values())
    _check_count(count, file)
    return [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]


def _listed(spec: list[Any], file: str) -> list[Point]:
    """Explicit points, each a mapping of path to one number."""
    if not spec:
        raise _error(file, SWEEP_KEY, "is an empty list", "list at least one point")
    _check_count(len(spec), file)
    points: list[Point] = []
    seen: dict[tuple, int] = {}
    for k, raw in enumerate(spec):
        where = f"{SWEEP_KEY}[{k}]"
        if not isinstance(raw, Mapping) or not raw:
            raise _error(
                file,
                where,
                f"must be a mapping of field paths to numbers (got {_kind(raw)})",
                "write each point as `{uncertainty.national_share: 0.1, ...}`",
            )
        point = {str(path): _number(value, f"{where}.{path}", file) for path, value in raw.items()}
        key = tuple(point.items())
        if key in seen:
            raise _error(
                file,
                where,
                f"repeats point {SWEEP_KEY}[{seen[key]}]",
                "remove one of them: each point is one run",
            )
        seen[key] = k
        points.append(point)
    return points


def _values(path: str, raw: Any, file: str) -> list[float | int]:
    """The values listed for one path: a list, ``[a, b, ..., z]`` or ``{start, stop, num}``."""
    where = f"{SWEEP_KEY}.{path}"
    if isinstance(raw, Mapping):
        return _linspace(raw, where, file)
    if not isinstance(raw, list) or not raw:
        raise _error(
            file,
            where,
            f"must be a non-empty list of values (got {_kind(raw)})",
            f"write e.g. `{path}: [0.1, 0.3]`, `[0, 0.1, ..., 1]` or `{{start: 0, stop: 1, num: 11}}`",
        )
    if "..." in raw:
        return _distinct(_progression(raw, where, file), where, file, "gives")
    values = [_number(value, f"{where}[{i}]", file) for i, value in enumerate(raw)]
    return _distinct(values, where, file, "lists")


def _distinct(values: list[float | int], where: str, file: str, verb: str) -> list[float | int]:
    """The values, if each is a finite number given once: a range whose steps are too small for
    floating point gives the same value twice, and two runs of one point would clash."""
    if not all(math.isfinite(v) for v in values):
        raise _error(
            file,
            where,
            "gives values beyond the largest number a computer holds",
            "choose first, step and last of a size the field can take",
        )
    seen: set[float | int] = set()
    repeated: set[str] = set()
    for value in values:
        if value in seen:
            repeated.add(_number_text(value))
        seen.add(value)
    if repeated:
        fix = "list each value once"
        if verb == "gives":
            fix = "widen the range or use fewer values: its steps are too small to tell apart"
        shown = ", ".join(sorted(repeated)[:5])
        raise _error(file, where, f"{verb} {shown} more than once", fix)
    return values


def _progression(raw: list[Any], where: str, file: str) -> list[float | int]:
    """``[first, second, ..., last]``: steps of ``second - first`` from first to last."""
    if len(raw) != 4 or raw[2] != "...":
        raise _error(
            file,
            where,
            "uses `...` but not as `[first, second, ..., last]`",
            "write an even progression as e.g. `[0, 0.1, ..., 1]`, or list every value",
        )
    first, second, last = (_number(raw[i], f"{where}[{i}]", file) for i in (0, 1, 3))
    step = second - first
    steps = (last - first) / step if step and math.isfinite(step) else -1.0
    if not math.isfinite(steps):  # a step too small for the span: a count beyond any limit
        raise _error(
            file,
            SWEEP_KEY,
            f"[{first}, {second}, ..., {last}] takes steps of {step:g}, too many to count",
            "sweep fewer values, or split the sweep over several files",
        )
    if steps < 1 or abs(steps - round(steps)) > 1e-9:
        raise _error(
            file,
            where,
            f"[{first}, {second}, ..., {last}] does not reach {last} in whole steps of {step:g}",
            "choose first, second and last so that last - first is a whole number of steps",
        )
    count = round(steps) + 1
    _check_count(count, file)
    as_int = all(isinstance(v, int) for v in (first, second, last))
    return [first + i * step if as_int else _tidy(first + i * step) for i in range(count)]


def _linspace(raw: Mapping[str, Any], where: str, file: str) -> list[float | int]:
    """``{start, stop, num}``: ``num`` evenly spaced values, both ends included."""
    if set(raw) != {"start", "stop", "num"}:
        raise _error(
            file,
            where,
            f"a range needs exactly start, stop and num (got {', '.join(map(str, raw)) or 'nothing'})",
            "write e.g. `{start: 0, stop: 1, num: 11}`",
        )
    start = _number(raw["start"], f"{where}.start", file)
    stop = _number(raw["stop"], f"{where}.stop", file)
    num = raw["num"]
    if not isinstance(num, int) or isinstance(num, bool) or num < 2:
        raise _error(
            file,
            f"{where}.num",
            f"must be a whole number of at least 2 (got {num!r})",
            "e.g. `num: 11`",
        )
    _check_count(num, file)
    values = [_tidy(start + (stop - start) * i / (num - 1)) for i in range(num)]
    return _distinct(values, where, file, "gives")


def _number(value: Any, where: str, file: str) -> float | int:
    """A finite int or float from the sweep block; booleans and text are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _error(
            file,
            where,
            f"sweep values must be finite numbers (got {value!r})",
            "sweep numeric fields only, e.g. shares, £m figures, draws or seed",
        )
    return value


def _tidy(value: float) -> float:
    """Round away float noise (0.30000000000000004 -> 0.3) so names and values read cleanly."""
    return float(f"{value:.12g}")


def _check_count(count: int, file: str) -> None:
    if count > MAX_SWEEP_RUNS:
        raise _error(
            file,
            SWEEP_KEY,
            f"expands to {count:,} runs, above the limit of {MAX_SWEEP_RUNS:,}",
            "sweep fewer values, or split the sweep over several files",
        )


# --- paths ----------------------------------------------------------------------------


def _check_paths(points: list[Point], data: Mapping[str, Any], file: str) -> None:
    """Apply each path once to a scratch copy so a bad path fails before any run starts."""
    first: dict[str, float | int] = {}
    for point in points:
        for path, value in point.items():
            first.setdefault(path, value)
    problems: list[Problem] = []
    for path, value in first.items():
        try:
            set_field(copy.deepcopy(dict(data)), path, value, file)
        except ScenarioError as err:
            problems += err.problems
    if problems:
        raise ScenarioError(problems)


def set_field(
    data: dict[str, Any], path: str, value: Any, file: str, where: str | None = None
) -> None:
    """Set one field of scenario data in place, walking the scenario model alongside.

    A mapping that the file leaves out (``uncertainty:``) is created, since its
    fields have defaults; a list entry must exist in the file. ``where`` names
    the change in problems (default ``sweep.<path>``).
    """
    where = where or f"{SWEEP_KEY}.{path}"
    try:
        parts = parse_path(path)
    except ValueError as bad:
        raise _error(
            file,
            where,
            f"`{bad}` is not a field name or a field name with [index]",
            "write paths like `uncertainty.national_share` or `schemes[2].system_linked_share`",
        ) from None
    model: type[BaseModel] | None = Scenario
    node: Any = data
    walked = ""
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(part, int):
            node = _entry(node, part, walked, where, file, last, value)
            walked += f"[{part}]"
            continue
        if not isinstance(node, dict) or model is None:
            raise _error(
                file,
                where,
                f"`{walked}` is {'a list' if isinstance(node, list) else 'a single value'}, "
                f"so it has no field `{part}`",
                f"give an index, e.g. `{walked}[0].{part}`"
                if isinstance(node, list)
                else "check the path against docs/scenario-format.md",
            )
        fields = model.model_fields
        if part not in fields:
            inside = f"in `{walked}`" if walked else "in a scenario"
            raise _error(
                file, where, f"there is no field `{part}` {inside}", did_you_mean(part, fields)
            )
        walked = f"{walked}.{part}" if walked else part
        if last:
            node[part] = value
            return
        model, is_list = _inner_model(fields[part].annotation)
        node = _child(node, part, model, is_list)
        if is_list and depth + 1 < len(parts) and not isinstance(parts[depth + 1], int):
            raise _error(
                file,
                where,
                f"`{walked}` is a list, so it has no field `{parts[depth + 1]}`",
                f"give an index, e.g. `{walked}[0].{parts[depth + 1]}`",
            )


def _child(node: dict[str, Any], name: str, model: type[BaseModel] | None, is_list: bool) -> Any:
    """The value under ``name``, creating what the file leaves to defaults."""
    child = node.get(name)
    if child is None and name == "schemes":
        child = [option.model_dump() for option in builtin_menu()]
    elif child is None and model is not None:
        child = [] if is_list else {}
    if child is not None:
        node[name] = child
    return child


def _entry(
    node: Any, index: int, walked: str, where: str, file: str, last: bool, value: Any
) -> Any:
    """Entry ``index`` of the list at ``walked``; set it when it is the end of the path."""
    if not isinstance(node, list):
        raise _error(
            file,
            where,
            f"`{walked}` is not a list, so [{index}] means nothing",
            "remove the [index]",
        )
    if index >= len(node):
        listed = f"indexes 0 to {len(node) - 1}" if node else "none"
        raise _error(
            file,
            where,
            f"`{walked}` has {len(node)} entries ({listed}), so [{index}] does not exist",
            f"use an index below {len(node)}; only entries written in the file (or the built-in "
            "menu when `schemes` is omitted) can be swept or set, not rows of an organisations_csv",
        )
    if last:
        node[index] = value
    return node[index]


def _inner_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The pydantic model a field holds (or holds a list of), and whether it is a list."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            model, is_list = _inner_model(arg)
            if model is not None:
                return model, is_list
        return None, False
    if origin is list:
        model, _ = _inner_model(get_args(annotation)[0])
        return model, True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


# --- small helpers --------------------------------------------------------------------


def _number_text(value: float | int) -> str:
    """Shortest exact text of a number (``repr`` round-trips, so distinct values never clash)."""
    return repr(value)


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _error(file: str, field: str, message: str, fix: str) -> ScenarioError:
    return ScenarioError([Problem(file, field, message, f"{fix}; {_DOCS}" if fix else _DOCS)])
