"""Scenario fields for dependence inside a system: `correlation` and `system_loading`."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sct_engine.engine.model import build_model
from sct_engine.errors import ScenarioError
from sct_engine.scenario import parse_scenario

pytestmark = pytest.mark.unit


def member(id_: str, kind: str = "provider", **extra) -> dict:
    return {
        "id": id_,
        "kind": kind,
        "plan": 0.0,
        "control_total": -1.0,
        "sustainability_funding": 2.0,
        "sd": 1.0,
        **extra,
    }


def scenario(correlation=None, national_share=0.2, system_share=0.3, **loadings) -> dict:
    system = {
        "id": "north",
        "organisations": [member("acute"), member("ccg", "commissioner"), member("mh")],
    }
    if correlation is not None:
        system["correlation"] = correlation
    for org in system["organisations"]:
        if org["id"] in loadings:
            org["system_loading"] = loadings[org["id"]]
    return {
        "name": "dependence",
        "uncertainty": {"national_share": national_share, "system_share": system_share},
        "systems": [system, {"id": "south", "organisations": [member("other")]}],
    }


def problems(data: dict) -> list:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    return err.value.problems


MATRIX = [[1, -0.3, 0.2], [-0.3, 1, 0.1], [0.2, 0.1, 1]]


def test_matrix_in_a_given_order_reaches_the_model_in_member_order():
    # Rows ordered ccg, mh, acute: acute-ccg -0.3, acute-mh 0.2, ccg-mh 0.1 whatever the order.
    reordered = {
        "organisations": ["ccg", "mh", "acute"],
        "matrix": [[1, 0.1, -0.3], [0.1, 1, 0.2], [-0.3, 0.2, 1]],
    }
    parsed = parse_scenario(scenario(reordered))
    np.testing.assert_array_equal(
        parsed.systems[0].correlation_matrix(), np.array(MATRIX, dtype=float)
    )
    model = build_model(parsed)
    assert model.correlated.tolist() == [True, True, True, False]
    assert model.system_loading[:3].tolist() == [0.0, 0.0, 0.0]
    assert parsed.warnings == []  # a valid matrix is used as given


def test_signed_loadings_reach_the_model():
    model = build_model(parse_scenario(scenario(acute=0.6, ccg=-0.6)))
    assert model.system_loading.tolist() == [0.6, -0.6, math.sqrt(0.3), math.sqrt(0.3)]
    assert model.own_loading[0] == pytest.approx(math.sqrt(1 - 0.2 - 0.36))
    assert not model.correlated.any()


def test_an_invalid_matrix_is_repaired_with_a_warning_naming_the_field():
    bad = [[1, -0.9, -0.9], [-0.9, 1, -0.9], [-0.9, -0.9, 1]]
    parsed = parse_scenario(scenario({"matrix": bad}))
    [warning] = parsed.warnings
    assert warning.field == "systems[0].correlation.matrix"
    assert "nearest valid matrix" in warning.message and "north" in warning.message
    build_model(parsed)  # the repaired matrix factors


@pytest.mark.parametrize(
    ("correlation", "field", "words"),
    [
        ({"matrix": [[1, 0.2], [0.2, 1]]}, "systems[0].correlation.matrix", "3 members"),
        (
            {"matrix": [[1, 0.2, 0.1], [0.2, 1], [0.1, 0.1, 1]]},
            "systems[0].correlation.matrix[1]",
            "square",
        ),
        (
            {"matrix": [[1, 0.2, 0.1], [0.3, 1, 0.1], [0.1, 0.1, 1]]},
            "systems[0].correlation.matrix[1][0]",
            "symmetric",
        ),
        (
            {"matrix": [[0.9, 0.2, 0.1], [0.2, 1, 0.1], [0.1, 0.1, 1]]},
            "systems[0].correlation.matrix[0][0]",
            "diagonal",
        ),
        (
            {"matrix": [[1, 1.2, 0.1], [1.2, 1, 0.1], [0.1, 0.1, 1]]},
            "systems[0].correlation.matrix[0][1]",
            "[-1, 1]",
        ),
        (
            {"organisations": ["acute", "ccg", "ccg"], "matrix": MATRIX},
            "systems[0].correlation.organisations",
            "missing: mh; repeated: ccg",
        ),
        (
            {"organisations": ["acute", "ccg", "other"], "matrix": MATRIX},
            "systems[0].correlation.organisations",
            "not members: other",
        ),
        ({"matrix": "0.3"}, "systems[0].correlation.matrix", ""),
    ],
)
def test_bad_matrices_name_the_field(correlation, field, words):
    found = problems(scenario(correlation))
    assert any(p.field == field and words in str(p) for p in found), [str(p) for p in found]


def test_loading_and_matrix_together_are_refused():
    [problem] = problems(scenario({"matrix": MATRIX}, acute=0.5))
    assert problem.field == "systems[0].organisations[0].system_loading"
    assert "remove" in problem.fix


def test_loading_too_large_for_the_national_factor_names_the_limit():
    [problem] = problems(scenario(national_share=0.5, ccg=-0.8))
    assert problem.field == "systems[0].organisations[1].system_loading"
    assert "0.7071" in problem.message


def test_matrix_with_everything_national_is_refused():
    found = problems(scenario({"matrix": MATRIX}, national_share=1.0, system_share=0.0))
    assert any(p.field == "systems[0].correlation" for p in found)


def test_schema_documents_the_new_fields():
    from sct_engine.scenario import scenario_json_schema

    text = str(scenario_json_schema())
    assert "system_loading" in text and "nearest" in text and "Correlation" in text
