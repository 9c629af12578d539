"""Every third-party import of sct_engine is a declared dependency, or an extra the CLI names.

A module that only an extra (or another package's dependencies) brings in passes
every test of an editable install with the test extras, and breaks
``pip install . && sct ...`` for a user. This reads every import of the package
(ast: imports inside functions and ``TYPE_CHECKING`` blocks included), maps each
top-level module to the distribution that installs it
(``importlib.metadata.packages_distributions``) and checks that distribution
against ``pyproject.toml``: a core dependency (or a distribution a core
dependency's extra names, e.g. ``dask[distributed]`` brings ``distributed``), or
one of an optional extra whose absence ``sct`` reports in one line naming that
extra (``sct_engine.cli.OPTIONAL_EXTRAS``). Runtime needs that no import shows
(pandas' optional engines, say) are caught by ``.ci/run``, which runs every
command in a plain install.
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from functools import cache
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from sct_engine.cli import OPTIONAL_EXTRAS, missing_module_message

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sct_engine"


def load_ci_imports() -> ModuleType:
    """``.ci/imports.py``: the scan CI runs in the plain install, shared with this test."""
    spec = importlib.util.spec_from_file_location("ci_imports", ROOT / ".ci" / "imports.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def third_party_imports() -> dict[str, list[str]]:
    """Top-level module -> where it is imported (``file:line``), for every non-stdlib import."""
    scanned = load_ci_imports().third_party_imports(PACKAGE)
    return {top: sorted(names.values()) for top, names in scanned.items()}


@cache
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def distributions_of(requirements: list[str]) -> set[str]:
    """The distributions these requirements install directly: each one, and what its extras add."""
    names: set[str] = set()
    for text in requirements:
        requirement = Requirement(text)
        names.add(canonicalize_name(requirement.name))
        for extra in requirement.extras:
            try:
                brought = requires(requirement.name) or []
            except PackageNotFoundError:
                continue  # not installed here: third_party_imports' modules will say so
            for line in brought:
                dependency = Requirement(line)
                if dependency.marker is not None and dependency.marker.evaluate({"extra": extra}):
                    names.add(canonicalize_name(dependency.name))
    return names


@cache
def distributions_by_module() -> dict[str, list[str]]:
    return packages_distributions()  # scans every installed distribution: once, not per module


def installing(module: str) -> list[str]:
    return [canonicalize_name(d) for d in distributions_by_module().get(module, [])]


def test_the_scan_sees_imports_inside_functions():
    """The lazy imports count: Dask is imported only inside the batch functions."""
    imports = third_party_imports()
    assert {"numpy", "pandas", "openpyxl", "distributed", "numba", "yaml"} <= set(imports)
    assert any("sct_engine/batch/" in where for where in imports["distributed"])
    assert any("rules/correlation.py" in where for where in imports["statsmodels"])


def test_ci_imports_every_module_and_names_what_is_missing(monkeypatch, capsys):
    """.ci/imports.py (run in the plain install) fails, naming the module, when one is missing."""
    ci = load_ci_imports()
    assert ci.main() == 0
    assert "statsmodels" in capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if the install lacked it
    monkeypatch.setitem(sys.modules, "openpyxl.styles", None)
    assert ci.main() == 1
    err = capsys.readouterr().err
    assert "openpyxl" in err and "report/workbook.py" in err and "pyproject.toml" in err


def test_every_third_party_import_is_declared():
    core = distributions_of(project()["dependencies"])
    extras = {
        name: distributions_of(reqs) for name, reqs in project()["optional-dependencies"].items()
    }
    problems = []
    for module, where in sorted(third_party_imports().items()):
        dists = installing(module)
        if not dists:
            problems.append(f"{module} (imported at {where[0]}) is not installed in this env")
            continue
        if any(d in core for d in dists):
            continue
        holders = sorted(name for name, members in extras.items() if set(dists) & members)
        if holders and OPTIONAL_EXTRAS.get(module) in holders:
            continue
        problems.append(
            f"{module} (distribution {', '.join(dists)}; imported at {', '.join(where[:3])}) "
            + (
                f"is only in the extra(s) {', '.join(holders)}: add it to OPTIONAL_EXTRAS in "
                "sct_engine/cli.py so a plain install says which extra to install, or make it core"
                if holders
                else "is not declared in pyproject.toml [project] dependencies"
            )
        )
    assert not problems, "undeclared imports:\n  " + "\n  ".join(problems)


def test_every_optional_extra_module_belongs_to_that_extra():
    """OPTIONAL_EXTRAS names real extras, each holding a distribution that installs the module."""
    extras = project()["optional-dependencies"]
    for module, extra in OPTIONAL_EXTRAS.items():
        assert extra in extras, f"OPTIONAL_EXTRAS[{module!r}] = {extra!r}: no such extra"
        assert set(installing(module)) & distributions_of(extras[extra]), (
            f"the `{extra}` extra does not install the module {module}"
        )


def test_dask_distributed_is_core():
    """Researchers batch-run on a laptop: a plain install runs `sct batch` (issue 27)."""
    core = distributions_of(project()["dependencies"])
    assert {"dask", "distributed"} <= core


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("mkdocs.plugins", "the optional `docs` extra"),
        ("openpyxl.styles", "openpyxl.styles, a dependency of sct_engine that is not installed"),
        ("distributed", "distributed, a dependency of sct_engine that is not installed"),
    ],
)
def test_a_missing_module_gets_one_line_with_the_install_command(module, expected):
    message = missing_module_message("report", ModuleNotFoundError(name=module))
    assert message is not None and expected in message
    assert message.startswith("sct report needs") and "pip install" in message
    assert "\n" not in message


@pytest.mark.parametrize("module", ["sct_engine.nowhere", "json", "_ctypes", None])
def test_our_own_or_a_stdlib_module_missing_is_not_blamed_on_the_install(module):
    assert missing_module_message("run", ModuleNotFoundError(name=module)) is None
