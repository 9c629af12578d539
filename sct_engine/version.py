"""What code produced a result: the package version and a digest of the package's source files.

The digest covers every module of the package (sub-packages included), so an
edited development install is told apart from another; on a released install
it never changes. Batch records (:mod:`sct_engine.batch.records`) and the
kernel's cache folder (:mod:`sct_engine.engine.kernel.cache`) are keyed on it.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("sct_engine")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

#: The folder of the package's sources.
PACKAGE_DIR = Path(__file__).parent


def source_digest(package_dir: Path = PACKAGE_DIR) -> str:
    """sha256 hex digest of every ``.py`` file under ``package_dir``: relative path and bytes,
    in path order (not cached: a caller that needs it once per process caches it)."""
    digest = hashlib.sha256()
    for module in sorted(package_dir.rglob("*.py")):
        name = module.relative_to(package_dir).as_posix()
        digest.update(name.encode() + b"\0" + module.read_bytes())
    return digest.hexdigest()


__all__ = ["PACKAGE_DIR", "__version__", "source_digest"]
