"""Joint counterfactuals: every system on the option assigned to it, all simulated together.

A national figure is what happens when the systems act together. An *assignment* gives each
system one of the model's scheme options (an option index per system, ``(S,)``); its figures
are those of one simulation in which every system is on its own option at once, on common
random numbers, with the national bonus pool (rule 8) formed from every trust's unearned
finance funding and paid to every trust that passed.

How: under the 2018/19 rules a system's tests, redistribution and payments depend only on its
own members' outturns and its own option (rules 1 to 7 act inside a system); the draws do not
depend on the option. So in any draw, system ``s``'s funding paid and year-end passes under
an assignment are exactly those of option ``assignment[s]`` in a run of every option on the
same draws, and only the bonus, the one rule across systems, must be computed on the
assignment as a whole. Both engines give those per-draw figures as traces (``trace=True``,
checked draw for draw between the kernel and the reference): one run of the model gives each
member's funding paid and year-end pass under every option, and one run of
:func:`finance_only` (the same model with the A&E element taken out of every allocation)
gives the finance element paid, which the bonus pool needs. The kernel's loops are used as
they are: the assignment is composed here, a block of draws at a time (:func:`compose`).

Money in £m a year.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from sct_engine import rules
from sct_engine.engine.model import Model
from sct_engine.engine.rng import BLOCK_DRAWS, block_sizes
from sct_engine.engine.simulate import engine_run


def finance_only(model: Model) -> Model:
    """The model with the A&E element taken out of every allocation (``funding`` = the finance
    element, ``ae_fraction`` 0): the same draws, tests and redistribution (they read the finance
    element, never the A&E one), so its funding paid is each member's finance element paid."""
    return replace(model, funding=model.finance, ae_fraction=np.zeros_like(model.ae_fraction))


def check_assignment(model: Model, assignment: Sequence[int] | np.ndarray) -> np.ndarray:
    """The assignment as an int64 array ``(S,)`` of option indices, checked against the model."""
    a = np.asarray(assignment, dtype=np.int64)
    if a.shape != (model.n_systems,):
        raise ValueError(
            f"an assignment gives one option per system: {model.n_systems} entries (got {a.shape})"
        )
    k = len(model.schemes)
    if np.any((a < 0) | (a >= k)):
        raise ValueError(f"an assignment's options are indices 0 to {k - 1} (got {a.tolist()})")
    return a


@dataclass(frozen=True)
class JointBlock:
    """One block of draws under one assignment: per draw and member, ``(n, N)``."""

    paid: np.ndarray  # funding paid (PSF/CSF: finance and A&E elements)
    finance_paid: np.ndarray  # the finance element of ``paid``
    passed: np.ndarray  # bool: year-end finance test passed after redistribution
    bonus: np.ndarray  # rule 8's year-end bonus, the pool formed over every system (0 without)


def compose(
    model: Model,
    assignment: Sequence[int] | np.ndarray,
    paid: np.ndarray,
    finance_paid: np.ndarray,
    passed: np.ndarray,
) -> JointBlock:
    """One assignment's figures on a block of draws, from every option's traces on them.

    ``paid``, ``finance_paid`` and ``passed`` are ``(n, K, N)``: each member's funding paid,
    finance element paid and year-end pass under every option. Each member takes its system's
    option's figures; the bonus is ``rules.bonus_paid`` on the composed figures (one national
    pool), as the run pays it under a single option.
    """
    a = check_assignment(model, assignment)
    option = a[model.org_system]  # (N,) the option of each member's system
    members = np.arange(model.n_orgs)
    chosen_paid = paid[:, option, members]
    chosen_finance = finance_paid[:, option, members]
    chosen_passed = passed[:, option, members]
    if model.bonus:
        bonus = rules.bonus_paid(
            model.finance,
            chosen_finance,
            model.funding,
            chosen_passed,
            model.is_provider,
            model.bonus_share,
        )
    else:
        bonus = np.zeros_like(chosen_paid)
    return JointBlock(chosen_paid, chosen_finance, chosen_passed, bonus)


@dataclass(frozen=True)
class JointDraws:
    """One assignment simulated jointly: national figures per draw, system figures summed.

    ``funding_paid``, ``provider_paid`` (the PSF part: trusts), ``finance_paid`` (the finance
    element part) and ``bonus`` (rule 8's bonus paid out, i.e. the funding recycled) are
    ``(draws,)`` national totals; ``system_paid_sum`` / ``system_bonus_sum`` are ``(S,)`` sums
    over draws of each system's funding paid and bonus.
    """

    assignment: np.ndarray  # (S,) option index of each system
    funding_paid: np.ndarray
    provider_paid: np.ndarray
    finance_paid: np.ndarray
    bonus: np.ndarray
    system_paid_sum: np.ndarray
    system_bonus_sum: np.ndarray

    @property
    def draws(self) -> int:
        return int(self.funding_paid.shape[0])


def _traces(
    engine: str, model: Model, seed: int, block: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Funding paid and year-end pass ``(n, K, N)`` of block ``block`` (``n`` draws)."""
    run = engine_run(engine, model, seed, trace=True)
    run.next_block = block
    run.extend(n)
    paid, passed, _, _ = run.trace()
    return paid, passed


def simulate_joint(
    model: Model,
    assignments: Mapping[str, Sequence[int] | np.ndarray],
    draws: int,
    seed: int,
    engine: str = "kernel",
    progress: Callable[[int], None] | None = None,
) -> dict[str, JointDraws]:
    """Each assignment simulated jointly on the same ``draws`` draws of ``seed`` (the draws of a
    run of the model with that seed: common random numbers with it and between assignments).

    Works a block of draws at a time (``rng.BLOCK_DRAWS``), so memory holds one block's traces
    of every option, twice (the model and :func:`finance_only`), never the whole run's.
    """
    if draws < 1:
        raise ValueError(f"a joint simulation needs at least one draw (got {draws})")
    checked = {name: check_assignment(model, a) for name, a in assignments.items()}
    finance_model = finance_only(model)
    parts: dict[str, list[tuple[np.ndarray, ...]]] = {name: [] for name in checked}
    provider = model.is_provider
    starts = model.system_start[:-1]
    for block, n in block_sizes(draws, BLOCK_DRAWS):
        paid, passed = _traces(engine, model, seed, block, n)
        finance_paid, finance_passed = _traces(engine, finance_model, seed, block, n)
        if not np.array_equal(passed, finance_passed):  # an invariant of the rules, not input
            raise RuntimeError("the finance-only model passed differently: the rules changed")
        for name, a in checked.items():
            j = compose(model, a, paid, finance_paid, passed)
            parts[name].append(
                (
                    j.paid.sum(axis=1),
                    (j.paid * provider).sum(axis=1),
                    j.finance_paid.sum(axis=1),
                    j.bonus.sum(axis=1),
                    np.add.reduceat(j.paid, starts, axis=1).sum(axis=0),
                    np.add.reduceat(j.bonus, starts, axis=1).sum(axis=0),
                )
            )
        if progress is not None:
            progress(n)
    out = {}
    for name, a in checked.items():
        cols = list(zip(*parts[name], strict=True))
        out[name] = JointDraws(
            assignment=a,
            funding_paid=np.concatenate(cols[0]),
            provider_paid=np.concatenate(cols[1]),
            finance_paid=np.concatenate(cols[2]),
            bonus=np.concatenate(cols[3]),
            system_paid_sum=np.sum(cols[4], axis=0),
            system_bonus_sum=np.sum(cols[5], axis=0),
        )
    return out


__all__ = [
    "JointBlock",
    "JointDraws",
    "check_assignment",
    "compose",
    "finance_only",
    "simulate_joint",
]
