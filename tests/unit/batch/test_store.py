"""batch/store.py: the manifest and combined results are views of the finished run folders,
with fixed column types, exact seeds and sweep values, and a clear message when unreadable."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from sct_engine.batch.layout import (
    DONE,
    FAILED,
    MANIFEST_CSV,
    MANIFEST_PARQUET,
    RESULT_TABLES,
    RESULTS_DIR,
    RUNS_DIR,
    TaskContext,
)
from sct_engine.batch.plan import RunSpec
from sct_engine.batch.records import make_record, publish
from sct_engine.batch.store import (
    FLOAT,
    MANIFEST_COLUMNS,
    RESULT_RUN_COLUMNS,
    TEXT,
    BatchOutputError,
    finished_runs,
    manifest_frame,
    read_manifest,
    read_results,
    sweep_kinds,
    write_manifest,
    write_results_part,
)

pytestmark = pytest.mark.unit

BIG_SEED = 2**64 - 1


class Tables:
    """Stands in for a Result: save() writes each of the run's tables as Parquet."""

    def __init__(self, lost: float) -> None:
        self.lost = lost

    def save(self, folder) -> None:
        for table in RESULT_TABLES:
            frame = pd.DataFrame({"scheme": ["a", "b"], "expected_funding_lost": [self.lost, 0.5]})
            frame.to_parquet(folder / f"{table}.parquet", index=False)


def record(run_id: str, status: str = DONE, **extra) -> dict:
    spec = RunSpec(run_id, f"/in/{run_id}.yaml", extra.pop("point", None))
    provenance = {"scenario_hash": "h", "seed": extra.pop("seed", 1), "draws": 2000}
    return {**make_record(spec, status, "b1", provenance=provenance), **extra}


def test_manifest_rows_sorted_with_fixed_columns_and_types():
    frame = manifest_frame(
        [
            record("b", FAILED, error="b.yaml: plan: bad", draws=None),
            record("a", seed=BIG_SEED, wall_time_s="oops"),
        ]
    )
    assert list(frame.columns) == MANIFEST_COLUMNS
    assert list(frame["run_id"]) == ["a", "b"]
    assert frame["seed"].tolist() == [str(BIG_SEED), "1"], "seeds beyond 64 bits kept as text"
    assert str(frame["draws"].dtype) == "Int64" and pd.isna(frame.loc[1, "draws"])
    assert frame["wall_time_s"].dtype == "float64" and pd.isna(frame.loc[0, "wall_time_s"])
    assert frame.loc[1, "error"] == "b.yaml: plan: bad"


def test_sweep_values_get_a_column_each_exact_where_float_would_round():
    records = [
        record("p0", point={"share": 0.25, "simulation.seed": 2**63 + 1}),
        record("p1", point={"share": 0.75, "simulation.seed": 3}),
    ]
    kinds = sweep_kinds(records)
    assert kinds == {"share": FLOAT, "simulation.seed": TEXT}
    frame = manifest_frame(records)
    assert frame["sweep.share"].tolist() == [0.25, 0.75]
    assert frame["sweep.simulation.seed"].tolist() == [str(2**63 + 1), "3"]


def test_manifest_round_trips_in_parquet_and_csv(tmp_path):
    write_manifest(tmp_path, [record("a"), record("b", FAILED, error="bad")])
    back = read_manifest(tmp_path)
    assert list(back["run_id"]) == ["a", "b"] and list(back["status"]) == [DONE, FAILED]
    assert list(pd.read_csv(tmp_path / MANIFEST_CSV).columns) == MANIFEST_COLUMNS
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST_CSV, MANIFEST_PARQUET]


@pytest.mark.parametrize("content", [None, b"PAR1 garbage", "table"])
def test_an_unreadable_manifest_is_one_message_with_the_fix(tmp_path, content):
    if content == "table":
        pd.DataFrame({"x": [1]}).to_parquet(tmp_path / MANIFEST_PARQUET)
    elif content is not None:
        (tmp_path / MANIFEST_PARQUET).write_bytes(content)
    with pytest.raises(BatchOutputError) as caught:
        read_manifest(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / MANIFEST_PARQUET) in message and "Fix:" in message
    assert "\n" not in message


def test_finished_runs_are_the_published_folders_only(tmp_path):
    runs = tmp_path / RUNS_DIR
    publish(runs / "a", record("a"), Tables(1.0), time.perf_counter())
    (runs / ".tmp-b-0123abcd").mkdir()  # being written
    (runs / "notes").mkdir()  # no status.json
    (runs / "stray.txt").write_text("x")
    found = finished_runs(tmp_path)
    assert list(found) == ["a"] and found["a"]["status"] == DONE
    assert finished_runs(tmp_path / "nowhere") == {}


def test_results_parts_carry_run_and_sweep_columns_and_read_back_as_one(tmp_path):
    context = TaskContext(str(tmp_path), str(tmp_path / "numba"))
    done = [record("a", point={"share": 0.25}), record("b", point={"share": 0.75})]
    publish(context.runs / "a", done[0], Tables(1.0), time.perf_counter())
    publish(context.runs / "b", done[1], Tables(2.0), time.perf_counter())
    (context.runs / "c").mkdir()  # a damaged folder: its tables cannot be read
    damaged = record("c")
    kinds = sweep_kinds(done)
    folder = tmp_path / RESULTS_DIR
    assert write_results_part(context, str(folder), 0, done[:1], kinds) == []
    assert write_results_part(context, str(folder), 1, [done[1], damaged], kinds) == ["c"]
    for table in RESULT_TABLES:
        combined = read_results(tmp_path, table)
        assert list(combined.columns[: len(RESULT_RUN_COLUMNS)]) == RESULT_RUN_COLUMNS
        assert "sweep.share" in combined.columns
        by_run = combined.groupby("run_id")["expected_funding_lost"].first().to_dict()
        assert by_run == {"a": 1.0, "b": 2.0}
    with pytest.raises(ValueError, match="unknown table"):
        read_results(tmp_path, "members")


def test_missing_results_are_one_message_with_the_fix(tmp_path):
    with pytest.raises(BatchOutputError, match="Fix: run the batch command again"):
        read_results(tmp_path, "national")
