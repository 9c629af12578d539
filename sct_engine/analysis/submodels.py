"""Sub-models: the model cut to some options, to one system, or with one organisation's lever moved.

The incentive gradient and the solvers re-apply the rules many times to one
system at a time; cutting the model and a block's random inputs to that system
(same draws, fewer columns) keeps each re-run small while it stays on the run's
common random numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from typing import Any

import numpy as np

from sct_engine import rules
from sct_engine.engine.model import Lever, Model, with_lever
from sct_engine.engine.reference import BlockDraws
from sct_engine.engine.simulate import engine_run

#: Draws of the incentive gradient and the solvers (each re-applies the rules many times).
DEFAULT_DETAIL_DRAWS = 16_384


class BaselineError(ValueError):
    """The scenario offers no option under the national rules with nothing linked or shared."""


def _is_national_organisation_only(model: Model, k: int) -> bool:
    """Option ``k`` pays each member on its own test under the national rules: no linked
    share, no redistribution, and the national A&E gateway (``ae_gateway`` not switched off)."""
    sa = model.schemes
    national = model.ae_gateway
    return (
        sa.system_linked_share[k] == 0.0
        and sa.redistribution[k] == rules.REDISTRIBUTION_CODES["none"]
        and rules.effective_ae_gateway(national, bool(sa.ae_gateway[k])) == national
    )


def national_baseline(model: Model, source: str = "") -> str:
    """The option every other is judged against: the national rules' organisation-only option.

    ``organisation_only`` where it is that option, else the first option with no linked share,
    no redistribution and the national A&E gateway. An option that changes a national rule
    (``ae_gateway: false``) is never the baseline, whatever its name or place in the menu: a
    scenario without such an option is refused (:class:`BaselineError`, naming ``source``).
    """
    names = model.schemes.names
    candidates = [k for k in range(len(names)) if _is_national_organisation_only(model, k)]
    if not candidates:
        where = f"{source}: " if source else ""
        raise BaselineError(
            f"{where}schemes: no option pays each member on its own test under the national "
            "rules, so there is nothing to judge the options against; add "
            "`- name: organisation_only` to `schemes:` (no system_linked_share, redistribution "
            "none, ae_gateway true)"
        )
    named = [k for k in candidates if names[k] == "organisation_only"]
    return names[(named or candidates)[0]]


def default_baseline(model: Model) -> str:
    """The national organisation-only option (:func:`national_baseline`); a menu of one option
    (a solver's) is its own baseline. A longer menu without that option is refused
    (:class:`BaselineError`), never judged against an option that changes a national rule."""
    names = model.schemes.names
    return names[0] if len(names) == 1 else national_baseline(model)


def scheme_index(model: Model, name: str) -> int:
    """Position of option ``name`` in the model's menu; unknown names are refused."""
    names = model.schemes.names
    if name not in names:
        raise ValueError(f"unknown scheme {name!r}; this scenario offers {', '.join(names)}")
    return names.index(name)


def organisation_indices(model: Model, organisations: Sequence[str] | None) -> list[int]:
    """Positions of the named organisations (every organisation when ``None``); unknown ids are refused."""
    if organisations is None:
        return list(range(model.n_orgs))
    unknown = [o for o in organisations if o not in model.org_ids]
    if unknown:
        raise ValueError(f"unknown organisation(s) {', '.join(unknown)}")
    return [model.org_ids.index(o) for o in organisations]


def system_draws(model: Model, draws: BlockDraws, system: int) -> BlockDraws:
    """One system's share of a block's random inputs, laid out for ``system_model(model, system)``.

    Shocks keep the national factor, the system's factor and its members'
    own terms; per-organisation inputs keep the members' columns. The last axis
    is the variate (organisation) axis in every layout, year-end or quarterly.
    """
    lo, hi = int(model.system_start[system]), int(model.system_start[system + 1])
    s = model.n_systems
    shock_columns = np.concatenate([[0, 1 + system], np.arange(1 + s + lo, 1 + s + hi)])
    cut: dict[str, Any] = {}
    for f in fields(draws):
        value = getattr(draws, f.name)
        if not isinstance(value, np.ndarray):
            continue
        cut[f.name] = value[..., shock_columns] if f.name == "shocks" else value[..., lo:hi]
    return replace(draws, **cut)


#: Model arrays indexed by system, not organisation (kept whole or cut by system in ``system_model``).
_SYSTEM_ARRAYS = frozenset({"system_start", "system_control_total", "org_system"})


def system_model(model: Model, system: int) -> Model:
    """The model restricted to one system: its members' arrays, its system control total, every option.

    Every per-organisation array of :class:`Model` is cut, so fields added later follow.
    """
    lo, hi = int(model.system_start[system]), int(model.system_start[system + 1])
    cut: dict[str, Any] = {}
    for f in fields(model):
        value = getattr(model, f.name)
        if f.name in _SYSTEM_ARRAYS:
            continue
        per_org_array = (
            isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == model.n_orgs
        )
        if per_org_array or (isinstance(value, tuple) and f.name.startswith("org_")):
            cut[f.name] = value[lo:hi]
    return replace(
        model,
        **cut,
        org_system=np.zeros(hi - lo, dtype=np.int64),
        system_ids=(model.system_ids[system],),
        system_names=(model.system_names[system],),
        system_start=np.array([0, hi - lo], dtype=np.int64),
        system_control_total=model.system_control_total[system : system + 1],
    )


def with_schemes(model: Model, names: Sequence[str]) -> Model:
    """The model with only the named options (in that order; a name may repeat)."""
    idx = [scheme_index(model, x) for x in names]
    sa = model.schemes
    cut = {
        f.name: getattr(sa, f.name)[idx]
        for f in fields(sa)
        if isinstance(getattr(sa, f.name), np.ndarray)
    }
    return replace(model, schemes=replace(sa, names=tuple(names), **cut))


def system_trace(
    engine: str, model: Model, seed: int, draws: int, levers: Sequence[Lever] | None = None
) -> tuple[np.ndarray, ...]:
    """Run ``model`` for ``draws`` draws on ``engine`` and return its per-draw traces: funding
    paid and year-end finance pass ``(draws, K, N)``, system loss ``(draws, K, S)`` and
    year-end outturn ``(draws, N)`` (``KernelRun.trace``). Every call with the same seed sees
    the same draws, so levers moved between calls are compared on common random numbers.

    With ``levers``, every lever position is applied to the same draws in one run (drawn
    once), and the traces follow each position's member: paid and pass ``(draws, L, K)``,
    system loss ``(draws, L, K, S)``, outturn ``(draws, L)``; position ``p`` is what a run of
    ``with_lever(model, *levers[p])`` traces for that member.
    """
    run = engine_run(engine, model, seed, trace=True, levers=levers)
    run.extend(draws)
    return tuple(run.trace())


def draw_rows(draws: BlockDraws, rows: np.ndarray) -> BlockDraws:
    """The same random inputs for a subset of draws (every per-draw array cut)."""
    return replace(
        draws,
        **{
            f.name: getattr(draws, f.name)[rows]
            for f in fields(draws)
            if isinstance(getattr(draws, f.name), np.ndarray)
        },
    )


__all__ = [
    "DEFAULT_DETAIL_DRAWS",
    "BaselineError",
    "default_baseline",
    "draw_rows",
    "national_baseline",
    "organisation_indices",
    "scheme_index",
    "system_draws",
    "system_model",
    "system_trace",
    "with_lever",
    "with_schemes",
]
