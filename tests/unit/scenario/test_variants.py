"""A file as the runs it asks for: sweep points and ``--set`` changes, labelled and recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sct_engine.errors import ScenarioError
from sct_engine.rules import builtin_menu
from sct_engine.scenario import (
    apply_point,
    load_point,
    load_scenario,
    load_variants,
    parse_scenario,
    parse_sets,
    scheme_labels,
    sweep_points,
)

pytestmark = pytest.mark.unit

MENU = [option.name for option in builtin_menu()]


def scenario_data() -> dict[str, Any]:
    return {
        "name": "variants",
        "simulation": {"draws": 1000, "seed": 3},
        "systems": [
            {
                "id": "s1",
                "organisations": [
                    {"id": "trust", "kind": "provider", "plan": -1.0, "control_total": -1.5,
                     "sustainability_funding": 5.0, "sd": 2.0, "has_ae": True},
                    {"id": "ccg", "kind": "commissioner", "plan": 0.5, "control_total": -1.0,
                     "sustainability_funding": 2.0, "sd": 1.0},
                ],
            }
        ],
    }  # fmt: skip


SWEEP = {"uncertainty.national_share": [0.1, 0.3], "schemes[3].system_linked_share": [0, 0.5]}


def write(tmp_path: Path, data: dict[str, Any], name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def problems_of(call: Any) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        call()
    return [str(p) for p in caught.value.problems]


# --- plain files and sweeps ---------------------------------------------------------------------


def test_a_plain_file_is_one_variant_identical_to_load_scenario(tmp_path: Path):
    path = write(tmp_path, scenario_data())
    (variant,) = load_variants(path)
    plain = load_scenario(path)
    assert variant.index is None and variant.label == "" and variant.folder == ""
    assert variant.scenario == plain and variant.scenario.content_hash == plain.content_hash
    assert variant.scenario.changes == {}


def test_load_scenario_on_a_sweep_file_says_how_to_run_it(tmp_path: Path):
    path = write(tmp_path, {**scenario_data(), "sweep": SWEEP})
    (problem,) = problems_of(lambda: load_scenario(path))
    assert "s.yaml: sweep: makes this file many scenarios" in problem
    assert "load_variants" in problem


def test_every_point_is_the_file_at_that_point_labelled_and_recorded(tmp_path: Path):
    data = scenario_data()
    path = write(tmp_path, {**data, "sweep": SWEEP})
    variants = load_variants(path)
    points = sweep_points(SWEEP, data, str(path))
    assert [v.point for v in variants] == points and [v.index for v in variants] == [0, 1, 2, 3]
    for variant, point in zip(variants, points, strict=True):
        expected = parse_scenario(apply_point(data, point, str(path)), source=path)
        share = point["schemes[3].system_linked_share"]
        names = [o.name for o in variant.scenario.schemes]
        assert names == [*MENU[:3], f"flexible_25[system_linked_share={share!r}]", *MENU[4:]]
        assert variant.scenario.uncertainty == expected.uncertainty
        assert variant.scenario.schemes[3].system_linked_share == share
        assert variant.scenario.content_hash == expected.content_hash  # as batch runs hash it
        assert variant.scenario.changes == {
            "sweep_point": variant.index,
            "sweep": variant.label,
            "sweep_values": point,
        }
        assert variant.folder.startswith(f"point_{variant.index}__uncertainty.national_share=")
    assert load_point(path, points[2]) == variants[2].scenario


def test_point_picks_one_and_a_bad_point_is_one_problem(tmp_path: Path):
    path = write(tmp_path, {**scenario_data(), "sweep": SWEEP})
    (only,) = load_variants(path, point=3)
    assert only.index == 3 and only.of == 4
    (problem,) = problems_of(lambda: load_variants(path, point=4))
    assert "--point: is 4 but the sweep has 4 points (0 to 3)" in problem
    plain = write(tmp_path, scenario_data(), "plain.yaml")
    (problem,) = problems_of(lambda: load_variants(plain, point=0))
    assert "no sweep: block" in problem


def test_a_bad_point_fails_before_anything_runs_naming_the_point(tmp_path: Path):
    path = write(tmp_path, {**scenario_data(), "sweep": {"uncertainty.national_share": [0.5, 0.9]}})
    found = problems_of(lambda: load_variants(path))
    assert len(found) == 1
    assert "[point 1: uncertainty.national_share=0.9]" in found[0]
    assert "national_share + system_share must be at most 1" in found[0]


# --- --set ----------------------------------------------------------------------------------------


def test_parse_sets_reads_values_as_yaml():
    assert parse_sets(
        ["systems[0].organisations[1].plan=-4", "uncertainty.distribution=student_t",
         "regime.bonus=true", "uncertainty.quarterly_variance=[0.1, 0.2, 0.3, 0.4]",
         "systems[0].name="]
    ) == {
        "systems[0].organisations[1].plan": -4,
        "uncertainty.distribution": "student_t",
        "regime.bonus": True,
        "uncertainty.quarterly_variance": [0.1, 0.2, 0.3, 0.4],
        "systems[0].name": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["plan"], "--set: plan: is not PATH=VALUE"),
        (["=4"], "--set: =4: is not PATH=VALUE"),
        (["systems[x].plan=1"], "--set: systems[x].plan: `systems[x]` is not a field name"),
        (["a.b=1", "a.b=2"], "--set: a.b: is given twice"),
        (["a.b=[1, 2"], "--set: a.b: cannot read the value"),
    ],
)
def test_parse_sets_problems_name_the_option(texts: list[str], expected: str):
    found = problems_of(lambda: parse_sets(texts))
    assert any(p.startswith(expected) for p in found), found


def test_a_set_changes_the_field_and_is_recorded_with_what_the_file_had(tmp_path: Path):
    path = write(tmp_path, scenario_data())
    sets = {"systems[0].organisations[1].plan": -4, "schemes[4].system_linked_share": 0.4}
    (variant,) = load_variants(path, sets=sets)
    s = variant.scenario
    assert s.systems[0].organisations[1].plan == -4
    assert s.schemes[4].name == "flexible_50[system_linked_share=0.4]"
    assert s.changes == {
        "set": [
            {"path": "systems[0].organisations[1].plan", "value": -4, "was": 0.5},
            {"path": "schemes[4].system_linked_share", "value": 0.4, "was": 0.5},
        ]
    }
    assert s.content_hash != load_scenario(path).content_hash
    assert s.content_hash == load_variants(path, sets=sets)[0].scenario.content_hash


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (
            {"systems[0].organisations[5].plan": -4},
            "--set systems[0].organisations[5].plan: `systems[0].organisations` has 2 entries",
        ),
        ({"uncertainty.national_sharez": 0.1}, "did you mean `national_share`?"),
        (
            {"systems[0].organisations[1].plan": "four"},
            "--set systems[0].organisations[1].plan: must be a number in £m (got 'four')",
        ),
        (
            {"systems[0].organisations[1].sd": -1},
            "--set systems[0].organisations[1].sd: must be greater than 0",
        ),
    ],
)
def test_a_bad_set_is_a_field_problem(tmp_path: Path, sets: dict[str, Any], expected: str):
    path = write(tmp_path, scenario_data())
    found = problems_of(lambda: load_variants(path, sets=sets))
    assert any(expected in p for p in found), found
    assert all(p.startswith(str(path)) for p in found)


def test_sets_apply_to_every_point_but_not_to_a_swept_field(tmp_path: Path):
    path = write(tmp_path, {**scenario_data(), "sweep": SWEEP})
    variants = load_variants(path, sets={"systems[0].organisations[0].plan": -3})
    assert all(v.scenario.systems[0].organisations[0].plan == -3 for v in variants)
    assert all(v.scenario.changes["set"][0]["was"] == -1.0 for v in variants)
    (problem,) = problems_of(lambda: load_variants(path, sets={"uncertainty.national_share": 0.2}))
    assert "--set: uncertainty.national_share: is a field the file's sweep: block varies" in problem


def test_scheme_labels_carry_every_changed_field_but_not_a_new_name():
    labels = scheme_labels(
        {
            "schemes[1].system_linked_share": 0.5,
            "schemes[1].share_cap": 0.25,
            "schemes[2].name": "mine",
            "schemes[3].ae_gateway": False,
            "uncertainty.national_share": 0.1,
            "schemes[9].share_cap": 0.1,
        },
        MENU,
    )
    assert labels == {
        1: "all_or_nothing[system_linked_share=0.5,share_cap=0.25]",
        3: "flexible_25[ae_gateway=false]",
    }
