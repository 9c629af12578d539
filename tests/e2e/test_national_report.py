"""`sct report` on a scenario with several systems: the national page, its workbook sheets and
the national lines printed, checked against the per-system tables the same report writes."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pandas as pd
import pytest

import sct_engine.cli as cli

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WAVE1 = ROOT / "scenarios" / "wave1_2018_19.yaml"
DRAWS = "4096"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("national")
    html, xlsx = out / "report.html", out / "tables.xlsx"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli, "COMMAND_MODULES", ("sct_engine.report.commands",))
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = cli.main(
                [
                    "report",
                    str(WAVE1),
                    "--out",
                    str(html),
                    "--xlsx",
                    str(xlsx),
                    "--draws",
                    DRAWS,
                    "--max-draws",
                    DRAWS,
                    "--detail-draws",
                    "2048",
                    "--no-gradient",
                ]
            )
    assert code == 0
    return {"html": html, "xlsx": xlsx, "stdout": buffer.getvalue()}


def sheet(report, name: str) -> pd.DataFrame:
    return pd.read_excel(report["xlsx"], sheet_name=name, header=1)


def yes(column: pd.Series) -> pd.Series:
    """The board workbook writes flags as Yes / No."""
    assert set(column.unique()) <= {"Yes", "No"}, column.unique()
    return column == "Yes"


def test_the_national_page_opens_the_report_with_one_ranked_table(report):
    page = report["html"].read_text(encoding="utf-8")
    assert page.index("id='national'") < page.index("id='recommendation'")
    assert "<details class='per-system'>" in page  # ten systems: the per-system material folds
    ranked = re.search(r"<table class='ranked'.*?</table>", page, re.S)
    assert ranked is not None
    rows = re.findall(r"<tr style='([^']*)'>", ranked.group(0))
    assert len(rows) == 10  # one row per system, not ten cards
    keys = sum(1 for _ in re.finditer(r"name='natsort'", page))
    assert keys >= 3  # sortable: by each option, funding at stake, name
    for style in rows:  # every row carries its rank under every sort key
        assert len(re.findall(r"--o\d+:\d+", style)) == keys
    # The default order (key 0) is a permutation of 1..10.
    default = sorted(int(re.search(r"--o0:(\d+)", s).group(1)) for s in rows)
    assert default == list(range(1, 11))
    assert "<script" not in page
    ids = re.findall(r"""\bid=["']([^"']+)["']""", page)
    assert len(ids) == len(set(ids))


def test_signing_counts_are_a_recount_of_the_per_system_sheet(report):
    options = sheet(report, "National by option").set_index("scheme")
    systems = sheet(report, "National by system")
    participation = sheet(report, "Participation")
    for name, row in options.iterrows():
        # Brute force from the members' verdicts: a system signs when every member would.
        members = participation[participation["scheme"] == name]
        signs = members.assign(sign=yes(members["would_sign"])).groupby("system")["sign"].all()
        worse = members.groupby("system")["verdict"].apply(
            lambda v: (v == "materially worse").any()
        )
        assert row["systems_sign"] == int(signs.sum()), name
        assert row["systems_refuse"] == int(worse.sum()), name
        assert row["systems_too_close"] == int((~signs & ~worse).sum()), name
        sub = systems[systems["scheme"] == name]
        assert row["systems_recommended"] == int(yes(sub["recommended"]).sum())
        # National totals: the sums of the systems' figures (every system signs).
        assert row["expected_funding_lost"] == pytest.approx(sub["expected_funding_lost"].sum())
        assert row["gain_signing"] == pytest.approx(
            sub.loc[sub["position"] == "would sign", "diff_expected_income"].sum(), abs=1e-9
        )


def test_the_printed_national_lines_match_the_workbook(report):
    options = sheet(report, "National by option").set_index("scheme")
    national = sheet(report, "Funding at risk").set_index("scheme")
    out = report["stdout"]
    assert "National (10 systems" in out
    for name, row in options.iterrows():
        line = next(x for x in out.splitlines() if x.strip().startswith(f"{name}:"))
        lost = float(re.search(r"£([\d,.]+)m ±", line).group(1).replace(",", ""))
        assert lost == pytest.approx(national.loc[name, "expected_funding_lost"], abs=0.051)
        assert f"{int(row['systems_sign'])} would sign" in line
