"""The kernel's cache folder: keyed on the package's source, per user, never inside the package."""

from __future__ import annotations

import shutil
from pathlib import Path

import platformdirs
import pytest

from sct_engine.engine.kernel import cache, loops
from sct_engine.version import PACKAGE_DIR, source_digest

pytestmark = pytest.mark.unit


def copy_package(tmp_path: Path) -> Path:
    """A copy of the package's sources (no byte code) to edit."""
    copy = tmp_path / "sct_engine"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_editing_a_rule_changes_the_key_and_the_folder(tmp_path):
    copy = copy_package(tmp_path)
    key = cache.cache_key(copy)
    assert key == cache.cache_key(PACKAGE_DIR)  # same source, same key
    assert len(key) == cache.KEY_LENGTH
    cover = copy / "rules" / "cover.py"
    cover.write_text(cover.read_text().replace("EXACT_COVER_LIMIT = 30", "EXACT_COVER_LIMIT = 29"))
    edited = cache.cache_key(copy)
    assert edited != key
    environ = {"NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    assert cache.cache_folder(edited, environ) != cache.cache_folder(key, environ)


def test_any_module_of_any_sub_package_is_in_the_key(tmp_path):
    copy = copy_package(tmp_path)
    key = cache.cache_key(copy)
    for module in ("engine/kernel/loops.py", "engine/model.py", "rules/payments.py"):
        path = copy / module
        original = path.read_text()
        path.write_text(original + "\n# edited\n")
        assert cache.cache_key(copy) != key, module
        path.write_text(original)
    assert cache.cache_key(copy) == key


def test_folder_is_per_user_by_default_and_nested_under_numba_cache_dir(tmp_path):
    default = cache.cache_folder("abc", environ={})
    assert default == Path(platformdirs.user_cache_dir("sct_engine")) / "numba" / "abc"
    assert PACKAGE_DIR.resolve() not in default.resolve().parents
    nested = cache.cache_folder("abc", environ={"NUMBA_CACHE_DIR": str(tmp_path)})
    assert nested == tmp_path / "abc"


def test_the_kernel_loops_cache_in_the_keyed_folder():
    folder = cache.cache_folder(cache.cache_key())
    for entry in (loops.run_wave, loops.run_wave_quarterly):
        cache_path = Path(entry._cache._cache_path)  # numba's locator, chosen at decoration
        assert folder in cache_path.parents or cache_path == folder
        assert PACKAGE_DIR.resolve() not in cache_path.resolve().parents


def test_numba_cache_setting_is_restored_after_the_kernel_is_defined(tmp_path):
    from numba.core import config

    before = config.CACHE_DIR
    with cache.kernel_cache(tmp_path / "k") as folder:
        assert config.CACHE_DIR == str(tmp_path / "k") == str(folder)
    assert before == config.CACHE_DIR


def test_source_digest_covers_every_module(tmp_path):
    copy = copy_package(tmp_path)
    digest = source_digest(copy)
    (copy / "analysis" / "new_module.py").write_text('"""A new module."""\n')
    assert source_digest(copy) != digest
