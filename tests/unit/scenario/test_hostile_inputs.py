"""Hostile and absurd scenarios (issue 17): one mechanism per class, each refused by name.

Every input is written by the test. Each class has a test that failed before its
mechanism existed: file confinement, bounded YAML (size after aliases, depth),
huge integers as field errors, bounded numbers, strict types, and messages that
say what is wrong (ragged CSV rows, list keys, merge keys). A sweep given to a
single scenario's reader is main's (scenario/loading.py, build_scenario).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from sct_engine.errors import ScenarioError
from sct_engine.scenario import load_scenario, loading, parse_scenario
from sct_engine.scenario.limits import MAX_DOCUMENT_NODES, MAX_NESTING, confined_path
from tests.guards import opened_paths

pytestmark = pytest.mark.unit

SECRET = "SECRET_TOKEN=do-not-print-me-0123456789"

ORG: dict[str, Any] = {
    "id": "acute_a",
    "kind": "provider",
    "plan": -3.0,
    "control_total": -3.0,
    "sustainability_funding": 9.5,
    "turnover": 420.0,
    "sd": 5.0,
}
CSV_HEADER = "id,kind,plan,control_total,sustainability_funding,sd\n"
CSV_ROW = "ccg_b,commissioner,-2.0,-3.0,4.0,1.5\n"


def scenario(**changes: Any) -> dict[str, Any]:
    return {
        "name": "hostile",
        "systems": [{"id": "sys_a", "organisations": [dict(ORG)]}],
        **changes,
    }


def write(folder: Path, data: dict[str, Any] | str, name: str = "scenario.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path, **kwargs: Any) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, **kwargs)
    assert SECRET not in str(caught.value), "a message must never echo another file's content"
    return caught.value


def with_csv(tmp_path: Path, written: str) -> Path:
    data = scenario()
    data["systems"][0]["organisations_csv"] = written
    return write(tmp_path / "scenarios", data)


@pytest.fixture
def secret_table(tmp_path: Path) -> Path:
    """A file outside the scenario's folder whose header is a secret (like /proc/self/environ)."""
    outside = tmp_path / "private"
    outside.mkdir()
    path = outside / "members.csv"
    path.write_text(SECRET + "\n" + CSV_ROW, encoding="utf-8")
    return path


# --- security: a scenario reads only files in its own folder ---------------------------


def test_absolute_path_is_refused_and_nothing_is_echoed(tmp_path, secret_table):
    error = refused(with_csv(tmp_path, str(secret_table)))
    (problem,) = error.problems
    assert problem.field == "systems[0].organisations_csv"
    assert "absolute path" in problem.message and "--files-root" in problem.fix


def test_climbing_out_with_dots_is_refused(tmp_path, secret_table):
    (problem,) = refused(with_csv(tmp_path, "../private/members.csv")).problems
    assert "leads outside" in problem.message


def test_symlink_pointing_out_is_refused(tmp_path, secret_table):
    path = with_csv(tmp_path, "members.csv")
    (path.parent / "members.csv").symlink_to(secret_table)
    (problem,) = refused(path).problems
    assert "symbolic link" in problem.message


def test_symlink_inside_the_folder_is_fine(tmp_path):
    path = with_csv(tmp_path, "members.csv")
    (path.parent / "tables").mkdir()
    (path.parent / "tables" / "real.csv").write_text(CSV_HEADER + CSV_ROW)
    (path.parent / "members.csv").symlink_to(path.parent / "tables" / "real.csv")
    assert [o.id for o in load_scenario(path).systems[0].organisations] == ["acute_a", "ccg_b"]


def test_the_path_returned_is_the_resolved_one_that_was_checked(tmp_path):
    base = tmp_path / "scenarios"
    (base / "tables").mkdir(parents=True)
    (base / "tables" / "real.csv").write_text(CSV_HEADER + CSV_ROW)
    (base / "members.csv").symlink_to(base / "tables" / "real.csv")
    found = confined_path("members.csv", base, None, "scenario.yaml", "organisations_csv")
    assert found == (base / "tables" / "real.csv").resolve()
    # a link swapped after the check cannot redirect the read: the link is not what is read
    (base / "members.csv").unlink()
    (base / "members.csv").symlink_to(tmp_path)
    assert found.read_text() == CSV_HEADER + CSV_ROW


def test_messages_name_the_link_as_written_not_its_target(tmp_path):
    path = with_csv(tmp_path, "members.csv")
    (path.parent / "tables").mkdir()
    os.mkfifo(path.parent / "tables" / "real.csv")
    (path.parent / "members.csv").symlink_to(path.parent / "tables" / "real.csv")
    (problem,) = refused(path).problems
    assert f"{path.parent / 'members.csv'} is a named pipe (FIFO)" in problem.message
    assert "real.csv" not in problem.message


def test_folder_fifo_and_device_are_named(tmp_path, monkeypatch):
    path = with_csv(tmp_path, "members")
    (path.parent / "members").mkdir()
    assert "is a folder, not a file" in refused(path).problems[0].message

    fifo = with_csv(tmp_path / "fifo", "members.csv")
    os.mkfifo(fifo.parent / "members.csv")
    with opened_paths(monkeypatch) as opened:
        assert "named pipe (FIFO)" in refused(fifo).problems[0].message
    assert fifo.parent / "members.csv" not in opened, "a FIFO must be refused, never opened"
    assert fifo in opened  # the scenario itself was read: the recording works

    device = with_csv(tmp_path / "device", "/dev/null")
    assert "is a device" in refused(device, files_root="/dev").problems[0].message


def test_files_root_opens_a_wider_folder_on_purpose(tmp_path, monkeypatch):
    common = tmp_path / "common"
    common.mkdir()
    (common / "members.csv").write_text(CSV_HEADER + CSV_ROW)
    path = with_csv(tmp_path, str(common / "members.csv"))
    refused(path)
    assert len(load_scenario(path, files_root=tmp_path).systems[0].organisations) == 2
    monkeypatch.setenv("SCT_FILES_ROOT", str(tmp_path))
    assert len(load_scenario(path).systems[0].organisations) == 2
    relative = with_csv(tmp_path / "other", "../../common/members.csv")
    assert len(load_scenario(relative).systems[0].organisations) == 2


def test_parse_scenario_without_a_source_reads_no_file(tmp_path):
    (tmp_path / "members.csv").write_text(CSV_HEADER + CSV_ROW)
    data = scenario()
    data["systems"][0]["organisations_csv"] = str(tmp_path / "members.csv")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data)
    assert "no scenario folder" in caught.value.problems[0].message
    assert len(parse_scenario(data, files_root=tmp_path).systems[0].organisations) == 2


def test_a_long_cell_is_quoted_as_a_short_excerpt(tmp_path):
    path = with_csv(tmp_path, "members.csv")
    long_header = "id,kind,plan,control_total,sustainability_funding,sd," + "x" * 5000
    (path.parent / "members.csv").write_text(long_header + "\n" + CSV_ROW)
    (problem,) = refused(path).problems
    assert "unknown column" in problem.message and len(problem.message) < 120
    assert "x" * 100 not in str(problem)


# --- resources: YAML size after aliases, nesting -----------------------------------------


def test_aliases_are_counted_expanded_before_anything_is_built(tmp_path, monkeypatch):
    # 1,500 rows of one aliased 1,500-entry row: 2.25 million values from a 10 kB file.
    row = "&row [" + ", ".join(["0.5"] * 1500) + "]"
    text = (
        "name: laughs\nsystems:\n  - id: s\n    correlation:\n      matrix: ["
        + row
        + ", "
        + ", ".join(["*row"] * 1499)
        + "]\n    organisations: []\n"
    )
    built = []
    construct = loading._ScenarioLoader.construct_object

    def counted(self: Any, node: yaml.Node, deep: bool = False) -> Any:
        built.append(node)
        return construct(self, node, deep=deep)

    monkeypatch.setattr(loading._ScenarioLoader, "construct_object", counted)
    (problem,) = refused(write(tmp_path, text)).problems
    assert f"more than {MAX_DOCUMENT_NODES:,} values once its aliases" in problem.message
    assert built == [], "the size is counted on the composed nodes, before any value is built"
    load_scenario(write(tmp_path / "small", scenario()))
    assert built, "a scenario within the limits is built (the counting works)"


def test_billion_laughs_and_self_reference(tmp_path):
    lines = ["name: laughs", "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    assert "once its aliases" in refused(write(tmp_path, "\n".join(lines))).problems[0].message
    cyclic = write(tmp_path / "cycle", "name: x\nsystems: &s [{id: a, organisations: *s}]\n")
    assert "refers to the list or mapping it is inside" in refused(cyclic).problems[0].message


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("name: deep\nsystems: " + "[" * 100_000 + "]" * 100_000 + "\n", "systems[0]"),
        ("name: deep\nsystems: " + "{k: " * 20_000 + "1" + "}" * 20_000 + "\n", "systems.k.k"),
    ],
    ids=["lists", "mappings"],
)
def test_deep_nesting_is_a_field_error(tmp_path, text, field):
    (problem,) = refused(write(tmp_path, text)).problems
    assert problem.field.startswith(field)
    assert f"nested more than {MAX_NESTING}" in problem.message


def test_deep_data_in_memory_is_a_field_error():
    data = scenario()
    nested: Any = 1
    for _ in range(100_000):
        nested = [nested]
    data["description"] = nested
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data)
    assert caught.value.problems[0].field.startswith("description[0]")


# --- huge integers ------------------------------------------------------------------------


def test_integers_of_thousands_of_digits_are_field_errors(tmp_path):
    digits = "7" * 5000
    text = yaml.safe_dump(scenario(), sort_keys=False).replace("plan: -3.0", f"plan: {digits}")
    text += f"simulation:\n  seed: {digits}\n"
    fields = {p.field for p in refused(write(tmp_path, text)).problems}
    assert fields == {"systems[0].organisations[0].plan", "simulation.seed"}
    data = scenario(simulation={"seed": 10**5000})
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data)
    assert caught.value.problems[0].field == "simulation.seed"


# --- numbers: bounded, finite -------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("plan", 1e308),
        ("control_total", -1e300),
        ("sustainability_funding", 1e308),
        ("sd", 1e308),
        ("turnover", 1e308),
        ("control_total_uplift", 1e308),
        ("mitigation", 1e12),
        ("sd_pct", 1e5),
        ("tail", {"probability": 0.5, "median_pct": 1e308}),
        ("tail", {"probability": 0.5, "median_pct": 1.0, "sigma": 1e3}),
    ],
)
def test_money_and_parameters_are_bounded(field, value):
    data = scenario()
    org = data["systems"][0]["organisations"][0]
    if field == "sd_pct":
        org.pop("sd")
    org[field] = value
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data)
    (problem,) = caught.value.problems
    assert problem.field.startswith(f"systems[0].organisations[0].{field}")
    assert "at most" in problem.message or "at least" in problem.message


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("uncertainty", "dof", 1e308),
        ("uncertainty", "skew", 1e308),
        ("regime", "incentive_rate", 1e308),
        ("simulation", "seed", 2**64),
    ],
)
def test_scenario_wide_parameters_are_bounded(section, field, value):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(scenario(**{section: {field: value}}))
    assert caught.value.problems[0].field == f"{section}.{field}"


def test_non_finite_values_are_refused(tmp_path):
    text = yaml.safe_dump(scenario(), sort_keys=False).replace("plan: -3.0", "plan: .nan")
    text += "uncertainty:\n  national_share: .nan\n"
    fields = {p.field for p in refused(write(tmp_path, text)).problems}
    assert fields == {"systems[0].organisations[0].plan", "uncertainty.national_share"}


# --- strict types everywhere, scheme options included --------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("system_linked_share", True),
        ("system_linked_share", "0.5"),
        ("share_cap", "0.5"),
        ("ae_gateway", "yes"),
        ("ae_gateway", 1),
    ],
)
def test_scheme_options_are_read_strictly(field, value):
    data = scenario(schemes=[{"name": "linked", field: value}])
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data)
    (problem,) = caught.value.problems
    assert problem.field == f"schemes[0].{field}"
    assert "must be" in problem.message


# --- messages that said the wrong thing ---------------------------------------------------


def test_ragged_csv_row_is_named(tmp_path):
    path = with_csv(tmp_path, "members.csv")
    (path.parent / "members.csv").write_text(CSV_HEADER + "ccg_b,commissioner,-2,-3,4,1.5,oops\n")
    (problem,) = refused(path).problems
    assert "row 2 has 7 cells but the header has 6 columns" in problem.message


def test_trailing_commas_of_a_spreadsheet_are_fine(tmp_path):
    path = with_csv(tmp_path, "members.csv")
    (path.parent / "members.csv").write_text(
        CSV_HEADER.replace("\n", ",\n") + CSV_ROW.replace("\n", ",,\n")
    )
    assert load_scenario(path).systems[0].organisations[1].id == "ccg_b"


def test_list_as_a_key_is_named(tmp_path):
    (problem,) = refused(write(tmp_path, "name: x\n? [a, b]\n: 1\n")).problems
    assert "is a list or a mapping; keys are plain names" in problem.message
    assert "tag" not in problem.message


def test_merge_keys_work(tmp_path):
    text = """
name: merged
systems:
  - id: sys_a
    organisations:
      - &trust {id: acute_a, kind: provider, plan: -3.0, control_total: -3.0,
                sustainability_funding: 9.5, turnover: 420.0, sd: 5.0}
      - <<: *trust
        id: acute_b
        plan: -1.0
"""
    first, second = load_scenario(write(tmp_path, text)).systems[0].organisations
    assert (first.id, first.plan) == ("acute_a", -3.0)
    assert (second.id, second.plan, second.sd, second.turnover) == ("acute_b", -1.0, 5.0, 420.0)


def test_bad_merge_key_is_named(tmp_path):
    text = "name: x\nsimulation: {<<: 5, draws: 10}\n"
    (problem,) = refused(write(tmp_path, text)).problems
    assert "merge key `<<:`" in problem.message
