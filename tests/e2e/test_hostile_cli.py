"""Hostile command lines (issue 17): every number has the file's limit and words, every bad
destination is refused before any work with one line, and nothing is half-written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sct_engine.cli import build_parser, main
from sct_engine.errors import ScenarioError
from sct_engine.scenario import load_scenario

pytestmark = pytest.mark.e2e

SCENARIO = {
    "name": "cli",
    "simulation": {"draws": 300, "seed": 1},
    "systems": [
        {
            "id": "sys_a",
            "organisations": [
                {"id": "trust", "kind": "provider", "plan": -1.0, "control_total": -1.0,
                 "sustainability_funding": 5.0, "sd": 2.0, "has_ae": True},
                {"id": "ccg", "kind": "commissioner", "plan": -2.0, "control_total": -3.0,
                 "sustainability_funding": 3.0, "sd": 1.0},
            ],
        }
    ],
}  # fmt: skip


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "cli.yaml"
    path.write_text(yaml.safe_dump(SCENARIO, sort_keys=False))
    return path


def file_message(tmp_path: Path, section: str, field: str, value: object) -> str:
    """The message the scenario file gets for ``section.field: value``."""
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**SCENARIO, section: {field: value}}, sort_keys=False))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return caught.value.problems[0].message


@pytest.mark.parametrize(
    ("argv", "section", "field", "value"),
    [
        (["run", "S", "--draws", "3000000000"], "simulation", "draws", 3_000_000_000),
        (["run", "S", "--seed", str(2**64)], "simulation", "seed", 2**64),
        (["compare", "S", "--draws", "3000000000"], "simulation", "draws", 3_000_000_000),
        (["report", "S", "--detail-draws", "3000000000"], "simulation", "draws", 3_000_000_000),
        (["report", "S", "--seed", "-1"], "simulation", "seed", -1),
    ],
)
def test_command_line_numbers_have_the_file_limits(
    argv, section, field, value, scenario_file, tmp_path, capsys
):
    argv = [str(scenario_file) if a == "S" else a for a in argv]
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(argv)
    assert stopped.value.code == 2
    assert file_message(tmp_path, section, field, value) in capsys.readouterr().err


@pytest.mark.parametrize("text", ["inf", "nan", "0", "1e30"])
def test_target_se_must_be_a_finite_positive_number(text, scenario_file, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", str(scenario_file), "--target-se", text])
    assert "--target-se" in capsys.readouterr().err


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


@pytest.mark.parametrize("kind", ["file", "device", "proc", "under_a_file"])
def test_run_refuses_a_bad_out_before_running(kind, scenario_file, tmp_path, capsys):
    taken = tmp_path / "taken.txt"
    taken.write_text("keep me")
    out = {
        "file": taken,
        "device": Path("/dev/null"),
        "proc": Path("/proc/sct_engine_cannot_write_here"),
        "under_a_file": taken / "out",
    }[kind]
    if kind == "proc" and not Path("/proc").is_dir():
        pytest.skip("no /proc on this system")
    code = main(["run", str(scenario_file), "--engine", "reference", "--out", str(out), "--quiet"])
    assert code == 2
    assert one_line_error(capsys).startswith(f"error: --out {out}")
    assert taken.read_text() == "keep me"


def test_run_writes_whole_results_and_replaces_them_whole(scenario_file, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["run", str(scenario_file), "--engine", "reference", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    first = (out / "national.csv").read_text()
    assert main([*argv, "--seed", "2"]) == 0
    assert (out / "national.csv").read_text() != first
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("option", ["--out", "--xlsx"])
def test_report_refuses_bad_destinations_before_the_analysis(
    option, scenario_file, tmp_path, capsys
):
    folder = tmp_path / "a_folder"
    folder.mkdir()
    argv = ["report", str(scenario_file), "--draws", "500", "--no-gradient", "--quiet"]
    argv += ["--detail-draws", "500", option, str(folder)]
    if option == "--xlsx":
        argv += ["--out", str(tmp_path / "report.html")]
    assert main(argv) == 2
    assert one_line_error(capsys).startswith(f"error: {option} {folder}: is a folder")
    assert not (tmp_path / "report.html").exists()


def test_calibrate_refuses_a_bad_out_before_fitting(tmp_path, capsys):
    rows = ["organisation,kind,year,plan,outturn,turnover"]
    rows += [f"o{i},acute,{2014 + i % 5},-1,{-1 - (i % 7) / 10},300" for i in range(40)]
    history = tmp_path / "history.csv"
    history.write_text("\n".join(rows) + "\n")
    assert main(["calibrate", str(history), "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "", "the fit must not run before the destination is known to be good"
    assert f"--out {tmp_path}: is a folder" in captured.err
