"""YAML -> workbook -> YAML gives identical results: the shipped scenarios simulated at a fixed
seed from the YAML file, from its workbook and from the YAML converted back, table for table,
exactly (correlation matrices, per-organisation tails and quarterly settings included)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sct_engine import simulate
from sct_engine.scenario import load_scenario
from sct_engine.scenario.dumping import scenario_yaml
from sct_engine.scenario.workbook.writer import write_scenario_workbook

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
DRAWS, SEED = 16_384, 11
#: Fields that only say where members came from; the members themselves are compared.
NOT_COMPARED = {"organisations_csv": True, "systems": {"__all__": {"organisations_csv"}}}


@pytest.mark.parametrize("name", ["example_ics.yaml", "wave1_2018_19.yaml"])
def test_round_trip_gives_identical_results(name, tmp_path):
    original = load_scenario(ROOT / "scenarios" / name)
    book = write_scenario_workbook(tmp_path / "scenario.xlsx", original)
    from_book = load_scenario(book)
    back = tmp_path / "back.yaml"
    back.write_text(scenario_yaml(from_book, book.name), encoding="utf-8")
    from_back = load_scenario(back)

    expected = original.model_dump(exclude=NOT_COMPARED)
    assert from_book.model_dump(exclude=NOT_COMPARED) == expected
    assert from_back.model_dump(exclude=NOT_COMPARED) == expected
    if name == "example_ics.yaml":  # the features the layout must carry are really there
        assert original.systems[0].correlation is not None
        assert any(org.tail is not None for org in original.systems[0].organisations)
        assert original.uncertainty.quarterly_variance is not None

    runs = [simulate(s, draws=DRAWS, seed=SEED) for s in (original, from_book, from_back)]
    for table in ("organisations", "systems", "national"):
        first: pd.DataFrame = getattr(runs[0], table)
        for other in runs[1:]:
            pd.testing.assert_frame_equal(getattr(other, table), first, check_exact=True)
