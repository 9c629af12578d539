"""Deterministic random streams, one per block of draws.

Draws are split into fixed blocks of ``BLOCK_DRAWS``; block ``b`` of a run with
seed ``seed`` always gets the same streams, built from
``SeedSequence(seed, spawn_key=(b, stream))`` (exactly what
``SeedSequence(seed).spawn`` would hand out, without spawning the others). So a
result depends on the seed and the number of draws only, never on how many
threads or workers share the blocks, and a run can be extended block by block.

Randomised quasi-Monte Carlo (``sampling="sobol"``, :mod:`.sampling`): a run is split
into ``R`` independent replicates; replicate ``r`` numbers its blocks ``b R + r`` (so its
pseudo-random streams are its own), and takes the common factors of the factor model
(national and system variates, every period) from its own scrambled Sobol' sequence
(:func:`sobol_variates`, scrambling seeded from ``SeedSequence(seed, spawn_key=(r,
SOBOL_STREAM))``), block ``b`` being points ``b BLOCK_DRAWS`` onwards. With one
replicate and pseudo-random sampling this is the plain numbering above.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import ndtri
from scipy.stats import qmc
from scipy.stats.sampling import NumericalInversePolynomial

#: Draws per block. Part of the definition of a result: changing it changes the numbers.
BLOCK_DRAWS = 8192

#: Stream indices within a block.
SHOCK_STREAM = 0
AE_STREAM = 1
TAIL_OCCURS_STREAM = 2
TAIL_SIZE_STREAM = 3
#: Spawn key of a replicate's Sobol' scrambling: ``(replicate, SOBOL_STREAM)``.
SOBOL_STREAM = 4

#: Bits of scipy's Sobol' points (its default): coordinates are multiples of ``2**-SOBOL_BITS``.
SOBOL_BITS = 30
#: scipy's largest Sobol' dimension.
SOBOL_MAX_DIMENSION = 21201


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


@dataclass(frozen=True)
class Replicate:
    """Replicate ``index`` of ``count`` independent ones (see the module docstring); ``sobol``:
    its common factors come from its scrambled Sobol' sequence, else from the shock stream."""

    index: int
    count: int
    sobol: bool

    def block(self, local: int) -> int:
        """The global block number of the replicate's ``local``-th block (its streams' key)."""
        return local * self.count + self.index


def sobol_variates(
    seed: int, replicate: int, first: int, n: int, dims: int, dof: float | None = None
) -> np.ndarray:
    """Standard variates ``(n, dims)`` (mean 0, variance 1) from points ``first .. first + n - 1``
    of replicate ``replicate``'s scrambled Sobol' sequence (``scipy.stats.qmc.Sobol``, whose
    scrambling is a linear matrix scramble plus a digital shift, LMS+shift, not Owen's nested
    uniform scrambling: its variance is not guaranteed never to exceed plain Monte Carlo's, so
    the gain is measured, ``benchmarks/README.md``): normal by the inverse normal CDF, or with ``dof`` Student-t by the inverse t
    CDF (scipy's fast numerical inversion, :func:`_t_inverse`) scaled by
    ``sqrt((dof - 2) / dof)`` as ``uncertainty.standard_variates`` scales it.

    Each point is moved to the centre of its ``2**-SOBOL_BITS`` cell before the inverse
    CDF, so no coordinate is exactly 0 (an infinite variate); the centred points are still
    uniform over the cells, so each variate has the distribution up to that grid.
    """
    engine = qmc.Sobol(
        dims,
        scramble=True,
        bits=SOBOL_BITS,
        seed=np.random.Generator(
            np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(replicate, SOBOL_STREAM)))
        ),
    )
    if first:
        engine.fast_forward(first)
    with warnings.catch_warnings():
        # A short last block is a prefix of the sequence: still exact in expectation.
        warnings.simplefilter("ignore", UserWarning)
        u = engine.random(n) + 2.0 ** -(SOBOL_BITS + 1)
    if dof is None:
        return ndtri(u)
    return _t_inverse(dof).ppf(u) * math.sqrt((dof - 2.0) / dof)


@functools.cache
def _t_inverse(dof: float) -> NumericalInversePolynomial:
    """The inverse CDF of Student's t with ``dof`` degrees of freedom by scipy's polynomial
    interpolation (PINV; u-error below 1e-12): five times faster than ``special.stdtrit``,
    which took over a third of a wave 1 Sobol' run. Built once per ``dof`` (under a second)."""
    return NumericalInversePolynomial(stats.t(dof), u_resolution=1e-12)
