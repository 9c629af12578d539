"""Where the kernel's compiled machine code is cached: a per-user folder keyed on the source.

numba's own cache checks only the file that defines a cached function (its
time stamp and size), not the files of the functions it calls: the knapsack
cover of :mod:`sct_engine.rules.cover` is compiled into the kernel's loops, so
after an edit of that rule numba would load stale machine code. Here the
folder itself is named by a key, a digest of every source file of the package
plus the numba and numpy versions (:func:`cache_key`): any edit, or an upgrade
of either library, moves the cache to a fresh folder, so a stale cache cannot
be loaded.

The folder is never inside the installed package (site-packages may be
read-only or shared, and pip leaves stray files there behind): by default it is
``platformdirs.user_cache_dir("sct_engine")/numba/<key>`` (on Linux
``~/.cache/sct_engine/numba/<key>``); with ``NUMBA_CACHE_DIR`` set it is
``$NUMBA_CACHE_DIR/<key>``. Old keys' folders are never read again and can be
deleted at any time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numba
import numpy as np
import platformdirs

from sct_engine.version import PACKAGE_DIR, source_digest

#: Hex digits of the key that names a cache folder.
KEY_LENGTH = 16


def cache_key(package_dir: Path = PACKAGE_DIR) -> str:
    """Name of the compiled code of the package in ``package_dir`` with this numba and numpy."""
    digest = hashlib.sha256(source_digest(package_dir).encode())
    digest.update(f"numba {numba.__version__} numpy {np.__version__}".encode())
    return digest.hexdigest()[:KEY_LENGTH]


def cache_base(environ: Mapping[str, str] = os.environ) -> Path:
    """``$NUMBA_CACHE_DIR`` when that is set, else the per-user cache folder's ``numba``: the
    folder that holds one :func:`cache_folder` per key (what a batch gives its workers)."""
    base = environ.get("NUMBA_CACHE_DIR") or os.path.join(
        platformdirs.user_cache_dir("sct_engine"), "numba"
    )
    return Path(base).expanduser()


def cache_folder(key: str, environ: Mapping[str, str] = os.environ) -> Path:
    """``$NUMBA_CACHE_DIR/<key>`` when that is set, else the per-user cache folder's ``numba/<key>``."""
    return cache_base(environ) / key


def kernel_compiled(base: Path | None = None) -> bool:
    """Whether the kernel's entry points have compiled code in the cache under ``base`` (a
    :func:`cache_base`; default this process's) for this source: False means that the next
    run compiles them (a minute or more), which a command should say before it starts.

    Reads numba's index files only (no compile, nothing loaded): a process whose
    ``NUMBA_CACHE_DIR`` is ``base`` finds them at the same place under its own key folder.
    """
    from sct_engine.engine.kernel import loops

    here = cache_folder(cache_key())
    there = (base if base is not None else cache_base()).expanduser() / here.name
    entries: tuple[Any, ...] = (loops.run_wave, loops.run_wave_quarterly)  # numba Dispatchers
    for entry in entries:
        index = Path(entry._cache._cache_file._index_path)
        if not (there / index.relative_to(here)).is_file():
            return False
    return True


@contextmanager
def kernel_cache(folder: Path | None = None) -> Iterator[Path]:
    """numba's cache folder set to ``folder`` (default: this source's :func:`cache_folder`) while
    the kernel's jitted functions are defined, and restored after.

    numba picks a cached function's folder when the function is decorated, so the
    kernel's functions keep this folder, and jitted code elsewhere in the process
    is left with whatever folder it would have had.
    """
    from numba.core import config

    folder = folder if folder is not None else cache_folder(cache_key())
    # numba sets its config attributes from the environment at run time (mypy cannot see them).
    previous = config.CACHE_DIR  # type: ignore[attr-defined]
    config.CACHE_DIR = os.fspath(folder)  # type: ignore[attr-defined]
    try:
        yield folder
    finally:
        config.CACHE_DIR = previous  # type: ignore[attr-defined]


__all__ = [
    "KEY_LENGTH",
    "cache_base",
    "cache_folder",
    "cache_key",
    "kernel_cache",
    "kernel_compiled",
]
