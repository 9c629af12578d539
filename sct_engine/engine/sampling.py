"""Randomised quasi-Monte Carlo: independent replicates and the standard errors they give.

With ``sampling="sobol"`` a run is ``R`` independent replicates (``rng.Replicate``). Each
takes the common factors of the factor model (the national variate and one per system,
in every period: ``P (1 + S)`` dimensions, 45 for England's 44 systems at year end, 180
quarterly) from its own scrambled Sobol' sequence, and everything else (organisations' own
variates, A&E outcomes, large adverse events) from its own pseudo-random streams. The
own variates stay pseudo-random because their dimension (one per organisation and
period: about 1,800 for England quarterly) is far beyond where Sobol' points beat
independent ones for a discontinuous outcome such as a control-total test.

Draws within a replicate are not independent, so the iid formula (the SD of the draws /
sqrt(n)) is not the standard error of a mean. The standard error comes from the
replicates: every replicate's mean is an independent, unbiased estimate, the run's mean
is their average (each replicate has the same number of draws), and its standard error
is the SD of the ``R`` replicate means / sqrt(R) (:meth:`ReplicatedRun.standard_errors`).
This standard error has ``R - 1`` degrees of freedom: with 16 replicates, 15, and a 95%
interval of +-1.96 SE is about 95% only to within the spread of a 15-dof estimate (the t
quantile is 2.13). A run with a target standard error therefore stops on the SE times
:func:`t_factor` (``t_{R-1, 0.975} / 1.96``), not on the SE itself.

``sampling="pseudo"`` with replicates is the same construction on pseudo-random common
factors: a benchmark's like-for-like comparison. A plain run (no replicates) is the
default and is not this module's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from sct_engine.engine.model import DISTRIBUTION_CODES, Model
from sct_engine.engine.rng import SOBOL_MAX_DIMENSION, Replicate
from sct_engine.engine.stats import Accumulator, PairedStats

#: ``pseudo``: pseudo-random draws throughout (the default); ``sobol``: randomised QMC for
#: the common factors, standard errors from independent replicates.
SAMPLING = ("pseudo", "sobol")
#: Replicates of a Sobol' run unless told otherwise.
DEFAULT_REPLICATES = 16
#: Fewest replicates that give a standard error at all; the most a run may ask for.
MIN_REPLICATES, MAX_REPLICATES = 2, 1024
#: How scipy scrambles the Sobol' points (``qmc.Sobol(scramble=True)``), recorded in run.json:
#: the numbers depend on it and on the scipy version.
SCRAMBLING = (
    "scipy.stats.qmc.Sobol(scramble=True): left linear matrix scramble with a digital random "
    "shift (LMS+shift), Joe-Kuo direction numbers"
)
#: The normal 97.5% quantile that a 95% interval of +-1.96 SE uses.
Z95 = 1.96

#: Statistics whose mean a result reports (or reads a standard error for): per replicate
#: their sums are kept, so each gets a replicate standard error.
REPLICATED = (
    "org_meet",
    "system_meet",
    "org_pass",
    "org_any_lost",
    "org_lost_sum",
    "org_paid_sum",
    "org_bonus_sum",
    "system_test_pass",
    "system_lost_sum",
    "system_all_lost",
    "system_any_lost",
    "national_lost_sum",
)
#: The same for the decision statistics (a run with a baseline): paired differences.
PAIRED_REPLICATED = (
    "org_diff_paid_sum",
    "org_diff_income_sum",
    "system_paid_sum",
    "system_income_sum",
)
#: Probabilities and expected losses behind ``max_standard_error`` (as ``stats.max_standard_error``).
_CHECKED = (
    "org_meet",
    "system_meet",
    "org_any_lost",
    "system_all_lost",
    "system_any_lost",
    "org_lost_sum",
    "system_lost_sum",
    "national_lost_sum",
)


def sampling_problem(model: Model, sampling: str, replicates: int) -> tuple[str, str] | None:
    """Why ``sampling`` with ``replicates`` cannot run on ``model``: the scenario field at
    fault (``""``: none, the run's options) and a sentence; None when it can."""
    if sampling not in SAMPLING:
        return "", f"unknown sampling {sampling!r}; choose one of {', '.join(SAMPLING)}"
    if sampling == "pseudo":
        return None
    if not MIN_REPLICATES <= replicates <= MAX_REPLICATES:
        return "", (
            f"Sobol' sampling needs {MIN_REPLICATES} to {MAX_REPLICATES} replicates "
            f"(got {replicates}): its standard errors come from the spread of the replicates"
        )
    if model.distribution == DISTRIBUTION_CODES["skew_normal"]:
        return "uncertainty.distribution", (
            "Sobol' sampling is built for normal and student_t shocks; skew_normal shocks "
            "run with the default pseudo-random sampling"
        )
    periods = 4 if model.quarterly else 1
    if periods * (model.n_systems + 1) > SOBOL_MAX_DIMENSION:
        return "systems", (
            f"too many systems for Sobol' points (at most {SOBOL_MAX_DIMENSION} dimensions: "
            "the national and system factors of every period)"
        )
    return None


class ReplicatedRun:
    """``replicates`` independent replicates of one engine's run, statistics pooled.

    ``make(replicate)`` builds the engine's run (``KernelRun`` or ``ReferenceRun`` with that
    ``replicate``); one run is reused for every replicate (``reset`` between them), so
    memory does not grow with ``replicates``. ``extend(draws)`` gives each replicate
    ``ceil(draws / replicates)`` more draws, so the draws are a multiple of ``replicates``.
    The pooled statistics (:meth:`accumulator`, :meth:`paired`) are the replicates' merged
    in replicate order; :meth:`standard_errors` are the replicates'.
    """

    def __init__(
        self,
        make: Callable[[Replicate], Any],
        model: Model,
        sampling: str = "sobol",
        replicates: int = DEFAULT_REPLICATES,
        baseline: int | None = None,
    ) -> None:
        problem = sampling_problem(model, sampling, replicates)
        if problem:
            raise ValueError(problem[1])
        self.sampling = sampling
        self.replicates = replicates
        self.baseline = baseline
        sobol = sampling == "sobol"
        self._replicate = [Replicate(r, replicates, sobol) for r in range(replicates)]
        self._run = make(self._replicate[0])
        self._next_block = [0] * replicates
        k, n, s = len(model.schemes), model.n_orgs, model.n_systems
        self._pooled = Accumulator.zeros(k, n, s)
        self._pooled_paired = PairedStats.zeros(k, n, s) if baseline is not None else None
        acc = self._pooled.arrays()
        self._sums = {name: np.zeros((replicates, *acc[name].shape)) for name in REPLICATED}
        if self._pooled_paired is not None:
            paired = self._pooled_paired.arrays()
            for name in PAIRED_REPLICATED:
                self._sums[name] = np.zeros((replicates, *paired[name].shape))
        self._draws = np.zeros(replicates, np.int64)

    @property
    def draws(self) -> int:
        return int(self._draws.sum())

    def extend(self, draws: int, progress: Callable[[int], None] | None = None) -> None:
        """Add ``ceil(draws / replicates)`` draws to every replicate, one replicate at a time."""
        each = -(-draws // self.replicates)
        run = self._run
        for r, replicate in enumerate(self._replicate):
            run.replicate = replicate
            run.next_block = self._next_block[r]
            run.reset()
            run.extend(each, progress)
            self._next_block[r] = run.next_block
            acc = run.accumulator()
            self._pooled.merge(acc)
            for name in REPLICATED:
                self._sums[name][r] += getattr(acc, name)
            if self._pooled_paired is not None:
                paired = run.paired()
                self._pooled_paired.merge(paired)
                for name in PAIRED_REPLICATED:
                    self._sums[name][r] += getattr(paired, name)
            self._draws[r] += each

    def accumulator(self) -> Accumulator:
        """The replicates' statistics merged (means as a plain run reads them)."""
        return Accumulator(**{name: v.copy() for name, v in self._pooled.arrays().items()})

    def paired(self) -> PairedStats:
        """The replicates' decision statistics merged (a run with a ``baseline``)."""
        if self._pooled_paired is None:
            raise ValueError("decision statistics need a baseline")
        return PairedStats(**{n: v.copy() for n, v in self._pooled_paired.arrays().items()})

    def replicate_means(self, name: str) -> np.ndarray:
        """Each replicate's mean of statistic ``name`` per draw, shape ``(R, ...)``."""
        sums = self._sums[name]
        return sums / self._draws.reshape((-1,) + (1,) * (sums.ndim - 1))

    def standard_errors(self) -> dict[str, np.ndarray]:
        """Standard error of the mean per draw of every replicated statistic: the SD of the
        replicate means / sqrt(R)."""
        return {
            name: self.replicate_means(name).std(axis=0, ddof=1) / np.sqrt(self.replicates)
            for name in self._sums
        }

    def max_standard_error(self) -> float:
        """Largest replicate standard error of any reported probability or expected loss."""
        return max_replicate_error(self.standard_errors()) if self.draws else float("inf")


def t_factor(replicates: int) -> float:
    """``t_{R-1, 0.975} / 1.96``: how much wider a 95% interval from a replicate standard error
    with ``R - 1`` degrees of freedom is than +-1.96 SE (1.09 for 16 replicates, 1.02 for 64).
    A target standard error is met when the SE times this is at or below it."""
    return float(stats.t.ppf(0.975, replicates - 1)) / Z95


def max_replicate_error(errors: dict[str, np.ndarray]) -> float:
    """Largest of replicate standard errors ``errors`` (``ReplicatedRun.standard_errors``) over
    the probabilities and expected losses of ``stats.max_standard_error``."""
    return max(float(errors[name].max(initial=0.0)) for name in _CHECKED)


__all__ = [
    "DEFAULT_REPLICATES",
    "PAIRED_REPLICATED",
    "REPLICATED",
    "SAMPLING",
    "SCRAMBLING",
    "ReplicatedRun",
    "max_replicate_error",
    "sampling_problem",
    "t_factor",
]
