"""End to end: ``sct run --sampling sobol`` writes replicate standard errors and says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import scipy

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "example_ics.yaml"


def sct(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sct_engine.cli", *args], capture_output=True, text=True
    )


def test_sobol_run_writes_replicate_standard_errors(tmp_path):
    """4 replicates of 751 draws (3,001 asked, rounded up to a multiple of 4) on the reference."""
    out = tmp_path / "sobol"
    done = sct(
        "run", str(EXAMPLE), "--engine", "reference", "--draws", "3001", "--seed", "5",
        "--sampling", "sobol", "--replicates", "4", "--out", str(out), "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["draws"] == 3004
    assert run["sampling"] == "sobol"
    assert run["replicates"] == 4
    assert "replicate" in run["standard_errors"]
    assert "3 degrees of freedom" in run["standard_errors"]
    assert "LMS+shift" in run["scrambling"]
    assert run["scipy_version"] == scipy.__version__
    national = pd.read_csv(out / "national.csv")
    assert (national["se_expected_funding_lost"] > 0).all()
    assert run["max_standard_error"] > 0


def test_default_run_json_has_no_sampling_keys(tmp_path):
    out = tmp_path / "plain"
    done = sct(
        "run", str(EXAMPLE), "--engine", "reference", "--draws", "2000", "--out", str(out),
        "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert "sampling" not in run
    assert "scrambling" not in run
    assert run["scipy_version"] == scipy.__version__
    assert "--replicates" not in done.stderr


def test_replicates_without_sobol_warns_that_they_are_ignored(tmp_path):
    out = tmp_path / "plain"
    done = sct(
        "run", str(EXAMPLE), "--engine", "reference", "--draws", "2000", "--replicates", "8",
        "--out", str(out), "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "warning: --replicates 8 is ignored" in done.stderr
    assert "--sampling sobol" in done.stderr
    assert "sampling" not in json.loads((out / "run.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("command", ["compare", "report"])
def test_decision_commands_say_they_use_pseudo_random_draws(command):
    done = sct(command, str(EXAMPLE), "--sampling", "sobol")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "always use pseudo-random draws" in lines[0]
    assert "docs/decisions.md" in lines[0]


@pytest.mark.parametrize("value", ["1", "0", "x", "2000"])
def test_replicates_out_of_range_is_refused_in_one_line(value):
    done = sct("run", str(EXAMPLE), "--sampling", "sobol", "--replicates", value)
    assert done.returncode == 2
    assert "from 2 to 1024" in done.stderr
    assert "Traceback" not in done.stderr
