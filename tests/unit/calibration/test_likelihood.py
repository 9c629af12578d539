"""The tail model's log density against adaptive quadrature, and its likelihood gradient."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from sct_engine.calibration.likelihood import Design, log_density, negative_log_likelihood

pytestmark = pytest.mark.unit


def reference_log_density(r: float, sd: float, p: float, median: float, sigma: float) -> float:
    """The mixture density by adaptive quadrature over z = (log L - log median) / sigma."""
    mu = math.log(median)

    def integrand(z: float) -> float:
        x = (r + math.exp(mu + sigma * z)) / sd
        return math.exp(-0.5 * (z * z + x * x)) / (2.0 * math.pi * sd)

    points = [0.0]
    if r < 0:  # the kernel peaks where L = -r
        points.append((math.log(-r) - mu) / sigma)
    points = sorted(z for z in points if -12 < z < 12)
    tail, _ = integrate.quad(integrand, -12, 12, points=points, limit=500, epsabs=0, epsrel=1e-11)
    return math.log((1 - p) * stats.norm.pdf(r, scale=sd) + p * tail)


@pytest.mark.parametrize(
    ("sd", "p", "median", "sigma"),
    [(1.0, 0.06, 2.5, 0.6), (0.5, 0.1, 4.0, 0.4), (2.0, 0.05, 3.0, 1.0), (0.3, 0.2, 8.0, 0.8)],
)
def test_log_density_matches_adaptive_quadrature(
    sd: float, p: float, median: float, sigma: float
) -> None:
    r = np.array([4.0, 1.0, 0.0, -1.0, -2.5, -5.0, -10.0, -20.0, -40.0])
    got = log_density(r, sd, p, median, sigma)
    want = np.array([reference_log_density(x, sd, p, median, sigma) for x in r])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-8)


def test_density_integrates_to_one_with_the_model_mean() -> None:
    sd, p, median, sigma = 0.8, 0.1, 3.0, 0.7
    r = np.linspace(-150.0, 10.0, 32_001)
    density = np.exp(log_density(r, sd, p, median, sigma))
    assert integrate.trapezoid(density, r) == pytest.approx(1.0, abs=1e-4)
    mean = -p * median * math.exp(sigma**2 / 2)
    assert integrate.trapezoid(r * density, r) == pytest.approx(mean, abs=1e-3)


def test_log_density_without_tail_is_normal() -> None:
    r = np.array([-3.0, 0.0, 2.0])
    np.testing.assert_allclose(log_density(r, 1.5), stats.norm.logpdf(r, scale=1.5))


@pytest.mark.parametrize("by_kind", [False, True])
def test_gradient_matches_finite_differences(by_kind: bool) -> None:
    rng = np.random.default_rng(3)
    n = 400
    kind = rng.integers(0, 2, n)
    r = np.where(kind == 0, 1.2, 0.6) * rng.standard_normal(n)
    r -= (rng.random(n) < 0.1) * 3.0 * np.exp(0.8 * rng.standard_normal(n))
    group = kind if by_kind else np.zeros(n, dtype=np.int64)
    g = 2 if by_kind else 1
    design = Design(r, kind, group, 2, g)
    theta = np.concatenate(
        [[0.1, -0.4], np.full(g, -2.0), np.full(g, math.log(2.0)), np.full(g, math.log(0.7))]
    )
    theta[2 : 2 + g] += np.arange(g) * 0.3

    def value(t: np.ndarray) -> float:
        return negative_log_likelihood(t, design)[0]

    gradient = negative_log_likelihood(theta, design)[1]
    numeric = optimize.approx_fprime(theta, value, 1e-6)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-4, atol=1e-3)


def test_the_tail_integral_in_row_chunks_equals_it_in_one_piece(monkeypatch):
    from sct_engine.calibration import likelihood

    r = np.random.default_rng(3).normal(-1.0, 4.0, size=257)
    whole = likelihood._tail_terms(r, 1.3, math.log(2.0), 0.7)
    monkeypatch.setattr(likelihood, "_CHUNK_VALUES", 1_000)  # a few rows a chunk
    chunked = likelihood._tail_terms(r, 1.3, math.log(2.0), 0.7)
    np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-12)
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-12, atol=1e-14)
