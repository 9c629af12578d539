"""Outputs written whole or not at all (files.py): a folder of results is swapped in with
its old versions put back when a rename fails, and never staged where it would be left."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sct_engine import files
from sct_engine.errors import OutputError
from sct_engine.files import write_folder_atomically

pytestmark = pytest.mark.unit


def writer(text: str):
    return lambda path: Path(path).write_text(text)


NAMES = ("a.csv", "b.csv", "c.csv")


def test_a_new_folder_is_the_staging_folder_renamed(tmp_path):
    out = tmp_path / "deeper" / "run"
    write_folder_atomically(out, {n: writer(f"new {n}") for n in NAMES}, "--out")
    assert sorted(p.name for p in out.iterdir()) == list(NAMES)
    assert [p.name for p in out.parent.iterdir()] == ["run"]  # no staging folder left beside it


def test_an_existing_folder_gets_every_new_file_and_keeps_its_others(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    for name in (*NAMES, "status.json"):
        (out / name).write_text(f"old {name}")
    write_folder_atomically(out, {n: writer(f"new {n}") for n in NAMES}, "--out")
    assert {p.name: p.read_text() for p in out.iterdir()} == {
        **{n: f"new {n}" for n in NAMES},
        "status.json": "old status.json",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


@pytest.mark.parametrize("failing", [1, 2, 3])
def test_a_rename_failing_partway_leaves_the_old_outputs_intact(tmp_path, monkeypatch, failing):
    """The ``failing``-th rename of the swap fails (after the first new file is in place for
    failing > 1): the folder must hold exactly the old files, nothing new, nothing hidden."""
    out = tmp_path / "run"
    out.mkdir()
    old = {name: f"old {name}" for name in (*NAMES[:2], "status.json")}  # c.csv is new
    for name, text in old.items():
        (out / name).write_text(text)
    real_replace = os.replace
    calls = []

    def flaky(src, dst):
        calls.append((src, dst))
        if len(calls) == failing:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", flaky)
    with pytest.raises(OutputError) as caught:
        write_folder_atomically(out, {n: writer(f"new {n}") for n in NAMES}, "--out")
    monkeypatch.undo()
    assert len(calls) >= failing
    assert "No space left on device" in str(caught.value) and str(out) in str(caught.value)
    assert {p.name: p.read_text() for p in out.iterdir()} == old
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_every_name_holds_a_whole_file_at_every_step_of_the_swap(tmp_path, monkeypatch):
    """Were the process killed between any two steps, no output would be missing: before each
    rename every file the folder had is still there (old or new), never moved away."""
    out = tmp_path / "run"
    out.mkdir()
    for name in NAMES:
        (out / name).write_text(f"old {name}")
    real_replace = os.replace
    seen = []

    def watched(src, dst):
        seen.append({name: (out / name).read_text() for name in NAMES if (out / name).exists()})
        return real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", watched)
    write_folder_atomically(out, {n: writer(f"new {n}") for n in NAMES}, "--out")
    monkeypatch.undo()
    assert len(seen) == len(NAMES)
    for step, present in enumerate(seen):
        assert sorted(present) == list(NAMES), f"a file was missing before rename {step + 1}"
        assert present == {n: ("new " if i < step else "old ") + n for i, n in enumerate(NAMES)}


# --- outputs never replace inputs, text is never a formula (issue 22) -----------------------


def test_an_output_is_refused_by_every_name_of_an_input(tmp_path):
    source = tmp_path / "s.yaml"
    source.write_text("name: x\n")
    os.link(source, tmp_path / "hard.yaml")
    (tmp_path / "soft.yaml").symlink_to(source)
    (tmp_path / "sub").mkdir()
    inputs = [("the scenario file", source)]
    for name in ("s.yaml", "hard.yaml", "soft.yaml", "sub/../s.yaml"):
        with pytest.raises(OutputError, match="is the scenario file, an input"):
            files.check_destinations([("--out", tmp_path / name)], inputs)
    files.check_destinations([("--out", tmp_path / "other.yaml")], inputs)  # no clash: fine


def test_two_outputs_to_one_file_are_refused(tmp_path):
    out = tmp_path / "r.html"
    with pytest.raises(OutputError, match="is also where --out is written"):
        files.check_destinations([("--out", out), ("--xlsx", tmp_path / "." / "r.html")], [])


@pytest.mark.parametrize(
    ("given", "suggested"), [("board.pdf", "board.html"), ("board", "board.html")]
)
def test_an_output_named_for_another_format_is_refused(given, suggested, tmp_path):
    with pytest.raises(OutputError, match=suggested):
        files.check_output_file(tmp_path / given, "--out", suffixes=(".html", ".htm"))
    assert files.check_output_file(tmp_path / "b.HTML", "--out", suffixes=(".html",))


def test_csv_text_cells_are_quoted_and_numbers_stay_numbers(tmp_path):
    import pandas as pd

    frame = pd.DataFrame(
        {
            "scheme": ["-own", "=HYPERLINK(1)", "+1", "@x", "\tt", "plain", "-"],
            "value": [-1.5, -2.0, 3.0, -0.0, 1e-9, -7.25, 0.0],
        }
    )
    path = tmp_path / "t.csv"
    files.write_csv(frame, path)
    back = pd.read_csv(path, keep_default_na=False)
    assert list(back["scheme"]) == ["'-own", "'=HYPERLINK(1)", "'+1", "'@x", "'\tt", "plain", "'-"]
    assert back["value"].dtype == float and list(back["value"]) == list(frame["value"])
    assert frame["scheme"].iloc[0] == "-own", "the frame written is left as it was"


def test_a_text_cell_holds_a_formula_like_name_as_text(tmp_path):
    from openpyxl import Workbook, load_workbook

    book = Workbook()
    sheet = book.active
    files.text_cell(sheet.cell(1, 1), "=1+1")
    files.text_cell(sheet.cell(2, 1), "bell\a")
    files.text_cell(sheet.cell(3, 1), -2.5)
    book.save(tmp_path / "t.xlsx")
    back = load_workbook(tmp_path / "t.xlsx").active
    assert (back["A1"].value, back["A1"].data_type) == ("=1+1", "s")
    assert back["A2"].value == "bell\ufffd" and back["A3"].value == -2.5
