"""Which option to sign: paired comparisons, recommendation, incentives and solvers.

Everything runs on the same blocks of draws as ``sct run`` with the same seed
(common random numbers), so differences between options are paired.
:mod:`.decision` is the decision analysis (:func:`analyse`, :func:`compare`,
the recommendation per system), built on the per-draw paired statistics of
:mod:`.paired` and the one-system, some-options, moved-lever models of
:mod:`.submodels`; :mod:`.incentives` measures what £1m better outturn is worth
to a member under each option, and :mod:`.solvers` finds the buffers,
mitigation and largest linked share that meet a target.

The decision rule (materiality, three verdicts, tail, national rules) is :mod:`.rule`;
:mod:`.national` reads the national view off an analysis (how many systems would sign each
option, national funding at risk, fairness across systems); :mod:`.sensitivity` re-runs the
analysis under each assumption variant on the same draws.

This package re-exports the public names of those modules, so
``from sct_engine.analysis import analyse, compare`` works as it always has.
"""

from sct_engine.analysis.agreement import Agreement, agreement_draws, design_agreement
from sct_engine.analysis.decision import (
    DEFAULT_ANALYSIS_DRAWS,
    HEAVY_LOSS_SHARE,
    TAIL_LEVEL,
    Analysis,
    Comparison,
    Recommendation,
    analyse,
    compare,
)
from sct_engine.analysis.incentives import incentive_gradient
from sct_engine.analysis.national import (
    NationalView,
    gini,
    joint_national,
    national_view,
    top_share,
)
from sct_engine.analysis.paired import (
    Z95,
    PairedStats,
    count_difference,
    mean_se,
    pair_se,
    reduce_paired_block,
)
from sct_engine.analysis.rule import (
    DEFAULT_MAX_DRAWS,
    NOT_WORSE,
    UNRESOLVED,
    WORSE,
    DecisionRule,
    appetite_verdict,
    changes_national_rules,
)
from sct_engine.analysis.sensitivity import (
    ASSUMPTIONS,
    Assumption,
    Sensitivity,
    apply_assumption,
    plan_variants,
    run_sensitivity,
)
from sct_engine.analysis.solvers import (
    control_total_buffer,
    largest_system_linked_share,
    mitigation_needed,
    system_loss_lines,
)
from sct_engine.analysis.submodels import (
    DEFAULT_DETAIL_DRAWS,
    BaselineError,
    default_baseline,
    draw_rows,
    national_baseline,
    organisation_indices,
    scheme_index,
    system_draws,
    system_model,
    with_lever,
    with_schemes,
)

__all__ = [
    "ASSUMPTIONS",
    "DEFAULT_ANALYSIS_DRAWS",
    "DEFAULT_DETAIL_DRAWS",
    "DEFAULT_MAX_DRAWS",
    "HEAVY_LOSS_SHARE",
    "NOT_WORSE",
    "TAIL_LEVEL",
    "UNRESOLVED",
    "WORSE",
    "Z95",
    "Agreement",
    "Analysis",
    "Assumption",
    "BaselineError",
    "Comparison",
    "DecisionRule",
    "NationalView",
    "PairedStats",
    "Recommendation",
    "Sensitivity",
    "agreement_draws",
    "analyse",
    "appetite_verdict",
    "apply_assumption",
    "changes_national_rules",
    "compare",
    "control_total_buffer",
    "count_difference",
    "default_baseline",
    "design_agreement",
    "draw_rows",
    "gini",
    "incentive_gradient",
    "joint_national",
    "largest_system_linked_share",
    "mean_se",
    "mitigation_needed",
    "national_baseline",
    "national_view",
    "organisation_indices",
    "pair_se",
    "plan_variants",
    "reduce_paired_block",
    "run_sensitivity",
    "scheme_index",
    "system_draws",
    "system_loss_lines",
    "system_model",
    "top_share",
    "with_lever",
    "with_schemes",
]
