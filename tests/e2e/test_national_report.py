"""`sct report` on a scenario with several systems: the national page, its workbook sheets and
the national lines printed, checked against the per-system tables the same report writes."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

import sct_engine.cli as cli

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WAVE1 = ROOT / "scenarios" / "wave1_2018_19.yaml"
EXAMPLE = ROOT / "scenarios" / "example_ics.yaml"
DRAWS = "4096"


def sct_report(*args: str) -> tuple[int, str]:
    """``sct report`` in this process: its exit code and what it printed."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli, "COMMAND_MODULES", ("sct_engine.report.commands",))
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = cli.main(["report", *args])
    return code, buffer.getvalue()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("national")
    html, xlsx = out / "report.html", out / "tables.xlsx"
    code, stdout = sct_report(
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
    )
    assert code == 0
    return {"html": html, "xlsx": xlsx, "stdout": stdout}


def sheet(report, name: str) -> pd.DataFrame:
    return pd.read_excel(report["xlsx"], sheet_name=name, header=1)


def yes(column: pd.Series) -> pd.Series:
    """The board workbook writes flags as Yes / No."""
    assert set(column.unique()) <= {"Yes", "No"}, column.unique()
    return column == "Yes"


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_the_inputs_then_the_national_page_open_the_report_with_one_ranked_table(report):
    page = report["html"].read_text(encoding="utf-8")
    # The board pack opens with the inputs, outside the folded box (so they print), then the
    # national page, then the per-system material folded, then the method and provenance.
    sections = re.findall(r"<section id='([^']+)'", page)
    assert sections[:3] == ["inputs", "national", "recommendation"]
    assert sections[-1] == "assumptions"
    assert "<details class='per-system'>" in page  # ten systems: the per-system material folds
    box = page.index("<details class='per-system'>")
    assert page.index("<section id='inputs'") < page.index("id='national'") < box
    assert page.index("</details>") < page.index("<section id='assumptions'")
    assert page.count("<details class='per-system'>") == 1
    assert page.index("<section id='recommendation'") > box
    nav = re.search(r"<nav[^>]*>(.*?)</nav>", page, re.S)
    assert nav is not None
    assert re.findall(r"href='#([^']+)'", nav.group(1))[:3] == [
        "inputs",
        "national",
        "recommendation",
    ]
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


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
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


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
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


def two_systems_one_option(folder: Path) -> Path:
    """example_ics and a copy of it under other ids: two systems, one option."""
    data = yaml.safe_load(EXAMPLE.read_text())
    twin = yaml.safe_load(yaml.safe_dump(data["systems"][0]))
    twin["id"], twin["name"] = "example_ics_twin", "Example ICS twin"
    for org in twin["organisations"]:
        org["id"] += "_twin"
    twin["correlation"]["organisations"] = [
        x + "_twin" for x in twin["correlation"]["organisations"]
    ]
    data["systems"].append(twin)
    data["schemes"] = [{"name": "organisation_only"}]
    path = folder / "two_systems_one_option.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_several_systems_and_one_option_give_the_national_page_without_the_comparisons(tmp_path):
    """With no option but the baseline nothing is signed instead of it: the national page gives
    the funding at risk and says in one line why participation, ranking and fairness are left
    out (once a traceback from an empty chart)."""
    html, xlsx = tmp_path / "report.html", tmp_path / "tables.xlsx"
    code, stdout = sct_report(
        str(two_systems_one_option(tmp_path)),
        "--out",
        str(html),
        "--xlsx",
        str(xlsx),
        "--draws",
        "2000",
        "--detail-draws",
        "256",
        "--no-gradient",
    )
    assert code == 0
    page = html.read_text(encoding="utf-8")
    national = page[page.index("<section id='national'") :]
    national = national[: national.index("</section>")]
    assert national.count("The scenario offers one option, organisation_only") == 1
    assert "Funding at risk nationally" in national
    assert "<table class='ranked'" not in national and "Fairness across systems" not in national
    options = sheet({"xlsx": xlsx}, "National by option")
    assert list(options["scheme"]) == ["organisation_only"]
    assert list(sheet({"xlsx": xlsx}, "National by system")["system"]) == [
        "example_ics",
        "example_ics_twin",
    ]
    assert "National (2 systems" in stdout
    assert "one option offered (organisation_only)" in stdout
