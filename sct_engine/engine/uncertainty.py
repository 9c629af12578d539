"""The shock model: how year-end outturn varies around plan.

``outturn_i = plan_i + sd_i * (sqrt(a) Z_nat + sqrt(b) Z_s + sqrt(1 - a - b) E_i)``
with ``a = national_share``, ``b = system_share`` and independent standard
variables (mean 0, variance 1) of the chosen distribution, so two members of a
system have correlation ``a + b`` and organisations in different systems ``a``.
Signed ``system_loading`` and per-system correlation matrices refine the
within-system part (``rules/correlation.py``); the draws are the same variates.

Per draw the variates are laid out ``[Z_nat, Z_1..Z_S, E_1..E_N]`` and taken
from the block's shock stream in that order; the kernel consumes the stream in
the same order, which is what makes the two simulators agree draw for draw.

Quarterly mode (rule 6) draws the whole factor model afresh for each quarter,
quarter 1's variates first, then quarter 2's, and so on (shape ``(n, 4, 1 + S + N)``,
C order). Quarter ``q`` adds an increment with standard deviation ``sd sqrt(v_q)``
(variance shares ``v_q`` summing to 1), so the independent increments add up to
the year-end model: the same mean, variance and correlations at Q4 (exactly so for
normal shocks; for Student-t and skew-normal shocks the sum of four is closer to
normal than one year-end variate). Year-to-date outturn after quarter ``q`` is
``plan * P_q + sum_{r <= q} increment_r`` with the cumulative profile ``P_q``.
"""

from __future__ import annotations

import math

import numpy as np

from sct_engine.engine.model import DISTRIBUTION_CODES, QUARTERS, Model
from sct_engine.engine.rng import sobol_variates


def skew_normal_constants(skew: float) -> tuple[float, float, float, float]:
    """``(delta, sqrt(1 - delta^2), mean, sd)`` of a skew-normal with shape ``alpha = skew``.

    ``delta = alpha / sqrt(1 + alpha^2)``; the variable ``delta |U0| + sqrt(1 - delta^2) U1``
    has mean ``delta sqrt(2 / pi)`` and variance ``1 - 2 delta^2 / pi``.
    """
    delta = skew / math.sqrt(1.0 + skew * skew)
    return (
        delta,
        math.sqrt(1.0 - delta * delta),
        delta * math.sqrt(2.0 / math.pi),
        math.sqrt(1.0 - 2.0 * delta * delta / math.pi),
    )


def standard_variates(
    rng: np.random.Generator, distribution: int, dof: float, skew: float, shape: tuple[int, ...]
) -> np.ndarray:
    """Independent variates with mean 0 and variance 1.

    Student-t is scaled by ``sqrt((dof - 2) / dof)``; the skew-normal with shape
    ``skew`` is built from a consecutive pair of normals ``(u0, u1)`` as
    ``delta |u0| + sqrt(1 - delta^2) u1`` and standardised.
    """
    if distribution == DISTRIBUTION_CODES["normal"]:
        return rng.standard_normal(shape)
    if distribution == DISTRIBUTION_CODES["student_t"]:
        return rng.standard_t(dof, shape) * math.sqrt((dof - 2.0) / dof)
    if distribution == DISTRIBUTION_CODES["skew_normal"]:
        delta, root, mean, scale = skew_normal_constants(skew)
        pairs = rng.standard_normal((*shape, 2))
        z = delta * np.abs(pairs[..., 0]) + root * pairs[..., 1]
        return (z - mean) / scale
    raise ValueError(f"unknown distribution code {distribution}")


def draw_shocks(rng: np.random.Generator, model: Model, n: int) -> np.ndarray:
    """Standard shocks of ``n`` draws, shape ``(n, 1 + n_systems + n_orgs)``, or
    ``(n, 4, 1 + n_systems + n_orgs)`` in quarterly mode."""
    shape = (n, QUARTERS, model.n_shocks) if model.quarterly else (n, model.n_shocks)
    return standard_variates(rng, model.distribution, model.dof, model.skew, shape)


def sobol_common_factors(model: Model, seed: int, replicate: int, first: int, n: int) -> np.ndarray:
    """Sobol' sampling: the national and system variates of draws ``first .. first + n - 1``
    of a replicate, shape ``(n, P, 1 + n_systems)`` with ``P`` periods (4 quarterly, else 1),
    in the model's distribution (``rng.sobol_variates``; normal or Student-t)."""
    periods = QUARTERS if model.quarterly else 1
    dims = model.n_systems + 1
    dof = model.dof if model.distribution == DISTRIBUTION_CODES["student_t"] else None
    z = sobol_variates(seed, replicate, first, n, periods * dims, dof)
    return z.reshape(n, periods, dims)


def draw_own_shocks(rng: np.random.Generator, model: Model, n: int) -> np.ndarray:
    """Sobol' sampling: the organisations' own standard variates only, shape ``(n, n_orgs)``
    or quarterly ``(n, 4, n_orgs)``; the common factors come from ``sobol_common_factors``."""
    shape = (n, QUARTERS, model.n_orgs) if model.quarterly else (n, model.n_orgs)
    return standard_variates(rng, model.distribution, model.dof, model.skew, shape)


def standard_factors(model: Model, shocks: np.ndarray) -> np.ndarray:
    """``sqrt(a) Z_nat + l_i Z_s + c_i own_i`` per organisation (last axis organisations;
    leading axes as ``shocks``): mean 0, variance 1.

    By default ``l_i = sqrt(b)``, ``c_i = sqrt(1 - a - b)`` and ``own_i = E_i``; with
    signed ``system_loading`` ``c_i = sqrt(1 - a - l_i^2)``; in a system with a
    correlation matrix ``l_i = 0``, ``c_i = sqrt(1 - a)`` and ``own_i`` is row ``i``
    of the Cholesky factor times the members' ``E`` (see ``rules/correlation.py``).
    """
    s = model.n_systems
    z_nat = shocks[..., :1]
    z_sys = shocks[..., 1 : 1 + s][..., model.org_system]
    own = correlated_variates(model, shocks[..., 1 + s :])
    return (
        math.sqrt(model.national_share) * z_nat
        + model.system_loading * z_sys
        + model.own_loading * own
    )


def correlated_variates(model: Model, e: np.ndarray) -> np.ndarray:
    """Organisations' own variates, with members of a matrix system combined by its Cholesky
    factor: ``sum_{j <= r} L[r, j] E_{lo + j}`` for the member in row ``r``. The sum runs
    in ``j`` order, as in the kernel, so the two agree to the last bit."""
    if not model.correlated.any():
        return e
    own = e.copy()
    root = model.correlation_root
    for i in np.flatnonzero(model.correlated):
        lo = int(model.system_start[model.org_system[i]])
        total = np.zeros(e.shape[:-1])
        for j in range(lo, i + 1):
            total = total + root[i, j - lo] * e[..., j]
        own[..., i] = total
    return own


def outturns(model: Model, shocks: np.ndarray) -> np.ndarray:
    """Year-end outturn (before funding) of every organisation, shape ``(n, n_orgs)``."""
    return model.plan + model.sd * standard_factors(model, shocks)


def ytd_outturns(model: Model, shocks: np.ndarray) -> np.ndarray:
    """Year-to-date outturn at the end of each quarter, shape ``(n, 4, n_orgs)``, from
    quarterly shocks: ``plan * P_q`` plus the running sum of ``sd sqrt(v_q)`` increments."""
    increments = model.quarter_sd().T * standard_factors(model, shocks)
    return model.ytd_plan().T + np.cumsum(increments, axis=1)


def draw_tail_losses(
    rng_occurs: np.random.Generator, rng_size: np.random.Generator, model: Model, n: int
) -> np.ndarray:
    """Large adverse events, £m, shape ``(n, n_orgs)``: with probability ``tail_probability``
    a loss of ``turnover * LogNormal(log median_pct, sigma) / 100``, else 0.

    One uniform from ``rng_occurs`` and one normal from ``rng_size`` per organisation and
    draw, whether or not the event happens, so the streams advance the same in the kernel.
    """
    occurs = rng_occurs.random((n, model.n_orgs)) < model.tail_probability
    z = rng_size.standard_normal((n, model.n_orgs))
    size = model.turnover * np.exp(model.tail_log_median + model.tail_sigma * z) / 100.0
    return np.where(occurs, size, 0.0)


def mitigate(outturn: np.ndarray, control_total: np.ndarray, mitigation: np.ndarray) -> np.ndarray:
    """Management actions: a shortfall up to ``mitigation`` is recovered to land exactly on
    the control total; a larger one is reduced by ``mitigation``. Never lowers outturn."""
    shortfall = control_total - outturn
    return np.where(
        shortfall > 0,
        np.where(shortfall <= mitigation, control_total, outturn + mitigation),
        outturn,
    )


def draw_ae_earned(rng: np.random.Generator, model: Model, n: int) -> np.ndarray:
    """Whether each organisation's A&E element is earned on performance, shape ``(n, n_orgs)``,
    or ``(n, 4, n_orgs)`` in quarterly mode (one independent outcome per quarter; a closed
    quarter's as it was paid, ``Model.period_p_ae``, on the same stream)."""
    if model.quarterly:
        return rng.random((n, QUARTERS, model.n_orgs)) < model.period_p_ae().T
    return rng.random((n, model.n_orgs)) < model.p_ae
