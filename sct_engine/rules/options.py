"""The 2018/19 risk-sharing options as data: the scheme option model and the built-in menu.

Rule numbers (4 and 5) are those of the 2018/19 scheme rules. The integer codes
are how model arrays and the kernel name redistribution modes and system tests.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Redistribution = Literal["none", "full", "capped"]
SystemTest = Literal["total", "every_member"]
#: Rule 1: which finance result opens the A&E element in a period (``regime.ae_gateway``).
AeGateway = Literal["own_test", "finance_earned", "none"]

#: Integer codes used in model arrays and the kernel.
REDISTRIBUTION_CODES: dict[str, int] = {"none": 0, "full": 1, "capped": 2}
SYSTEM_TEST_CODES: dict[str, int] = {"total": 0, "every_member": 1}


class SchemeOption(BaseModel):
    """One risk-sharing option a system could sign (rules 4 and 5)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    system_linked_share: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Share of each member's finance element paid on the system result.",
    )
    redistribution: Redistribution = Field(
        "none", description="How surplus headroom covers members' shortfalls: none | full | capped."
    )
    share_cap: float = Field(
        0.5, ge=0.0, le=1.0, description="capped only: most of its headroom a member gives."
    )
    system_test: SystemTest = Field(
        "total",
        description="total: system outturn >= system control total; every_member: every member "
        "meets its own control total after redistribution (strict all or nothing).",
    )
    ae_gateway: bool = Field(
        True,
        description="true: the A&E element passes the national gateway (regime.ae_gateway); "
        "false: no gateway for this option, A&E is paid on performance alone (this changes the "
        "national rules).",
    )


def effective_ae_gateway(regime_gateway: AeGateway, option_gateway: bool) -> AeGateway:
    """The A&E gateway an option applies (rule 1), given the national reading and the
    option's ``ae_gateway`` flag: the national reading, or ``none`` where the flag is false.
    An option whose effective gateway differs from ``regime_gateway`` changes the national
    rules (e.g. ``effective_ae_gateway(scenario.regime.ae_gateway, option.ae_gateway)``)."""
    return regime_gateway if option_gateway else "none"


def builtin_menu() -> list[SchemeOption]:
    """The options compared when a scenario lists none.

    ``all_or_nothing`` puts every member's finance element on the system total;
    ``all_or_nothing_strict`` pays nobody unless every member meets its own
    control total (the national proposal systems rejected); the flexible
    options link a quarter, half or three quarters to the system total and let
    members cover each other's shortfalls from surplus headroom.
    """
    return [
        SchemeOption(name="organisation_only"),
        SchemeOption(name="all_or_nothing", system_linked_share=1.0),
        SchemeOption(
            name="all_or_nothing_strict", system_linked_share=1.0, system_test="every_member"
        ),
        SchemeOption(name="flexible_25", system_linked_share=0.25, redistribution="full"),
        SchemeOption(name="flexible_50", system_linked_share=0.5, redistribution="full"),
        SchemeOption(name="flexible_75", system_linked_share=0.75, redistribution="full"),
    ]
