"""End to end: the `sct` command on the shipped scenarios, as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sct_engine.engine.results import NATIONAL_COLUMNS, ORGANISATION_COLUMNS, SYSTEM_COLUMNS
from sct_engine.rules import builtin_menu

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def sct(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sct_engine.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_console_script_is_installed():
    script = shutil.which("sct", path=str(Path(sys.executable).parent))
    assert script is not None, "pip install should put the `sct` command beside python"
    done = subprocess.run([script, "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "validate" in done.stdout


@pytest.mark.parametrize("name", ["example_ics.yaml", "wave1_2018_19.yaml"])
def test_run_writes_contract_tables(name, tmp_path):
    out = tmp_path / "out"
    done = sct("run", str(SCENARIOS / name), "--draws", "20000", "--seed", "7", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "National funding lost by scheme" in done.stdout
    expected = {
        "organisations": ORGANISATION_COLUMNS,
        "systems": SYSTEM_COLUMNS,
        "national": NATIONAL_COLUMNS,
    }
    menu = {option.name for option in builtin_menu()}
    for table, columns in expected.items():
        frame = pd.read_csv(out / f"{table}.csv")
        assert list(frame.columns[: len(columns)]) == columns
        pd.testing.assert_frame_equal(
            frame, pd.read_parquet(out / f"{table}.parquet"), check_dtype=False
        )
        assert set(frame["scheme"]) == menu
        probabilities = [c for c in frame.columns if c.startswith("p_")]
        assert ((frame[probabilities] >= 0) & (frame[probabilities] <= 1)).all().all()
        lost = frame["expected_funding_lost"]
        assert (lost >= -1e-9).all()
    run = json.loads((out / "run.json").read_text())
    assert run["draws"] == 20000 and run["seed"] == 7 and run["engine"] == "kernel"
    assert len(run["scenario_hash"]) == 64 and run["package_version"]


def test_engines_agree_end_to_end(tmp_path):
    for engine in ("kernel", "reference"):
        done = sct(
            "run",
            str(SCENARIOS / "example_ics.yaml"),
            "--draws",
            "9000",
            "--engine",
            engine,
            "--out",
            str(tmp_path / engine),
            "--quiet",
        )
        assert done.returncode == 0, done.stderr
    kernel = pd.read_csv(tmp_path / "kernel" / "systems.csv")
    reference = pd.read_csv(tmp_path / "reference" / "systems.csv")
    pd.testing.assert_frame_equal(kernel, reference, rtol=1e-9)


def test_validate_reports_good_and_bad_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (SCENARIOS / "example_ics.yaml").read_text().replace("control_total:", "contol_total:", 1)
    )
    good = sct(
        "validate", str(SCENARIOS / "example_ics.yaml"), str(SCENARIOS / "wave1_2018_19.yaml")
    )
    assert good.returncode == 0, good.stdout + good.stderr
    failed = sct("validate", str(bad))
    assert failed.returncode != 0
    assert "bad.yaml" in failed.stdout and "contol_total" in failed.stdout
    assert "Traceback" not in failed.stdout + failed.stderr


def test_run_on_a_bad_file_gives_a_message_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nsystems:\n  - id: a\n    organisations:\n      - id: b\n        kind: provider\n"
        "        plan: abc\n        control_total: 0\n        sustainability_funding: 1\n        sd: 1\n"
    )
    done = sct("run", str(bad), "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    assert "bad.yaml" in done.stderr and "plan" in done.stderr
    assert "Traceback" not in done.stderr


def test_schema_command_prints_the_contract_fields():
    done = sct("schema")
    assert done.returncode == 0
    schema = json.loads(done.stdout)
    text = json.dumps(schema)
    for name in (
        "system_linked_share",
        "sustainability_funding",
        "control_total",
        "national_share",
    ):
        assert name in text


def test_readme_commands_are_what_ci_runs():
    """.ci/run runs the README's first command, then its second, exactly as written."""
    readme = (ROOT / "README.md").read_text().splitlines()
    commands = [line for line in readme[:8] if line.startswith("python3 -m venv")]
    assert len(commands) == 2
    assert commands[0].endswith("sct run scenarios/example_ics.yaml")
    assert commands[1].endswith("python -m pytest")
    ci = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert commands[0] in ci and commands[1] in ci
    assert ci.index(commands[0]) < ci.index(commands[1])
    assert ci[-1] == commands[1], "the whole suite runs last, so its status is CI's"
    # Every command in the plain install of command 1, before command 2 installs the extras.
    assert ci.index(commands[0]) < ci.index(".ci/plain-install") < ci.index(commands[1])


def test_ci_runs_the_finance_director_block_as_the_readme_writes_it():
    """.ci/plain-install pipes the README's block (found by .ci/readme-block) into bash."""
    found = subprocess.run(
        [str(ROOT / ".ci" / "readme-block"), "sct template"], capture_output=True, text=True
    )
    assert found.returncode == 0, found.stderr
    readme = (ROOT / "README.md").read_text()
    assert found.stdout in readme, "the block is printed as the README writes it"
    commands = [line.split("#")[0].split() for line in found.stdout.splitlines()]
    assert [c[:2] for c in commands] == [
        ["sct", "template"],
        ["sct", "validate"],
        ["sct", "report"],
    ]
    assert "--xlsx" in commands[2]
    step = (ROOT / ".ci" / "plain-install").read_text()
    assert """/.ci/readme-block" 'sct template' | bash""" in step
    batch = next(line for line in step.splitlines() if line.startswith("sct batch "))
    assert "scenarios/*.yaml" in batch and "--draws" in batch
    missing = subprocess.run(
        [str(ROOT / ".ci" / "readme-block"), "no such text anywhere"], capture_output=True
    )
    assert missing.returncode != 0, "a block that is gone fails CI instead of running nothing"


def test_public_api_names_are_the_functions():
    import sct_engine
    from sct_engine import load_scenario, simulate

    assert callable(simulate) and callable(load_scenario)
    result = simulate(load_scenario(SCENARIOS / "example_ics.yaml"), draws=2000, engine="reference")
    assert isinstance(result, sct_engine.Result)
    assert len(result.national) == len(builtin_menu())


def test_validate_and_run_warn_about_a_repaired_correlation_matrix(tmp_path):
    text = (SCENARIOS / "example_ics.yaml").read_text()
    # acute_north against three members at -0.9 while they correlate 0.45-0.5: not a valid matrix.
    text = text.replace(
        "- [1.00,  0.50,  0.45,  0.45,  0.48,", "- [1.00, -0.90, -0.90, -0.90,  0.48,"
    )
    text = text.replace("- [0.50,  1.00,", "- [-0.90, 1.00,").replace(
        "- [0.45,  0.45,  1.00,", "- [-0.90, 0.45,  1.00,"
    )
    text = text.replace("- [0.45,  0.45,  0.40,  1.00,", "- [-0.90, 0.45,  0.40,  1.00,")
    bad = tmp_path / "repaired.yaml"
    bad.write_text(text)
    checked = sct("validate", str(bad))
    assert checked.returncode == 0, checked.stdout
    assert "1 warning" in checked.stdout and "systems[0].correlation.matrix" in checked.stdout
    assert "nearest valid matrix" in checked.stdout
    ran = sct("run", str(bad), "--draws", "2000", "--out", str(tmp_path / "o"), "--quiet")
    assert ran.returncode == 0, ran.stderr
    assert "warning:" in ran.stderr and "nearest valid matrix" in ran.stderr
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert any("nearest valid matrix" in w for w in run["scenario_warnings"])


def test_a_missing_dependency_is_one_line_naming_it(tmp_path):
    """`sct batch` where Dask is missing (an incomplete install): the module and the fix in one
    line, no traceback. Dask is core (issue 27), so the fix is reinstalling, not an extra."""
    code = (
        "import sys; sys.modules['distributed'] = None; sys.modules['dask'] = None\n"
        "from sct_engine.cli import main\n"
        f"raise SystemExit(main(['batch', {str(SCENARIOS / 'example_ics.yaml')!r}, "
        f"'--out', {str(tmp_path / 'b')!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "sct batch needs distributed, a dependency of sct_engine" in done.stderr
    assert "pip install" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
