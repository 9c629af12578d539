"""Test-suite rules: every test is exactly one of unit / integration / e2e, and golden files
are rewritten only on request (``--regen-golden``).

The kind is a marker (a module-level ``pytestmark`` in each file) and must match the
folder the test lives in, so that ``pytest -m unit`` runs exactly ``tests/unit``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: The kinds of test; each test carries exactly one as a marker.
KINDS = ("unit", "integration", "e2e")

TESTS = Path(__file__).resolve().parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        default=False,
        help="rewrite the golden files of tests/golden/ from the current code instead of "
        "comparing with them (review the diff before committing it)",
    )


def kind_problem(nodeid: str, kinds: set[str], path: Path) -> str | None:
    """Why a test's kind markers are wrong, or None: exactly one of KINDS, matching its folder."""
    if len(kinds) != 1:
        found = ", ".join(sorted(kinds)) or "none"
        return f"{nodeid}: carries {found}; a test needs exactly one of {', '.join(KINDS)}"
    try:
        folder = path.resolve().relative_to(TESTS).parts[0]
    except ValueError:
        return None  # outside tests/ (e.g. benchmarks/): the folder rule does not apply
    (kind,) = kinds
    if folder in KINDS and folder != kind:
        return f"{nodeid}: marked {kind} but lives in tests/{folder}/"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse to run a suite in which a test has no kind, several kinds, or the wrong kind."""
    problems = []
    for item in items:
        kinds = {mark.name for mark in item.iter_markers() if mark.name in KINDS}
        problem = kind_problem(item.nodeid, kinds, Path(str(item.path)))
        if problem:
            problems.append(problem)
    if problems:
        raise pytest.UsageError(
            "every test must carry exactly one of the markers unit / integration / e2e, the one "
            "of its folder (add `pytestmark = pytest.mark.<kind>` to the file):\n  "
            + "\n  ".join(problems)
        )
