"""Scenario problems as plain sentences: where, what, and how to fix it.

Users write scenarios by hand, so every mistake must come back as a
:class:`Problem` naming the file, the field path (``systems[1].organisations[3].sd``)
and a fix, never as a traceback or raw pydantic text. Fixes are built from the
models' JSON schema (descriptions, allowed values, bounds, ``unit``), so the
wording lives next to each field's definition rather than in a table here.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

#: ``str(ScenarioError)`` lists at most this many problems, then a count of the rest.
MAX_PROBLEMS_SHOWN = 50
#: Longest quotation of a user's text (a cell, a key, a path) in a message.
EXCERPT_CHARS = 40
#: Longest message or fix kept in a problem: never a whole file's content.
MAX_MESSAGE_CHARS = 600

_PYDANTIC_TAG = re.compile(r"^(function-\w+|[a-z_]+)\[.*\]$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario.

    ``file`` is the file to open (for a CSV row, the file and row, e.g.
    ``orgs.csv row 3 (id=acute_a)``); ``field`` the path inside it, ``""`` for
    the whole file.
    """

    file: str
    field: str
    message: str
    fix: str

    def __post_init__(self) -> None:
        # A safety net under excerpt(): whatever was quoted, a problem stays a few lines long.
        for name in ("file", "field", "message", "fix"):
            text = getattr(self, name)
            if len(text) > MAX_MESSAGE_CHARS:
                object.__setattr__(self, name, text[: MAX_MESSAGE_CHARS - 3] + "...")

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.field) if part)
        text = f"{where}: {self.message}" if where else self.message
        return f"{text.rstrip('.')}. Fix: {self.fix}" if self.fix else text


class ScenarioError(Exception):
    """A scenario that cannot be used, with every problem found in it."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        lines = [str(problem) for problem in self.problems[:MAX_PROBLEMS_SHOWN]]
        hidden = len(self.problems) - MAX_PROBLEMS_SHOWN
        if hidden > 0:
            lines.append(f"... and {hidden} more problems")
        return "\n".join(lines)


class OutputError(Exception):
    """An output destination that cannot be written: one line naming the option, path and fix.

    Raised before any work when the destination is wrong from the start (a file
    where a folder is needed, a device, a folder that cannot be created), and
    when writing fails; in both cases existing outputs are left as they were.
    """

    def __init__(self, option: str, path: str, message: str, fix: str) -> None:
        self.option, self.path, self.message, self.fix = option, path, message, fix
        super().__init__(str(self))

    def __str__(self) -> str:
        where = " ".join(part for part in (self.option, excerpt(self.path, 200)) if part)
        return f"{where}: {self.message}. Fix: {self.fix}"


def integer_digits(value: int) -> int:
    """Decimal digits of an integer, without printing it (Python refuses to print huge ones)."""
    return max(1, math.floor(abs(value).bit_length() * math.log10(2)) + 1)


def excerpt(text: object, limit: int = EXCERPT_CHARS) -> str:
    """A short quotation of user text for a message: one line, at most ``limit`` characters.

    Messages quote what a user wrote so that they can find it, but never more
    than this: a file read by mistake must not be echoed to a terminal, a batch
    manifest or a report.
    """
    flat = " ".join(str(text).split())
    flat = "".join(c if c.isprintable() else "?" for c in flat)
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class RuleViolation(ValueError):
    """Raised by a model validator for rules that span fields (duplicate ids, share sums).

    Its problems carry ``file=""`` and a ``field`` relative to the model that
    raised it; :func:`problems_from_validation_error` fills in both.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in self.problems))


def field_path(loc: Sequence[str | int]) -> str:
    """Write pydantic's ``loc`` tuple as ``systems[1].organisations[3].sd``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not _PYDANTIC_TAG.match(part):
            path = f"{path}.{part}" if path else part
    return path


def join_path(prefix: str, field: str) -> str:
    """Append a relative field path to a prefix path."""
    if not prefix or not field:
        return prefix or field
    return prefix + field if field.startswith("[") else f"{prefix}.{field}"


def did_you_mean(name: str, allowed: Iterable[str]) -> str:
    """A fix for an unknown name: the closest allowed one, else the full list."""
    allowed = sorted(allowed)
    close = difflib.get_close_matches(name[:100], allowed, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    return f"remove it; allowed here: {', '.join(allowed)}"


def problems_from_validation_error(
    error: ValidationError, file: str, model: type[BaseModel], prefix: str = ""
) -> list[Problem]:
    """One :class:`Problem` per pydantic error, with a field path and a human fix.

    ``model`` is the class that was validated (its schema supplies the fixes);
    ``prefix`` is the path of that model inside the file, if any.
    """
    schema = _schema(model)
    problems: list[Problem] = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        where = join_path(prefix, field_path(loc))
        violation = detail.get("ctx", {}).get("error")
        if isinstance(violation, RuleViolation):
            problems += [
                replace(p, file=file, field=join_path(where, p.field)) for p in violation.problems
            ]
            continue
        parent, node = _schema_at(schema, loc)
        message, fix = _explain(detail, parent, node)
        problems.append(Problem(file, where, message, fix))
    return problems


# --- schema lookup -------------------------------------------------------------------


@cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def _resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` and drop the ``null`` branch of an optional field."""
    while True:
        if "$ref" in node:
            target = root.get("$defs", {}).get(node["$ref"].rsplit("/", 1)[-1], {})
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        elif "anyOf" in node:
            branches = [b for b in node["anyOf"] if b.get("type") != "null"]
            if len(branches) != 1:
                return node
            node = {**{k: v for k, v in node.items() if k != "anyOf"}, **branches[0]}
        else:
            return node


def _schema_at(
    root: dict[str, Any], loc: Sequence[str | int]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The object schema holding the field that ``loc`` names, and the field's own schema."""
    parent: dict[str, Any] | None = None
    node: dict[str, Any] | None = _resolve(root, root)
    for part in loc:
        if node is None:
            break
        if isinstance(part, int):
            node = _resolve(root, node["items"]) if "items" in node else None
        elif part in node.get("properties", {}):
            parent, node = node, _resolve(root, node["properties"][part])
        elif "properties" in node:
            parent, node = node, None
        # anything else is a pydantic tag: stay where we are
    return parent, node


# --- wording -------------------------------------------------------------------------


_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}
_WRONG_TYPE = {
    "float_type",
    "float_parsing",
    "int_type",
    "int_parsing",
    "int_from_float",
    "bool_type",
    "bool_parsing",
    "string_type",
}


def _explain(
    detail: Any, parent: dict[str, Any] | None, node: dict[str, Any] | None
) -> tuple[str, str]:
    """Message and fix for one pydantic error."""
    kind = detail["type"]
    name = str(detail["loc"][-1]) if detail["loc"] else ""
    node = node or {}
    got = _show(detail.get("input"))
    if kind == "missing":
        return "required field is missing", _add_fix(name, node)
    if kind == "extra_forbidden":
        allowed = (parent or {}).get("properties", {}).keys()
        return f"unknown field `{excerpt(name)}`", did_you_mean(name, allowed)
    if kind in {"literal_error", "enum"}:
        values = [str(v) for v in node.get("enum", [])]
        shown = ", ".join(values) or detail.get("ctx", {}).get("expected", "")
        return f"must be one of {shown} (got {got})", f"use one of: {shown}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        phrase = f"{words} {_number(detail['ctx'][key])}"
        return f"must be {phrase} (got {got})", _with_description(
            f"give `{name}` a value {phrase}", node
        )
    if kind == "finite_number":
        return f"must be a finite number (got {got})", _type_fix(node)
    if kind in _WRONG_TYPE:
        unit = f" in {node['unit']}" if node.get("unit") else ""
        return f"must be {_type_words(node)}{unit} (got {got})", _type_fix(node)
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"must be a set of fields (got {got})", (
            "write `field: value` lines indented under it (see docs/scenario-format.md)"
        )
    if kind == "list_type":
        return f"must be a list (got {got})", "write one item per line, each starting with `- `"
    if kind in {"too_short", "string_too_short"}:
        return "must not be empty", _with_description(f"give `{name}` a value", node)
    if kind == "string_too_long":
        most = detail.get("ctx", {}).get("max_length", 0)
        length = len(str(detail.get("input", "")))
        message = f"is {length:,} characters long, more than the {most:,} a spreadsheet cell holds"
        return message, _with_description(f"shorten `{name}`", node)
    if kind == "implausibly_small":
        return str(detail["msg"]), _with_description(
            f"check `{name}`: a figure this small is a slip (money is in £m: 0.5 is £500k)", node
        )
    if kind == "control_character":
        return f"{detail['msg']}, which a terminal would act on and a workbook cannot hold", (
            f"retype `{name}` without it (copying from another program can bring one in)"
        )
    if kind == "string_pattern_mismatch":
        pattern = detail.get("ctx", {}).get("pattern", "")
        return f"must match {pattern} (got {got})", _with_description(f"rewrite `{name}`", node)
    text = str(detail.get("msg", "is not valid"))
    return f"{text[:1].lower()}{text[1:]} (got {got})", "see docs/scenario-format.md"


def _show(value: Any) -> str:
    """A short, readable rendering of the offending input."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a whole number of about {integer_digits(value):,} digits"
    if isinstance(value, str | int | float | bool) or value is None:
        return excerpt(repr(value))
    return type(value).__name__


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _description(node: dict[str, Any]) -> str:
    text = str(node.get("description", "")).strip().rstrip(".")
    return text[:1].lower() + text[1:]


def _with_description(fix: str, node: dict[str, Any]) -> str:
    description = _description(node)
    return f"{fix} ({description})" if description else fix


def _add_fix(name: str, node: dict[str, Any]) -> str:
    placeholder = {
        "number": " <number>",
        "integer": " <whole number>",
        "string": " <text>",
        "boolean": " true",
    }.get(node.get("type", ""), "")
    return _with_description(f"add `{name}:{placeholder}`", node)


def _type_words(node: dict[str, Any]) -> str:
    return {
        "number": "a number",
        "integer": "a whole number",
        "boolean": "true or false",
        "string": "text",
    }.get(node.get("type", ""), "a value of the right kind")


def _type_fix(node: dict[str, Any]) -> str:
    kind = node.get("type")
    if kind == "number" and node.get("unit") == "£m":
        return "write a number in £m, e.g. 3.5, without units"
    if kind == "number" and node.get("minimum") == 0 and node.get("maximum") == 1:
        return "write a fraction between 0 and 1, e.g. 0.3"
    if kind == "number":
        return "write a plain number, e.g. 1.5, without units"
    if kind == "integer":
        return "write a whole number without separators or exponents, e.g. 100000"
    if kind == "boolean":
        return "write true or false"
    if kind == "string":
        return "write text; put it in quotes if it looks like a number"
    return "see docs/scenario-format.md"
