"""Calibration: fit the spread of outturn and the large-adverse-event tail to a history.

Fits ``sd_pct`` per kind and the tail (``probability``, ``median_pct``,
``sigma``, shared by all kinds unless ``tail="by_kind"``) of the model in
:mod:`sct_engine.calibration.likelihood` by maximum likelihood, with standard errors and 95%
Wald intervals on the fitting scale mapped back (so they stay inside each
parameter's range). The normal fit (no tail) has closed form; the tail is kept
only when a likelihood-ratio test against it rejects "no tail".

Limits, stated in the output where they bite: organisation-years are treated as
independent (a common national or system shock in a year makes the standard
errors too small), and the likelihood-ratio test of ``p = 0`` lies on the edge
of the parameter space with the tail's size undefined under "no tail", so its
chi-squared p-value is approximate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy import special, stats

from sct_engine.calibration.history import History, load_history
from sct_engine.calibration.likelihood import Design, log_density
from sct_engine.calibration.maximum_likelihood import Solution, maximise
from sct_engine.calibration.text import calibration_snippet, calibration_table

#: Fewer organisation-years than this are too few to fit a tail (its size rests on a handful of events).
MIN_ROWS_FOR_TAIL = 50
#: A tail resting on fewer expected events than this is flagged as fragile.
MIN_TAIL_EVENTS = 5.0
#: Significance level of the likelihood-ratio test of tail vs no tail.
TAIL_TEST_LEVEL = 0.05

TailMode = Literal["shared", "by_kind", "none"]

_Z95 = float(stats.norm.ppf(0.975))

TAIL_PARAMETERS = ("probability", "median_pct", "sigma")


@dataclass(frozen=True)
class Estimate:
    """One fitted parameter: estimate, standard error, 95% interval, and the rows it rests on."""

    value: float
    se: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class TailFit:
    """The large-adverse-event tail of one group of organisations."""

    probability: Estimate
    median_pct: Estimate
    sigma: Estimate
    #: False when the probability is at its lower limit: no tail, and its size is undefined.
    identified: bool = True

    def as_dict(self) -> dict[str, Estimate]:
        return {name: getattr(self, name) for name in TAIL_PARAMETERS}


@dataclass(frozen=True)
class Fit:
    """One fitted model: ``sd_pct`` per kind and a tail per group (none for the normal model)."""

    sd_pct: dict[str, Estimate]
    tail: dict[str, TailFit]
    log_likelihood: float
    n_parameters: int
    converged: bool = True
    notes: tuple[str, ...] = ()

    @property
    def has_tail(self) -> bool:
        return bool(self.tail)


@dataclass(frozen=True)
class LikelihoodRatio:
    """Likelihood-ratio test of a simpler model against a richer one."""

    name: str
    statistic: float
    df: int
    p_value: float
    caveat: str = ""

    def __str__(self) -> str:
        p = "p < 0.0001" if self.p_value < 1e-4 else f"p = {self.p_value:.3g}"
        return f"{self.name}: LR = {self.statistic:.1f} on {self.df} df, {p}"

    def explained(self) -> str:
        return f"{self} ({self.caveat})" if self.caveat else str(self)


@dataclass(frozen=True)
class Calibration:
    """The result of :func:`fit_history`.

    ``normal`` is always fitted; ``shared`` (one tail for all kinds) unless the
    tail was switched off or there were too few rows; ``by_kind`` only when asked.
    ``tail_detected`` says whether the shared tail passed its likelihood-ratio
    test; :attr:`best` is the model to use.
    """

    history: History
    normal: Fit
    shared: Fit | None
    by_kind: Fit | None
    tests: tuple[LikelihoodRatio, ...]
    tail_detected: bool
    notes: tuple[str, ...] = field(default=())

    @property
    def best(self) -> Fit:
        return self.shared if self.tail_detected and self.shared is not None else self.normal

    def table(self) -> str:
        """A readable report of every fit, its uncertainty and the tests."""
        return calibration_table(self)

    def snippet(self) -> str:
        """YAML to paste into a scenario: ``uncertainty.tail`` and a commented sd_pct guide."""
        return calibration_snippet(self)


def fit_history(
    history: History, tail: TailMode = "shared", alpha: float = TAIL_TEST_LEVEL
) -> Calibration:
    """Fit the normal model and, unless ``tail="none"``, the tail model by maximum likelihood.

    ``tail="by_kind"`` fits the shared tail and a tail per kind, and tests one
    against the other. The shared tail is kept when the likelihood-ratio test
    against the normal model has p-value below ``alpha`` and there are at least
    :data:`MIN_ROWS_FOR_TAIL` rows; otherwise the result says why and falls back
    to the normal fit.
    """
    r = history.deviation_pct
    kinds, kind_index = history.kinds, history.kind_index
    normal = _fit_normal(r, kind_index, kinds)
    notes: list[str] = []
    tests: list[LikelihoodRatio] = []
    shared = by_kind = None
    detected = False
    if tail == "none":
        notes.append("tail not fitted (--no-tail): normal model only")
    elif history.n < MIN_ROWS_FOR_TAIL:
        notes.append(
            f"only {history.n} organisation-years: too few to fit a tail (need at least "
            f"{MIN_ROWS_FOR_TAIL}); fell back to the normal model"
        )
    else:
        shared = _fit_tail(r, kind_index, kinds)
        test = _lr_test(
            "tail vs no tail",
            normal,
            shared,
            "chi-squared reference approximate: 'no tail' lies on the edge of the parameter space",
        )
        tests.append(test)
        detected = test.p_value < alpha and shared.converged
        if detected:
            tail_fit = shared.tail["all"]
            events = tail_fit.probability.value * history.n
            if events < MIN_TAIL_EVENTS:
                notes.append(
                    f"the tail rests on about {events:.1f} events: its size (median_pct, sigma) "
                    "is poorly determined; treat it as a rough guide"
                )
            widest = max(est.value for est in shared.sd_pct.values())
            if tail_fit.median_pct.value < 2.0 * widest:
                notes.append(
                    f"the fitted 'large' events are small (median {tail_fit.median_pct.value:.2g}% "
                    f"of turnover, against sd_pct up to {widest:.2g}%): the history may rather be "
                    "biased (outturn below plan on average) or heavy-tailed on both sides; check "
                    "the mean deviation above before using this tail"
                )
        elif test.p_value >= alpha:
            unsure = "" if shared.converged else " (the tail fit did not fully converge)"
            notes.append(
                f"no evidence of a large-adverse-event tail ({test}; need p < {alpha:g}){unsure}; "
                "fell back to the normal model"
            )
        else:
            notes.append(
                f"the tail fit did not converge ({test}); fell back to the normal model: "
                "try --no-tail, or check the history for extreme rows"
            )
        if tail == "by_kind":
            by_kind = _fit_tail(r, kind_index, kinds, by_kind=True)
            tests.append(_lr_test("tail by kind vs shared tail", shared, by_kind))
    return Calibration(history, normal, shared, by_kind, tuple(tests), detected, tuple(notes))


def calibrate(
    path: str | Path, tail: TailMode = "shared", alpha: float = TAIL_TEST_LEVEL
) -> Calibration:
    """:func:`load_history` then :func:`fit_history`."""
    return fit_history(load_history(path), tail=tail, alpha=alpha)


def _lr_test(name: str, simple: Fit, rich: Fit, caveat: str = "") -> LikelihoodRatio:
    # The richer model nests the simpler one, so a negative statistic is only optimiser noise.
    statistic = max(0.0, 2.0 * (rich.log_likelihood - simple.log_likelihood))
    df = rich.n_parameters - simple.n_parameters
    return LikelihoodRatio(name, statistic, df, float(stats.chi2.sf(statistic, df)), caveat)


def _fit_normal(r: np.ndarray, kind_index: np.ndarray, kinds: Sequence[str]) -> Fit:
    """Closed form: ``sd_k^2 = mean(r^2)`` over kind k; SE of log sd is ``1 / sqrt(2 n_k)``."""
    counts = np.bincount(kind_index, minlength=len(kinds))
    sd = np.sqrt(np.bincount(kind_index, weights=r * r, minlength=len(kinds)) / counts)
    loglik = float(np.sum(log_density(r, sd[kind_index])))
    estimates = {
        kind: _estimate(math.log(sd[k]), 1.0 / math.sqrt(2.0 * counts[k]), np.exp, int(counts[k]))
        for k, kind in enumerate(kinds)
    }
    return Fit(estimates, {}, loglik, len(kinds))


def _fit_tail(
    r: np.ndarray, kind_index: np.ndarray, kinds: Sequence[str], by_kind: bool = False
) -> Fit:
    """The tail model with one tail for all kinds, or one per kind.

    With a tail per kind every parameter belongs to one kind, so the likelihood
    separates and each kind is fitted on its own (much faster than one joint fit).
    """
    k = len(kinds)
    flat_where = ""
    if by_kind:
        parts = []
        for i in range(k):
            rows = r[kind_index == i]
            zeros = np.zeros(rows.size, dtype=np.int64)
            parts.append(maximise(Design(rows, zeros, zeros, 1, 1)))
        flat_where = " for " + ", ".join(
            kind for kind, p in zip(kinds, parts, strict=True) if p.flat
        )
        # Each part is [log sd, logit p, log median, log sigma]; lay them out as the joint fit does.
        theta, se, on_edge = (
            np.stack([getattr(p, a) for p in parts]).T.ravel() for a in ("theta", "se", "on_edge")
        )
        solution = Solution(
            theta,
            se,
            on_edge,
            any(p.flat for p in parts),
            sum(p.log_likelihood for p in parts),
            all(p.converged for p in parts),
        )
        tail_names, tail_group = list(kinds), kind_index
    else:
        tail_names, tail_group = ["all"], np.zeros_like(kind_index)
        solution = maximise(Design(r, kind_index, tail_group, k, 1))
    theta, se = solution.theta, solution.se
    g = len(tail_names)
    counts_sd = np.bincount(kind_index, minlength=k)
    counts_tail = np.bincount(tail_group, minlength=g)
    sd_pct = {
        kind: _estimate(theta[i], se[i], np.exp, int(counts_sd[i])) for i, kind in enumerate(kinds)
    }
    tails = {}
    notes = []
    no_tail_groups = [j for j in range(g) if solution.on_edge[k + j] and theta[k + j] < 0]
    for j, name in enumerate(tail_names):
        n = int(counts_tail[j])
        tails[name] = TailFit(
            probability=_estimate(theta[k + j], se[k + j], special.expit, n),
            median_pct=_estimate(theta[k + g + j], se[k + g + j], np.exp, n),
            sigma=_estimate(theta[k + 2 * g + j], se[k + 2 * g + j], np.exp, n),
            identified=j not in no_tail_groups,
        )
        if j in no_tail_groups:
            where = "" if name == "all" else f" for {name}"
            notes.append(
                f"no tail{where}: its probability is at the lower limit, so its size is undefined"
            )
    names = [*(f"sd_pct[{kind}]" for kind in kinds)]
    for prefix in ("probability", "median_pct", "sigma"):
        names += [f"tail.{prefix}" if n == "all" else f"tail[{n}].{prefix}" for n in tail_names]
    undefined = {k + j + offset * g for j in no_tail_groups for offset in range(3)}
    others = [names[i] for i in np.flatnonzero(solution.on_edge) if i not in undefined]
    if others:
        notes.append(
            f"on the edge of the search range, so without an interval: {', '.join(others)}"
        )
    if solution.flat:
        notes.append(
            f"the likelihood is flat in some direction{flat_where} (often: too few tail "
            "events), so standard errors are not available there"
        )
    return Fit(sd_pct, tails, solution.log_likelihood, theta.size, solution.converged, tuple(notes))


def _estimate(theta: float, se_theta: float, inverse: Callable[[Any], Any], n: int) -> Estimate:
    """An estimate on its natural scale: delta-method SE, Wald interval mapped back."""
    value = float(inverse(theta))
    step = 1e-6
    slope = float(inverse(theta + step) - inverse(theta - step)) / (2.0 * step)
    se = abs(slope) * se_theta
    low = float(inverse(theta - _Z95 * se_theta))
    high = float(inverse(theta + _Z95 * se_theta))
    return Estimate(value, float(se), low, high, n)
