"""The 2018/19 rules: the options as data, the payment rules and the cover as pure functions.

:mod:`.options` holds the scheme options a system can sign and the built-in
menu; :mod:`.payments` the elements, the tests, the finance and A&E elements
paid and the quarterly instalments; :mod:`.cover` the redistribution of
shortfalls (the knapsack cover, compiled into the kernel too); and
:mod:`.correlation` the checks and repair of a system's correlation matrix;
:mod:`.organisations` the words for kinds and types of organisation.
Nothing here imports anything else from ``sct_engine``: every other
sub-package builds on these rules.
"""

from sct_engine.rules.correlation import (
    MIN_EIGENVALUE,
    SystemCorrelation,
    clipped_correlation,
    is_valid_correlation,
    nearest_correlation,
    signed_loading_limit,
    smallest_eigenvalue,
    system_correlation,
    total_correlation,
    within_system,
)
from sct_engine.rules.cover import (
    EXACT_COVER_LIMIT,
    available_headroom,
    cover_shortfalls,
    cover_shortfalls_into,
    redistribute,
)
from sct_engine.rules.options import (
    REDISTRIBUTION_CODES,
    SYSTEM_TEST_CODES,
    AeGateway,
    Redistribution,
    SchemeOption,
    SystemTest,
    builtin_menu,
    effective_ae_gateway,
)
from sct_engine.rules.organisations import (
    KIND_ALIASES,
    KINDS,
    PROVIDER_TYPES,
    SD_GROUPS,
    ProviderType,
    SdGroup,
    canonical_group,
    sd_group_order,
)
from sct_engine.rules.payments import (
    AE_GATE_EITHER,
    AE_GATE_NONE,
    AE_GATE_OWN,
    AE_GATE_SYSTEM,
    QUARTER_WEIGHT_PERCENT,
    QUARTER_WEIGHTS,
    ae_element,
    ae_gate_code,
    ae_gate_open,
    ae_paid,
    bonus_paid,
    finance_element,
    finance_paid,
    meets_control_total,
    quarterly_instalments,
    quarterly_share,
    system_meets,
)

__all__ = [
    "AE_GATE_EITHER",
    "AE_GATE_NONE",
    "AE_GATE_OWN",
    "AE_GATE_SYSTEM",
    "EXACT_COVER_LIMIT",
    "KINDS",
    "KIND_ALIASES",
    "MIN_EIGENVALUE",
    "PROVIDER_TYPES",
    "QUARTER_WEIGHTS",
    "QUARTER_WEIGHT_PERCENT",
    "REDISTRIBUTION_CODES",
    "SD_GROUPS",
    "SYSTEM_TEST_CODES",
    "AeGateway",
    "ProviderType",
    "Redistribution",
    "SchemeOption",
    "SdGroup",
    "SystemCorrelation",
    "SystemTest",
    "ae_element",
    "ae_gate_code",
    "ae_gate_open",
    "ae_paid",
    "available_headroom",
    "bonus_paid",
    "builtin_menu",
    "canonical_group",
    "clipped_correlation",
    "cover_shortfalls",
    "cover_shortfalls_into",
    "effective_ae_gateway",
    "finance_element",
    "finance_paid",
    "is_valid_correlation",
    "meets_control_total",
    "nearest_correlation",
    "quarterly_instalments",
    "quarterly_share",
    "redistribute",
    "sd_group_order",
    "signed_loading_limit",
    "smallest_eigenvalue",
    "system_correlation",
    "system_meets",
    "total_correlation",
    "within_system",
]
