"""The finance director's path on the command line: `sct template`, fill in, `sct validate`,
`sct run` / `sct report` on the workbook, `sct convert` both ways."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sct_engine.scenario import load_scenario

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "example_ics.yaml"


def sct(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sct_engine.cli", *args], capture_output=True, text=True, cwd=cwd
    )


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_template_fill_in_validate_run_and_report(tmp_path):
    book = tmp_path / "my_ics.xlsx"
    done = sct("template", str(book))
    assert done.returncode == 0, done.stderr
    assert "sct validate" in done.stdout and book.is_file()
    again = sct("template", str(book))
    assert again.returncode == 2 and "already exists" in again.stderr  # never overwrites work

    # Fill in: a third member, as a user types it in Excel.
    workbook = load_workbook(book)
    sheet = workbook["Organisations"]
    fields = {c.value: c.column for c in sheet[2]}
    for name, value in {
        "system": "my_ics",
        "id": "mh_trust",
        "kind": "provider",
        "plan": 2.7,
        "control_total": 1.5,
        "sustainability_funding": 2.2,
        "turnover": 220,
        "sd_pct": 0.8,
    }.items():
        sheet.cell(5, fields[name], value)
    workbook.save(book)
    done = sct("validate", str(book))
    assert done.returncode == 0 and "ok" in done.stdout, done.stdout + done.stderr

    out = tmp_path / "run"
    done = sct("run", str(book), "--draws", "8192", "--seed", "3", "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["scenario_file"].endswith("my_ics.xlsx") and run["scenario_hash"]

    html, xlsx = tmp_path / "board.html", tmp_path / "board.xlsx"
    done = sct(
        "report",
        str(book),
        "--out",
        str(html),
        "--xlsx",
        str(xlsx),
        "--draws",
        "8192",
        "--detail-draws",
        "2048",
        "--no-gradient",
    )
    assert done.returncode == 0, done.stderr
    assert html.is_file() and load_workbook(xlsx).sheetnames[0] == "Inputs"


def test_a_bad_cell_is_one_line_naming_it(tmp_path):
    book = tmp_path / "bad.xlsx"
    assert sct("template", str(book), "--from", str(EXAMPLE)).returncode == 0
    workbook = load_workbook(book)
    sheet = workbook["Organisations"]
    column = next(c.column_letter for c in sheet[2] if c.value == "sustainability_funding")
    sheet[f"{column}7"] = "ten"
    workbook.save(book)
    done = sct("validate", str(book))
    assert done.returncode == 1
    assert f"Organisations!{column}7 (sustainability_funding): must be a number in £m" in (
        done.stdout
    )
    done = sct("run", str(book), "--quiet")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and f"Organisations!{column}7" in done.stderr


def test_convert_both_ways(tmp_path):
    book, back = tmp_path / "example.xlsx", tmp_path / "example.yaml"
    done = sct("convert", str(EXAMPLE), str(book))
    assert done.returncode == 0, done.stderr
    done = sct("convert", str(book), str(back))
    assert done.returncode == 0, done.stderr
    assert back.read_text(encoding="utf-8").startswith("# Scenario written by `sct convert`")
    assert load_scenario(back).model_dump() == load_scenario(EXAMPLE).model_dump()
    refused = sct("convert", str(book), str(tmp_path / "example.csv"))
    assert refused.returncode == 2 and ".yaml, .yml or .xlsx" in refused.stderr
    refused = sct("convert", str(EXAMPLE), str(back))
    assert refused.returncode == 2 and "--force" in refused.stderr
