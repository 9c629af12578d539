"""The scenario workbook's layout, generated from the scenario models: sheets, columns, rows.

One source of truth: every column of the Organisations, Systems and Options sheets and every
row of the Settings sheet is a field of the pydantic models, found by walking their JSON
schema, so a field added to a model appears in the template, the reader and the Guide without
an edit here. This module adds presentation only: plain-English titles and units.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel

from sct_engine.rules import SchemeOption
from sct_engine.scenario.models import Actuals, Organisation, OrganisationActuals, Scenario, System

ORGANISATIONS = "Organisations"
SYSTEMS = "Systems"
OPTIONS = "Options"
SETTINGS = "Settings"
CORRELATION = "Correlation"
ACTUALS = "Actuals"
GUIDE = "Guide"
#: The sheets read, in the order they are written (the Guide is written last, never read).
INPUT_SHEETS = (ORGANISATIONS, SYSTEMS, OPTIONS, SETTINGS, CORRELATION, ACTUALS)
SHEETS = (*INPUT_SHEETS, GUIDE)
#: Sheets a scenario workbook must have; Options (blank: the built-in menu), Correlation,
#: Actuals (blank: no year to date) and Guide may be left out.
REQUIRED_SHEETS = (ORGANISATIONS, SYSTEMS, SETTINGS)
#: Sheets whose names start with this are the user's own notes or workings: never read.
NOTES_PREFIX = "Notes"

#: Table sheets: row 1 holds plain-English titles with units, row 2 the contract field names
#: (what the reader goes by), data starts on row 3.
TITLE_ROW, FIELD_ROW, FIRST_DATA_ROW = 1, 2, 3
#: Settings sheet: one row per field under a header row; value in B, field name in D.
SETTINGS_HEADER = ("Setting", "Value", "Unit", "Field", "Meaning")
SETTINGS_VALUE_COLUMN, SETTINGS_FIELD_COLUMN = 2, 4
#: Correlation sheet: blocks under a note in row 1; a block starts with this label in column A.
CORRELATION_LABEL = "System"

#: Fields that belong beside a YAML file, not in a workbook (a workbook holds every member).
NOT_IN_WORKBOOK = frozenset({"organisations_csv"})
#: Scenario list fields with a sheet of their own.
TABLE_FIELDS = {"systems": SYSTEMS, "schemes": OPTIONS}
#: The year to date (``actuals``): its settings in an Actuals section of the Settings sheet,
#: its organisations on a sheet of their own.
ACTUALS_FIELD = "actuals"

Kind = Literal["number", "integer", "boolean", "text", "choice", "list"]

#: Plain-English titles by ``Model.field`` (flattened fields as ``Model.field.inner``); any
#: field without one gets pydantic's title, so new fields still read sensibly.
TITLES: dict[str, str] = {
    "Organisation.system": "System id",
    "Organisation.id": "Organisation id",
    "Organisation.name": "Organisation name",
    "Organisation.kind": "Kind",
    "Organisation.provider_type": "Type of trust",
    "Uncertainty.sd_pct_by_type": "Default outturn sd by type",
    "Organisation.plan": "Plan: surplus + / deficit -",
    "Organisation.control_total": "Control total",
    "Organisation.accepted_control_total": "Accepted its control total",
    "Organisation.sustainability_funding": "Sustainability funding at stake, PSF/CSF",
    "Organisation.turnover": "Turnover",
    "Organisation.sd": "Outturn standard deviation",
    "Organisation.sd_pct": "Outturn standard deviation",
    "Organisation.has_ae": "Type-1 A&E",
    "Organisation.ae_share": "Share of funding on A&E",
    "Organisation.p_ae": "Probability A&E element earned",
    "Organisation.mitigation": "Management actions",
    "Organisation.control_total_uplift": "Control total uplift for incentive PSF",
    "Organisation.risk_appetite": "Risk appetite: most it can lose in a 1-in-20 year",
    "Organisation.tail.probability": "Own large event: probability a year",
    "Organisation.tail.median_pct": "Own large event: median size",
    "Organisation.tail.sigma": "Own large event: lognormal shape",
    "Organisation.quarterly_profile": "Quarterly profile",
    "Organisation.system_loading": "Loading on system factor",
    "System.id": "System id",
    "System.name": "System name",
    "System.system_control_total": "System control total, blank for the members' sum",
    "SchemeOption.name": "Option name",
    "SchemeOption.system_linked_share": "Share linked to the system",
    "SchemeOption.redistribution": "Redistribution",
    "SchemeOption.share_cap": "Cap on headroom given",
    "SchemeOption.system_test": "System test",
    "SchemeOption.ae_gateway": "A&E behind the national gateway",
    "Scenario.name": "Scenario name",
    "Scenario.description": "Description",
    "Simulation.draws": "Monte Carlo draws",
    "Simulation.seed": "Random seed",
    "Uncertainty.distribution": "Shape of shocks",
    "Uncertainty.dof": "Student-t degrees of freedom",
    "Uncertainty.skew": "Skew-normal shape",
    "Uncertainty.national_share": "Variance share from the national factor",
    "Uncertainty.system_share": "Variance share from the system factor",
    "Uncertainty.quarterly": "Quarterly year-to-date tests",
    "Uncertainty.quarterly_variance": "Share of the year's variance",
    "Uncertainty.tail.probability": "Large event: probability a year",
    "Uncertainty.tail.median_pct": "Large event: median size",
    "Uncertainty.tail.sigma": "Large event: lognormal shape",
    "Regime.incentive_rate": "Incentive PSF per £1 of uplift",
    "Regime.bonus": "Year-end bonus pool",
    "Regime.bonus_share": "Share of unearned funding in the bonus pool",
    "Regime.recovery": "Quarterly PSF recovered at year end",
    "Regime.ae_gateway": "A&E gateway (national rule)",
    "Regime.csf_quarter_weights": "Share of CSF paid",
    "Regime.csf_recovery": "Quarterly CSF recovered at year end",
    "Actuals.closed_quarters": "Quarters closed so far (in-year re-forecast)",
    "Actuals.signed_option": "Option signed",
    "OrganisationActuals.id": "Organisation id",
    "OrganisationActuals.ytd_outturn": "Year-to-date outturn at each closed quarter",
    "OrganisationActuals.finance_paid": "Finance instalments paid (PSF finance or CSF)",
    "OrganisationActuals.ae_paid": "A&E instalments paid",
}
#: Meanings of fields whose model gives no description.
DESCRIPTIONS: dict[str, str] = {
    "SchemeOption.name": "The option's label in every table; unique in the scenario.",
}
#: Units the schema does not carry (it carries £m).
UNITS: dict[str, str] = {"Regime.incentive_rate": "£ per £1"}
QUARTERS = ("Q1", "Q2", "Q3", "Q4")


@dataclass(frozen=True)
class Column:
    """One field as a column of a table sheet (or a row of the Settings sheet).

    ``name`` is the contract path relative to a row (``plan``, ``tail.probability``,
    ``quarterly_profile[0]``; on the Settings sheet from the top, ``uncertainty.dof``);
    ``path`` is the same as keys and list indices.
    """

    name: str
    path: tuple[str | int, ...]
    label: str
    kind: Kind
    unit: str = ""
    percent: bool = False  # a fraction (0.3) shown and typed as a percentage (30%)
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    required: bool = False
    has_default: bool = True
    default: Any = None
    description: str = ""
    pattern: str = ""

    @property
    def title(self) -> str:
        """The plain-English header with its unit: ``Plan: surplus (+) / deficit (-) (£m)``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def allowed(self) -> str:
        """The values allowed, in words (for the Guide and Excel's input messages)."""
        if self.choices:
            return ", ".join(self.choices)
        if self.kind == "boolean":
            return "TRUE or FALSE"
        if self.kind == "list":
            return "items separated by ;"
        if self.kind == "text":
            return {
                "^[a-z0-9_]+$": "lower-case letters, digits and _",
                r"^[A-Za-z0-9_\-]+$": "letters, digits, _ and -",
            }.get(self.pattern, "text")
        scale = 100.0 if self.percent else 1.0
        suffix = "%" if self.percent else ""

        def show(x: float) -> str:
            return f"{x * scale:g}{suffix}"

        what = "a whole number" if self.kind == "integer" else "a number"
        if self.minimum is not None and self.maximum is not None:
            return f"{what} from {show(self.minimum)} to {show(self.maximum)}"
        if self.minimum is not None:
            return f"{what}, {show(self.minimum)} or more"
        if self.exclusive_minimum is not None:
            return f"{what} above {show(self.exclusive_minimum)}"
        return what

    def shown_default(self) -> str:
        """The default as the Guide shows it."""
        if not self.has_default:
            return "required" if self.required else "blank"
        value = self.default
        if value is None:
            return "blank"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if self.percent and isinstance(value, int | float):
            return f"{value * 100:g}%"
        if isinstance(value, list):
            return "; ".join(f"{v:g}" for v in value)
        return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Table:
    """A sheet with one row per item (member, system, option)."""

    sheet: str
    columns: tuple[Column, ...]
    freeze: str  # the top-left cell below and right of what stays in view

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


# --- walking the models ------------------------------------------------------------------


@cache
def _schema() -> dict[str, Any]:
    return Scenario.model_json_schema()


def _definition(model: type[BaseModel]) -> dict[str, Any]:
    root = _schema()
    return root if model is Scenario else root["$defs"][model.__name__]


def _resolve(node: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The field's schema without ``$ref`` and the ``null`` branch; whether null is allowed."""
    nullable = False
    while True:
        if "$ref" in node:
            target = _schema()["$defs"][node["$ref"].rsplit("/", 1)[-1]]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        elif "anyOf" in node:
            branches = [b for b in node["anyOf"] if b.get("type") != "null"]
            nullable = nullable or len(branches) < len(node["anyOf"])
            node = {**{k: v for k, v in node.items() if k != "anyOf"}, **branches[0]}
        else:
            return node, nullable


def _unit(key: str, name: str, node: dict[str, Any], percent: bool) -> str:
    if key in UNITS:
        return UNITS[key]
    if "unit" in node:
        return str(node["unit"])
    if name.endswith("_pct"):
        return "% of turnover"
    return "%" if percent else ""


def _scalar(
    key: str,
    name: str,
    path: tuple[str | int, ...],
    node: dict[str, Any],
    required: bool,
    parent: dict[str, Any],
) -> Column:
    """A column for a scalar field (``node`` already resolved)."""
    leaf = str(path[-1])
    choices = tuple(str(v) for v in node.get("enum", ()))
    kinds: dict[str, Kind] = {"number": "number", "integer": "integer", "boolean": "boolean"}
    kind: Kind = "choice" if choices else kinds.get(str(node.get("type", "")), "text")
    percent = kind == "number" and node.get("minimum") == 0 and node.get("maximum") == 1
    has_default = "default" in parent.get("properties", {}).get(leaf, node)
    return Column(
        name=name,
        path=path,
        label=TITLES.get(key, str(node.get("title", leaf))),
        kind=kind,
        unit=_unit(key, leaf, node, percent),
        percent=percent,
        choices=choices,
        minimum=node.get("minimum"),
        maximum=node.get("maximum"),
        exclusive_minimum=node.get("exclusiveMinimum"),
        required=required and not has_default,
        has_default=has_default,
        default=node.get("default"),
        description=str(node.get("description", DESCRIPTIONS.get(key, ""))),
        pattern=str(node.get("pattern", "")),
    )


def model_columns(
    model: type[BaseModel],
    skip: frozenset[str] = frozenset(),
    prefix: str = "",
    key: str = "",
    nested: bool = False,
) -> tuple[Column, ...]:
    """Every field of ``model`` as columns: nested models flattened (``tail.probability``),
    quarterly lists of numbers as one column per quarter (``quarterly_profile[0]`` ...,
    ``csf_quarter_weights[0]`` ...), other
    lists as one cell of items separated by ``;``.

    ``key`` names the model in :data:`TITLES` (``Organisation.tail`` for a nested one);
    ``nested``: the fields sit inside an optional model, so none is required on its own.
    """
    key = key or model.__name__
    definition = _definition(model)
    required = set(definition.get("required", ()))
    columns: list[Column] = []
    for field, raw in definition["properties"].items():
        if field in skip or field in NOT_IN_WORKBOOK:
            continue
        node, _ = _resolve(raw)
        name, path, title_key = f"{prefix}{field}", (*_split(prefix), field), f"{key}.{field}"
        if node.get("type") == "object" and "properties" in node:
            inner = _nested_model(model.model_fields[field].annotation)
            columns += model_columns(inner, prefix=f"{name}.", key=title_key, nested=True)
        elif node.get("type") == "array" and (
            field.startswith("quarterly") or field.endswith("quarter_weights")
        ):
            base = _scalar(title_key, name, path, node, False, definition)
            columns += [
                Column(
                    name=f"{name}[{q}]",
                    path=(*path, q),
                    label=f"{base.label} {quarter}",
                    kind="number",
                    unit="%",
                    percent=True,
                    minimum=0.0,
                    maximum=1.0,
                    description=base.description,
                )
                for q, quarter in enumerate(QUARTERS)
            ]
        elif node.get("type") == "object" and "enum" in node.get("propertyNames", {}):
            # A table with fixed keys (sd_pct_by_type): one cell per key.
            value = node.get("additionalProperties", {})
            base = _scalar(title_key, name, path, {**node, **value}, False, definition)
            columns += [
                replace(
                    base,
                    name=f"{name}.{entry}",
                    path=(*path, entry),
                    label=f"{base.label}: {entry}",
                    unit="% of turnover",
                    has_default=False,
                    default=None,
                )
                for entry in node["propertyNames"]["enum"]
            ]
        else:
            column = _scalar(
                title_key, name, path, node, field in required and not nested, definition
            )
            if node.get("type") == "array":
                column = replace(column, kind="list")
            columns.append(column)
    return tuple(columns)


def _split(prefix: str) -> tuple[str, ...]:
    return tuple(part for part in prefix.split(".") if part)


def _nested_model(annotation: Any) -> type[BaseModel]:
    """The model inside ``Tail | None`` and the like."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    raise TypeError(f"no model in {annotation!r}")


# --- the sheets ----------------------------------------------------------------------------


@cache
def organisations_table() -> Table:
    """Organisations: the system a member belongs to, then every organisation field."""
    system = Column(
        name="system",
        path=("system",),
        label=TITLES["Organisation.system"],
        kind="text",
        required=True,
        has_default=False,
        description="The id of the system this organisation belongs to (a row of the Systems "
        "sheet). May be left blank when the workbook has one system.",
        pattern="^[a-z0-9_]+$",
    )
    return Table(ORGANISATIONS, (system, *model_columns(Organisation)), freeze="C3")


@cache
def systems_table() -> Table:
    """Systems: every system field but its members and correlation (their own sheets)."""
    skip = frozenset({"organisations", "correlation"})
    return Table(SYSTEMS, model_columns(System, skip), freeze="B3")


@cache
def options_table() -> Table:
    """Options: every field of a scheme option."""
    return Table(OPTIONS, model_columns(SchemeOption), freeze="B3")


@cache
def settings_rows() -> tuple[tuple[str, tuple[Column, ...]], ...]:
    """Settings: (section title, rows); the scenario's own fields, then each settings model."""
    definition = _definition(Scenario)
    sections: list[tuple[str, tuple[Column, ...]]] = []
    skip = {*TABLE_FIELDS, ACTUALS_FIELD}
    for field in definition["properties"]:
        inner = Scenario.model_fields[field].annotation
        if field not in skip and isinstance(inner, type) and issubclass(inner, BaseModel):
            skip.add(field)
            sections.append((field.capitalize(), model_columns(inner, prefix=f"{field}.")))
    # The year to date (optional): its settings here, its members on the Actuals sheet.
    actuals = model_columns(Actuals, frozenset({"organisations"}), prefix="actuals.", nested=True)
    return (("Scenario", model_columns(Scenario, frozenset(skip))), *sections, ("Actuals", actuals))


@cache
def settings_columns() -> dict[str, Column]:
    """Every Settings row by its field name."""
    return {column.name: column for _, rows in settings_rows() for column in rows}


@cache
def actuals_table() -> Table:
    """Actuals: one row per organisation's year to date (``actuals.organisations``); lists of
    one figure per closed quarter in a cell, separated by ``;``."""
    return Table(ACTUALS, model_columns(OrganisationActuals), freeze="B3")


def tables() -> tuple[Table, ...]:
    return (organisations_table(), systems_table(), options_table(), actuals_table())
