"""batch/records.py: a run's folder is published whole or not at all, status.json last, and a
record says which scenario, engine version and draws made it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from sct_engine.batch.layout import DONE, FAILED, STATUS_FILE
from sct_engine.batch.plan import RunSpec
from sct_engine.batch.records import (
    engine_version,
    exception_text,
    finished_after,
    make_record,
    publish,
    publish_failure,
    read_run_record,
    still_valid,
    utc_now,
)
from sct_engine.version import __version__

pytestmark = pytest.mark.unit

SPEC = RunSpec("example__plan=-1", "/data/example.yaml", {"plan": -1.0}, sweep="plan=-1")
PROVENANCE = {"scenario_name": "Example", "scenario_hash": "ab" * 32, "seed": 7, "draws": 2000,
              "engine": "kernel", "wall_time_s": 0.5}  # fmt: skip


class FakeResult:
    """Stands in for a Result: save() writes the run's tables (or fails half-way)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def save(self, folder: Path) -> None:
        pd.DataFrame({"scheme": ["a"], "expected_funding_lost": [1.0]}).to_csv(
            folder / "national.csv", index=False
        )
        if self.fail:
            raise OSError("disk full")


def test_a_record_names_the_run_its_scenario_engine_and_draws():
    record = make_record(SPEC, DONE, "batch-1", provenance=PROVENANCE)
    assert record["run_id"] == SPEC.run_id and record["status"] == DONE
    assert record["file"] == SPEC.file and record["sweep_values"] == {"plan": -1.0}
    assert record["scenario_hash"] == "ab" * 32 and record["seed"] == 7
    assert record["draws"] == 2000 and record["batch_id"] == "batch-1"
    assert record["engine_version"] == engine_version()
    assert engine_version().startswith(f"{__version__}+src.")
    assert finished_after(record, "2000-01-01T00:00:00+00:00")


def test_publish_writes_the_folder_whole_with_status_last(tmp_path):
    folder = tmp_path / "runs" / SPEC.run_id
    folder.parent.mkdir()
    record = make_record(SPEC, DONE, "b", provenance=PROVENANCE)
    publish(folder, record, FakeResult(), time.perf_counter())
    assert sorted(p.name for p in folder.iterdir()) == ["national.csv", STATUS_FILE]
    assert read_run_record(folder) == json.loads((folder / STATUS_FILE).read_text())
    assert read_run_record(folder)["wall_time_s"] >= 0
    assert [p.name for p in folder.parent.iterdir()] == [SPEC.run_id], "no temporary left"


def test_a_failed_write_leaves_no_folder_and_keeps_the_old_one(tmp_path):
    folder = tmp_path / SPEC.run_id
    record = make_record(SPEC, DONE, "b", provenance=PROVENANCE)
    with pytest.raises(OSError, match="disk full"):
        publish(folder, record, FakeResult(fail=True), time.perf_counter())
    assert list(tmp_path.iterdir()) == []
    publish(folder, dict(record), FakeResult(), time.perf_counter())
    before = (folder / STATUS_FILE).read_text()
    with pytest.raises(OSError):
        publish(folder, make_record(SPEC, DONE, "c"), FakeResult(fail=True), time.perf_counter())
    assert (folder / STATUS_FILE).read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == [SPEC.run_id]


def test_publishing_again_replaces_the_run(tmp_path):
    folder = tmp_path / SPEC.run_id
    publish(folder, make_record(SPEC, DONE, "first"), FakeResult(), time.perf_counter())
    publish_failure(folder, SPEC, "example.yaml: plan: bad", time.perf_counter(), "second")
    record = read_run_record(folder)
    assert record["status"] == FAILED and record["batch_id"] == "second"
    assert record["error"] == "example.yaml: plan: bad"
    assert not (folder / "national.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == [SPEC.run_id]


@pytest.mark.parametrize(
    "content",
    [None, "not json", "[1, 2]", '{"status": "done"}', '{"run_id": "x", "status": "running"}'],
)
def test_a_folder_without_a_run_record_has_not_finished(tmp_path, content):
    if content is not None:
        (tmp_path / STATUS_FILE).write_text(content)
    assert read_run_record(tmp_path) is None


def test_still_valid_needs_done_same_scenario_and_engine():
    done = make_record(SPEC, DONE, "b", provenance=PROVENANCE)
    assert still_valid(done, "ab" * 32)
    assert not still_valid(done, "cd" * 32)
    assert not still_valid({**done, "status": FAILED}, "ab" * 32)
    assert not still_valid({**done, "engine_version": "0.0.1+src.000000000000"}, "ab" * 32)
    assert not still_valid(None, "ab" * 32)


def test_finished_after_orders_by_time_and_refuses_garbage():
    now = utc_now()
    assert finished_after({"finished_utc": now}, now)
    assert not finished_after({"finished_utc": "2001-01-01T00:00:00+00:00"}, now)
    assert not finished_after({"finished_utc": "yesterday"}, now)
    assert not finished_after({}, now)


def test_exception_text_names_the_file_and_the_error():
    assert exception_text("a.yaml", ValueError("bad")) == "a.yaml: ValueError: bad"
