"""Deterministic random streams, one per block of draws.

Draws are split into fixed blocks of ``BLOCK_DRAWS``; block ``b`` of a run with
seed ``seed`` always gets the same streams, built from
``SeedSequence(seed, spawn_key=(b, stream))`` (exactly what
``SeedSequence(seed).spawn`` would hand out, without spawning the others). So a
result depends on the seed and the number of draws only, never on how many
threads or workers share the blocks, and a run can be extended block by block.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: Draws per block. Part of the definition of a result: changing it changes the numbers.
BLOCK_DRAWS = 8192

#: Stream indices within a block.
SHOCK_STREAM = 0
AE_STREAM = 1
TAIL_OCCURS_STREAM = 2
TAIL_SIZE_STREAM = 3


def block_generator(seed: int, block: int, stream: int) -> np.random.Generator:
    """The SFC64 generator of one stream of one block."""
    return np.random.Generator(
        np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(block, stream)))
    )


def block_sizes(draws: int, block_draws: int = BLOCK_DRAWS) -> Iterator[tuple[int, int]]:
    """``(block_index, n_draws)`` for every block of a run of ``draws`` draws."""
    full, rest = divmod(draws, block_draws)
    for b in range(full):
        yield b, block_draws
    if rest:
        yield full, rest
