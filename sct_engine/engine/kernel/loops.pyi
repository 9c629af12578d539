"""Types of the kernel's entry points (:mod:`.loops` is numba code that mypy cannot read).

Each entry takes the named structures of :mod:`.inputs`; the driver builds them by keyword.
"""

import numpy as np

from sct_engine.engine.kernel.inputs import (
    Decision,
    Groups,
    Levers,
    Members,
    MemberStats,
    Money,
    Periods,
    QuarterlyTables,
    Shocks,
    Streams,
    SystemStats,
    YearEndTables,
)

#: Columns of a profile (``KernelRun(profile=True).phase_cycles``).
PHASES: tuple[str, ...]
#: Schemes per word of the year-end ``lossy`` bit sets.
WORD_BITS: int

def cycle_counter() -> int:
    """The CPU's time-stamp counter (the profile's unit)."""

def run_wave(
    streams: Streams,
    shocks: Shocks,
    periods: Periods,
    members: Members,
    money: Money,
    groups: Groups,
    tables: YearEndTables,
    ms: MemberStats,
    ss: SystemStats,
    dec: Decision,
    stats: bool,
    levers: Levers,
    prof: np.ndarray,
) -> None:
    """One wave of blocks at year end (one period)."""

def run_wave_quarterly(
    streams: Streams,
    shocks: Shocks,
    periods: Periods,
    members: Members,
    money: Money,
    groups: Groups,
    tables: QuarterlyTables,
    ms: MemberStats,
    ss: SystemStats,
    dec: Decision,
    stats: bool,
    levers: Levers,
    prof: np.ndarray,
) -> None:
    """One wave of blocks in quarterly mode (four quarters' year to date)."""
