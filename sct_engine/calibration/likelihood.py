"""The tail model of deviation from plan: its density, likelihood and tail probabilities.

The deviation ``r = 100 * (outturn - plan) / turnover`` is modelled as
``sd_pct_k * eps - J * L`` with, independently, ``eps ~ N(0, 1)``,
``J ~ Bernoulli(probability)`` and ``L ~ LogNormal(log(median_pct), sigma)``: the
simulator's ``uncertainty.tail`` model, so a fit can be pasted into a scenario.
The tail part of the density is a normal-lognormal convolution, evaluated by the
trapezoid rule on nodes that move smoothly with the parameters
(:func:`_tail_nodes`), so the likelihood and its analytic gradient are smooth, as
the optimiser and the finite-difference Hessian need. It agrees with adaptive
quadrature to 1e-8 (tests/unit/calibration/test_likelihood.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

# Quadrature of the tail integral (see _tail_nodes): step in the blended variable v;
# past l_c = _LINEAR_FROM * sd / sigma the nodes are evenly spaced in l,
# _LINEAR_FROM * _V_STEP * sd apart; the lognormal is integrated within _LOG_SPAN
# sigma of its median, the normal kernel to _KERNEL_SPAN sd from its centre.
_V_STEP = 0.1
_LINEAR_FROM = 5.0
_LOG_SPAN = 8.0
_KERNEL_SPAN = 10.0
# Expectations over a standard normal: weights on an even grid, normalised to sum to 1.
_NORMAL_NODES = np.arange(-8.0, 8.05, 0.1)
_NORMAL_LOG_WEIGHTS = -0.5 * _NORMAL_NODES**2 - special.logsumexp(-0.5 * _NORMAL_NODES**2)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
# Most values in one (rows x nodes) array of the tail integral (8 MB of float64).
_CHUNK_VALUES = 1_000_000


def log_density(
    r: ArrayLike,
    sd_pct: ArrayLike,
    probability: ArrayLike = 0.0,
    median_pct: ArrayLike = 1.0,
    sigma: ArrayLike = 1.0,
) -> np.ndarray:
    """Log density of the deviation ``r`` (% of turnover) under the tail model; broadcasts."""
    r_, sd, p, median, sig = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (r, sd_pct, probability, median_pct, sigma))
    )
    shape = r_.shape
    r_, sd, p, median, sig = (a.ravel() for a in (r_, sd, p, median, sig))
    log_normal = -0.5 * (r_ / sd) ** 2 - np.log(sd) - _HALF_LOG_2PI
    out = log_normal.copy()
    rows = np.flatnonzero(p > 0)
    if rows.size:
        log_tail = np.empty(rows.size)
        combos, which = np.unique(
            np.stack([sd[rows], median[rows], sig[rows]], axis=1), axis=0, return_inverse=True
        )
        for c, (sd_c, median_c, sigma_c) in enumerate(combos):
            these = np.flatnonzero(which.ravel() == c)
            log_tail[these] = _tail_terms(
                r_[rows[these]], sd_c, math.log(median_c), sigma_c, gradient=False
            )[0]
        out[rows] = np.logaddexp(np.log1p(-p[rows]) + log_normal[rows], np.log(p[rows]) + log_tail)
    return out.reshape(shape)


def _tail_nodes(
    mu: float, sigma: float, sd: float, reach: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nodes ``l_j`` and log weights of ``integral g(l) LogNormal(l; mu, sigma) dl``.

    The integration variable ``v`` maps to ``l = l_c * softplus(mu + sigma v - log l_c)``
    with ``l_c = _LINEAR_FROM * sd / sigma``. For ``l << l_c`` this is
    ``l = exp(mu + sigma v)`` (``v`` is the lognormal's standard score); for
    ``l >> l_c`` it is linear in ``v`` with ``dl/dv = _LINEAR_FROM * sd``. With
    ``v`` evenly spaced by ``_V_STEP``, a normal kernel of width ``sd`` and the
    lognormal are both sampled finely wherever they matter. Nodes sit on a fixed
    lattice in ``v`` from ``_LOG_SPAN`` sigma below the median to the smaller
    of ``_LOG_SPAN`` sigma above it and ``reach`` (beyond which the kernel
    vanishes for every row), so only negligible end nodes come and go as the
    parameters change.

    Returns ``l`` and ``log w`` (shape ``(J,)``) and their derivatives with
    respect to ``(log sd, mu, log sigma)`` (shape ``(J, 3)``).
    """
    log_lc = math.log(_LINEAR_FROM * sd / sigma)
    lc = math.exp(log_lc)

    def v_of(size: float) -> float:
        y = size / lc
        return (y + math.log(-math.expm1(-y)) + log_lc - mu) / sigma  # softplus inverse

    low = math.exp(mu - _LOG_SPAN * sigma)
    high = max(min(math.exp(mu + _LOG_SPAN * sigma), reach), low * math.exp(sigma))
    first, last = math.floor(v_of(low) / _V_STEP), math.ceil(v_of(high) / _V_STEP)
    v = np.arange(first, last + 1) * _V_STEP
    s = mu + sigma * v - log_lc
    log_sp = np.where(s < -30.0, s, np.log(np.logaddexp(0.0, np.maximum(s, -30.0))))
    log_sg = -np.logaddexp(0.0, -s)
    log_l = log_lc + log_sp
    size = np.exp(log_l)
    z = (log_l - mu) / sigma
    # w = dv * LogNormal(l) * dl/dv = dv * phi(z) * sigmoid(s) / softplus(s)
    log_w = math.log(_V_STEP) - _HALF_LOG_2PI - 0.5 * z * z + log_sg - log_sp
    sg = np.exp(log_sg)
    ratio = np.exp(log_sg - log_sp)  # d log softplus / ds
    ds = np.stack([np.full_like(v, -1.0), np.ones_like(v), sigma * v + 1.0], axis=1)
    d_log_l = np.array([1.0, 0.0, -1.0]) + ratio[:, None] * ds
    dz = d_log_l / sigma
    dz[:, 1] -= 1.0 / sigma
    dz[:, 2] -= z
    d_log_w = -z[:, None] * dz + ((1.0 - sg) - ratio)[:, None] * ds
    return size, log_w, size[:, None] * d_log_l, d_log_w


def _tail_terms(
    r: np.ndarray, sd: float, mu: float, sigma: float, gradient: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """``log integral N(r + l; 0, sd) LogNormal(l; mu, sigma) dl`` for rows sharing parameters.

    Returns the log density per row and, when ``gradient``, its derivatives
    with respect to ``(log sd, mu, log sigma)`` (shape ``(n, 3)``; zeros otherwise).
    """
    reach = max(0.0, -float(r.min())) + _KERNEL_SPAN * sd
    nodes = _tail_nodes(mu, sigma, sd, reach)
    # The (rows x nodes) arrays are the whole cost of a fit; the nodes grow with the largest
    # shortfall over sd, so rows are taken in chunks that keep each array within
    # _CHUNK_VALUES, whatever the history (one row far off plan, most rows exactly on it).
    step = max(1, _CHUNK_VALUES // nodes[0].size)
    parts = [_tail_chunk(r[i : i + step], sd, nodes, gradient) for i in range(0, r.size, step)]
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _tail_chunk(
    r: np.ndarray,
    sd: float,
    nodes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    gradient: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_tail_terms` for some rows, on the nodes of :func:`_tail_nodes`."""
    size, log_w, d_size, d_log_w = nodes
    # In place where it helps: these (rows x nodes) arrays are the whole cost of a fit.
    x = size / sd + (r / sd)[:, None]
    a = np.square(x)
    a *= -0.5
    a += log_w
    m = a.max(axis=1)
    a -= m[:, None]
    q = np.exp(a, out=a)
    total = q.sum(axis=1)
    log_t = m + np.log(total) - math.log(sd) - _HALF_LOG_2PI
    derivatives = np.zeros((r.size, 3))
    if gradient:
        q /= total[:, None]
        qx = q * x
        derivatives = q @ d_log_w - (qx @ d_size) / sd
        derivatives[:, 0] += np.einsum("ij,ij->i", qx, x) - 1.0
    return log_t, derivatives


def prob_worse_than(
    threshold_pct: float,
    sd_pct: ArrayLike,
    probability: float = 0.0,
    median_pct: float = 1.0,
    sigma: float = 1.0,
) -> np.ndarray:
    """``P(r < -threshold_pct)`` under the tail model, per ``sd_pct``."""
    sd = np.asarray(sd_pct, dtype=float)
    normal = stats.norm.cdf(-threshold_pct / sd)
    if probability <= 0:
        return normal
    # P(sd * e - L < -c) = E_e[P(L > c + sd * e)], with P(L > l) = 1 for l <= 0.
    level = threshold_pct + sd[..., None] * _NORMAL_NODES
    exceed = np.where(
        level > 0,
        stats.norm.sf((np.log(np.where(level > 0, level, 1.0)) - math.log(median_pct)) / sigma),
        1.0,
    )
    tail = (exceed * np.exp(_NORMAL_LOG_WEIGHTS)).sum(axis=-1)
    return (1.0 - probability) * normal + probability * tail


@dataclass
class Design:
    """Which parameter each observation uses: ``sd`` by kind, tail by group.

    ``theta`` holds ``log sd`` per sd group, then ``logit p``, ``log median`` and
    ``log sigma`` per tail group (see :meth:`split`).
    """

    r: np.ndarray
    sd_group: np.ndarray
    tail_group: np.ndarray
    n_sd: int
    n_tail: int
    #: (sd group, tail group, rows) for each pair that occurs: rows of a pair share the nodes.
    pairs: list[tuple[int, int, np.ndarray]] = field(init=False)

    def __post_init__(self) -> None:
        key = self.sd_group * self.n_tail + self.tail_group
        self.pairs = [
            (int(k) // self.n_tail, int(k) % self.n_tail, np.flatnonzero(key == k))
            for k in np.unique(key)
        ]

    def split(self, theta: np.ndarray) -> tuple[np.ndarray, ...]:
        k, g = self.n_sd, self.n_tail
        return theta[:k], theta[k : k + g], theta[k + g : k + 2 * g], theta[k + 2 * g :]


def negative_log_likelihood(theta: np.ndarray, design: Design) -> tuple[float, np.ndarray]:
    """Negative log-likelihood of the tail model and its gradient in ``theta``."""
    log_sd, logit_p, mu, log_sigma = design.split(theta)
    r, sg, tg = design.r, design.sd_group, design.tail_group
    sd = np.exp(log_sd)[sg]
    p = special.expit(logit_p)[tg]
    x0 = r / sd
    log_normal = -0.5 * x0 * x0 - np.log(sd) - _HALF_LOG_2PI
    sigma = np.exp(log_sigma)
    log_t = np.empty_like(r)
    dt = np.empty((r.size, 3))
    for kind, group, rows in design.pairs:
        sd_k = float(np.exp(log_sd[kind]))
        log_t[rows], dt[rows] = _tail_terms(r[rows], sd_k, float(mu[group]), float(sigma[group]))
    dt_sd, dt_mu, dt_sig = dt.T
    a = np.log1p(-p) + log_normal
    b = np.log(p) + log_t
    log_f = np.logaddexp(a, b)
    share = np.exp(b - log_f)  # posterior probability that the row is a tail event
    grad_sd = (1.0 - share) * (x0 * x0 - 1.0) + share * dt_sd
    k, g = design.n_sd, design.n_tail
    gradient = np.concatenate(
        [
            np.bincount(sg, weights=grad_sd, minlength=k),
            np.bincount(tg, weights=share - p, minlength=g),
            np.bincount(tg, weights=share * dt_mu, minlength=g),
            np.bincount(tg, weights=share * dt_sig, minlength=g),
        ]
    )
    return -float(log_f.sum()), -gradient
