"""Imports point one way: rules <- scenario <- engine <- analysis <- report, calibration and
batch beside them, ``cli`` and the package's ``__init__`` on top (docs/architecture.md).

Every import counts, including those inside functions and under ``TYPE_CHECKING``: a
lazy import still ties the two modules together.
"""

from __future__ import annotations

import ast

import pytest

from sct_engine.version import PACKAGE_DIR

pytestmark = pytest.mark.unit

#: Modules every part of the package may use.
BASE = {"errors", "files", "progress", "version"}
#: What each part may import from other parts (besides itself and BASE).
ALLOWED: dict[str, set[str]] = {
    "rules": set(),
    "scenario": {"rules"},
    "engine": {"rules", "scenario"},
    "analysis": {"rules", "scenario", "engine"},
    "report": {"rules", "scenario", "engine", "analysis"},
    "calibration": {"rules"},  # the words for kinds of organisation (rules/organisations.py)
    "batch": {"rules", "scenario", "engine"},
    **{name: set() for name in BASE},
}
#: The command line sits on top of everything.
TOP = {"__init__", "cli"}


def part_of(module: str) -> str:
    """``sct_engine.engine.kernel.loops`` -> ``engine``; ``sct_engine`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported_parts(path) -> list[tuple[int, str, str]]:
    """(line, imported module, part) of every sct_engine import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sct_engine":  # from sct_engine import rules / load_scenario
                for alias in node.names:
                    target = f"sct_engine.{alias.name}"
                    is_part = (PACKAGE_DIR / alias.name).is_dir() or (
                        PACKAGE_DIR / f"{alias.name}.py"
                    ).is_file()
                    found.append((node.lineno, target, alias.name if is_part else "__init__"))
            elif node.module.startswith("sct_engine."):
                found.append((node.lineno, node.module, part_of(node.module)))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "sct_engine" or alias.name.startswith("sct_engine."):
                    found.append((node.lineno, alias.name, part_of(alias.name)))
        if isinstance(node, ast.ImportFrom) and node.level:
            found.append((node.lineno, "relative import", "relative"))
    return found


FILES = sorted(PACKAGE_DIR.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(PACKAGE_DIR).as_posix())
def test_imports_point_one_way(path):
    rel = path.relative_to(PACKAGE_DIR)
    here = rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else rel.stem
    if here in TOP:
        return
    allowed = {here} | BASE | ALLOWED[here]
    bad = []
    for line, module, part in imported_parts(path):
        # A sub-package's command module borrows argparse types from cli (imported lazily).
        if part == "cli" and rel.stem == "commands":
            continue
        if part not in allowed:
            bad.append(f"line {line}: {module}")
    assert not bad, f"{rel} ({here}) imports against the flow: {bad}"


def test_the_check_sees_lazy_and_type_checking_imports(tmp_path):
    source = tmp_path / "example.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from sct_engine.report.data import ReportData\n"
        "def f():\n    import sct_engine.analysis\n    from sct_engine import load_scenario\n"
    )
    parts = [part for _, _, part in imported_parts(source)]
    assert parts == ["report", "analysis", "__init__"]
