"""The one entry point that runs a scenario: pick an engine, run it, label the result."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

import sct_engine
from sct_engine.model import Model, build_model
from sct_engine.reference import simulate_reference
from sct_engine.results import Result
from sct_engine.rng import BLOCK_DRAWS
from sct_engine.scenario import Scenario, load_scenario
from sct_engine.stats import HIST_BINS, Accumulator

ENGINES = ("reference",)


def _run_engine(
    engine: str, model: Model, draws: int, seed: int, progress: Callable[[int], None] | None
) -> Accumulator:
    if engine == "reference":
        return simulate_reference(model, draws, seed, progress=progress)
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


def simulate(
    scenario: Scenario | str | os.PathLike,
    draws: int | None = None,
    seed: int | None = None,
    engine: str = "reference",
    progress: Callable[[int], None] | None = None,
) -> Result:
    """Simulate every scheme option of a scenario on common random numbers.

    Parameters
    ----------
    scenario : a validated :class:`Scenario` or the path of a scenario YAML file.
    draws, seed : override ``simulation.draws`` / ``simulation.seed`` of the scenario.
    engine : ``"reference"`` (plain numpy oracle).
    progress : called with the number of draws finished after each block.

    Returns
    -------
    Result
        Tables ``organisations``, ``systems`` and ``national`` plus provenance.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    draws = scenario.simulation.draws if draws is None else int(draws)
    seed = scenario.simulation.seed if seed is None else int(seed)
    if draws < 1:
        raise ValueError(f"draws must be at least 1 (got {draws})")
    model = build_model(scenario)
    started = time.perf_counter()
    stats = _run_engine(engine, model, draws, seed, progress)
    wall = time.perf_counter() - started
    source = scenario.source
    provenance = {
        "scenario_name": scenario.name,
        "scenario_file": str(source) if source else None,
        "scenario_hash": scenario.content_hash,
        "seed": seed,
        "draws": draws,
        "engine": engine,
        "block_draws": BLOCK_DRAWS,
        "hist_bins": HIST_BINS,
        "quantile_resolution": "p95 values are histogram upper edges: at most one bin "
        f"(funding at stake / {HIST_BINS}) above the exact quantile",
        "package_version": sct_engine.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "wall_time_s": round(wall, 4),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "schemes": list(model.schemes.names),
    }
    return Result(model=model, stats=stats, provenance=provenance)


def default_out_dir(scenario_path: str | os.PathLike) -> Path:
    """``out/<scenario file stem>`` beside the current directory."""
    return Path("out") / Path(scenario_path).stem
