"""report/sweep.py: a sweep's points laid out and tabulated for the comparison page and workbook.

Built from small analyses on the numpy reference engine (no kernel compile): the
axis follows the swept number, paths read in a board's words, each option's status
at a point is what the decision rule said, and every table has one row per point
(and system, option, member) with the point's own figures.
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from sct_engine.analysis import analyse
from sct_engine.analysis.rule import DecisionRule
from sct_engine.report.sweep import (
    ALLOWED,
    BASELINE,
    NATIONAL,
    RECOMMENDED,
    RULED_OUT,
    TOO_CLOSE,
    describe_path,
    option_name,
    option_status,
    sweep_axis,
    sweep_point,
    sweep_tables,
    swept_paths,
)
from sct_engine.scenario import load_variants
from tests.factories import small_scenario

pytestmark = pytest.mark.unit

DRAWS = 2048
PLANS = [-1.5, -0.5, 0.5]
PATH = "systems[0].organisations[0].plan"


@pytest.fixture(scope="module")
def points(tmp_path_factory):
    scenario = small_scenario(0, draws=DRAWS, seed=3, name="sweep test")
    scenario["sweep"] = {PATH: PLANS}
    file = tmp_path_factory.mktemp("sweep") / "sweep.yaml"
    file.write_text(yaml.safe_dump(scenario, sort_keys=False))
    rule = DecisionRule(max_draws=DRAWS)  # no top-up draws: the test stays fast
    return [
        sweep_point(
            analyse(v.scenario, engine="reference", rule=rule), folder=v.folder, page="r.html"
        )
        for v in load_variants(file)
    ]


def test_points_carry_their_number_label_and_values(points):
    assert [p.index for p in points] == [0, 1, 2]
    assert [p.values for p in points] == [{PATH: v} for v in PLANS]
    assert all(PATH in p.label for p in points)
    assert swept_paths(points) == [PATH]


def test_one_swept_number_lays_the_points_along_it_in_a_boards_words(points):
    axis = sweep_axis(points)
    assert axis.numeric and axis.positions == PLANS
    assert axis.ticks == ["-1.5", "-0.5", "0.5"]
    assert "plan (£m)" in axis.title and "s0_o0" in axis.title and PATH not in axis.title


def test_anything_else_is_laid_out_point_by_point(points):
    mixed = [dataclasses.replace(p, values={PATH: "text"}) for p in points]
    axis = sweep_axis(mixed)
    assert not axis.numeric and axis.ticks == ["point 0", "point 1", "point 2"]


def test_paths_that_name_nothing_stay_as_they_are(points):
    analysis = points[0].analysis
    assert describe_path("systems[9].organisations[0].plan", analysis).startswith("systems[9]")
    assert describe_path("uncertainty.national_share", analysis) == "uncertainty.national_share"
    assert describe_path("systems[1].control_total", analysis).endswith("control total (£m)")
    assert option_name("flexible_25[system_linked_share=0.5]") == "flexible_25"


def test_each_option_status_is_what_the_rule_said(points):
    rec = points[0].recommendations[0]
    statuses = {s: option_status(rec, s) for s in points[0].analysis.scheme_names}
    assert statuses[rec.scheme] == RECOMMENDED
    if rec.baseline != rec.scheme:
        assert statuses[rec.baseline] == BASELINE
    for scheme, status in statuses.items():
        assert status in {RECOMMENDED, BASELINE, NATIONAL, TOO_CLOSE, RULED_OUT, ALLOWED}
        if status == RULED_OUT:
            assert scheme in rec.excluded
    fake = dataclasses.replace(
        rec, scheme="a", baseline="b", excluded={"c": "why", "d": "why"}, too_close=("d",),
        national_rule_changes=("e",),
    )  # fmt: skip
    assert [option_status(fake, s) for s in "abcdef"] == [
        RECOMMENDED, BASELINE, RULED_OUT, TOO_CLOSE, NATIONAL, ALLOWED,
    ]  # fmt: skip


def test_tables_have_a_row_per_point_system_option_and_member(points):
    tables = sweep_tables(points)
    assert set(tables) == {"sweep_points", "sweep_recommendation", "sweep_options", "sweep_members"}
    first = points[0].analysis
    n_schemes, n_systems = len(first.scheme_names), first.model.n_systems
    n_members = len(first.model.org_ids)
    assert list(tables["sweep_points"]["point"]) == [0, 1, 2]
    assert list(tables["sweep_points"][f"sweep.{PATH}"]) == PLANS
    assert (tables["sweep_points"]["draws"] == DRAWS).all()
    assert len(tables["sweep_recommendation"]) == 3 * n_systems
    assert len(tables["sweep_options"]) == 3 * n_systems * n_schemes
    assert len(tables["sweep_members"]) == 3 * n_members * n_schemes
    assert set(tables["sweep_options"]["status"]) <= {
        RECOMMENDED, BASELINE, NATIONAL, TOO_CLOSE, RULED_OUT, ALLOWED,
    }  # fmt: skip


def test_option_rows_are_the_points_own_figures(points):
    options = sweep_tables(points)["sweep_options"]
    for point in points:
        a = point.analysis
        funding = a.paired.system_paid_sum / a.draws
        rows = options[options["point"] == point.index]
        for row in rows.itertuples(index=False):
            k, s = a.scheme_names.index(row.scheme), a.model.system_ids.index(row.system)
            assert row.expected_funding == pytest.approx(float(funding[k, s]), rel=1e-12)
    # the plan of a member of system 0 moves along the sweep: that system's figures change
    sys0 = options[(options["system"] == "sys_0") & (options["scheme"] == "organisation_only")]
    assert sys0["expected_funding"].is_monotonic_increasing
    assert sys0["expected_funding"].iloc[-1] > sys0["expected_funding"].iloc[0]
