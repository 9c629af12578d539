"""Mutated scenarios (issue 17): validate and run either succeed with finite figures or fail
with a message naming the field, never a traceback, under a memory bound and never hanging.

Hypothesis mutates a valid scenario: the type of a value (text, boolean, list, mapping, null),
its magnitude (scaled by up to 10^300, infinities, NaN, integers of thousands of digits),
and the structure (fields removed, unknown fields, deep nesting, repeated organisations).
Each mutant goes through ``parse_scenario`` (data in memory) or ``load_scenario`` (a YAML file
written by the test), then, when valid, a short run of the reference engine under a memory
limit. Few draws and few examples keep it cheap.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sct_engine.engine.simulate import simulate
from sct_engine.errors import ScenarioError
from sct_engine.scenario import load_scenario, parse_scenario
from tests.guards import finishes

pytestmark = pytest.mark.integration

#: Memory a run may plan to use (SCT_MEMORY_LIMIT during the test).
MEMORY_BOUND = "512MiB"

VALID: dict[str, Any] = {
    "name": "fuzzed",
    "simulation": {"draws": 1000, "seed": 4},
    "uncertainty": {
        "distribution": "student_t",
        "dof": 5.0,
        "national_share": 0.2,
        "system_share": 0.3,
        "tail": {"probability": 0.05, "median_pct": 2.0, "sigma": 0.5},
    },
    "regime": {"incentive_rate": 2.0, "bonus": True, "bonus_share": 1.0},
    "schemes": [
        {"name": "own", "system_linked_share": 0.0},
        {"name": "shared", "system_linked_share": 0.5, "redistribution": "full"},
    ],
    "systems": [
        {
            "id": "north",
            "organisations": [
                {"id": "acute", "kind": "provider", "plan": -3.0, "control_total": -3.0,
                 "sustainability_funding": 9.5, "turnover": 420.0, "sd_pct": 1.2,
                 "has_ae": True, "mitigation": 1.0, "control_total_uplift": 0.5},
                {"id": "ccg", "kind": "commissioner", "plan": -4.0, "control_total": -5.0,
                 "sustainability_funding": 5.0, "turnover": 600.0, "sd": 3.0},
            ],
        },
        {
            "id": "south",
            "correlation": {"organisations": ["mh"], "matrix": [[1.0]]},
            "organisations": [
                {"id": "mh", "kind": "provider", "plan": 1.0, "control_total": 0.5,
                 "sustainability_funding": 2.0, "turnover": 200.0, "sd": 1.0},
            ],
        },
    ],
}  # fmt: skip

Path_ = tuple[str | int, ...]


def leaf_paths(data: Any, path: Path_ = ()) -> list[Path_]:
    """Every place in ``data`` (mappings' values and list entries), parents before children."""
    found: list[Path_] = [path] if path else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += leaf_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += leaf_paths(value, (*path, index))
    return found


PATHS = leaf_paths(VALID)


def nested(depth: int) -> Any:
    value: Any = 1.0
    for _ in range(depth):
        value = [value]
    return value


values = st.one_of(
    st.sampled_from(
        [
            None, True, False, "0.5", "yes", "", [], {}, [1.0, 2.0], {"x": 1}, 0, -1, 0.0,
            math.inf, -math.inf, math.nan, 1e308, -1e308, 2**63, 2**64, 10**30, 10**5000,
            nested(200), "x" * 10_000,
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.text(max_size=12),
)  # fmt: skip

mutations = st.one_of(
    st.tuples(st.just("replace"), st.sampled_from(PATHS), values),
    st.tuples(st.just("scale"), st.sampled_from(PATHS), st.integers(min_value=-300, max_value=300)),
    st.tuples(st.just("delete"), st.sampled_from(PATHS), st.none()),
    st.tuples(st.just("unknown"), st.sampled_from(PATHS), st.text(min_size=1, max_size=8)),
    st.tuples(st.just("repeat"), st.sampled_from(PATHS), st.integers(min_value=2, max_value=50)),
)


def apply(data: dict[str, Any], mutation: tuple[str, Path_, Any]) -> None:
    """Change ``data`` in place; a path that an earlier mutation removed is skipped."""
    kind, path, arg = mutation
    parent: Any = data
    for part in path[:-1]:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return
    last = path[-1]
    try:
        current = parent[last]
    except (KeyError, IndexError, TypeError):
        return
    if kind == "replace":
        parent[last] = arg
    elif kind == "scale" and isinstance(current, int | float) and not isinstance(current, bool):
        parent[last] = current * 10.0**arg if abs(arg) < 308 else current * 10 ** abs(arg)
    elif kind == "delete":
        del parent[last]
    elif kind == "unknown" and isinstance(current, dict):
        current[arg] = 1.0
    elif kind == "repeat" and isinstance(current, list) and current:
        current.extend(copy.deepcopy(current[-1]) for _ in range(arg))


def check_problems(error: ScenarioError) -> None:
    """A failure is a list of problems, each naming where (a field, or the file) and a fix."""
    assert error.problems
    text = str(error)
    assert "Traceback" not in text
    for problem in error.problems:
        assert problem.message and problem.fix
        assert problem.field or problem.file
        assert len(str(problem)) < 2000


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    changes=st.lists(mutations, min_size=1, max_size=3),
    through_yaml=st.booleans(),
)
def test_mutated_scenarios_run_or_fail_by_name(changes, through_yaml, tmp_path_factory):
    data = copy.deepcopy(VALID)
    for mutation in changes:
        apply(data, mutation)

    def validate_and_run() -> None:
        try:
            if through_yaml:
                folder = tmp_path_factory.mktemp("fuzz")
                try:
                    text = yaml.safe_dump(data, sort_keys=False)
                except ValueError:  # integers too long for Python to print
                    text = None
                if text is None:
                    scenario = parse_scenario(data, source=folder / "fuzz.yaml")
                else:
                    (folder / "fuzz.yaml").write_text(text, encoding="utf-8")
                    scenario = load_scenario(folder / "fuzz.yaml")
            else:
                scenario = parse_scenario(data)
            result = simulate(scenario, draws=300, engine="reference")
        except ScenarioError as error:
            check_problems(error)
        else:
            for name, frame in result.tables().items():
                numbers = frame.select_dtypes("number").to_numpy(dtype=np.float64)
                assert np.isfinite(numbers).all(), name

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCT_MEMORY_LIMIT", MEMORY_BOUND)
        # a liveness guard, not a speed bound: a mutant must never hang validation or the run
        finishes(validate_and_run, "validating and running a mutant (shown by Hypothesis)")
