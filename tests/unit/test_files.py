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
