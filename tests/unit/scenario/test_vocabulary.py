"""One vocabulary: provider_type, `ccg` for commissioner, and sd_pct by type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sct_engine.engine.model import build_model
from sct_engine.errors import ScenarioError
from sct_engine.rules import PROVIDER_TYPES, canonical_group, sd_group_order
from sct_engine.scenario import parse_scenario

pytestmark = pytest.mark.unit

FILE = Path("/data/vocabulary.yaml")


def org(oid: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"id": oid, "kind": kind, "plan": 0.0, "control_total": -1.0,
            "sustainability_funding": 2.0, "turnover": 500.0, **fields}  # fmt: skip


def scenario(*orgs: dict[str, Any], table: dict[str, float] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "vocabulary",
        "systems": [{"id": "s", "organisations": list(orgs)}],
    }
    if table is not None:
        data["uncertainty"] = {"sd_pct_by_type": table}
    return data


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, source=FILE)
    return [str(p) for p in caught.value.problems]


def test_ccg_is_another_word_for_commissioner():
    built = parse_scenario(scenario(org("c", "ccg", sd=1.0), org("d", "CCG", sd=1.0)), FILE)
    assert [o.kind for o in built.systems[0].organisations] == ["commissioner", "commissioner"]
    assert canonical_group(" CCG ") == "commissioner"


@pytest.mark.parametrize("word", PROVIDER_TYPES)
def test_a_provider_type_written_as_kind_is_explained(word: str):
    (problem,) = problems(scenario(org("t", word, sd=1.0)))
    assert "systems[0].organisations[0].kind" in problem
    assert f"`kind: provider` and `provider_type: {word}`" in problem


def test_provider_type_is_for_providers_and_is_checked():
    built = parse_scenario(scenario(org("t", "provider", provider_type="ambulance", sd=1.0)), FILE)
    assert built.systems[0].organisations[0].provider_type == "ambulance"
    assert build_model(built).org_types == ("ambulance",)
    (problem,) = problems(scenario(org("c", "commissioner", provider_type="acute", sd=1.0)))
    assert "organisations[0].provider_type" in problem and "commissioner" in problem
    (problem,) = problems(scenario(org("t", "provider", provider_type="hospice", sd=1.0)))
    assert "provider_type" in problem and "acute" in problem


def test_sd_pct_by_type_gives_the_spread_most_specific_first():
    table = {"acute": 1.2, "provider": 0.9, "ccg": 0.5}
    built = parse_scenario(
        scenario(
            org("a", "provider", provider_type="acute"),
            org("m", "provider", provider_type="mental_health"),  # no entry: `provider`
            org("u", "provider"),
            org("c", "commissioner"),
            org("own", "provider", provider_type="acute", sd=3.0),  # its own sd wins
            table=table,
        ),
        FILE,
    )
    orgs = built.systems[0].organisations
    assert [o.sd_pct for o in orgs] == [1.2, 0.9, 0.9, 0.5, None]
    assert [o.sd_value for o in orgs] == pytest.approx([6.0, 4.5, 4.5, 2.5, 3.0])
    assert sd_group_order("provider", "acute") == ("acute", "provider")
    assert sd_group_order("commissioner", None) == ("commissioner",)


def test_no_spread_and_no_table_entry_is_one_problem_naming_the_entries():
    (problem,) = problems(scenario(org("m", "provider", provider_type="mental_health"),
                                   table={"acute": 1.2}))  # fmt: skip
    assert "systems[0].organisations[0].sd: 'm' has no spread of outturn" in problem
    assert "`mental_health` or `provider`" in problem
    (problem,) = problems(scenario(org("m", "provider")))
    assert "uncertainty.sd_pct_by_type" in problem


def test_a_table_spread_needs_a_turnover():
    data = scenario(
        org("a", "provider", provider_type="acute", turnover=None), table={"acute": 1.0}
    )
    (problem,) = problems(data)
    assert "organisations[0].turnover" in problem and "sd_pct_by_type.acute" in problem


def test_a_table_with_an_unknown_group_is_refused():
    (problem,) = problems(scenario(org("a", "provider", sd=1.0), table={"hospital": 1.0}))
    assert "uncertainty.sd_pct_by_type" in problem


def test_csv_members_may_leave_the_spread_to_the_table(tmp_path: Path):
    (tmp_path / "members.csv").write_text(
        "id,kind,provider_type,plan,control_total,sustainability_funding,turnover\n"
        "a,provider,acute,0,-1,2,400\n"
        "c,ccg,,0,-1,1,800\n"
    )
    data = scenario(table={"acute": 1.5, "commissioner": 0.5})
    data["systems"][0]["organisations_csv"] = "members.csv"
    built = parse_scenario(data, source=tmp_path / "s.yaml")
    assert [o.sd_value for o in built.systems[0].organisations] == pytest.approx([6.0, 4.0])
