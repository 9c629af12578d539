"""`sct report` on a scenario with actuals: the board pack's In-year section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sct_engine.cli import main
from sct_engine.report.html import IN_YEAR

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "example_ics_q2.yaml"
FAST = ["--draws", "2000", "--detail-draws", "1000", "--no-gradient", "--no-sensitivity"]


def test_a_scenario_with_actuals_gets_an_in_year_section_after_the_recommendation(tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", str(EXAMPLE), "--out", str(out), *FAST]) == 0
    page = out.read_text(encoding="utf-8")
    anchor, title = IN_YEAR
    sections = re.findall(r"<section id='([\w-]+)'", page)
    assert sections[sections.index("recommendation") + 1] == anchor
    assert f"href='#{anchor}'" in page and title in page
    body = page[page.index(f"<section id='{anchor}'") :]
    body = body[: body.index("</section>")]
    assert "<strong>flexible_50</strong>" in body and "known to the end of Q2" in body
    assert "P(pass Q3)" in body and "P(pass Q4)" in body and "P(pass Q2)" not in body
    for member in ("acute_north", "acute_south", "ccg_valley"):
        assert member in body
    assert "What it takes" in body and "docs/in-year.md" in body
    # Page 1 says the figures are for the rest of the year, and what is still to come.
    summary = page[page.index("<section id='summary'") :]
    summary = summary[: summary.index("</section>")]
    assert "In year: Q2 is closed." in summary and "rest of the year" in summary
    assert "Under flexible_50, the option signed, example_ics has been paid" in summary
