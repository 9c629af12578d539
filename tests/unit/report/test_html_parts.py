"""report/html_parts.py: the pages' shared building blocks escape text and format money and
probabilities one way everywhere."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from sct_engine.report.html_parts import STYLESHEET, escape, money, option_header, percent, table

pytestmark = pytest.mark.unit


def test_escape_makes_any_text_inert_in_text_and_attributes():
    hostile = """<script>alert("x")</script> & 'quoted'"""
    text = escape(hostile)
    assert "<" not in text and ">" not in text and '"' not in text and "'" not in text
    assert escape(3.5) == "3.5"


def test_option_header_escapes_and_lets_long_names_wrap():
    header = option_header("flexible_25[system_linked_share=0.5]<b>")
    assert "<b>" not in header and "&lt;b&gt;" in header
    assert header.replace("<wbr>", "") == escape("flexible_25[system_linked_share=0.5]<b>")
    assert header.count("<wbr>") == 5  # one break chance after each _ [ _ _ =
    assert option_header("plain") == "plain"


@pytest.mark.parametrize(
    ("value", "kwargs", "text"),
    [
        (1234.5, {}, "£1,234.50m"),
        (-0.126, {"dp": 1}, "£0.1m"),
        (0.93, {"sign": True}, "+£0.93m"),
        (-2.0, {"sign": True}, "-£2.00m"),
        (0.0, {"sign": True}, "+£0.00m"),
    ],
)
def test_money_is_pounds_millions(value, kwargs, text):
    assert money(value, **kwargs) == text


def test_percent_and_its_dash_for_what_is_missing():
    assert percent(0.994, dp=1) == "99.4%"
    assert percent(0.5) == "50%"
    assert percent(None) == percent(math.nan) == percent(math.inf) == "&ndash;"


def test_table_is_well_formed_with_caption_and_cell_attributes():
    html = table(
        ["option", "lost"],
        [["a", "£1.00m"], [("class='num'", "b"), "£2.00m"], "<tr><td colspan='2'>note</td></tr>"],
        caption="Funding lost",
    )
    root = ET.fromstring(html)
    assert root.tag == "table"
    assert root.find("caption").text == "Funding lost"
    assert [th.text for th in root.iter("th")] == ["option", "lost"]
    rows = root.find("tbody").findall("tr")
    assert len(rows) == 3 and rows[1].find("td").attrib == {"class": "num"}


def test_the_stylesheet_prints_and_loads_nothing_from_outside():
    assert "@media print" in STYLESHEET
    assert "url(" not in STYLESHEET and "@import" not in STYLESHEET
