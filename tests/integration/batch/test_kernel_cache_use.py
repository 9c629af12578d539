"""A batch's workers load the kernel from the folder ``sct run`` uses, and a compile is announced.

Before, a batch compiled the kernel again into each new ``--out`` folder (81.6 s for
three scenarios where ``sct run`` needs about 17 s). The workers of a LocalCluster
with the batch's worker plugin are asked where their kernel's cache lives; by
default it must be this user's kernel cache, the very folder a plain ``sct run``
process finds (``kernel.cache.cache_folder``). No compile: numba fixes a cached
function's folder when the function is decorated, before any call.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sct_engine.batch import driver
from sct_engine.batch.cluster import (
    kernel_cache_base,
    numba_cache_setting,
    numba_environment_plugin,
)
from sct_engine.engine.kernel import cache_base, cache_folder, cache_key, kernel_compiled

pytestmark = pytest.mark.integration

#: What a process finds: its key folder and where numba put the year-end and quarterly entries.
WHERE = """
import json, sys
from sct_engine.engine.kernel import cache_folder, cache_key, loops
json.dump([str(cache_folder(cache_key())), loops.run_wave._cache._cache_path,
           loops.run_wave_quarterly._cache._cache_path], sys.stdout)
"""


def kernel_places() -> list[str]:
    """In a Dask worker: the same answer as ``WHERE`` gives in a plain process."""
    from sct_engine.engine.kernel import cache_folder, cache_key, loops

    return [
        str(cache_folder(cache_key())),
        loops.run_wave._cache._cache_path,
        loops.run_wave_quarterly._cache._cache_path,
    ]


def sct_run_places(home: Path) -> list[str]:
    """Where a fresh process (as ``sct run`` is) finds the kernel, with ``HOME`` as given."""
    import json

    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env["HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", WHERE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_batch_workers_use_the_kernel_cache_of_sct_run_by_default(tmp_path, monkeypatch):
    from distributed import Client, LocalCluster

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # workers inherit it: a per-user cache of our own
    setting = numba_cache_setting(None)
    assert setting == "", "no --numba-cache and no NUMBA_CACHE_DIR: the per-user cache"
    expected = sct_run_places(tmp_path)
    assert Path(expected[0]).is_relative_to(tmp_path)  # the test really moved the user's cache
    assert kernel_cache_base(setting) / cache_key() == Path(expected[0])
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        client.register_plugin(numba_environment_plugin(setting))
        (places,) = client.run(kernel_places).values()
    assert places == expected
    out = tmp_path / "batch_out"
    assert not any(Path(p).is_relative_to(out) for p in places)


def test_numba_cache_option_and_environment_still_win(tmp_path):
    chosen = tmp_path / "shared"
    assert numba_cache_setting(chosen, environ={}) == str(chosen)
    assert numba_cache_setting(None, environ={"NUMBA_CACHE_DIR": str(chosen)}) == str(chosen)
    assert numba_cache_setting(chosen, environ={"NUMBA_CACHE_DIR": "/elsewhere"}) == str(chosen)
    # The folder the workers' key folder lands in, as the driver and the workers see it.
    key = cache_key()
    assert kernel_cache_base(str(chosen)) / key == cache_folder(
        key, environ={"NUMBA_CACHE_DIR": str(chosen)}
    )
    assert kernel_cache_base("") == cache_base({})


def test_a_compile_is_announced_only_when_the_cache_lacks_the_kernel(tmp_path, capsys):
    empty = tmp_path / "empty"
    assert not kernel_compiled(empty)
    driver._announce_compile(str(empty))
    said = capsys.readouterr().err
    assert "compiling the simulation kernel" in said and str(empty) in said
    # The same folder once it holds the index files of both entry points, as numba writes them.
    from sct_engine.engine.kernel import loops

    here = cache_folder(cache_key())
    for entry in (loops.run_wave, loops.run_wave_quarterly):
        index = Path(entry._cache._cache_file._index_path).relative_to(here)
        (empty / here.name / index).parent.mkdir(parents=True, exist_ok=True)
        (empty / here.name / index).write_bytes(b"")
        if entry is loops.run_wave:
            assert not kernel_compiled(empty), "one entry of two is not the kernel"
    assert kernel_compiled(empty)
    driver._announce_compile(str(empty))
    assert capsys.readouterr().err == ""
