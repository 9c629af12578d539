"""The Dask cluster a batch runs on: a LocalCluster or an existing scheduler, set up for numba.

The same code path serves both; workers get the numba cache and their thread
count from a worker plugin, whichever way they were started. By default the
cache is each worker's per-user kernel cache, the very folder ``sct run`` loads
the kernel from (:mod:`sct_engine.engine.kernel.cache`), so a batch compiles
nothing that ``sct run`` has compiled already, whatever its output folder.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distributed import Client


@contextmanager
def dask_client(
    scheduler: str | None, workers: int | None, threads_per_worker: int
) -> Iterator[Client]:
    """A client of the given scheduler, or of a LocalCluster of worker processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        is_file = scheduler.endswith(".json") and Path(scheduler).is_file()
        with Client(scheduler_file=scheduler) if is_file else Client(scheduler) as client:
            yield client
        return
    with _workers_ignore_ctrl_c():
        cluster = LocalCluster(
            n_workers=workers or _cores(),
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    with cluster, Client(cluster) as client:
        yield client


@contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start worker processes with SIGINT ignored (they inherit it), so Ctrl-C reaches the
    driver alone, which then stops the workers cleanly instead of each printing a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def numba_cache_setting(
    numba_cache: str | os.PathLike[str] | None, environ: Mapping[str, str] = os.environ
) -> str:
    """The kernel cache a batch gives its workers: ``numba_cache`` (``--numba-cache``), else
    ``$NUMBA_CACHE_DIR``, else ``""``: each worker's own per-user cache, the folder ``sct run``
    uses (``kernel.cache.cache_base``), so that a kernel compiled once serves both."""
    chosen = numba_cache or environ.get("NUMBA_CACHE_DIR")
    return os.path.abspath(os.path.expanduser(chosen)) if chosen else ""


def kernel_cache_base(setting: str) -> Path:
    """The folder of compiled kernels that :func:`numba_cache_setting`'s ``setting`` names,
    seen from this machine (``""``: this user's cache, as ``sct run`` finds it)."""
    from sct_engine.engine.kernel import cache_base

    return Path(setting) if setting else cache_base({})


def numba_environment_plugin(numba_cache: str) -> Any:
    """A Dask worker plugin pointing numba at the batch's kernel cache and the worker's thread
    count (``numba_cache`` ``""``: the worker's own per-user cache, as ``sct run`` uses).

    It runs on every worker before its first task, including workers that join
    later or are restarted after a crash, on a LocalCluster and on an existing
    cluster alike. numba reads ``NUMBA_CACHE_DIR`` and ``NUMBA_NUM_THREADS``
    when imported, and a worker may already have imported it (a LocalCluster
    worker re-imports the ``sct`` command's module, which imports the package),
    so the plugin also has numba re-read them; a thread count already in force
    (threads launched, or set in the worker's environment) is kept. The class
    is defined inside this function so that Dask ships it by value (cloudpickle):
    installing it does not make the worker import ``sct_engine``.
    """
    from distributed import WorkerPlugin

    class NumbaEnvironment(WorkerPlugin):
        name = "sct-numba-environment"

        def __init__(self, cache: str) -> None:
            self.cache = cache

        def setup(self, worker: Any) -> None:
            import os
            import sys

            if self.cache:
                os.environ["NUMBA_CACHE_DIR"] = self.cache
            threads_set_here = "NUMBA_NUM_THREADS" not in os.environ
            if threads_set_here:
                os.environ["NUMBA_NUM_THREADS"] = str(worker.state.nthreads)
            if "numba" not in sys.modules:
                return  # numba will read both when first imported
            from numba.core import config

            try:
                config.reload_config()
            except RuntimeError:  # its threads are running: their number can no longer change
                if threads_set_here:
                    del os.environ["NUMBA_NUM_THREADS"]
                config.reload_config()

    return NumbaEnvironment(numba_cache)
