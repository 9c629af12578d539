"""Import every third-party module that sct_engine/ imports anywhere, in this environment.

The modules are found by reading the source (ast), so imports inside functions
and ``TYPE_CHECKING`` blocks count too: a module that only one command imports,
lazily, on one path (statsmodels, to repair a correlation matrix) is still tried.
``.ci/plain-install`` runs this in the plain install (``pip install .``, no
extras), so a declared dependency removed from pyproject.toml fails CI there even
when no shipped scenario reaches the code that needs it. Exit status 1 names the
modules that cannot be imported. ``tests/unit/test_dependencies.py`` uses the same
scan to check each module against pyproject.toml.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sct_engine"


def third_party_imports(package: Path = PACKAGE) -> dict[str, dict[str, str]]:
    """Top-level module -> {full module name imported: where (``path:line``)}, stdlib left out."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("sct_engine", "__future__"):
                    continue
                where = f"{path.relative_to(package.parent)}:{node.lineno}"
                found.setdefault(top, {}).setdefault(name, where)
    return found


def main() -> int:
    imports = third_party_imports()
    failed = []
    for _, names in sorted(imports.items()):
        for name, where in sorted(names.items()):
            try:
                importlib.import_module(name)
            except ImportError as err:
                failed.append(f"{name} (imported at {where}): {type(err).__name__}: {err}")
    if failed:
        print(
            "sct_engine imports modules this install does not have (declare them in "
            "pyproject.toml [project] dependencies):\n  " + "\n  ".join(failed),
            file=sys.stderr,
        )
        return 1
    print(f"every third-party module sct_engine imports is installed: {', '.join(sorted(imports))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
