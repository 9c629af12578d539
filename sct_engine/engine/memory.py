"""The memory a run needs, estimated from the model's shape before anything is allocated.

A run's memory grows with options x organisations (and options x systems) x
histogram bins, times the kernel's threads and wave blocks, plus the
reference's per-block draw arrays. An absurd scenario (50,000 options, 20,000
one-member systems) would otherwise allocate gigabytes and die half-way; it is
refused up front with the estimate and the limit. The limit is a fraction of
the machine's memory (its container's, where that is smaller), or
``SCT_MEMORY_LIMIT`` (e.g. ``16GiB``) on a machine shared or larger than it looks.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from pathlib import Path

import numpy as np

from sct_engine.engine.model import Model
from sct_engine.engine.rng import BLOCK_DRAWS
from sct_engine.engine.stats import HIST_BINS
from sct_engine.errors import Problem, ScenarioError

#: Environment variable overriding the memory limit (bytes, or e.g. ``512MiB``, ``16GiB``).
MEMORY_LIMIT_ENV = "SCT_MEMORY_LIMIT"
#: Share of the machine's memory one run may plan to use.
MEMORY_FRACTION = 0.5
#: Blocks of one kernel wave (see ``engine/kernel/driver.py``).
_WAVE_BLOCKS = 16
#: Outcome codes per organisation and scheme in the kernel's tables.
_N_CODES = 8
_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def run_memory_bytes(
    model: Model, engine: str, threads: int = 1, paired: bool = False, replicates: int = 0
) -> int:
    """Estimated peak bytes of simulating ``model`` with ``engine`` (``kernel`` or ``reference``).

    ``replicates`` (Sobol' sampling, :mod:`.sampling`; 0: a plain run) adds the Sobol'
    common factors of a wave (kernel) or a block (reference), with their generation's
    temporaries, and each replicate's sums of the reported statistics.

    ``paired`` adds the decision statistics of ``analyse`` (``sct compare``, ``sct report``):
    their totals and, on the kernel, each thread's per-bin loss sums; on the reference, one
    block's per-draw payments. The estimate counts the arrays that grow with the shape; it is
    meant to be within a small factor of the truth, which is all a refusal needs.
    """
    k, n, s = len(model.schemes), model.n_orgs, model.n_systems
    sobol = 0
    if replicates:
        points = BLOCK_DRAWS * (4 if model.quarterly else 1) * (1 + s) * 8
        blocks = _WAVE_BLOCKS if engine == "kernel" else 1
        sobol = (blocks + 3) * points + replicates * 8 * (8 * k * n + 2 * n + 4 * k * s + k + s)
    return sobol + _run_bytes(model, engine, threads, paired)


def _run_bytes(model: Model, engine: str, threads: int, paired: bool) -> int:
    """``run_memory_bytes`` of a plain run."""
    k, n, s = len(model.schemes), model.n_orgs, model.n_systems
    b1 = HIST_BINS + 1
    totals = 8 * (
        2 * n + s + k * n * (b1 + 11) + k * s * (2 * b1 + 5) + k * (2 * b1 + 2)
    )  # one Accumulator
    paired_stats = 8 * (k * n * (4 + 2 * b1) + k * k * s + 4 * k + k * k + 2 * n + 3 * k * s)
    if engine == "kernel":
        threads = max(1, threads)
        # the totals, the accumulator handed to the result, and the tables' temporaries
        estimate = 3 * totals + _kernel_bytes(model, k, n, s, b1, threads)
        if paired:  # decision totals, and per thread the integer per-bin loss sums
            estimate += 2 * paired_stats + threads * 8 * 2 * k * n * b1
        return estimate
    d = BLOCK_DRAWS
    q = 4 if model.quarterly else 1
    # paid, its finance and A&E parts, passes and the rules' temporaries, per organisation
    per_scheme = n * (25 + (8 if model.bonus else 0) + (44 if model.quarterly else 0)) + s
    block = d * (
        8 * q * (1 + s + n)  # shocks
        + q * n  # A&E outcomes
        + 8 * n * (2 + q)  # large events, outturns (year to date)
        + k * per_scheme  # every option's tests and payments, kept for the block
        + 32 * n  # reduction temporaries
        + 24 * s
    )
    estimate = 2 * totals + block  # the run's totals and one block's statistics
    if paired:
        estimate += 2 * paired_stats + d * 8 * k * n
    return estimate


def _kernel_bytes(model: Model, k: int, n: int, s: int, b1: int, threads: int) -> int:
    """Per-thread counts, per-block float sums of a wave and the outcome tables."""
    classes = _outcome_classes(model)
    if model.quarterly:
        ints = n + s + 3 * k * s + k * b1 + k * s * b1 + 2 * k * n + k * n * b1
        floats = n + 2 * k * s + k * s * b1 + 2 * k + k * b1 + 9 * k * n
        tables = 0
    else:
        ints = n + s + 2 * k * s + k * s * b1 + k * b1 + classes * n * _N_CODES + classes * s
        floats = n + 2 * k * s + k * s * b1 + 2 * k + k * b1 + 2 * k * n
        words = max(1, math.ceil(k / 64))
        tables = 4 * k * n * _N_CODES + classes * n * _N_CODES * words
    return 8 * (threads * ints + _WAVE_BLOCKS * floats + tables)


def _outcome_classes(model: Model) -> int:
    """Distinct (redistribution, cap, system test, gateway) among the options: the kernel's classes."""
    sa = model.schemes
    if len(sa) == 0:
        return 0
    keys = np.stack(
        [
            sa.redistribution.astype(float),
            sa.share_cap,
            sa.system_test.astype(float),
            sa.ae_gateway,
        ],
        axis=1,
    )
    return int(np.unique(keys, axis=0).shape[0])


def machine_memory_bytes() -> int | None:
    """Physical memory, or the container's limit where smaller; None when unknown."""
    found: list[int] = []
    with contextlib.suppress(AttributeError, ValueError, OSError):  # not on Windows
        found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            found.append(int(text))
    return min(found) if found else None


def parse_bytes(text: str) -> int:
    """``"16GiB"``, ``"512M"``, ``"1e9"`` or ``"1000000"`` as a number of bytes (ValueError otherwise)."""
    match = re.fullmatch(r"\s*([0-9.eE+]+)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", text)
    if match is None:
        raise ValueError(text)
    value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if not math.isfinite(value) or value <= 0:
        raise ValueError(text)
    return int(value)


def memory_limit_bytes() -> int | None:
    """The most a run may plan to use: ``SCT_MEMORY_LIMIT``, else a share of the machine's memory.

    None when neither is known (no check is then made).
    """
    configured = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if configured:
        try:
            return parse_bytes(configured)
        except ValueError:
            raise ScenarioError(
                [
                    Problem(
                        MEMORY_LIMIT_ENV,
                        "",
                        f"is {configured[:40]!r}, not an amount of memory",
                        "set it to bytes or to e.g. 16GiB or 512MiB, or unset it",
                    )
                ]
            ) from None
    machine = machine_memory_bytes()
    return int(machine * MEMORY_FRACTION) if machine else None


def check_memory(
    model: Model,
    engine: str,
    threads: int,
    file: str,
    limit: int | None = None,
    paired: bool = False,
    replicates: int = 0,
) -> int:
    """Refuse a run whose estimated memory exceeds ``limit`` (default :func:`memory_limit_bytes`).

    Returns the estimate. The problem names the shape that drives it and how to
    shrink it or raise the limit. ``replicates``: as :func:`run_memory_bytes`.
    """
    needed = run_memory_bytes(model, engine, threads, paired, replicates)
    limit = memory_limit_bytes() if limit is None else limit
    if limit is None or needed <= limit:
        return needed
    k, n, s = len(model.schemes), model.n_orgs, model.n_systems
    raise ScenarioError(
        [
            Problem(
                file,
                "",
                f"a run of {k:,} scheme options x {n:,} organisations in {s:,} systems needs "
                f"about {format_bytes(needed)} of memory, above the limit of {format_bytes(limit)}",
                "compare fewer options at once, or split the systems over several scenario files; "
                f"on a machine with more memory set {MEMORY_LIMIT_ENV} (e.g. 64GiB); "
                + ("fewer threads (NUMBA_NUM_THREADS) also help; " if engine == "kernel" else "")
                + "see docs/scenario-format.md#limits",
            )
        ]
    )


def format_bytes(value: int) -> str:
    """``1.5 GiB``, ``512 MiB``: a size for a message."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            return f"{value / size:,.1f} {unit}"
    return f"{value} bytes"
