"""Sweeps: a ``sweep:`` block expands into the right points, applied to the right fields."""

from __future__ import annotations

import copy
import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sct_engine.errors import ScenarioError
from sct_engine.rules import builtin_menu
from sct_engine.scenario import parse_scenario, sweep
from sct_engine.scenario.sweep import apply_point, parse_path, point_label, point_slug, sweep_points

pytestmark = pytest.mark.unit

FILE = "/data/sweeps/small.yaml"


def scenario_data() -> dict:
    """A valid two-organisation scenario without ``schemes`` or ``uncertainty`` (defaults)."""
    return {
        "name": "sweep base",
        "simulation": {"draws": 1000, "seed": 3},
        "systems": [
            {
                "id": "s1",
                "organisations": [
                    {"id": "trust", "kind": "provider", "plan": -1.0, "control_total": -1.5,
                     "sustainability_funding": 5.0, "sd": 2.0, "has_ae": True},
                    {"id": "ccg", "kind": "commissioner", "plan": 0.5, "control_total": 0.0,
                     "sustainability_funding": 2.0, "sd": 1.0},
                ],
            }
        ],
    }  # fmt: skip


def problems_of(spec, data=None) -> str:
    with pytest.raises(ScenarioError) as caught:
        sweep_points(spec, data or scenario_data(), FILE)
    return str(caught.value)


# --- expansion ---------------------------------------------------------------------------


def test_grid_is_every_combination_last_path_fastest():
    spec = {
        "uncertainty.national_share": [0.1, 0.3],
        "schemes[2].system_linked_share": [0, 0.5, 1],
    }
    points = sweep_points(spec, scenario_data(), FILE)
    expected = [
        {"uncertainty.national_share": a, "schemes[2].system_linked_share": b}
        for a, b in itertools.product([0.1, 0.3], [0, 0.5, 1])
    ]
    assert points == expected


def test_list_of_points_is_taken_as_written():
    spec = [
        {"uncertainty.national_share": 0.1, "uncertainty.system_share": 0.2},
        {"uncertainty.national_share": 0.3, "uncertainty.system_share": 0.4},
    ]
    assert sweep_points(spec, scenario_data(), FILE) == spec


def test_ellipsis_progression_reaches_the_last_value_in_clean_steps():
    points = sweep_points(
        {"schemes[3].system_linked_share": [0, 0.1, "...", 1]}, scenario_data(), FILE
    )
    values = [p["schemes[3].system_linked_share"] for p in points]
    assert values == [round(0.1 * i, 10) for i in range(11)]
    assert values[3] == 0.3  # not 0.30000000000000004


def test_integer_progression_stays_integer():
    points = sweep_points({"simulation.seed": [1, 2, "...", 5]}, scenario_data(), FILE)
    values = [p["simulation.seed"] for p in points]
    assert values == [1, 2, 3, 4, 5] and all(isinstance(v, int) for v in values)


def test_range_includes_both_ends():
    points = sweep_points(
        {"uncertainty.system_share": {"start": 0.0, "stop": 0.5, "num": 6}}, scenario_data(), FILE
    )
    assert [p["uncertainty.system_share"] for p in points] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(
            st.floats(0, 1, allow_nan=False, allow_infinity=False),
            min_size=1,
            max_size=4,
            unique=True,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_grid_size_is_the_product_and_names_are_distinct(axes):
    paths = [
        "uncertainty.national_share",
        "uncertainty.system_share",
        "schemes[0].system_linked_share",
    ]
    spec = dict(zip(paths, axes, strict=False))
    points = sweep_points(spec, scenario_data(), FILE)
    assert len(points) == math.prod(len(values) for values in axes)
    assert len({point_slug(p) for p in points}) == len(points)
    assert len({point_label(p) for p in points}) == len(points)


# --- applying a point ---------------------------------------------------------------------


def test_point_on_an_omitted_menu_changes_only_that_option():
    data = scenario_data()
    before = copy.deepcopy(data)
    swept = apply_point(data, {"schemes[2].system_linked_share": 0.4}, FILE)
    assert data == before, "apply_point must not change its input"
    scenario = parse_scenario(swept)
    menu = builtin_menu()
    assert [s.name for s in scenario.schemes] == [s.name for s in menu]
    assert scenario.schemes[2].system_linked_share == 0.4
    for k, option in enumerate(menu):
        if k != 2:
            assert scenario.schemes[k] == option


def test_point_on_an_omitted_mapping_uses_its_defaults_for_the_rest():
    swept = apply_point(scenario_data(), {"uncertainty.national_share": 0.35}, FILE)
    scenario = parse_scenario(swept)
    assert scenario.uncertainty.national_share == 0.35
    assert (
        scenario.uncertainty.system_share
        == parse_scenario(scenario_data()).uncertainty.system_share
    )


def test_point_on_an_organisation_field():
    swept = apply_point(scenario_data(), {"systems[0].organisations[1].sd": 2.5}, FILE)
    assert parse_scenario(swept).systems[0].organisations[1].sd == 2.5


def test_sweep_changes_the_scenario_hash():
    a = parse_scenario(apply_point(scenario_data(), {"uncertainty.national_share": 0.1}, FILE))
    b = parse_scenario(apply_point(scenario_data(), {"uncertainty.national_share": 0.3}, FILE))
    assert a.content_hash != b.content_hash


def test_parse_path():
    assert parse_path("systems[0].organisations[12].sd") == (
        "systems",
        0,
        "organisations",
        12,
        "sd",
    )


def test_label_and_slug():
    point = {"schemes[2].system_linked_share": 0.5, "simulation.seed": 7}
    assert point_label(point) == "schemes[2].system_linked_share=0.5, simulation.seed=7"
    assert point_slug(point) == "schemes.2.system_linked_share=0.5__simulation.seed=7"


# --- errors name the file and the path ----------------------------------------------------


def test_unknown_field_names_file_path_and_suggestion():
    text = problems_of({"uncertainty.natinal_share": [0.1]})
    assert FILE in text and "sweep.uncertainty.natinal_share" in text
    assert "did you mean `national_share`" in text


def test_index_past_the_end_names_the_list_length():
    text = problems_of({"schemes[6].system_linked_share": [0.1]})
    assert FILE in text and "sweep.schemes[6].system_linked_share" in text
    assert "has 6 entries" in text


def test_every_bad_path_is_reported_at_once():
    text = problems_of({"schemes[9].system_linked_share": [0.1], "simulaton.seed": [1]})
    assert "schemes[9]" in text and "simulaton" in text


def test_list_field_without_an_index():
    text = problems_of({"systems.organisations": [1]})
    assert "`systems` is a list" in text and "systems[0].organisations" in text


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"uncertainty.national_share": ["a lot"]}, "finite numbers"),
        ({"uncertainty.national_share": [True]}, "finite numbers"),
        ({"uncertainty.national_share": []}, "non-empty list"),
        ({"uncertainty.national_share": 0.1}, "non-empty list"),
        ({"uncertainty.national_share": [0.1, 0.1]}, "more than once"),
        ({"uncertainty.national_share": [0, 0.3, "...", 1]}, "whole steps"),
        ({"uncertainty.national_share": [0, "...", 1]}, "[first, second, ..., last]"),
        ({"uncertainty.national_share": {"start": 0, "stop": 1}}, "start, stop and num"),
        ({"uncertainty..national_share": [0.1]}, "not a field name"),
        ({}, "is empty"),
        ([], "empty list"),
        (
            [{"uncertainty.national_share": 0.1}, {"uncertainty.national_share": 0.1}],
            "repeats point",
        ),
        ("national_share", "mapping of field paths"),
    ],
)
def test_malformed_sweeps_are_explained(spec, fragment):
    text = problems_of(spec)
    assert FILE in text and fragment in text


def test_too_many_runs_is_refused(monkeypatch):
    monkeypatch.setattr(sweep, "MAX_SWEEP_RUNS", 5)
    text = problems_of({"uncertainty.national_share": [0.1, 0.2, 0.3], "simulation.seed": [1, 2]})
    assert "6 runs" in text
