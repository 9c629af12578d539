"""The board pack as a board reads it: page 1 of the printed pack is the summary, and one figure
keeps one label and one value across the page, the workbook and the run's CSV (issue 25)."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import sct_engine.cli as cli
from tests.e2e.chromium import chromium

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "example_ics.yaml"
DRAWS = "8192"
#: Words of the method section that page 1 must not use.
JARGON = ("CVaR", "co-CVaR", "Gini", "delta method", "Euler", "P(lose more than")


def sct(argv: list[str], modules: tuple[str, ...]) -> int:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli, "COMMAND_MODULES", modules)
        return cli.main(argv)


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pack")
    page, xlsx, run = out / "report.html", out / "tables.xlsx", out / "run"
    report = ["report", str(EXAMPLE), "--out", str(page), "--xlsx", str(xlsx)]
    assert (
        sct(
            [*report, "--draws", DRAWS, "--detail-draws", "4096", "--quiet"],
            ("sct_engine.report.commands",),
        )
        == 0
    )
    assert sct(["run", str(EXAMPLE), "--draws", DRAWS, "--out", str(run), "--quiet"], ()) == 0
    return {"dir": out, "html": page, "xlsx": xlsx, "csv": run / "organisations.csv"}


def pdftotext() -> str:
    if path := shutil.which("pdftotext"):
        return path
    message = "pdftotext is not installed (apt-get install -y poppler-utils)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def test_page_one_of_the_printed_pack_is_the_summary(pack, tmp_path):
    pdf = tmp_path / "pack.pdf"
    printed = chromium(
        pack["html"], tmp_path / "profile", f"--print-to-pdf={pdf}", "--no-pdf-header-footer"
    )
    assert printed.returncode == 0 and pdf.is_file(), printed.stderr[-2000:]
    first = subprocess.run(
        [pdftotext(), "-f", "1", "-l", "1", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    text = " ".join(first.split())
    assert "Summary for the board" in text
    assert re.search(r"(Sign|Stay with) [a-z_0-9]+", text), text[:600]
    assert "95% interval" in text
    assert "Who is worse off" in text
    assert "1-in-20 bad year" in text and "more than 10% of the" in text
    assert "Key assumptions" in text
    assert "Inputs and assumptions" not in text  # the inputs start on page 2
    for word in JARGON:
        assert word not in text, word
    second = subprocess.run(
        [pdftotext(), "-f", "2", "-l", "2", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Inputs and assumptions" in second


def _participation_row(page: str, organisation: str) -> tuple[str, list[str]]:
    section = page[page.index("<section id='participation'") :]
    section = section[: section.index("</section>")]
    head = re.search(r"<thead>(.*?)</thead>", section, re.S)
    assert head is not None
    headers = [
        " ".join(html.unescape(re.sub(r"<[^>]+>", "", h)).split())
        for h in re.findall(r"<th>(.*?)</th>", head.group(1), re.S)
    ]
    for row in re.findall(r"<tr>(.*?)</tr>", section, re.S):
        if f"{organisation} ·" in row:
            cells = [
                " ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split())
                for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            ]
            return headers[1], cells
    raise AssertionError(f"no participation row for {organisation}")


def _sheet(path: Path, name: str) -> tuple[list[str], pd.DataFrame]:
    """A board-workbook sheet: its titles (row 1) and its table (field names in row 2)."""
    from openpyxl import load_workbook

    sheet = load_workbook(path, read_only=True)[name]
    rows = list(sheet.iter_rows(values_only=True))
    return list(rows[0]), pd.DataFrame(rows[2:], columns=rows[1])


def test_one_figure_one_label_in_the_page_the_workbook_and_the_csv(pack):
    """acute_north under organisation_only: its expected income (funding plus incentive PSF) is
    labelled income everywhere and its expected funding (PSF/CSF paid) funding everywhere, with
    the same value in the page, the workbook and the run's CSV."""
    page = pack["html"].read_text(encoding="utf-8")
    csv = pd.read_csv(pack["csv"])
    row = csv[(csv["scheme"] == "organisation_only") & (csv["organisation"] == "acute_north")].iloc[
        0
    ]
    funding = float(row["expected_funding"])
    income = funding + float(row["expected_incentive"]) + float(row.get("expected_bonus", 0.0))
    assert income - funding > 0.5  # the example's uplift: the two words differ by real money

    # The page: the participation table's first column is income, and says so.
    header, cells = _participation_row(page, "acute_north")
    assert header == "Expected income under organisation_only", header
    assert cells[1] == f"£{income:,.2f}m"
    # The page: the member's chart labels its funding bars with funding.
    figure = page[page.index("id='member-acute_north'") :]
    figure = figure[: figure.index("</figure>")]
    assert f"£{funding:,.2f}m" in re.findall(r"<!-- (.*?) -->", figure)

    # The workbook: the participation sheet's income column and the organisations' funding.
    titles, part = _sheet(pack["xlsx"], "Participation")
    mine = part[
        (part["scheme"] == "organisation_only") & (part["organisation"] == "acute_north")
    ].iloc[0]
    columns = list(part.columns)
    assert "income" in titles[columns.index("expected_income")].lower()
    assert "funding" in titles[columns.index("expected_funding")].lower()
    assert "income" not in titles[columns.index("expected_funding")].lower()
    assert round(float(mine["expected_income"]), 2) == round(income, 2)
    assert round(float(mine["expected_funding"]), 2) == round(funding, 2)
    titles, orgs = _sheet(pack["xlsx"], "Organisations")
    mine = orgs[
        (orgs["scheme"] == "organisation_only") & (orgs["organisation"] == "acute_north")
    ].iloc[0]
    assert round(float(mine["expected_funding"]), 2) == round(funding, 2)
    assert "funding" in titles[list(orgs.columns).index("expected_funding")].lower()


def test_no_interval_is_rounded_to_zero(pack):
    page = pack["html"].read_text(encoding="utf-8")
    assert not re.search(r"±\s*0\.00(?!\d)", page)
    assert "±0.00<" not in page


def test_the_legend_says_more_draws_only_when_more_were_drawn(pack):
    page = pack["html"].read_text(encoding="utf-8")
    section = page[page.index("<section id='participation'") :]
    section = section[: section.index("</section>")]
    extension = re.search(r"were given ([\d,]+) more draws", page)
    if extension:
        assert "after " + extension.group(1) + " more draws" in section
    else:
        assert "even after more draws" not in section
        assert "no more were drawn" in section


def test_the_inputs_sheet_is_formatted_like_the_rest(pack):
    """Counts with separators, a seed as it is, £ per £1 and percentages formatted, words of
    the format with spaces, headers in the house style."""
    from openpyxl import load_workbook

    sheet = load_workbook(pack["xlsx"])["Inputs"]
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=4) if row[0].value}
    assert cells["Draws (simulated years)"].number_format == "#,##0"
    assert cells["Random seed"].number_format == "0"
    assert cells["Incentive PSF per £1 of uplift"].number_format == '"£"0.00" per £1"'
    assert cells["Variance share from the national factor"].number_format == "0.0%"
    assert cells["A&E gateway (national rule)"].value == "finance earned"
    header = next(r for r in sheet.iter_rows(min_row=4) if r[0].value == "Setting")
    assert header[0].font.bold and header[0].fill.fgColor.rgb.endswith("005EB8")


def test_the_pack_shows_quarterly_cash_timing_for_every_member_with_funding(pack):
    page = pack["html"].read_text(encoding="utf-8")
    section = page[page.index("<section id='cash-timing'") :]
    section = section[: section.index("</section>")]
    assert section.count("<svg") == 7  # eight members, one (ccg_county) with nothing at stake
    assert "Q1" in section and "Q4" in section


def test_the_pack_shows_the_agreement_as_a_table_to_sign(pack):
    page = pack["html"].read_text(encoding="utf-8")
    section = page[page.index("<section id='agreement'") :]
    section = section[: section.index("</section>")]
    assert "on top of flexible_25" in section or "No agreement" in section
    assert "Common formulas on the same years" in section
    if "No agreement" not in section:  # a designed table is checked on years not its own
        assert "further simulated years not used to design it" in section
    from openpyxl import load_workbook

    book = load_workbook(pack["xlsx"], read_only=True)
    assert "Agreement formulas" in book.sheetnames
    if "No agreement" not in section:
        rows = book["Agreement"].iter_rows(values_only=True)
        header = next(r for r in rows if r and "organisation" in r)
        assert {"held_out_change_vs_alone", "held_out_expectation", "held_out_tail"} <= set(header)
