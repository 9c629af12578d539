"""A history file has the limits of a scenario's files (issue 17): size, rows, regular file,
rows lined up with the header, and messages quoting only short excerpts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sct_engine.calibration.history import load_history
from sct_engine.errors import ScenarioError
from sct_engine.files import MAX_FILE_BYTES, MAX_TABLE_ROWS
from tests.guards import opened_paths

pytestmark = pytest.mark.unit

HEADER = "organisation,kind,year,plan,outturn,turnover\n"


def row(i: int) -> str:
    return f"o{i},acute,{2000 + i % 20},-1.0,{-1 - (i % 7) / 10},300\n"


def refused(path: Path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_history(path)
    (problem,) = caught.value.problems
    return str(problem)


def test_the_recorder_sees_a_history_being_read(tmp_path, monkeypatch):
    """What the two tests below rely on: reading a history opens it through ``os.open``."""
    path = tmp_path / "fine.csv"
    path.write_text(HEADER + "".join(row(i) for i in range(12)))
    with opened_paths(monkeypatch) as opened:
        load_history(path)
    assert path in opened


def test_a_file_above_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_text(HEADER + row(0).replace("o0", "o" * (MAX_FILE_BYTES + 10)))
    with opened_paths(monkeypatch) as opened:
        assert f"above the limit of {MAX_FILE_BYTES:,} bytes" in refused(path)
    assert path not in opened, "a file above the limit must be refused by its size, unread"


def test_more_rows_than_the_limit_are_refused(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(HEADER + "".join(row(i) for i in range(MAX_TABLE_ROWS + 1)))
    assert f"more than {MAX_TABLE_ROWS:,} rows" in refused(path)


def test_a_fifo_or_folder_is_named(tmp_path, monkeypatch):
    fifo = tmp_path / "history.csv"
    os.mkfifo(fifo)
    with opened_paths(monkeypatch) as opened:
        assert "named pipe (FIFO), not a file" in refused(fifo)
    assert fifo not in opened, "a FIFO must be refused by its type, never opened"
    assert "is a folder, not a file" in refused(tmp_path)


def test_a_ragged_row_is_named_with_an_excerpt(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text(
        HEADER + "".join(row(i) for i in range(12)) + row(12).strip() + ",x" * 3000 + "\n"
    )
    message = refused(path)
    assert "row 14 has 3006 cells but the header has 6 columns" in message
    assert len(message) < 400


def test_money_beyond_the_bound_is_a_named_field(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text(
        HEADER + "".join(row(i) for i in range(1, 12)) + "o0,acute,2001,-1.0,1e300,300\n"
    )
    message = refused(path)
    assert "row 13" in message and "outturn" in message and "beyond ±1,000,000,000 £m" in message


def test_a_deviation_beyond_the_turnover_is_refused_before_fitting(tmp_path):
    # A row off plan by more than its whole turnover (here 1,000,000 times it) is a unit error,
    # and once sized the likelihood's integration grid past the machine's memory.
    path = tmp_path / "units.csv"
    path.write_text(
        HEADER + "".join(row(i) for i in range(1, 12)) + "o0,acute,2001,0.5,-1e6,0.000001\n"
    )
    message = refused(path)
    assert "row 13" in message and "more than the turnover" in message
