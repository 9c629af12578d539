"""Seed-pinned golden tables: ``example_ics.yaml`` at seed 7 and 20,000 draws, compared exactly.

This guards reproducibility, the promise that a seed fixes every number: any
change of any figure in the three tables (a refactor that reorders a float sum,
a new use of a random stream) shows up here as a failing test and, once
regenerated with ``python -m pytest tests/integration/engine/test_golden.py
--regen-golden``, as a reviewable diff of ``tests/golden/``. It says nothing
about whether the numbers are right: correctness stays with the oracles (closed
forms, brute force, the numpy reference that the kernel matches draw for draw in
the parity tests).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sct_engine import load_scenario, simulate
from sct_engine.engine.results import TABLES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "golden" / "example_ics"
SEED = 7
DRAWS = 20_000


def test_example_tables_match_the_golden_files(tmp_path, request):
    result = simulate(
        load_scenario(ROOT / "scenarios" / "example_ics.yaml"), draws=DRAWS, seed=SEED
    )
    result.save(tmp_path)
    if request.config.getoption("--regen-golden"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            (GOLDEN / f"{table}.csv").write_bytes((tmp_path / f"{table}.csv").read_bytes())
    for table in TABLES:
        golden = GOLDEN / f"{table}.csv"
        assert golden.is_file(), f"{golden} is missing: run this test once with --regen-golden"
        new, old = (tmp_path / f"{table}.csv").read_text(), golden.read_text()
        changed = [
            f"line {i + 1}:\n  golden: {a}\n  now:    {b}"
            for i, (a, b) in enumerate(zip(old.splitlines(), new.splitlines(), strict=False))
            if a != b
        ]
        assert new == old, (
            f"{table}.csv differs from {golden} at seed {SEED}, {DRAWS:,} draws "
            f"({len(changed)} lines; first: {changed[:1]}). If the change is intended, rerun with "
            "--regen-golden and commit the diff of tests/golden/."
        )
