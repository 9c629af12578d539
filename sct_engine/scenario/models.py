"""The scenario's typed models: the fields of a scenario file and their cross-field rules.

pydantic models of every scenario field (with units, defaults and
descriptions, which ``sct schema`` publishes), and the checks that span fields.
Every failure becomes a :class:`~sct_engine.errors.Problem` naming the field
path and a fix; :mod:`sct_engine.scenario.loading` adds the file and raises
them together in one :class:`~sct_engine.errors.ScenarioError`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonDict
from pydantic_core import PydanticCustomError

from sct_engine.errors import Problem, RuleViolation, ScenarioError, problems_from_validation_error
from sct_engine.files import MAX_CELL_CHARS, MAX_MONEY
from sct_engine.rules import (
    KIND_ALIASES,
    PROVIDER_TYPES,
    QUARTER_WEIGHT_PERCENT,
    AeGateway,
    ProviderType,
    SchemeOption,
    SdGroup,
    builtin_menu,
    canonical_group,
    sd_group_order,
    signed_loading_limit,
    system_correlation,
)
from sct_engine.scenario.limits import check_document
from sct_engine.scenario.plausibility import plausibility_warnings

#: More draws than this is a typo, not a plan (memory and time grow linearly).
MAX_DRAWS = 2_000_000_000
#: Largest seed: an unsigned 64-bit integer (numpy's SeedSequence takes it whole; batch
#: manifests keep seeds as text).
MAX_SEED = 2**64 - 1
#: Largest standard deviation as % of turnover, and largest median large event.
MAX_PCT_OF_TURNOVER = 100.0
#: Largest lognormal shape of a large event: exp(10 x 9 standard deviations) is still finite.
MAX_TAIL_SIGMA = 10.0
#: Largest Student-t degrees of freedom (beyond a few dozen it is the normal distribution).
MAX_DOF = 1000.0
#: Largest skew-normal shape in size (beyond it the shape no longer changes).
MAX_SKEW = 1000.0
#: Largest incentive PSF per £1 of uplift.
MAX_INCENTIVE_RATE = 100.0
#: Smallest spread of outturn, £m (£1 a year) and % of turnover, and smallest turnover (£10k):
#: anything smaller is a slip, and a spread that vanishes would turn figures infinite.
MIN_SD, MIN_SD_PCT, MIN_TURNOVER = 1e-6, 1e-6, 0.01
#: Allowed characters of system and organisation ids.
ID_PATTERN = r"^[a-z0-9_]+$"


#: A percentage above 0 (``sd_pct`` and the entries of ``sd_pct_by_type``).
def _at_least(value: float | None, minimum: float, unit: str) -> float | None:
    """Refuse a positive figure so small it is a slip (and would turn results infinite)."""
    if value is not None and 0 < value < minimum:
        raise PydanticCustomError(
            "implausibly_small",
            "is {value}{unit}, implausibly small (below {minimum}{unit})",
            {"value": f"{value:g}", "unit": unit, "minimum": f"{minimum:g}"},
        )
    return value


PositivePct = Annotated[StrictFloat, Field(gt=0, le=MAX_PCT_OF_TURNOVER, allow_inf_nan=False)]

_CONFIG = ConfigDict(extra="forbid")

#: Control characters (a bell, an escape, NUL...): never in a name, which a terminal would obey
#: and a workbook cannot hold; a description may keep line breaks and tabs.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _refuse_control(pattern: re.Pattern[str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found:
            raise PydanticCustomError(
                "control_character",
                "contains the control character U+{code} (character {at})",
                {"code": f"{ord(found.group()):04X}", "at": found.start() + 1},
            )
        return value

    return check


#: Text a person reads in a report and a workbook cell holds: at most :data:`MAX_CELL_CHARS`
#: characters (longer would be cut short in a workbook) and no control characters.
Name = Annotated[str, Field(max_length=MAX_CELL_CHARS), AfterValidator(_refuse_control(_CONTROL))]
Lines = Annotated[
    str, Field(max_length=MAX_CELL_CHARS), AfterValidator(_refuse_control(_CONTROL_BUT_LINES))
]
_MONEY: JsonDict = {"unit": "£m"}


def _money(description: str, default: Any = ..., **constraints: Any) -> Any:
    """A £m field: a finite number (ints allowed) within ±``MAX_MONEY``, never text or a boolean."""
    if "gt" not in constraints:
        constraints.setdefault("ge", -MAX_MONEY)
    constraints.setdefault("le", MAX_MONEY)
    return Field(
        default,
        description=description,
        allow_inf_nan=False,
        json_schema_extra=_MONEY,
        **constraints,
    )


def _number(default: Any, description: str, **constraints: Any) -> Any:
    """A finite number field (ints allowed), never text, a boolean, infinity or NaN."""
    return Field(default, description=description, allow_inf_nan=False, **constraints)


def _rule(field: str, message: str, fix: str) -> Problem:
    """A cross-field problem raised from a validator; the file and prefix are filled in later."""
    return Problem("", field, message, fix)


def _quarter_share_problems(field: str, shares: list[float] | None) -> Iterator[Problem]:
    """Per-quarter shares must be four non-negative numbers summing to 1."""
    if shares is None:
        return
    finite = all(math.isfinite(share) for share in shares)
    if len(shares) != 4 or not finite or min(shares) < 0 or abs(sum(shares) - 1.0) > 1e-9:
        yield _rule(
            field,
            f"must be four non-negative shares [q1, q2, q3, q4] summing to 1 (got {shares})",
            "give one share per quarter, e.g. [0.25, 0.25, 0.25, 0.25]; leave it out for even quarters",
        )


# --- models --------------------------------------------------------------------------


class Simulation(BaseModel):
    """How many Monte Carlo draws, and the seed that fixes them."""

    model_config = _CONFIG

    draws: StrictInt = Field(
        100_000, ge=1, description="Monte Carlo draws; more draws give smaller sampling error."
    )
    seed: StrictInt = Field(
        0, ge=0, le=MAX_SEED, description="Random seed; the same seed gives the same numbers."
    )

    @field_validator("draws")
    @classmethod
    def _not_absurd(cls, draws: int) -> int:
        if draws > MAX_DRAWS:
            shown = f"{draws:,}" if draws.bit_length() <= 64 else "a number of that size"
            raise RuleViolation(
                [
                    _rule(
                        "",
                        f"{shown} draws is more than can be simulated (the limit is {MAX_DRAWS:,})",
                        "use fewer draws; 100,000 to 1,000,000 is usually plenty, and every "
                        "result reports its standard error",
                    )
                ]
            )
        return draws


class Precision(BaseModel):
    """A target precision given to a run (``sct run --target-se``, ``simulate(target_se=...)``)."""

    model_config = _CONFIG

    target_se: StrictFloat = _number(
        ...,
        "Largest Monte Carlo standard error wanted for every probability and expected loss.",
        gt=0,
        le=MAX_MONEY,
    )


def check_run_numbers(
    draws: Any = None,
    seed: Any = None,
    target_se: Any = None,
    names: Mapping[str, str] | None = None,
) -> None:
    """Refuse draws, a seed or a target precision given from outside a file (the command
    line, the Python API) with the same limits and messages as the file's fields.

    ``None`` means not given. ``names`` renames fields in problems (``{"draws":
    "--draws"}``). Raises ScenarioError.
    """
    names = names or {}
    problems: list[Problem] = []
    checks: list[tuple[type[BaseModel], dict[str, Any]]] = [
        (Simulation, {k: v for k, v in (("draws", draws), ("seed", seed)) if v is not None}),
        (Precision, {"target_se": target_se} if target_se is not None else {}),
    ]
    for model, values in checks:
        if not values:
            continue
        try:
            check_document(values, "")  # integers too long to print get the file's words too
        except ScenarioError as err:
            problems += [replace(p, field=names.get(p.field, p.field)) for p in err.problems]
            continue
        try:
            model.model_validate(values, strict=True)
        except ValidationError as exc:
            for problem in problems_from_validation_error(exc, "", model):
                problems.append(replace(problem, field=names.get(problem.field, problem.field)))
    if problems:
        raise ScenarioError(problems)


class Tail(BaseModel):
    """Occasional large adverse events on top of the factor model.

    Each year, with ``probability``, an organisation loses a lognormal amount
    (median ``median_pct`` % of turnover, shape ``sigma``): the heavy left tail
    of 2018/19, when a few providers missed by far more than the rest.
    """

    model_config = _CONFIG

    probability: StrictFloat = _number(
        ..., "Chance per year of a large adverse event (0 to 1).", ge=0, le=1
    )
    median_pct: StrictFloat = _number(
        ..., "Median size of the event, % of turnover.", gt=0, le=MAX_PCT_OF_TURNOVER
    )
    sigma: StrictFloat = _number(0.5, "Lognormal shape of the event size.", gt=0, le=MAX_TAIL_SIGMA)


class Regime(BaseModel):
    """Scenario-wide 2018/19 rules beyond the scheme options (rules 6 to 8)."""

    model_config = _CONFIG

    incentive_rate: StrictFloat = Field(
        2.0,
        ge=0,
        le=MAX_INCENTIVE_RATE,
        allow_inf_nan=False,
        description="Incentive PSF per £1 of agreed control_total_uplift, earned when the raised "
        "control total is met (2.0 from the 2018/19 mid-year reset).",
    )
    bonus: StrictBool = Field(
        False,
        description="Pay the PSF finance funding left unearned by trusts across the scenario, at "
        "year end, to the trusts that met their control totals (after redistribution), pro rata "
        "to their allocations. Unearned CSF is not redistributed.",
    )
    bonus_share: StrictFloat = Field(
        1.0,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Share of the unearned PSF finance funding that forms the bonus pool.",
    )
    recovery: StrictBool = Field(
        True,
        description="Quarterly mode only: PSF finance funding missed in a quarter is paid at year "
        "end when the year-end test passes (A&E funding is never recovered); commissioners "
        "follow csf_recovery.",
    )
    ae_gateway: AeGateway = Field(
        "finance_earned",
        description="National A&E gateway: the A&E element is paid in a period only when "
        "finance_earned: some of the finance element is earned (own test, or the option's system "
        "test for the linked share); own_test: the organisation passes its own finance test "
        "after redistribution; none: on A&E performance alone.",
    )
    csf_quarter_weights: list[StrictFloat] = Field(
        default_factory=lambda: [0.25, 0.25, 0.25, 0.25],
        description="Quarterly mode: weight of each quarter's CSF instalment, [q1, q2, q3, q4], "
        "non-negative and summing to 1 (default even: CSF was paid quarterly in arrears, the "
        "record gives no weights).",
    )
    csf_recovery: StrictBool = Field(
        False,
        description="Quarterly mode: CSF missed in a quarter is paid at year end when the "
        "year-end test passes (default false: CSF was paid on each quarter's test).",
    )

    @model_validator(mode="after")
    def _weights_fit(self) -> Regime:
        problems = list(_quarter_share_problems("csf_quarter_weights", self.csf_quarter_weights))
        if problems:
            raise RuleViolation(problems)
        return self


class Uncertainty(BaseModel):
    """How year-end outturn varies around plan (the factor model of docs/scenario-format.md)."""

    model_config = _CONFIG

    distribution: Literal["normal", "student_t", "skew_normal"] = Field(
        "normal", description="Shape of every standard factor: normal, student_t or skew_normal."
    )
    dof: StrictFloat = Field(
        5.0,
        gt=2,
        le=MAX_DOF,
        allow_inf_nan=False,
        description="student_t only: degrees of freedom, above 2 so that the Student-t has a variance.",
    )
    skew: StrictFloat = Field(
        0.0,
        ge=-MAX_SKEW,
        le=MAX_SKEW,
        allow_inf_nan=False,
        description="skew_normal only: shape parameter; negative makes overspends likelier.",
    )
    national_share: StrictFloat = Field(
        0.2,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Share of each organisation's variance from one national factor.",
    )
    system_share: StrictFloat = Field(
        0.3,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Share of each organisation's variance from its system's factor.",
    )
    quarterly: StrictBool = Field(
        False, description="Simulate Q1..Q4 year-to-date paths instead of year-end only."
    )
    quarterly_variance: list[StrictFloat] | None = Field(
        None,
        description="Quarterly mode: share of the year's outturn variance arising in each quarter, "
        "[q1, q2, q3, q4], non-negative and summing to 1 (default even, 0.25 each).",
    )
    tail: Tail | None = Field(
        None, description="Large adverse events for every organisation (each may override its own)."
    )
    sd_pct_by_type: dict[SdGroup, PositivePct] | None = Field(
        None,
        description="Default sd_pct (% of turnover) by group, for organisations that give neither "
        "sd nor sd_pct: keys are provider types (acute, mental_health, community, ambulance, "
        "specialist), provider (any other provider) and commissioner (alias ccg). "
        "sct calibrate writes this table.",
    )

    @field_validator("sd_pct_by_type", mode="before")
    @classmethod
    def _group_aliases(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {canonical_group(k) if isinstance(k, str) else k: v for k, v in value.items()}
        return value

    @field_validator("sd_pct_by_type")
    @classmethod
    def _no_vanishing_pct(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for pct in (value or {}).values():
            _at_least(pct, MIN_SD_PCT, "%")
        return value

    @model_validator(mode="after")
    def _shares_fit(self) -> Uncertainty:
        problems = list(_quarter_share_problems("quarterly_variance", self.quarterly_variance))
        if problems:
            raise RuleViolation(problems)
        total = self.national_share + self.system_share
        if total > 1.0 + 1e-12:
            raise RuleViolation(
                [
                    _rule(
                        "",
                        "national_share + system_share must be at most 1 (got "
                        f"{self.national_share:g} + {self.system_share:g} = {total:g})",
                        "lower national_share or system_share: together they are the share of "
                        "each organisation's variance from common factors, the rest is its own",
                    )
                ]
            )
        return self


class Organisation(BaseModel):
    """One NHS provider or commissioner: its plan, control total and funding at stake."""

    model_config = _CONFIG

    id: str = Field(
        pattern=ID_PATTERN,
        description="Unique id across the scenario: lower-case letters, digits and _, e.g. acute_a.",
    )
    name: Name | None = Field(None, description="Display name.")
    kind: Literal["provider", "commissioner"] = Field(
        description="provider (trust, earns PSF) or commissioner (CCG, earns CSF; `ccg` is "
        "accepted for commissioner)."
    )
    provider_type: ProviderType | None = Field(
        None,
        description="Providers only: acute, mental_health, community, ambulance or specialist. "
        "Shown in reports; picks the organisation's sd_pct from uncertainty.sd_pct_by_type.",
    )
    plan: StrictFloat = _money(
        "Planned surplus (+) or deficit (-) before sustainability funding, £m."
    )
    control_total: StrictFloat = _money("Control total, £m, on the same basis as plan.")
    accepted_control_total: StrictBool = Field(
        True,
        description="Providers only: the trust accepted its control total. false: no PSF at stake "
        "(in 2018/19 a trust had to accept its control total to receive any PSF); its "
        "control_total and outturn still count in the system control total and the system test.",
    )
    sustainability_funding: StrictFloat = _money(
        "PSF (provider) or CSF (commissioner) allocation at stake, £m.", ge=0
    )
    turnover: StrictFloat | None = _money("Annual turnover, £m; needed for sd_pct.", None, gt=0)
    sd: StrictFloat | None = _money(
        "Standard deviation of year-end outturn around plan in £m, or use sd_pct instead.",
        None,
        gt=0,
    )
    sd_pct: StrictFloat | None = Field(
        None,
        gt=0,
        le=MAX_PCT_OF_TURNOVER,
        allow_inf_nan=False,
        description="Standard deviation as a percentage of turnover, instead of sd.",
    )
    has_ae: StrictBool = Field(
        False, description="Provider with a type-1 A&E: part of its PSF rides on A&E performance."
    )
    ae_share: StrictFloat = _number(
        0.3, "Share of sustainability_funding earned on A&E when has_ae.", ge=0, le=1
    )
    p_ae: StrictFloat = _number(
        0.5,
        "Probability that the A&E element is earned, per payment period: per quarter "
        "(independently) in quarterly mode, per year otherwise. Either way it is the expected "
        "share of the A&E element earned in the year, before the finance gateway.",
        ge=0,
        le=1,
    )
    mitigation: StrictFloat = _money(
        "Management actions (non-recurrent savings) in £m: a shortfall up to this size is "
        "recovered to land on the control total; a larger one is reduced by it.",
        0.0,
        ge=0,
    )
    control_total_uplift: StrictFloat = _money(
        "Agreed improvement of the control total, £m (incentive PSF): the organisation is judged "
        "against control_total + uplift and earns incentive_rate x uplift when it meets it.",
        0.0,
        ge=0,
    )
    risk_appetite: StrictFloat | None = _money(
        "The most PSF/CSF, £m, the organisation can bear to lose in a 1-in-20 year: an option "
        "under which its 1-in-20-year loss exceeds this is unacceptable to it. Null: none stated.",
        None,
        ge=0,
    )
    tail: Tail | None = Field(
        None, description="This organisation's large adverse events (overrides uncertainty.tail)."
    )
    quarterly_profile: list[StrictFloat] | None = Field(
        None,
        description="Quarterly mode: share of plan and control total falling in each quarter, "
        "[q1, q2, q3, q4], non-negative and summing to 1 (default even, 0.25 each).",
    )
    system_loading: StrictFloat | None = Field(
        None,
        ge=-1,
        le=1,
        allow_inf_nan=False,
        description="Signed loading l on the system factor: two members of a system correlate "
        "national_share + l_i l_j; default sqrt(system_share). A provider at +l and a commissioner "
        "at -l move against each other (the contract line). |l| at most sqrt(1 - national_share).",
    )

    @field_validator("sd", "sd_pct", "turnover")
    @classmethod
    def _not_vanishing(cls, value: float | None, info: ValidationInfo) -> float | None:
        minimum, unit = {"sd": (MIN_SD, " £m"), "sd_pct": (MIN_SD_PCT, "%")}.get(
            str(info.field_name), (MIN_TURNOVER, " £m")
        )
        return _at_least(value, minimum, unit)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_words(cls, value: Any) -> Any:
        """``ccg`` means commissioner; a provider type in ``kind`` is explained, not just refused."""
        if not isinstance(value, str):
            return value
        word = value.strip().lower()
        if word in KIND_ALIASES:
            return KIND_ALIASES[word]
        if word in PROVIDER_TYPES:
            raise RuleViolation(
                [
                    _rule(
                        "",
                        f"'{value}' is a provider type, not a kind",
                        f"write `kind: provider` and `provider_type: {word}`",
                    )
                ]
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Organisation:
        problems = [
            *self._spread_problems(),
            *self._ae_problems(),
            *self._incentive_problems(),
            *self._acceptance_problems(),
            *self._type_problems(),
            *self._tail_problems(),
            *_quarter_share_problems("quarterly_profile", self.quarterly_profile),
        ]
        if problems:
            raise RuleViolation(problems)
        return self

    def _spread_problems(self) -> Iterator[Problem]:
        """At most one of sd / sd_pct, and sd_pct needs a turnover to scale.

        Neither is checked by the scenario, which may fill ``sd_pct`` from
        ``uncertainty.sd_pct_by_type``.
        """
        if self.sd is not None and self.sd_pct is not None:
            yield _rule(
                "sd_pct",
                "give only one of sd and sd_pct (both are given)",
                "remove sd_pct to use sd in £m, or remove sd to use sd_pct",
            )
        if self.sd_pct is not None and self.turnover is None:
            yield _rule(
                "turnover",
                "is needed because sd_pct is a percentage of turnover",
                "add `turnover: <number>` in £m, or give sd in £m instead of sd_pct",
            )

    def _tail_problems(self) -> Iterator[Problem]:
        if self.tail is not None and self.turnover is None:
            yield _rule(
                "turnover",
                "is needed because tail sizes are a percentage of turnover",
                "add `turnover: <number>` in £m, or remove this organisation's `tail:`",
            )

    def _type_problems(self) -> Iterator[Problem]:
        if self.kind == "commissioner" and self.provider_type is not None:
            yield _rule(
                "provider_type",
                "a commissioner has no provider_type (it is for trusts)",
                "remove `provider_type`, or set `kind: provider` if this is a trust",
            )

    def _ae_problems(self) -> Iterator[Problem]:
        if self.kind == "commissioner" and self.has_ae:
            yield _rule(
                "has_ae",
                "a commissioner has no A&E element (it is for providers)",
                "remove `has_ae` or set it to false: commissioners earn CSF on finance only",
            )

    def _incentive_problems(self) -> Iterator[Problem]:
        if self.kind == "commissioner" and self.control_total_uplift != 0:
            yield _rule(
                "control_total_uplift",
                "a commissioner cannot earn incentive PSF (it was for providers)",
                "remove `control_total_uplift` from this commissioner; if the CCG agreed a better "
                "position, raise its `control_total` instead (CSF has no incentive)",
            )

    def _acceptance_problems(self) -> Iterator[Problem]:
        if self.accepted_control_total:
            return
        if self.kind == "commissioner":
            yield _rule(
                "accepted_control_total",
                "is for providers: a commissioner's CSF follows its control total (rule 10)",
                "remove `accepted_control_total` from this commissioner; a CCG with a surplus or "
                "breakeven control total has no CSF at stake already",
            )
        elif self.control_total_uplift != 0:
            yield _rule(
                "control_total_uplift",
                "a provider that did not accept its control total cannot agree to raise it "
                "(incentive PSF was for trusts that accepted theirs)",
                "remove `control_total_uplift`, or set `accepted_control_total: true` if the "
                "trust accepted its control total",
            )

    @property
    def sd_value(self) -> float:
        """Standard deviation of year-end outturn in £m, however it was given."""
        if self.sd is not None:
            return self.sd
        # ensured by validation (the scenario fills sd_pct from uncertainty.sd_pct_by_type)
        assert self.sd_pct is not None and self.turnover is not None
        return self.sd_pct / 100.0 * self.turnover

    @property
    def ae_fraction(self) -> float:
        """Share of sustainability funding riding on A&E: ``ae_share`` with an A&E, else 0."""
        return self.ae_share if self.has_ae else 0.0

    @property
    def csf_ineligible(self) -> bool:
        """A commissioner with a surplus or breakeven control total has no CSF at stake."""
        return (
            self.kind == "commissioner"
            and self.control_total >= 0
            and self.sustainability_funding > 0
        )

    @property
    def psf_forfeited(self) -> bool:
        """A provider that did not accept its control total, given PSF: none of it is at stake."""
        return not self.accepted_control_total and self.sustainability_funding > 0

    @property
    def funding_at_stake(self) -> float:
        """Sustainability funding the rules can pay: 0 for a commissioner not eligible for CSF
        (rule 10) and for a provider that did not accept its control total (rule 10)."""
        if self.csf_ineligible or not self.accepted_control_total:
            return 0.0
        return self.sustainability_funding


class Correlation(BaseModel):
    """A full correlation matrix of a system's members' year-end outturns."""

    model_config = _CONFIG

    organisations: list[str] | None = Field(
        None,
        description="Ids of the members in the order of the matrix rows, each member once; "
        "default: the order the system's organisations are listed in (YAML members, then rows of "
        "the system's organisations_csv, then rows of the top-level organisations_csv). Give it "
        "whenever members come from a CSV.",
    )
    matrix: list[list[StrictFloat]] = Field(
        description="Correlation of members' outturns, national factor included: square, "
        "symmetric, 1 on the diagonal, entries in [-1, 1]. One that is not positive "
        "semi-definite (or that the national_share makes invalid) is repaired to the nearest "
        "valid matrix with a warning.",
    )

    @model_validator(mode="after")
    def _shape(self) -> Correlation:
        problems = list(_matrix_problems(self.matrix))
        if problems:
            raise RuleViolation(problems)
        return self


def _matrix_problems(matrix: list[list[float]]) -> Iterator[Problem]:
    """Square, finite, symmetric, unit diagonal, entries in [-1, 1]."""
    n = len(matrix)
    for r, row in enumerate(matrix):
        if len(row) != n:
            yield _rule(
                f"matrix[{r}]",
                f"has {len(row)} entries but the matrix has {n} rows; it must be square",
                "give one row per member and one entry per member in every row",
            )
            return
    for r in range(n):
        for c in range(n):
            value = matrix[r][c]
            where = f"matrix[{r}][{c}]"
            if not math.isfinite(value) or abs(value) > 1:
                yield _rule(
                    where,
                    f"is {value:g}; a correlation lies in [-1, 1]",
                    "use a number from -1 to 1",
                )
            elif r == c and value != 1:
                yield _rule(
                    where,
                    f"is {value:g} on the diagonal",
                    "put 1 on the diagonal (a member correlates 1 with itself)",
                )
            elif c < r and abs(value - matrix[c][r]) > 1e-9:
                yield _rule(
                    where,
                    f"is {value:g} but matrix[{c}][{r}] is {matrix[c][r]:g}; the matrix must be symmetric",
                    "make the two entries equal",
                )


class System(BaseModel):
    """An integrated care system: its members and, optionally, its own control total."""

    model_config = _CONFIG

    id: str = Field(
        pattern=ID_PATTERN, description="Unique system id: lower-case letters, digits and _."
    )
    name: Name | None = Field(None, description="Display name.")
    system_control_total: StrictFloat | None = _money(
        "System control total, £m; null means the sum of members' control totals.", None
    )
    organisations: list[Organisation] = Field(
        default_factory=list, description="Member organisations."
    )
    organisations_csv: str | None = Field(
        None,
        description="CSV of further members (columns are organisation fields), relative to the "
        "scenario file; the loader appends its rows to organisations.",
    )

    correlation: Correlation | None = Field(
        None,
        description="Full correlation matrix of the members' outturns, instead of the one-factor "
        "default (every pair national_share + system_share) or members' system_loading.",
    )

    @model_validator(mode="after")
    def _correlation_fits(self) -> System:
        problems = list(self._correlation_problems())
        if problems:
            raise RuleViolation(problems)
        return self

    def _correlation_problems(self) -> Iterator[Problem]:
        if self.correlation is None or not self.organisations:
            return
        members = [org.id for org in self.organisations]
        order = self.correlation.organisations or members
        given = (
            "correlation.organisations" if self.correlation.organisations else "correlation.matrix"
        )
        missing = [m for m in members if m not in order]
        unknown = [o for o in order if o not in members]
        repeated = sorted({o for o in order if order.count(o) > 1})
        if missing or unknown or repeated:
            parts = [
                f"{label}: {', '.join(ids)}"
                for label, ids in (
                    ("missing", missing),
                    ("not members", unknown),
                    ("repeated", repeated),
                )
                if ids
            ]
            yield _rule(
                "correlation.organisations",
                "must list every member of the system exactly once (" + "; ".join(parts) + ")",
                f"list the members' ids in the order of the matrix rows: {members}",
            )
        elif len(self.correlation.matrix) != len(members):
            yield _rule(
                "correlation.matrix",
                f"has {len(self.correlation.matrix)} rows but the system has {len(members)} members "
                f"(rows follow {given})",
                "give one row and one column per member",
            )
        for j, org in enumerate(self.organisations):
            if org.system_loading is not None:
                yield _rule(
                    f"organisations[{j}].system_loading",
                    f"of '{org.id}' cannot be combined with the system's correlation matrix",
                    "remove system_loading (the matrix says everything) or remove correlation",
                )

    def correlation_matrix(self) -> np.ndarray | None:
        """The correlation matrix in the order the members are listed (None without one)."""
        if self.correlation is None:
            return None
        members = [org.id for org in self.organisations]
        order = self.correlation.organisations or members
        rows = [order.index(m) for m in members]
        return np.asarray(self.correlation.matrix, dtype=np.float64)[np.ix_(rows, rows)]

    @property
    def effective_control_total(self) -> float:
        """``system_control_total``, or the members' control totals summed when it is null."""
        if self.system_control_total is not None:
            return self.system_control_total
        return sum(org.control_total for org in self.organisations)


#: Largest number of closed quarters: Q4 is the year end, which the re-forecast simulates.
MAX_CLOSED_QUARTERS = 3
#: A year-to-date outturn this many standard deviations from its plan gets a warning.
ACTUALS_WARNING_Z = 4.0
#: Money within the quarter instalment it is checked against, £m (figures are rounded to £k).
INSTALMENT_TOLERANCE = 1e-6

Money = Annotated[StrictFloat, Field(ge=-MAX_MONEY, le=MAX_MONEY, allow_inf_nan=False)]


class OrganisationActuals(BaseModel):
    """One organisation's year to date: outturn at each closed quarter and the instalments paid."""

    model_config = _CONFIG

    id: str = Field(
        pattern=ID_PATTERN, description="The organisation's id, as in `systems[].organisations`."
    )
    ytd_outturn: list[Money] = Field(
        description="Year-to-date outturn (£m, surplus +, before sustainability funding) at the "
        "end of each closed quarter, [q1, ..., qk].",
        json_schema_extra=_MONEY,
    )
    finance_paid: list[Money] | None = Field(
        None,
        description="Finance instalments paid for each closed quarter (£m): PSF finance element "
        "for a trust, CSF for a commissioner. Null: as the rules pay on ytd_outturn.",
        json_schema_extra=_MONEY,
    )
    ae_paid: list[Money] | None = Field(
        None,
        description="A&E instalments paid for each closed quarter (£m); required for a trust "
        "with an A&E element at stake. Null: none.",
        json_schema_extra=_MONEY,
    )


class Actuals(BaseModel):
    """The year to date for an in-year re-forecast (``sct reforecast``): quarters closed so far,
    the option signed, and each organisation's outturn and instalments paid."""

    model_config = _CONFIG

    closed_quarters: StrictInt = Field(
        ge=1,
        le=MAX_CLOSED_QUARTERS,
        description="Quarters closed so far (1 to 3); the later quarters are simulated.",
    )
    signed_option: str | None = Field(
        None,
        description="The scheme option the systems signed (a name in `schemes`); null: the "
        "organisation-only option. `sct reforecast --option` overrides it.",
    )
    organisations: list[OrganisationActuals] = Field(
        min_length=1, description="One entry per organisation of the scenario."
    )


class Scenario(BaseModel):
    """A whole scenario file: systems, uncertainty, and the scheme options to compare.

    ``source`` (where it was read from), ``content_hash`` (sha256 of the file
    bytes, then of any CSV bytes in reading order) and ``changes`` (a sweep point
    or ``--set`` changes applied to the file) are kept for results provenance and
    are not part of the schema.
    """

    model_config = _CONFIG

    name: Name = Field(min_length=1, description="Scenario name, shown in reports.")
    description: Lines | None = Field(None, description="Free text.")
    simulation: Simulation = Field(
        default_factory=Simulation, description="Monte Carlo draws and seed."
    )
    uncertainty: Uncertainty = Field(
        default_factory=Uncertainty, description="How year-end outturn varies around plan."
    )
    schemes: list[SchemeOption] = Field(
        default_factory=builtin_menu,
        min_length=1,
        description="Risk-sharing options to compare; omitted or null means the built-in 2018/19 menu.",
    )
    regime: Regime = Field(
        default_factory=Regime,
        description="Incentive PSF rate, year-end bonus pool, quarterly recovery, the A&E gateway "
        "and CSF timing.",
    )
    systems: list[System] = Field(
        default_factory=list, description="Integrated care systems; at least one."
    )
    organisations_csv: str | None = Field(
        None,
        description="CSV of organisations with a `system` column, relative to the scenario file; "
        "rows for a system not listed create it.",
    )
    actuals: Actuals | None = Field(
        None,
        description="Quarterly mode: the year to date (closed quarters' outturn and instalments "
        "paid) for an in-year re-forecast; null: none (the whole year is simulated).",
    )

    _source: Path | None = PrivateAttr(None)
    _content_hash: str = PrivateAttr("")
    _changes: dict[str, Any] = PrivateAttr(default_factory=dict)
    _inputs: tuple[Path, ...] = PrivateAttr(())
    # A workbook's cell locator: turns a warning's field path into the cell it came from.
    _locate: Callable[[Problem], Problem] | None = PrivateAttr(None)

    @field_validator("simulation", "uncertainty", "regime", mode="before")
    @classmethod
    def _defaults_when_null(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("schemes", mode="before")
    @classmethod
    def _menu_when_null(cls, value: Any) -> Any:
        return builtin_menu() if value is None else value

    @model_validator(mode="after")
    def _whole_scenario_rules(self) -> Scenario:
        problems = [
            *self._membership_problems(),
            *self._duplicate_problems(),
            *self._spread_defaults(),
            *self._tail_turnover(),
            *self._dependence_problems(),
            *self._actuals_problems(),
        ]
        if problems:
            raise RuleViolation(problems)
        return self

    def _spread_defaults(self) -> Iterator[Problem]:
        """Every member has sd or sd_pct, or takes sd_pct from ``uncertainty.sd_pct_by_type``.

        The default is written into the member's ``sd_pct`` (the model is
        filled in place once every check has passed).
        """
        table = self.uncertainty.sd_pct_by_type or {}
        for i, system in enumerate(self.systems):
            for j, org in enumerate(system.organisations):
                if org.sd is not None or org.sd_pct is not None:
                    continue
                where = f"systems[{i}].organisations[{j}]"
                groups = sd_group_order(org.kind, org.provider_type)
                group = next((g for g in groups if g in table), None)
                if group is None:
                    keys = " or ".join(f"`{g}`" for g in groups)
                    yield _rule(
                        f"{where}.sd",
                        f"'{org.id}' has no spread of outturn: required field is missing",
                        "add `sd: <number>` (standard deviation of year-end outturn in £m) or "
                        "`sd_pct: <number>` (% of turnover), or give uncertainty.sd_pct_by_type "
                        f"an entry {keys}",
                    )
                elif org.turnover is None:
                    yield _rule(
                        f"{where}.turnover",
                        f"is needed because '{org.id}' takes sd_pct from "
                        f"uncertainty.sd_pct_by_type.{group}, a percentage of turnover",
                        "add `turnover: <number>` in £m, or give sd in £m",
                    )
                else:
                    org.sd_pct = table[group]  # type: ignore[literal-required]

    def _tail_turnover(self) -> Iterator[Problem]:
        if self.uncertainty.tail is None:
            return
        for i, system in enumerate(self.systems):
            for j, org in enumerate(system.organisations):
                if org.tail is None and org.turnover is None:
                    yield _rule(
                        f"systems[{i}].organisations[{j}].turnover",
                        "is needed because uncertainty.tail sizes are a percentage of turnover",
                        "add `turnover: <number>` in £m to this organisation",
                    )

    def _dependence_problems(self) -> Iterator[Problem]:
        """Loadings and matrices must leave room for the national factor."""
        a = self.uncertainty.national_share
        limit = signed_loading_limit(a)
        for i, system in enumerate(self.systems):
            if system.correlation is not None and a >= 1.0:
                yield _rule(
                    f"systems[{i}].correlation",
                    "national_share is 1, so every organisation moves with the national factor alone "
                    "and a system correlation matrix cannot apply",
                    "lower uncertainty.national_share below 1, or remove correlation",
                )
            for j, org in enumerate(system.organisations):
                if org.system_loading is not None and abs(org.system_loading) > limit + 1e-12:
                    yield _rule(
                        f"systems[{i}].organisations[{j}].system_loading",
                        f"of '{org.id}' is {org.system_loading:g} but with national_share {a:g} a "
                        "loading can be at "
                        f"most {limit:.4g} in size (national_share + loading^2 <= 1)",
                        f"use a loading between -{limit:.4g} and {limit:.4g}, or lower national_share",
                    )

    def _actuals_problems(self) -> Iterator[Problem]:
        """The year to date must name every organisation once, one figure per closed quarter,
        and instalments within what the quarter could pay (quarterly mode only)."""
        actuals = self.actuals
        if actuals is None:
            return
        if not self.uncertainty.quarterly:
            yield _rule(
                "actuals",
                "is given but the scenario is not quarterly, so there are no quarters to close",
                "set uncertainty.quarterly: true, or remove actuals",
            )
            return
        names = [s.name for s in self.schemes]
        if actuals.signed_option is not None and actuals.signed_option not in names:
            yield _rule(
                "actuals.signed_option",
                f"'{actuals.signed_option}' is not an option of this scenario",
                f"use one of {', '.join(names)}",
            )
        k = actuals.closed_quarters
        orgs = {o.id: o for s in self.systems for o in s.organisations}
        seen: set[str] = set()
        psf = [w / 100.0 for w in QUARTER_WEIGHT_PERCENT.tolist()]
        for j, entry in enumerate(actuals.organisations):
            where = f"actuals.organisations[{j}]"
            org = orgs.get(entry.id)
            if org is None:
                yield _rule(
                    f"{where}.id",
                    f"'{entry.id}' is not an organisation of this scenario",
                    "use the id of a member listed under systems[].organisations",
                )
                continue
            if entry.id in seen:
                yield _rule(
                    f"{where}.id",
                    f"'{entry.id}' is given twice",
                    "give each organisation's year to date once",
                )
            seen.add(entry.id)
            weights = psf if org.kind == "provider" else list(self.regime.csf_quarter_weights)
            funding = org.funding_at_stake
            elements = {
                "finance_paid": funding * (1.0 - org.ae_fraction),
                "ae_paid": funding * org.ae_fraction,
            }
            for name, figures in (
                ("ytd_outturn", entry.ytd_outturn),
                ("finance_paid", entry.finance_paid),
                ("ae_paid", entry.ae_paid),
            ):
                if figures is None:
                    if name == "ae_paid" and elements["ae_paid"] > 0:
                        yield _rule(
                            f"{where}.ae_paid",
                            f"is missing: '{entry.id}' has an A&E element at stake, and the "
                            "instalments it earned in the closed quarters are not known",
                            f"give ae_paid: [{', '.join(f'q{q + 1}' for q in range(k))}] in £m "
                            "(0 for a quarter not paid)",
                        )
                    continue
                if len(figures) != k:
                    yield _rule(
                        f"{where}.{name}",
                        f"has {len(figures)} figures but closed_quarters is {k}",
                        f"give one figure per closed quarter, in order "
                        f"[{', '.join(f'q{q + 1}' for q in range(k))}]",
                    )
                    continue
                if name == "ytd_outturn":
                    continue
                for q, paid in enumerate(figures):
                    due = elements[name] * weights[q]
                    whole = name == "ae_paid"
                    outside = paid < -INSTALMENT_TOLERANCE or paid > due + INSTALMENT_TOLERANCE
                    partial = whole and min(abs(paid), abs(paid - due)) > INSTALMENT_TOLERANCE
                    if outside or partial:
                        allowed = f"0 or {due:g}" if whole else f"0 to {due:g}"
                        yield _rule(
                            f"{where}.{name}[{q}]",
                            f"'{entry.id}' Q{q + 1}: {paid:g} is not an instalment the quarter "
                            f"could pay ({allowed} £m: the element times the Q{q + 1} weight "
                            f"{weights[q]:g})",
                            "give the £m paid for that quarter, or check the organisation's "
                            "sustainability_funding, ae_share and kind",
                        )
        missing = [i for i in orgs if i not in seen]
        if missing:
            yield _rule(
                "actuals.organisations",
                f"has no year to date for {', '.join(missing)}",
                "give every organisation's ytd_outturn for the closed quarters",
            )

    @property
    def warnings(self) -> list[Problem]:
        """Things that are allowed but probably not meant: CSF for a surplus commissioner,
        PSF for a provider that did not accept its control total, a correlation matrix
        repaired to the nearest valid one."""
        file = self._source.name if self._source else "<scenario>"
        found = [*self._correlation_repairs(file)]
        found += plausibility_warnings(self, file)
        found += self._actuals_far_from_plan(file)
        for i, system in enumerate(self.systems):
            for j, org in enumerate(system.organisations):
                if org.psf_forfeited:
                    found.append(
                        Problem(
                            file,
                            f"systems[{i}].organisations[{j}].sustainability_funding",
                            f"provider '{org.id}' did not accept its control total "
                            "(accepted_control_total: false) so no PSF is at stake; its "
                            f"{org.sustainability_funding:g} is treated as 0",
                            "set sustainability_funding: 0, or set accepted_control_total: true "
                            "if the trust accepted its control total",
                        )
                    )
                if org.csf_ineligible:
                    found.append(
                        Problem(
                            file,
                            f"systems[{i}].organisations[{j}].sustainability_funding",
                            f"commissioner '{org.id}' has a non-deficit control total "
                            f"({org.control_total:g}) so no CSF is at stake; its "
                            f"{org.sustainability_funding:g} is ignored",
                            "set sustainability_funding: 0, or give the deficit control total "
                            "that made it eligible for CSF",
                        )
                    )
        return [self._locate(w) for w in found] if self._locate else found

    def _actuals_far_from_plan(self, file: str) -> Iterator[Problem]:
        """A year-to-date outturn more than ``ACTUALS_WARNING_Z`` standard deviations of the
        year to date from its plan: allowed, but often a sign or unit slip."""
        if self.actuals is None or not self.uncertainty.quarterly:
            return
        orgs = {o.id: o for s in self.systems for o in s.organisations}
        shares = self.uncertainty.quarterly_variance or [0.25] * 4
        variance = np.cumsum(shares)
        for j, entry in enumerate(self.actuals.organisations):
            org = orgs.get(entry.id)
            if org is None:
                continue
            profile = np.cumsum(org.quarterly_profile or [0.25] * 4)
            for q, figure in enumerate(entry.ytd_outturn):
                spread = org.sd_value * math.sqrt(float(variance[q]))
                expected = org.plan * float(profile[q])
                if spread <= 0 or abs(figure - expected) <= ACTUALS_WARNING_Z * spread:
                    continue
                yield Problem(
                    file,
                    f"actuals.organisations[{j}].ytd_outturn[{q}]",
                    f"'{entry.id}' Q{q + 1}: {figure:g} is {(figure - expected) / spread:+.1f} "
                    f"standard deviations of the year to date from its plan ({expected:g}); "
                    "the re-forecast takes it as given",
                    "check the sign (surplus +, deficit -), the unit (£m) and that it is the "
                    "year to date, not the quarter alone",
                )

    def _correlation_repairs(self, file: str) -> Iterator[Problem]:
        a = self.uncertainty.national_share
        for i, system in enumerate(self.systems):
            matrix = system.correlation_matrix()
            if matrix is None:
                continue
            fit = system_correlation(matrix, a)
            if fit.repaired:
                yield Problem(
                    file,
                    f"systems[{i}].correlation.matrix",
                    f"system '{system.id}': the correlation matrix is not a valid one with "
                    f"national_share {a:g} (smallest eigenvalue of the within-system part "
                    f"{fit.smallest_eigenvalue:.3g}); the run uses the nearest valid matrix, "
                    f"which moves entries by up to {fit.largest_change:.3f}",
                    "check the signs and sizes of the correlations (strong negative ones among "
                    "three or more members cannot all hold), or lower national_share",
                )

    def _membership_problems(self) -> Iterator[Problem]:
        if not self.systems:
            yield _rule(
                "systems",
                "no systems given",
                "add `systems:` with at least one system (its id and organisations)",
            )
        for i, system in enumerate(self.systems):
            if not system.organisations:
                yield _rule(
                    f"systems[{i}].organisations",
                    f"system '{system.id}' has no organisations",
                    "list its members under `organisations:` or give `organisations_csv:`",
                )

    def _duplicate_problems(self) -> Iterator[Problem]:
        yield from _duplicates(
            "system id", ((s.id, f"systems[{i}].id") for i, s in enumerate(self.systems))
        )
        yield from _duplicates(
            "organisation id",
            (
                (org.id, f"systems[{i}].organisations[{j}].id")
                for i, system in enumerate(self.systems)
                for j, org in enumerate(system.organisations)
            ),
        )
        yield from _duplicates(
            "scheme name", ((s.name, f"schemes[{k}].name") for k, s in enumerate(self.schemes))
        )

    @property
    def source(self) -> Path | None:
        """Absolute path of the YAML file this scenario was read from, if any."""
        return self._source

    @property
    def input_files(self) -> tuple[Path, ...]:
        """Every file this scenario was read from: its own file, then its CSV tables; outputs
        are checked against them so that none ever replaces an input."""
        return self._inputs

    @property
    def changes(self) -> dict[str, Any]:
        """How this scenario differs from its file: the sweep point and ``--set`` changes.

        Keys (each only when it applies): ``sweep_point`` (its number, from 0),
        ``sweep`` (its label), ``sweep_values`` (path -> value) and ``set`` (a
        list of ``{path, value, was}``). Empty for a file read as it is.
        """
        return dict(self._changes)

    @property
    def content_hash(self) -> str:
        """sha256 hex of the file bytes (and CSV bytes) read, else of the model's JSON."""
        return self._content_hash or sha256_of([self.model_dump_json().encode()])


def _duplicates(what: str, keyed: Iterable[tuple[str, str]]) -> Iterator[Problem]:
    """Problems for keys used more than once; ``keyed`` gives (key, field path)."""
    first: dict[str, str] = {}
    for key, path in keyed:
        if key in first:
            yield _rule(
                path,
                f"duplicate {what} '{key}' (first used at {first[key]})",
                f"give each {what} a different value",
            )
        else:
            first[key] = path


def sha256_of(parts: Iterable[bytes]) -> str:
    """sha256 hex digest of the byte strings, in order (a scenario's provenance hash)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()
