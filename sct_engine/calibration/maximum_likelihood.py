"""Maximise the tail-model likelihood and measure the curvature at the maximum.

The search runs on the fitting scale (``log sd``, ``logit p``, ``log median``,
``log sigma``) inside a box, with L-BFGS-B and the analytic gradient, from a few
starting points, keeping the best. Standard errors on that scale come from the inverse of a finite-difference
Hessian; estimates on the edge of the box are flagged instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from sct_engine.calibration.likelihood import Design, negative_log_likelihood

# Search box on the fitting scale; an estimate on its edge is reported as such.
_BOUNDS_LOG_SD = (math.log(1e-3), math.log(1e3))
_BOUNDS_LOGIT_P = (special.logit(1e-4), special.logit(0.5))
_BOUNDS_LOG_MEDIAN = (math.log(1e-2), math.log(1e3))
_BOUNDS_LOG_SIGMA = (math.log(0.02), math.log(3.0))
_HESSIAN_STEP = 1e-4


def _starts(design: Design) -> list[np.ndarray]:
    """A few starting points: robust sd per kind, tail sized from the rows far below plan."""
    r, sg, tg = design.r, design.sd_group, design.tail_group
    sd0 = np.array(
        [
            1.4826 * np.median(np.abs(r[sg == k])) or np.std(r[sg == k]) or 1.0
            for k in range(design.n_sd)
        ]
    )
    outlying = r / sd0[sg] < -3.0
    starts = []
    for p_scale, size_scale, sigma0 in ((1.0, 1.0, 0.5), (2.0, 0.5, 1.0), (0.5, 2.0, 0.3)):
        p0, median0 = [], []
        for group in range(design.n_tail):
            rows = tg == group
            far = outlying & rows
            p0.append(min(0.3, max(0.01, p_scale * far.mean() / max(rows.mean(), 1e-12))))
            size = np.median(-r[far]) if far.any() else 3.0 * np.median(sd0[sg[rows]])
            median0.append(size_scale * size)
        theta = np.concatenate(
            [
                np.log(sd0),
                special.logit(np.array(p0)),
                np.log(np.array(median0)),
                np.full(design.n_tail, math.log(sigma0)),
            ]
        )
        starts.append(np.clip(theta, *np.array(_bounds(design)).T))
    return starts


def _bounds(design: Design) -> list[tuple[float, float]]:
    g = design.n_tail
    return (
        [_BOUNDS_LOG_SD] * design.n_sd
        + [_BOUNDS_LOGIT_P] * g
        + [_BOUNDS_LOG_MEDIAN] * g
        + [_BOUNDS_LOG_SIGMA] * g
    )


@dataclass(frozen=True)
class Solution:
    """A maximised tail likelihood on the fitting scale."""

    theta: np.ndarray
    se: np.ndarray  # NaN where not available
    on_edge: np.ndarray  # bool: estimate on the edge of its search range
    flat: bool  # the curvature of the free parameters was not positive definite
    log_likelihood: float
    converged: bool


def maximise(design: Design) -> Solution:
    """Maximum likelihood from a few starting points, with standard errors."""
    bounds = _bounds(design)
    best = None
    for start in _starts(design):
        result = optimize.minimize(
            negative_log_likelihood,
            start,
            args=(design,),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 1000, "ftol": 1e-11, "gtol": 1e-6},
        )
        if best is None or result.fun < best.fun:
            best = result
    assert best is not None
    se, on_edge, flat = _standard_errors(best.x, design, bounds)
    return Solution(best.x, se, on_edge, flat, -float(best.fun), _converged(best, bounds))


def _converged(result: optimize.OptimizeResult, bounds: list[tuple[float, float]]) -> bool:
    """Success, or a line search that stalled where the gradient is already flat.

    L-BFGS-B often stops with ABNORMAL_TERMINATION_IN_LNSRCH at an optimum it can
    no longer improve in float precision; a small projected gradient tells that
    apart from a real failure.
    """
    if result.success:
        return True
    lower, upper = np.array(bounds).T
    gradient = np.asarray(result.jac, dtype=float)
    pushing_out = ((result.x <= lower + 1e-9) & (gradient > 0)) | (
        (result.x >= upper - 1e-9) & (gradient < 0)
    )
    return bool(np.all(np.abs(gradient[~pushing_out]) < 1e-3))


def _standard_errors(
    theta: np.ndarray, design: Design, bounds: list[tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Standard errors on the fitting scale from the inverse finite-difference Hessian.

    Estimates on the edge of their range are held fixed (no standard error), as
    are the size of a tail whose probability is at its lower limit (undefined
    without events). Returns the errors, the on-edge mask, and whether the
    remaining curvature was not positive definite (all errors NaN then).
    """
    lower, upper = np.array(bounds).T
    on_edge = np.minimum(theta - lower, upper - theta) < 1e-3
    k, g = design.n_sd, design.n_tail
    no_tail = on_edge[k : k + g] & (theta[k : k + g] < 0)
    fixed = on_edge.copy()
    fixed[k + g : k + 2 * g] |= no_tail
    fixed[k + 2 * g :] |= no_tail
    free = np.flatnonzero(~fixed)
    se = np.full(theta.size, np.nan)
    if free.size == 0:
        return se, on_edge, False
    hessian = np.empty((theta.size, free.size))
    for column, j in enumerate(free):
        step = np.zeros(theta.size)
        step[j] = _HESSIAN_STEP
        upper_grad = negative_log_likelihood(theta + step, design)[1]
        lower_grad = negative_log_likelihood(theta - step, design)[1]
        hessian[:, column] = (upper_grad - lower_grad) / (2.0 * _HESSIAN_STEP)
    block = hessian[free]
    block = 0.5 * (block + block.T)
    eigenvalues = np.linalg.eigvalsh(block)
    if not np.all(np.isfinite(eigenvalues)) or eigenvalues.min() <= 1e-8 * max(
        1.0, eigenvalues.max()
    ):
        return se, on_edge, True
    se[free] = np.sqrt(np.diag(np.linalg.inv(block)))
    return se, on_edge, False
