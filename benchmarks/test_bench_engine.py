"""pytest-benchmark suites: kernel, reference and rules on the 300-organisation synthetic model.

    python -m pytest benchmarks/ --benchmark-only

Compare kernel and reference rows through ``extra_info['org_draws_per_s']``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import synthetic_scenario

from sct_engine.engine.kernel import simulate_kernel
from sct_engine.engine.model import build_model
from sct_engine.engine.reference import apply_schemes, draw_block, simulate_reference
from sct_engine.rules import cover_shortfalls


@pytest.fixture(scope="module", params=["normal", "student_t"])
def model(request):
    m = build_model(synthetic_scenario(distribution=request.param))
    simulate_kernel(m, 1000, seed=0)  # compile or load the cache outside the timing
    return m


def record_rate(benchmark, model, draws: int) -> None:
    """Organisation-draws per second of the fastest round (nothing when timing is disabled)."""
    if benchmark.stats is not None:
        benchmark.extra_info["org_draws_per_s"] = model.n_orgs * draws / benchmark.stats["min"]


def test_kernel(benchmark, model):
    draws = 100_000
    benchmark.pedantic(simulate_kernel, args=(model, draws, 1), rounds=3, iterations=1)
    record_rate(benchmark, model, draws)


def test_reference(benchmark, model):
    draws = 4096
    benchmark.pedantic(simulate_reference, args=(model, draws, 1), rounds=1, iterations=1)
    record_rate(benchmark, model, draws)


def test_rules_on_one_block(benchmark, model):
    draws = draw_block(model, seed=1, block=0, n=2048)
    benchmark.pedantic(apply_schemes, args=(model, draws), rounds=1, iterations=1)


def test_knapsack_cover_python(benchmark):
    rng = np.random.default_rng(0)
    finance, shortfall = rng.uniform(1, 20, 12), rng.lognormal(1, 1, 12)
    benchmark(cover_shortfalls, finance, shortfall, 0.5 * shortfall.sum())
