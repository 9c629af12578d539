"""The simulation: a scenario's arrays, the random draws, the rules applied, the statistics kept.

Flow: scenario -> arrays (:mod:`.model`) -> per-block random streams
(:mod:`.rng`) -> shocks, tails and management actions (:mod:`.uncertainty`)
-> the rules of :mod:`sct_engine.rules` applied to every option on the same
draws, by the numpy oracle (:mod:`.reference`) or the fused numba kernel
(:mod:`.kernel`, imported only when used) -> streaming statistics
(:mod:`.stats`) -> result tables (:mod:`.results`). :mod:`.simulate` is the
entry point that picks the engine and stops at a target precision; :mod:`.joint` simulates
every system on its own assigned option together (joint counterfactuals).

This package re-exports the public names of those modules except the kernel's.
"""

from sct_engine.engine.joint import JointDraws, simulate_joint
from sct_engine.engine.model import (
    DISTRIBUTION_CODES,
    EVEN_QUARTERS,
    QUARTERS,
    Model,
    SchemeArrays,
    build_model,
    dependence_arrays,
)
from sct_engine.engine.reference import (
    BlockDraws,
    BlockOutcome,
    ReferenceRun,
    SchemeTests,
    apply_schemes,
    apply_schemes_quarterly,
    block_outturns,
    block_ytd_outturns,
    bonus_paid,
    draw_block,
    passes_after_redistribution,
    reduce_block,
    scheme_tests,
    simulate_reference,
    year_end_events,
)
from sct_engine.engine.results import (
    NATIONAL_COLUMNS,
    ORGANISATION_COLUMNS,
    SYSTEM_COLUMNS,
    TABLES,
    Result,
)
from sct_engine.engine.rng import (
    AE_STREAM,
    BLOCK_DRAWS,
    SHOCK_STREAM,
    TAIL_OCCURS_STREAM,
    TAIL_SIZE_STREAM,
    block_generator,
    block_sizes,
)
from sct_engine.engine.simulate import CHECK_EVERY, ENGINES, default_out_dir, simulate
from sct_engine.engine.stats import (
    HIST_BINS,
    ZERO_LOSS,
    Accumulator,
    BlockSums,
    block_accumulator,
    hist_cvar,
    hist_quantile,
    loss_bins,
    max_standard_error,
    mean_and_se,
    proportion_se,
)
from sct_engine.engine.uncertainty import (
    correlated_variates,
    draw_ae_earned,
    draw_shocks,
    draw_tail_losses,
    mitigate,
    outturns,
    skew_normal_constants,
    standard_factors,
    standard_variates,
    ytd_outturns,
)

__all__ = [
    "AE_STREAM",
    "BLOCK_DRAWS",
    "CHECK_EVERY",
    "DISTRIBUTION_CODES",
    "ENGINES",
    "EVEN_QUARTERS",
    "HIST_BINS",
    "NATIONAL_COLUMNS",
    "ORGANISATION_COLUMNS",
    "QUARTERS",
    "SHOCK_STREAM",
    "SYSTEM_COLUMNS",
    "TABLES",
    "TAIL_OCCURS_STREAM",
    "TAIL_SIZE_STREAM",
    "ZERO_LOSS",
    "Accumulator",
    "BlockDraws",
    "BlockOutcome",
    "BlockSums",
    "JointDraws",
    "Model",
    "ReferenceRun",
    "Result",
    "SchemeArrays",
    "SchemeTests",
    "apply_schemes",
    "apply_schemes_quarterly",
    "block_accumulator",
    "block_generator",
    "block_outturns",
    "block_sizes",
    "block_ytd_outturns",
    "bonus_paid",
    "build_model",
    "correlated_variates",
    "default_out_dir",
    "dependence_arrays",
    "draw_ae_earned",
    "draw_block",
    "draw_shocks",
    "draw_tail_losses",
    "hist_cvar",
    "hist_quantile",
    "loss_bins",
    "max_standard_error",
    "mean_and_se",
    "mitigate",
    "outturns",
    "passes_after_redistribution",
    "proportion_se",
    "reduce_block",
    "scheme_tests",
    "simulate",
    "simulate_joint",
    "simulate_reference",
    "skew_normal_constants",
    "standard_factors",
    "standard_variates",
    "year_end_events",
    "ytd_outturns",
]
