"""The fused numba kernel: draw, apply every scheme, accumulate, one wave of blocks at a time.

Same draws and same rules as :mod:`sct_engine.engine.reference`, which it
matches draw for draw in the parity tests. :mod:`.loops` holds the jitted
loops, :mod:`.tables` the host-side tables they read, :mod:`.driver` the
per-wave driver (:class:`KernelRun`, :func:`simulate_kernel`) and :mod:`.cache`
the folder of the compiled code, keyed on the package's source so that a stale
cache cannot be loaded. The loops are imported inside :func:`.cache.kernel_cache`,
because numba fixes a cached function's folder when it is decorated.
"""

from sct_engine.engine.kernel.cache import (
    cache_base,
    cache_folder,
    cache_key,
    kernel_cache,
    kernel_compiled,
)

with kernel_cache():
    from sct_engine.engine.kernel import loops  # noqa: F401  (decorated here, see above)

from sct_engine.engine.kernel.driver import KernelRun, simulate_kernel

__all__ = [
    "KernelRun",
    "cache_base",
    "cache_folder",
    "cache_key",
    "kernel_cache",
    "kernel_compiled",
    "simulate_kernel",
]
