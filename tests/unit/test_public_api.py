"""Every public name of every ``__all__`` imports, every module says its job, the hints ship."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import sct_engine
from sct_engine.version import PACKAGE_DIR

pytestmark = pytest.mark.unit

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(sct_engine.__path__, "sct_engine.")
    if not info.name.endswith("__main__")  # running it is `python -m sct_engine.batch`
)
PACKAGES = [
    "sct_engine",
    *(name for name in MODULES if hasattr(importlib.import_module(name), "__path__")),
]


def test_every_sub_package_is_found():
    expected = {
        "rules",
        "scenario",
        "engine",
        "engine.kernel",
        "analysis",
        "report",
        "calibration",
        "batch",
    }
    assert {name.removeprefix("sct_engine.") for name in PACKAGES} >= expected


@pytest.mark.parametrize("name", PACKAGES)
def test_every_package_has_an_explicit_all_that_imports(name):
    package = importlib.import_module(name)
    public = package.__dict__.get("__all__")
    assert public, f"{name} has no __all__"
    assert len(set(public)) == len(public), f"{name}.__all__ repeats a name"
    for attribute in public:
        namespace: dict[str, object] = {}
        exec(f"from {name} import {attribute}", namespace)  # what a user writes
        assert namespace[attribute] is getattr(package, attribute)


@pytest.mark.parametrize("name", ["sct_engine", *MODULES])
def test_every_module_states_its_job_in_its_first_docstring_line(name):
    doc = importlib.import_module(name).__doc__
    assert doc and doc.strip(), f"{name} has no docstring"
    first = doc.strip().splitlines()[0]
    assert len(first.split()) >= 4, f"{name}: first docstring line says too little: {first!r}"


def test_top_level_api_is_the_documented_one():
    assert set(sct_engine.__all__) == {
        "Result",
        "Scenario",
        "__version__",
        "analyse",
        "compare",
        "load_scenario",
        "simulate",
    }
    assert callable(sct_engine.simulate) and callable(sct_engine.analyse)


def test_names_users_import_today_still_import():
    """The README's and the notebooks' imports of the two packages that kept their names."""
    from sct_engine.analysis import (  # noqa: F401
        Z95,
        analyse,
        compare,
        control_total_buffer,
        incentive_gradient,
        largest_system_linked_share,
        mitigation_needed,
    )
    from sct_engine.scenario import Organisation, Scenario, System, load_scenario, parse_scenario  # noqa: F401


def test_type_hints_ship_with_the_package():
    assert (PACKAGE_DIR / "py.typed").is_file()
