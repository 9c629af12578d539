"""`--files-root` reaches `sct report`'s scenarios without changing the process, and
`sct template` / `sct convert` check their destination first and write it whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from sct_engine.cli import main
from sct_engine.scenario import FILES_ROOT_ENV
from tests.e2e.test_hostile_cli import SCENARIO, one_line_error

pytestmark = pytest.mark.e2e

MEMBERS = (
    "id,kind,plan,control_total,sustainability_funding,sd\n"
    "trust,provider,-1.0,-1.0,5.0,2.0\n"
    "ccg,commissioner,-2.0,-3.0,3.0,1.0\n"
)


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "cli.yaml"
    path.write_text(yaml.safe_dump(SCENARIO, sort_keys=False))
    return path


def test_report_files_root_opens_a_wider_folder_for_this_call_only(tmp_path, monkeypatch):
    monkeypatch.delenv(FILES_ROOT_ENV, raising=False)
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "members.csv").write_text(MEMBERS)
    data = {**SCENARIO, "systems": [{"id": "sys_a", "organisations_csv": "../common/members.csv"}]}
    (tmp_path / "scenarios").mkdir()
    scenario = tmp_path / "scenarios" / "shared.yaml"
    scenario.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "report.html"
    argv = ["report", str(scenario), "--engine", "reference", "--draws", "500"]
    argv += ["--detail-draws", "500", "--no-gradient", "--quiet", "--out", str(out)]
    assert main(argv) == 2, "without --files-root the table outside its folder is refused"
    assert not out.exists()
    assert main([*argv, "--files-root", str(tmp_path)]) == 0
    assert out.is_file() and "trust" in out.read_text()
    assert FILES_ROOT_ENV not in os.environ, "--files-root must not outlive its command"
    assert main(argv) == 2, "nor open the folder to a later command in the same process"


@pytest.mark.parametrize("command", ["template", "convert"])
@pytest.mark.parametrize("kind", ["folder", "under_a_file", "proc"])
def test_template_and_convert_refuse_a_bad_destination_before_reading(
    command, kind, scenario_file, tmp_path, capsys, monkeypatch
):
    import sct_engine.scenario.commands as commands

    def no_reading(*args, **kwargs):
        raise AssertionError("read the scenario before checking the destination")

    monkeypatch.setattr(commands, "load_scenario", no_reading)
    taken = tmp_path / "taken.txt"
    taken.write_text("keep me")
    (tmp_path / "folder.xlsx").mkdir()
    out = {
        "folder": tmp_path / "folder.xlsx",
        "under_a_file": taken / "book.xlsx",
        "proc": Path("/proc/sct_engine_cannot_write_here.xlsx"),
    }[kind]
    if kind == "proc" and not Path("/proc").is_dir():
        pytest.skip("no /proc on this system")
    argv = {
        "template": ["template", str(out), "--from", str(scenario_file), "--force"],
        "convert": ["convert", str(scenario_file), str(out), "--force"],
    }[command]
    assert main(argv) == 2
    line = one_line_error(capsys)
    assert line.startswith(f"error: {out}:")
    if kind == "folder":  # the file name suggested is a workbook's, not a report page's
        assert "e.g. my_ics.xlsx" in line
    assert taken.read_text() == "keep me"


@pytest.mark.parametrize("command", ["template", "convert"])
def test_a_failed_write_leaves_the_existing_file_untouched(
    command, scenario_file, tmp_path, capsys, monkeypatch
):
    import sct_engine.scenario.workbook.writer as writer

    def half_written(path, scenario=None):
        Path(path).write_bytes(b"PK half a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "write_scenario_workbook", half_written)
    out = tmp_path / "book.xlsx"
    out.write_bytes(b"the user's filled-in workbook")
    argv = {
        "template": ["template", str(out), "--force"],
        "convert": ["convert", str(scenario_file), str(out), "--force"],
    }[command]
    assert main(argv) == 2
    line = one_line_error(capsys)
    assert line.startswith(f"error: {out}:") and "No space left on device" in line
    assert out.read_bytes() == b"the user's filled-in workbook"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_compare_with_the_reference_engine_needs_no_numba(scenario_file, monkeypatch, capsys):
    """The memory check asks numba for its threads only when the kernel will run."""
    import sys

    monkeypatch.setitem(sys.modules, "numba", None)  # any `import numba` now fails
    argv = ["compare", str(scenario_file), "--engine", "reference", "--draws", "500"]
    assert main(argv) == 0, capsys.readouterr().err
