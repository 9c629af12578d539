"""The one entry point that runs a scenario: pick an engine, run it, label the result."""

from __future__ import annotations

import numbers
import os
import platform
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy

from sct_engine.engine.memory import check_memory
from sct_engine.engine.model import Lever, Model, build_model
from sct_engine.engine.reference import ReferenceRun
from sct_engine.engine.results import Result
from sct_engine.engine.rng import BLOCK_DRAWS, Replicate
from sct_engine.engine.sampling import (
    DEFAULT_REPLICATES,
    MAX_REPLICATES,
    MIN_REPLICATES,
    SCRAMBLING,
    ReplicatedRun,
    sampling_problem,
    t_factor,
)
from sct_engine.engine.stats import HIST_BINS, Accumulator, max_standard_error
from sct_engine.errors import Problem, ScenarioError
from sct_engine.scenario import Scenario, check_run_numbers, load_scenario
from sct_engine.version import __version__

#: ``kernel``: the fused numba kernel (default); ``reference``: the plain numpy oracle.
ENGINES = ("kernel", "reference")

#: How to mend a scenario that Sobol' sampling cannot run.
_SAMPLING_FIX = "run it with the default pseudo-random sampling (leave out --sampling sobol)"
#: How to mend a number of replicates out of range.
_REPLICATES_FIX = f"choose {MIN_REPLICATES} to {MAX_REPLICATES:,} replicates"

#: With a target standard error, precision is checked after every this many blocks (with
#: Sobol' sampling: this many blocks of every replicate, so each check gives every replicate
#: whole blocks, keeps every thread busy and skips no Sobol' point).
CHECK_BLOCKS = 16
#: Draws between checks of a plain run.
CHECK_EVERY = CHECK_BLOCKS * BLOCK_DRAWS


def check_step(sampling: str, replicates: int) -> int:
    """Draws between two precision checks of a run with a target standard error: ``CHECK_BLOCKS``
    blocks, of every replicate with Sobol' sampling."""
    return CHECK_BLOCKS * BLOCK_DRAWS * (replicates if sampling == "sobol" else 1)


def engine_run(
    engine: str,
    model: Model,
    seed: int,
    baseline: int | None = None,
    trace: bool = False,
    levers: Sequence[Lever] | None = None,
    replicate: Replicate | None = None,
) -> Any:
    """A run of ``model`` on ``engine`` (``KernelRun`` or ``ReferenceRun``), with the decision
    statistics against scheme ``baseline`` when one is given, and per-draw traces (funding
    paid, year-end pass, system loss) with ``trace``, at every lever position of ``levers``
    on the same draws; ``extend`` adds draws. ``replicate``: one replicate of a
    :class:`~sct_engine.engine.sampling.ReplicatedRun`."""
    if engine == "kernel":
        from sct_engine.engine.kernel import KernelRun  # numba import only when used

        return KernelRun(
            model, seed, baseline=baseline, trace=trace, levers=levers, replicate=replicate
        )
    if engine == "reference":
        return ReferenceRun(
            model, seed, baseline=baseline, trace=trace, levers=levers, replicate=replicate
        )
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


def _run_engine(
    engine: str,
    model: Model,
    draws: int,
    seed: int,
    progress: Callable[[int], None] | None,
    target_se: float | None,
    sampling: str = "pseudo",
    replicates: int = DEFAULT_REPLICATES,
) -> tuple[Accumulator, dict[str, np.ndarray] | None]:
    """Run ``draws`` draws, or with ``target_se`` stop early once every SE is below it; the
    statistics, and with Sobol' sampling the replicates' standard errors (None otherwise).

    Precision is checked after whole multiples of :func:`check_step` draws, so the
    stopping point, and every number, is fixed by the seed and the target. With Sobol'
    sampling the replicate standard error has ``R - 1`` degrees of freedom: the run stops once
    it times :func:`~sct_engine.engine.sampling.t_factor` (t quantile / 1.96) is at or below
    the target, so a 95% interval it supports is as narrow as the target promises.
    """
    if sampling == "sobol":
        replicated = ReplicatedRun(
            lambda rep: engine_run(engine, model, seed, replicate=rep),
            model,
            sampling,
            replicates,
        )
        factor = t_factor(replicates)
        _extend(
            replicated,
            draws,
            progress,
            target_se,
            lambda: replicated.max_standard_error() * factor,
            check_step(sampling, replicates),
        )
        return replicated.accumulator(), replicated.standard_errors()
    run = engine_run(engine, model, seed)
    _extend(
        run,
        draws,
        progress,
        target_se,
        lambda: max_standard_error(run.accumulator()),
        check_step(sampling, 1),
    )
    return run.accumulator(), None


def _extend(
    run: Any,
    draws: int,
    progress: Callable[[int], None] | None,
    target_se: float | None,
    reached: Callable[[], float],
    step: int,
) -> None:
    """``draws`` draws, or fewer once ``reached()`` is at or below ``target_se``, checked
    every ``step`` draws (the last step is what is left of ``draws``)."""
    if target_se is None:
        run.extend(draws, progress)
        return
    while run.draws < draws:
        run.extend(min(step, draws - run.draws), progress)
        if reached() <= target_se:
            break


def simulate(
    scenario: Scenario | str | os.PathLike,
    draws: int | None = None,
    seed: int | None = None,
    engine: str = "kernel",
    progress: Callable[[int], None] | None = None,
    target_se: float | None = None,
    memory_limit: int | None = None,
    sampling: str = "pseudo",
    replicates: int = DEFAULT_REPLICATES,
) -> Result:
    """Simulate every scheme option of a scenario on common random numbers.

    ``draws``, ``seed`` and ``target_se`` have the limits of the scenario's fields, and
    every figure of the result is checked to be finite (ScenarioError otherwise).

    Parameters
    ----------
    scenario : a validated :class:`Scenario` or the path of a scenario YAML file.
    draws, seed : override ``simulation.draws`` / ``simulation.seed`` of the scenario.
    engine : ``"kernel"`` (fused numba kernel) or ``"reference"`` (plain numpy oracle).
    progress : called with the number of draws finished after each block or wave.
    target_se : stop as soon as every reported probability and expected loss has a
        Monte Carlo standard error at or below this (``draws`` is then the cap).
    memory_limit : bytes the run may plan to use (default ``SCT_MEMORY_LIMIT``, else half
        the machine's memory); a larger run is refused before anything is allocated.
    sampling : ``"pseudo"`` (default) or ``"sobol"``: randomised quasi-Monte Carlo for the
        common factors, ``replicates`` independent replicates, standard errors from their
        spread (:mod:`sct_engine.engine.sampling`); the draws are rounded up to a multiple
        of ``replicates``. Normal or Student-t shocks (ScenarioError otherwise).

    Returns
    -------
    Result
        Tables ``organisations``, ``systems`` and ``national`` plus provenance.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    check_run_numbers(draws=_whole(draws), seed=_whole(seed), target_se=target_se)
    draws = scenario.simulation.draws if draws is None else int(draws)
    seed = scenario.simulation.seed if seed is None else int(seed)
    model = build_model(scenario)
    file = str(scenario.source) if scenario.source else "<scenario>"
    problem = sampling_problem(model, sampling, replicates)
    if problem:
        fix = _REPLICATES_FIX if problem[1].startswith("Sobol' sampling needs") else _SAMPLING_FIX
        raise ScenarioError([Problem(file, problem[0], problem[1], fix)])
    sobol_replicates = replicates if sampling == "sobol" else 0
    check_memory(model, engine, _threads(engine), file, memory_limit, replicates=sobol_replicates)
    started = time.perf_counter()
    stats, errors = _run_engine(
        engine, model, draws, seed, progress, target_se, sampling, replicates
    )
    wall = time.perf_counter() - started
    provenance = run_provenance(scenario, model, stats, seed, engine, wall)
    provenance["draw_cap"] = draws if target_se is not None else None
    provenance["target_se"] = target_se
    if errors is not None:
        provenance |= {
            "sampling": sampling,
            "replicates": replicates,
            "scrambling": SCRAMBLING,
            "standard_errors": f"from {replicates} independent replicates: the SD of the "
            f"replicate means / sqrt({replicates}), with {replicates - 1} degrees of freedom",
        }
        if target_se is not None:
            provenance["target_se_factor"] = t_factor(replicates)
    result = Result(model=model, stats=stats, provenance=provenance, standard_errors=errors)
    if errors is not None:
        provenance["max_standard_error"] = result.max_standard_error()
    result.check_finite(file)
    return result


def run_provenance(
    scenario: Scenario | None,
    model: Model,
    stats: Accumulator,
    seed: int,
    engine: str,
    wall: float,
) -> dict[str, Any]:
    """``run.json``: where a run's numbers come from (scenario, seed, draws, engine, versions)."""
    source = scenario.source if scenario is not None else None
    return {
        "scenario_name": scenario.name if scenario is not None else "",
        "scenario_file": str(source) if source else None,
        "scenario_hash": scenario.content_hash if scenario is not None else None,
        "seed": seed,
        "draws": stats.n,
        "draw_cap": None,
        "target_se": None,
        # Unknown (null) from a single draw: a standard error needs two.
        "max_standard_error": max_standard_error(stats) if stats.n > 1 else None,
        "engine": engine,
        "threads": _threads(engine),
        "block_draws": BLOCK_DRAWS,
        "hist_bins": HIST_BINS,
        "quantile_resolution": "p95 values are histogram upper edges: at most one bin "
        f"(funding at stake / {HIST_BINS}) above the exact quantile",
        "package_version": __version__,
        "numpy_version": np.__version__,
        # Sobol' points (and the inverse t CDF) come from scipy: its version fixes them
        "scipy_version": scipy.__version__,
        "python_version": platform.python_version(),
        "wall_time_s": round(wall, 4),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "schemes": list(model.schemes.names),
        # e.g. a correlation matrix repaired to the nearest valid one: kept with the results,
        # since batch runs and the Python API print nothing.
        "scenario_warnings": [str(w) for w in scenario.warnings] if scenario is not None else [],
        # a sweep point and --set changes applied to the file (sweep_point, sweep, set)
        **(scenario.changes if scenario is not None else {}),
        # in year: the run simulates the rest of the year given the closed quarters' actuals
        **({"closed_quarters": model.closed_quarters} if model.closed_quarters else {}),
    }


def _whole(value: object) -> object:
    """numpy integers as Python ints; anything else as it is, for check_run_numbers to judge."""
    return (
        int(value) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value
    )


def check_run_memory(scenario: Scenario, engine: str = "kernel") -> int:
    """Refuse, as :func:`simulate` would before allocating anything, a scenario whose run does
    not fit in memory (ScenarioError); the estimate in bytes otherwise. ``sct validate`` uses
    it, so a file it calls ok is one ``sct run`` will not refuse for memory."""
    file = str(scenario.source) if scenario.source else "<scenario>"
    return check_memory(build_model(scenario), engine, _threads(engine), file)


def _threads(engine: str) -> int:
    if engine != "kernel":
        return 1
    import numba

    return numba.get_num_threads()


def default_out_dir(scenario_path: str | os.PathLike) -> Path:
    """``out/<scenario file stem>`` beside the current directory."""
    return Path("out") / Path(scenario_path).stem
