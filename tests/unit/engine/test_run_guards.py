"""A run's guards (issue 17): memory estimated and checked before allocating, run numbers with
the file's limits, every figure finite before anything is written, results written all or none."""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sct_engine.engine.memory import parse_bytes
from sct_engine.engine.simulate import simulate
from sct_engine.errors import OutputError, ScenarioError
from sct_engine.scenario import parse_scenario

pytestmark = pytest.mark.unit


def scenario_data(options: int = 2, systems: int = 2, members: int = 3, **extra: Any) -> dict:
    return {
        "name": "guards",
        "schemes": [
            {
                "name": f"linked_{k}",
                "system_linked_share": k / max(options, 1),
                "redistribution": "full",
            }
            for k in range(options)
        ],
        "systems": [
            {
                "id": f"s{i}",
                "organisations": [
                    {
                        "id": f"o{i}_{j}",
                        "kind": "provider",
                        "plan": -1.0,
                        "control_total": -1.0,
                        "sustainability_funding": 2.0,
                        "sd": 1.5,
                        "has_ae": True,
                    }
                    for j in range(members)
                ],
            }
            for i in range(systems)
        ],
        **extra,
    }


# --- memory ---------------------------------------------------------------------------


def test_a_run_too_large_for_the_memory_limit_is_refused_before_allocating(monkeypatch):
    scenario = parse_scenario(scenario_data(options=300, systems=5, members=2))
    monkeypatch.setenv("SCT_MEMORY_LIMIT", "20MiB")
    tracemalloc.start()
    try:
        with pytest.raises(ScenarioError) as caught:
            simulate(scenario, draws=1, engine="reference")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    (problem,) = caught.value.problems
    assert "300 scheme options x 10 organisations" in problem.message
    assert "above the limit of 20.0 MiB" in problem.message and "SCT_MEMORY_LIMIT" in problem.fix
    assert peak < 20 * 2**20
    monkeypatch.delenv("SCT_MEMORY_LIMIT")
    with pytest.raises(ScenarioError):
        simulate(scenario, draws=1, engine="reference", memory_limit=20 * 2**20)
    assert simulate(scenario, draws=1, engine="reference", memory_limit=2**40).draws == 1


@pytest.mark.parametrize(
    ("text", "value"), [("16GiB", 16 * 2**30), ("512M", 512 * 2**20), ("1e9", 10**9)]
)
def test_memory_limit_text(text, value):
    assert parse_bytes(text) == value


def test_a_bad_memory_limit_setting_is_named(monkeypatch):
    monkeypatch.setenv("SCT_MEMORY_LIMIT", "lots")
    with pytest.raises(ScenarioError) as caught:
        simulate(parse_scenario(scenario_data()), draws=1, engine="reference")
    assert caught.value.problems[0].file == "SCT_MEMORY_LIMIT"


# --- run numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"draws": 3_000_000_000}, "draws"),
        ({"draws": 10**30}, "draws"),
        ({"seed": 2**64}, "seed"),
        ({"seed": -1}, "seed"),
        ({"target_se": math.inf}, "target_se"),
        ({"target_se": math.nan}, "target_se"),
        ({"draws": True}, "draws"),
    ],
)
def test_run_numbers_have_the_file_limits(given, field):
    scenario = parse_scenario(scenario_data())
    with pytest.raises(ScenarioError) as caught:
        simulate(scenario, engine="reference", **given)
    (problem,) = caught.value.problems
    assert problem.field == field
    if field == "draws" and given[field] is not True:
        with pytest.raises(ScenarioError) as in_file:
            parse_scenario(scenario_data(simulation={"draws": given["draws"]}))
        assert in_file.value.problems[0].message == problem.message


# --- finite figures and whole outputs -------------------------------------------------


@pytest.fixture
def result():
    return simulate(parse_scenario(scenario_data()), draws=500, seed=3, engine="reference")


def test_a_non_finite_figure_is_refused_and_nothing_is_written(result, tmp_path):
    result.stats.org_outturn_sum[1] = np.inf
    out = tmp_path / "out"
    with pytest.raises(ScenarioError) as caught:
        result.save(out)
    message = caught.value.problems[0].message
    assert "organisations.expected_outturn = inf" in message and "organisation o0_1" in message
    assert not out.exists()


def test_outputs_are_written_all_or_none(result, tmp_path, monkeypatch):
    out = tmp_path / "out"
    result.save(out)
    (out / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = []

    def failing_parquet(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return original(self, path, *args, **kwargs)

    original = pd.DataFrame.to_parquet
    monkeypatch.setattr(pd.DataFrame, "to_parquet", failing_parquet)
    result.stats.org_outturn_sum[:] += 1.0  # the new tables differ from the old ones
    with pytest.raises(OutputError) as caught:
        result.save(out)
    assert "No space left on device" in str(caught.value) and str(out) in str(caught.value)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before, "old results untouched"


def test_a_new_folder_appears_whole(result, tmp_path):
    out = tmp_path / "deep" / "out"
    result.save(out)
    tables = [
        f"{t}.{e}" for t in ("organisations", "systems", "national") for e in ("csv", "parquet")
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted([*tables, "run.json"])
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("kind", ["file", "device"])
def test_a_bad_destination_is_refused(result, tmp_path, kind):
    target = tmp_path / "taken" if kind == "file" else Path("/dev/null")
    if kind == "file":
        target.write_text("keep me")
    with pytest.raises(OutputError) as caught:
        result.save(target)
    assert "not a folder" in str(caught.value)
    if kind == "file":
        assert target.read_text() == "keep me"
