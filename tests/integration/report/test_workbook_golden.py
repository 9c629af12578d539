"""Seed-pinned golden of the report's workbook: every sheet's values (not the file's bytes).

``sct report scenarios/example_ics.yaml --xlsx`` at seed 7, 20,000 draws (no
top-up draws) and 4,096 detail draws: each sheet is read back cell by cell and
compared, as text, with ``tests/golden/example_ics_workbook/<sheet>.csv``. Like
the golden tables (tests/integration/engine/test_golden.py) this guards
reproducibility and the workbook's contents, never correctness. What changes
from machine to machine or run to run is left out: the Provenance rows of
timings, thread count, versions of Python, numpy and scipy, and the repository's own
path (written as ``<repo>``). Formatting (widths, colours, number formats) is not
compared; tests/unit/report/test_workbook.py checks the formats that matter.

A change to the report's tables (another sheet, a new column) fails here by design;
regenerate with ``python -m pytest tests/integration/report/test_workbook_golden.py
--regen-golden`` (the same switch regenerates every golden file) and review the diff.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sct_engine import cli

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "golden" / "example_ics_workbook"
ARGS = ["--draws", "20000", "--seed", "7", "--max-draws", "20000", "--detail-draws", "4096"]
PROVENANCE_SHEET = "Provenance"
#: Provenance fields that differ between machines or runs of the same seed.
VOLATILE = re.compile(
    r"^(scenario_file|threads|numpy_version|scipy_version|python_version|created_utc|.*_s)$"
)


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value).replace(str(ROOT), "<repo>")


def sheet_files(path: Path) -> dict[str, str]:
    """Each sheet's values as CSV text, by file name (a slug of the sheet's title)."""
    book = load_workbook(path)
    files = {}
    for sheet in book:
        rows = [[cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        if sheet.title == PROVENANCE_SHEET:
            rows = [row for row in rows if not VOLATILE.match(row[0])]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        slug = re.sub(r"[^a-z0-9]+", "_", sheet.title.lower()).strip("_")
        files[f"{len(files):02d}_{slug}.csv"] = buffer.getvalue()
    return files


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    code = cli.main(
        ["report", str(ROOT / "scenarios" / "example_ics.yaml"), "--out", str(out / "r.html"),
         "--xlsx", str(out / "r.xlsx"), *ARGS]
    )  # fmt: skip
    assert code == 0
    return out / "r.xlsx"


def test_workbook_sheets_match_the_golden_values(workbook, request):
    files = sheet_files(workbook)
    if request.config.getoption("--regen-golden"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        GOLDEN.mkdir(parents=True)
        for name, text in files.items():
            (GOLDEN / name).write_text(text, encoding="utf-8")
    assert GOLDEN.is_dir(), f"{GOLDEN} is missing: run this test once with --regen-golden"
    stored = sorted(p.name for p in GOLDEN.glob("*.csv"))
    assert sorted(files) == stored, (
        f"the workbook's sheets changed: now {sorted(files)}, golden {stored}. If intended, "
        "rerun with --regen-golden and commit the diff of tests/golden/."
    )
    for name, new in files.items():
        old = (GOLDEN / name).read_text(encoding="utf-8")
        changed = [
            f"line {i + 1}:\n  golden: {a}\n  now:    {b}"
            for i, (a, b) in enumerate(zip(old.splitlines(), new.splitlines(), strict=False))
            if a != b
        ]
        assert new == old, (
            f"sheet {name} differs from the golden values ({len(changed)} lines; first: "
            f"{changed[:1]}). If the change is intended, rerun with --regen-golden and commit "
            "the diff of tests/golden/."
        )


def test_volatile_fields_are_only_timings_and_machine_details():
    """What the golden leaves out of Provenance, so that it never hides a result."""
    for field in [
        "wall_time_s",
        "analysis_s",
        "created_utc",
        "threads",
        "numpy_version",
        "scipy_version",
    ]:
        assert VOLATILE.match(field)
    for field in ["seed", "draws", "scenario_hash", "max_standard_error", "baseline", "engine"]:
        assert not VOLATILE.match(field)
