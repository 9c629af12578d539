"""Incentive gradient: what £1m better own outturn is worth to an organisation under each option.

Risk sharing can blunt an organisation's own incentive (moral hazard). The
gradient is a central difference on common random numbers, one system at a
time, so each option's change against the baseline is a paired difference. Each
system is simulated on its own (``system_model``: its members and the national and
system factors, drawn from the seed's block streams) on the engine of ``sct run``, with
every member's plan moved both ways as lever positions of one run: the rules are applied
twice per member to each draw, drawn once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from sct_engine.analysis.paired import Z95, mean_se
from sct_engine.analysis.submodels import (
    DEFAULT_DETAIL_DRAWS,
    default_baseline,
    organisation_indices,
    scheme_index,
    system_model,
    system_trace,
)
from sct_engine.engine.model import Lever, Model

#: Most per-draw trace values (lever positions x options x draws) one run holds: the lever
#: positions of a large system are split over several runs (each on the same draws).
TRACE_VALUES = 8_000_000


def incentive_gradient(
    model: Model,
    seed: int,
    draws: int = DEFAULT_DETAIL_DRAWS,
    delta: float = 1.0,
    baseline: str | None = None,
    organisations: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
    engine: str = "kernel",
) -> pd.DataFrame:
    """Change in expected funding per £1m improvement of an organisation's own outturn.

    Central difference on common random numbers: every draw is re-run with the
    organisation's plan (so its outturn before management actions) ``delta / 2``
    better and ``delta / 2`` worse, all else equal, and the funding difference
    divided by ``delta`` (so the result is per £1m). ``own_gradient`` is the
    organisation's own funding, ``system_gradient`` its whole system's.
    ``incentive`` says whether the option weakens (moral hazard) or sharpens the
    organisation's own incentive relative to the baseline, by more than 1.96
    paired standard errors. The year-end bonus (rule 8) is left out.
    """
    baseline = default_baseline(model) if baseline is None else baseline
    base = scheme_index(model, baseline)
    k_schemes = len(model.schemes)
    targets = organisation_indices(model, organisations)
    own = np.zeros((2, k_schemes, model.n_orgs))  # sum, sum of squares
    system = np.zeros((2, k_schemes, model.n_orgs))
    diff = np.zeros((2, k_schemes, model.n_orgs))
    by_system: dict[int, list[int]] = {}
    for i in targets:
        by_system.setdefault(int(model.org_system[i]), []).append(i)
    members_per_run = max(1, TRACE_VALUES // (2 * k_schemes * draws))
    for s, members in by_system.items():
        # The bonus pool is national and not part of the funding compared here: leave it out.
        sub = replace(system_model(model, s), bonus=False)
        lo = int(model.system_start[s])
        for first in range(0, len(members), members_per_run):
            chunk = members[first : first + members_per_run]
            levers = [
                Lever(i - lo, "plan", shift) for i in chunk for shift in (delta / 2.0, -delta / 2.0)
            ]
            # Per draw and position, the member's funding paid (draws, 2m, K) and the
            # system's loss (draws, 2m, K, 1): position 2t is member t's plan moved up.
            paid, _, lost, _ = system_trace(engine, sub, seed, draws, levers)
            for t, i in enumerate(chunk):
                g_own = (paid[:, 2 * t] - paid[:, 2 * t + 1]) / delta
                g_sys = (lost[:, 2 * t + 1, :, 0] - lost[:, 2 * t, :, 0]) / delta
                g_diff = g_own - g_own[:, base : base + 1]
                for acc, g in ((own, g_own), (system, g_sys), (diff, g_diff)):
                    acc[0, :, i] += g.sum(axis=0)
                    acc[1, :, i] += (g * g).sum(axis=0)
                if progress is not None:
                    progress(draws)
    rows = []
    for k, name in enumerate(model.schemes.names):
        g, se = mean_se(own[0, k], own[1, k], draws)
        gs, se_s = mean_se(system[0, k], system[1, k], draws)
        d, se_d = mean_se(diff[0, k], diff[1, k], draws)
        for i in targets:
            if name == baseline:
                verdict = "baseline"
            elif d[i] < -Z95 * se_d[i]:
                verdict = "weaker"
            elif d[i] > Z95 * se_d[i]:
                verdict = "stronger"
            else:
                verdict = "unchanged"
            base_g = own[0, base, i] / draws
            rows.append(
                {
                    "scheme": name,
                    "system": model.system_ids[model.org_system[i]],
                    "organisation": model.org_ids[i],
                    "own_gradient": g[i],
                    "se_own_gradient": se[i],
                    "system_gradient": gs[i],
                    "se_system_gradient": se_s[i],
                    "diff_own_gradient": d[i],
                    "se_diff_own_gradient": se_d[i],
                    "ratio_to_baseline": g[i] / base_g if base_g > 0 else np.nan,
                    "incentive": verdict,
                }
            )
    return pd.DataFrame(rows)


__all__ = ["incentive_gradient"]
