"""report/charts.py: each chart is one self-contained SVG element, safe to inline many times.

The contract, not the layout (the pages are being redrawn): well-formed SVG, no
external references (the report is one file that prints offline), every id
prefixed so that two charts on one page cannot clash, fluid width, and the data's
labels present as text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from sct_engine.report.charts import (
    SCHEME_COLOURS,
    attribution_svg,
    funding_at_risk_svg,
    member_funding_svg,
    participation_svg,
    scheme_colour,
    sweep_lines_svg,
    system_gains_svg,
)

pytestmark = pytest.mark.unit

SVG = "{http://www.w3.org/2000/svg}"
SCHEMES = ["organisation_only", "all_or_nothing", "flexible_25[system_linked_share=0.5]"]


def check_self_contained(svg: str, prefix: str) -> ET.Element:
    """The common contract of every chart; returns the parsed root."""
    assert svg.startswith("<svg"), "no XML prolog or doctype: the element is inlined in HTML"
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert "width" not in root.attrib and "height" not in root.attrib
    assert root.attrib.get("class") == "chart" and "viewBox" in root.attrib
    ids = [el.attrib["id"] for el in root.iter() if "id" in el.attrib]
    assert ids and all(i.startswith(f"{prefix}-") for i in ids)
    assert len(ids) == len(set(ids))
    for el in root.iter():
        for name, value in el.attrib.items():
            if name.endswith("href"):
                assert value.startswith(f"#{prefix}-"), f"external reference {value!r}"
    for target in re.findall(r"url\(([^)]*)\)", svg):
        assert target.startswith(f"#{prefix}-"), f"external reference url({target})"
    assert "http://" not in svg.replace("http://www.w3.org/", "").replace(
        "http://purl.org/dc/", ""
    ).replace("http://creativecommons.org/", "")
    assert "<script" not in svg
    return root


def test_funding_at_risk_is_a_self_contained_svg_naming_every_option():
    svg = funding_at_risk_svg(
        SCHEMES,
        np.array([3.0, 2.0, 1.5]),
        np.array([0.1, 0.2, 0.05]),
        np.array([7.0, 9.0, 4.0]),
        funding=10.0,
        title="Example ICS: funding at risk",
        prefix="far",
    )
    check_self_contained(svg, "far")
    for name in ["organisation_only", "all_or_nothing", "Example ICS"]:
        assert name in svg


def test_two_charts_on_one_page_share_no_id():
    args = (SCHEMES, np.ones(3), np.zeros(3), np.ones(3), 2.0, "t")
    a, b = funding_at_risk_svg(*args, prefix="a"), funding_at_risk_svg(*args, prefix="b")
    ids = {*re.findall(r'id="([^"]+)"', a)} & {*re.findall(r'id="([^"]+)"', b)}
    assert not ids


def test_charts_are_reproducible_byte_for_byte():
    """No date or random id in the SVG: the same report twice is the same file."""
    args = (SCHEMES, np.ones(3), np.zeros(3), np.ones(3), 2.0, "t")
    assert funding_at_risk_svg(*args, prefix="x") == funding_at_risk_svg(*args, prefix="x")


def test_attribution_stacks_every_member_of_the_system():
    rows = [
        {"system": s, "scheme": k, "organisation": f"{s}_m{j}", "co_cvar": 1.0 + j}
        for s in ("ics_a", "ics_b")
        for k in SCHEMES
        for j in range(3)
    ]
    svg = attribution_svg(pd.DataFrame(rows), "ics_a", "ICS A", prefix="att")
    check_self_contained(svg, "att")
    assert all(f"ics_a_m{j}" in svg for j in range(3)) and "ics_b_m0" not in svg


def test_member_funding_with_and_without_income():
    for income in (None, np.array([1.0, 1.2, 1.4])):
        svg = member_funding_svg(
            SCHEMES,
            np.array([0.9, 1.0, 1.1]),
            np.array([0.0, 0.05, 0.05]),
            allocation=1.5,
            title="Acute trust: expected funding by option",
            prefix="mem",
            income=income,
            income_ci=None if income is None else np.zeros(3),
            recommended=2,
        )
        check_self_contained(svg, "mem")


@pytest.mark.parametrize("small", [False, True])
def test_sweep_lines_ring_the_recommended_points(small):
    series = [
        (name, np.array([1.0, 2.0, 3.0]) + k, np.full(3, 0.1)) for k, name in enumerate(SCHEMES)
    ]
    svg = sweep_lines_svg(
        [0.0, 0.5, 1.0],
        ["0", "0.5", "1"],
        "system linked share",
        series,
        marked=[0, -1, 2],
        title="Expected funding along the sweep",
        ylabel="£m",
        prefix="sw",
        small=small,
    )
    check_self_contained(svg, "sw")


def test_system_gains_and_participation():
    systems = ["ics_a", "ics_b"]
    colours = {name: scheme_colour(k) for k, name in enumerate(SCHEMES)}
    gains = {name: np.array([0.5, -0.2]) for name in SCHEMES}
    check_self_contained(system_gains_svg(systems, gains, colours, "£m", "Gains", "gain"), "gain")
    counts = {"would sign": np.array([1, 2, 0]), "would not sign": np.array([1, 0, 2])}
    places = {"would sign": "#009E73", "would not sign": "#D55E00"}
    svg = participation_svg(SCHEMES, counts, places, prefix="part")
    check_self_contained(svg, "part")
    assert "would sign" in svg


def test_each_option_keeps_one_colour():
    assert scheme_colour(0) == SCHEME_COLOURS[0]
    assert scheme_colour(len(SCHEME_COLOURS)) == SCHEME_COLOURS[0]
    assert len(set(SCHEME_COLOURS)) == len(SCHEME_COLOURS)
