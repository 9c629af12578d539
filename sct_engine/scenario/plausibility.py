"""Plausibility warnings: figures a scenario allows but that are probably a slip.

A scenario may be unusual on purpose, so these are warnings, never errors:
money that looks like £000s, a percentage written as a fraction, a spread or
an allocation out of proportion to turnover, a plan so far from its control
total that the test is decided before any draw, and a system with nothing at
stake. Each warning names the file, the field path and the suspicion. The
thresholds live in :data:`LIMITS` only, and docs/scenario-format.md
(Plausibility warnings) lists them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sct_engine.errors import Problem

if TYPE_CHECKING:  # models.py calls this module, so its types are for annotations only
    from sct_engine.scenario.models import Organisation, Scenario, Tail

_DOCS = "see docs/scenario-format.md (Plausibility warnings)"


@dataclass(frozen=True)
class PlausibilityLimits:
    """The thresholds of every plausibility warning (money in £m)."""

    #: A turnover above this looks like £000s: the largest trusts and CCGs of 2018/19 turned
    #: over about £2,000m.
    turnover_max: float = 5_000.0
    #: Any other money figure of one organisation (plan, control total, funding, sd, mitigation,
    #: uplift) above this in size looks like £000s: the largest deficits were about £100m-£200m.
    figure_max: float = 1_000.0
    #: A system control total above this in size looks like £000s.
    system_figure_max: float = 5_000.0
    #: Sustainability funding above this share of turnover: PSF and CSF were a few % of turnover.
    funding_share_max: float = 0.25
    #: A percentage (``sd_pct``, a tail's ``median_pct``) below this looks like a fraction.
    pct_min: float = 0.05
    #: A year-end sd above this share of turnover: ordinary variation is 0.5-2% of turnover.
    sd_share_max: float = 0.25
    #: A plan further than this many sd from the control total it is tested against: ordinary
    #: variation never closes the gap (a chance below 1 in 10^15), so it is usually a sign or
    #: unit slip.
    gap_sd_max: float = 8.0


#: The thresholds in use.
LIMITS = PlausibilityLimits()

_MONEY_FIELDS = ("plan", "control_total", "sustainability_funding", "sd", "mitigation")


def plausibility_warnings(
    scenario: Scenario, file: str, limits: PlausibilityLimits = LIMITS
) -> list[Problem]:
    """Every plausibility warning of a validated scenario, in the order of the file."""
    found = list(_table_warnings(scenario, file, limits))
    for i, system in enumerate(scenario.systems):
        where = f"systems[{i}]"
        total = system.system_control_total
        if total is not None and abs(total) > limits.system_figure_max:
            found.append(
                Problem(
                    file,
                    f"{where}.system_control_total",
                    f"system '{system.id}': {_m(total)} is above £{limits.system_figure_max:,.0f}m "
                    "in size and looks like £000s, not £m",
                    f"write money in £ millions (divide by 1,000); {_DOCS}",
                )
            )
        for j, org in enumerate(system.organisations):
            found += _organisation_warnings(org, f"{where}.organisations[{j}]", file, limits)
        if system.organisations and all(o.funding_at_stake == 0 for o in system.organisations):
            found.append(
                Problem(
                    file,
                    f"{where}.organisations",
                    f"system '{system.id}': no member has sustainability funding at stake, so "
                    "every option gives the same answer (nothing to lose)",
                    "give members their PSF/CSF in sustainability_funding (£m), or leave the "
                    f"system out; {_DOCS}",
                )
            )
    return found


def _organisation_warnings(
    org: Organisation, where: str, file: str, limits: PlausibilityLimits
) -> Iterator[Problem]:
    thousands = _thousands(org, where, file, limits)
    fraction = org.sd_pct is not None and org.sd_pct < limits.pct_min
    if thousands is not None:
        yield thousands
    if fraction and org.sd_pct is not None:
        yield _fraction(f"{where}.sd_pct", f"'{org.id}': sd_pct", org.sd_pct, file, limits)
    if thousands is None and not fraction:  # else the ratios and the gap follow from that slip
        yield from _proportion_warnings(org, where, file, limits)
    if org.tail is not None:
        yield from _tail_warnings(org.tail, f"{where}.tail", f"'{org.id}': tail", file, limits)
    if org.has_ae and org.provider_type not in (None, "acute"):
        yield Problem(
            file,
            f"{where}.has_ae",
            f"'{org.id}' is a {org.provider_type} trust with has_ae: true, but type-1 A&E "
            "departments are in acute trusts",
            f"check provider_type and has_ae; {_DOCS}",
        )


def _thousands(
    org: Organisation, where: str, file: str, limits: PlausibilityLimits
) -> Problem | None:
    """One warning naming every money figure of ``org`` too large to be in £m."""
    large = []
    if org.turnover is not None and org.turnover > limits.turnover_max:
        large.append(("turnover", org.turnover))
    for name in (*_MONEY_FIELDS, "control_total_uplift"):
        value = getattr(org, name)
        if value is not None and abs(value) > limits.figure_max:
            large.append((name, value))
    if not large:
        return None
    listed = ", ".join(f"{name} {value:,.1f}" for name, value in large)
    return Problem(
        file,
        f"{where}.{large[0][0]}",
        f"'{org.id}': {listed} look{'s' if len(large) == 1 else ''} like £000s, not £m "
        f"(no trust or CCG turns over more than £{limits.turnover_max:,.0f}m or has another "
        f"figure above £{limits.figure_max:,.0f}m)",
        f"write money in £ millions: divide by 1,000 (420000 is £420m, written 420.0); {_DOCS}",
    )


def _proportion_warnings(
    org: Organisation, where: str, file: str, limits: PlausibilityLimits
) -> Iterator[Problem]:
    """Funding and spread out of proportion to turnover; a plan far from its control total."""
    turnover = org.turnover
    if turnover is not None and org.sustainability_funding > limits.funding_share_max * turnover:
        yield Problem(
            file,
            f"{where}.sustainability_funding",
            f"'{org.id}': {_m(org.sustainability_funding)} is "
            f"{org.sustainability_funding / turnover:.0%} of its turnover ({_m(turnover)}), above "
            f"{limits.funding_share_max:.0%}: PSF and CSF were a few % of turnover",
            f"check that both are in £m (one may be in £000s or £bn); {_DOCS}",
        )
    if org.sd is None and org.sd_pct is None:
        return  # the scenario reports the missing spread
    sd = org.sd_value
    if turnover is not None and sd > limits.sd_share_max * turnover:
        field = "sd" if org.sd is not None else "sd_pct"
        yield Problem(
            file,
            f"{where}.{field}",
            f"'{org.id}': the year-end sd of {_m(sd)} is {sd / turnover:.0%} of turnover "
            f"({_m(turnover)}), above {limits.sd_share_max:.0%}: ordinary variation is 0.5-2% "
            "of turnover",
            f"check the units: sd is in £m and sd_pct in % of turnover; {_DOCS}",
        )
    target = org.control_total + org.control_total_uplift
    gap = (org.plan - target) / sd
    if abs(gap) > limits.gap_sd_max:
        side, outcome = ("below", "misses") if gap < 0 else ("above", "meets")
        yield Problem(
            file,
            f"{where}.plan",
            f"'{org.id}': plan {org.plan:g} is {abs(gap):.1f} sd {side} the control total it is "
            f"tested against ({target:g}, sd {_m(sd)}), so it {outcome} it in practically every "
            "simulated year whatever the option",
            "check the signs (deficits are negative, surpluses positive) and that plan, "
            f"control_total and sd are all in £m; {_DOCS}",
        )


def _table_warnings(scenario: Scenario, file: str, limits: PlausibilityLimits) -> Iterator[Problem]:
    """The scenario-wide percentages: sd_pct_by_type entries and the global tail."""
    uncertainty = scenario.uncertainty
    for group, value in (uncertainty.sd_pct_by_type or {}).items():
        if value < limits.pct_min:
            where = f"uncertainty.sd_pct_by_type.{group}"
            yield _fraction(where, f"sd_pct_by_type.{group}", value, file, limits)
    if uncertainty.tail is not None:
        yield from _tail_warnings(uncertainty.tail, "uncertainty.tail", "tail", file, limits)


def _tail_warnings(
    tail: Tail, where: str, what: str, file: str, limits: PlausibilityLimits
) -> Iterator[Problem]:
    if tail.median_pct < limits.pct_min:
        yield _fraction(f"{where}.median_pct", f"{what} median_pct", tail.median_pct, file, limits)


def _fraction(
    where: str, what: str, value: float, file: str, limits: PlausibilityLimits
) -> Problem:
    return Problem(
        file,
        where,
        f"{what} is {value:g}, i.e. {value:g}% of turnover, below {limits.pct_min:g}%: it looks "
        "like a fraction where a percentage is meant",
        f"write a percentage: 1.2 means 1.2% of turnover (a fraction 0.012 is written 1.2); {_DOCS}",
    )


def _m(value: float) -> str:
    """Money as text: ``£-3.5m``, ``£43,700.0m``, ``£0.042m``."""
    return f"£{value:,.1f}m" if abs(value) >= 1 or value == 0 else f"£{value:.2g}m"
