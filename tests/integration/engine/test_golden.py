"""Seed-pinned golden tables: ``example_ics.yaml`` at seed 7 and 20,000 draws, compared exactly,
as shipped (quarterly payments) and in year-end mode (``uncertainty.quarterly: false``).

This guards reproducibility, the promise that a seed fixes every number: any
change of any figure in the three tables (a refactor that reorders a float sum,
a new use of a random stream) shows up here as a failing test and, once
regenerated with ``python -m pytest tests/integration/engine/test_golden.py
tests/integration/report/test_workbook_golden.py --regen-golden``, as a
reviewable diff of ``tests/golden/``. It says nothing about whether the numbers
are right: correctness stays with the oracles (closed forms, brute force, the
numpy reference that the kernel matches draw for draw in the parity tests).
The kernel has two payment paths (quarterly year-to-date tests, and one
year-end test), so each has its golden.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sct_engine import simulate
from sct_engine.engine.results import TABLES
from sct_engine.scenario import load_variants

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "golden"
SEED = 7
DRAWS = 20_000
#: Golden folder -> the changes made to scenarios/example_ics.yaml before running it.
CASES = {
    "example_ics": {},
    "example_ics_year_end": {"uncertainty.quarterly": False},
}


@pytest.mark.parametrize("name", list(CASES))
def test_example_tables_match_the_golden_files(name, tmp_path, request):
    (variant,) = load_variants(ROOT / "scenarios" / "example_ics.yaml", sets=CASES[name])
    assert variant.scenario.uncertainty.quarterly is (name == "example_ics")
    result = simulate(variant.scenario, draws=DRAWS, seed=SEED)
    result.save(tmp_path)
    golden = GOLDEN / name
    if request.config.getoption("--regen-golden"):
        golden.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            (golden / f"{table}.csv").write_bytes((tmp_path / f"{table}.csv").read_bytes())
    for table in TABLES:
        path = golden / f"{table}.csv"
        assert path.is_file(), f"{path} is missing: run this test once with --regen-golden"
        new, old = (tmp_path / f"{table}.csv").read_text(), path.read_text()
        changed = [
            f"line {i + 1}:\n  golden: {a}\n  now:    {b}"
            for i, (a, b) in enumerate(zip(old.splitlines(), new.splitlines(), strict=False))
            if a != b
        ]
        assert new == old, (
            f"{table}.csv differs from {path} at seed {SEED}, {DRAWS:,} draws "
            f"({len(changed)} lines; first: {changed[:1]}). If the change is intended, rerun with "
            "--regen-golden and commit the diff of tests/golden/."
        )
