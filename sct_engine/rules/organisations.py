"""The words for kinds and types of NHS organisation, shared by scenarios and calibration.

A scenario's organisation is a ``provider`` (an NHS trust, earning PSF) or a
``commissioner`` (a CCG, earning CSF); a provider may say which type of trust it
is (``provider_type``). A calibration history names each row's group with the
same words, so that the ``sd_pct`` fitted for a group pastes straight into a
scenario's ``uncertainty.sd_pct_by_type``. ``ccg`` is accepted everywhere as
another word for ``commissioner``.
"""

from __future__ import annotations

from typing import Literal, get_args

#: The types of NHS trust a scenario may give as ``provider_type``.
ProviderType = Literal["acute", "mental_health", "community", "ambulance", "specialist"]
PROVIDER_TYPES: tuple[str, ...] = get_args(ProviderType)

#: The two kinds of organisation a scenario knows.
KINDS: tuple[str, ...] = ("provider", "commissioner")

#: Other words accepted for a kind: a CCG is the 2018/19 commissioner.
KIND_ALIASES: dict[str, str] = {"ccg": "commissioner"}

#: Groups with their own ``sd_pct``: each provider type, ``provider`` (a provider
#: without a type, or whose type has no entry) and ``commissioner``.
SdGroup = Literal[
    "acute", "mental_health", "community", "ambulance", "specialist", "provider", "commissioner"
]
SD_GROUPS: tuple[str, ...] = get_args(SdGroup)


def canonical_group(word: str) -> str:
    """A kind or type word in its scenario spelling: lower case, ``ccg`` -> ``commissioner``."""
    text = word.strip().lower()
    return KIND_ALIASES.get(text, text)


def sd_group_order(kind: str, provider_type: str | None) -> tuple[str, ...]:
    """The ``sd_pct_by_type`` keys an organisation takes its spread from, most specific first."""
    if kind == "commissioner":
        return ("commissioner",)
    return (provider_type, "provider") if provider_type else ("provider",)
