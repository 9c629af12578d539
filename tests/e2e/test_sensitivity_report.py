"""`sct report` shows the sensitivity table: in the board pack (does the recommendation survive
each assumption variant?), on the national page (signing counts and national loss per variant)
and in the workbook; `--no-sensitivity` leaves it out and says so."""

from __future__ import annotations

import contextlib
import html
import io
import re
from pathlib import Path

import pandas as pd
import pytest

import sct_engine.cli as cli
from sct_engine.analysis.sensitivity import ASSUMPTIONS
from sct_engine.report.sensitivity_html import LEFT_OUT

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "example_ics.yaml"
WAVE1 = ROOT / "scenarios" / "wave1_2018_19.yaml"


def sct_report(*args: str) -> tuple[int, str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli, "COMMAND_MODULES", ("sct_engine.report.commands",))
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = cli.main(["report", *args])
    return code, buffer.getvalue()


def text(fragment: str) -> str:
    """HTML as a reader sees it: tags dropped, entities read, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def section(page: str, anchor: str) -> str:
    start = page.index(f"<section id='{anchor}'")
    return page[start : page.index("</section>", start)]


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("sensitivity")
    page, xlsx = out / "report.html", out / "tables.xlsx"
    code, _ = sct_report(
        str(EXAMPLE),
        "--out",
        str(page),
        "--xlsx",
        str(xlsx),
        "--draws",
        "8192",
        "--detail-draws",
        "2048",
        "--no-gradient",
        "--sensitivity-draws",
        "4096",
    )
    assert code == 0
    return {"html": page, "xlsx": xlsx}


def test_the_board_pack_says_whether_the_recommendation_survives_each_variant(example):
    page = example["html"].read_text(encoding="utf-8")
    recommended = re.search(r"sign <strong>([a-z_0-9]+)</strong>", page)
    assert recommended
    body = text(section(page, "sensitivity"))
    assert f"Does {recommended.group(1)} survive?" in body
    kept = re.search(
        rf"The recommendation \({recommended.group(1)}\) survives (\d+) of the (\d+) assumption",
        body,
    )
    assert kept
    systems = pd.read_excel(example["xlsx"], sheet_name="Sensitivity by system", header=1)
    run = [v for v in systems["variant"] if v != "as assumed"]
    # One row per variant run, in the order of the variants; the rest named as not run.
    assert run == [a.name for a in ASSUMPTIONS if a.name in run]
    for a in ASSUMPTIONS:
        assert a.label[:1].upper() + a.label[1:] in body or a.label in body, a.name
    assert "As assumed" in body
    assert (systems["reference_scheme"] == recommended.group(1)).all()
    answers = set(systems["survives"])
    assert answers <= {"yes", "too close to call"} | {
        f"changes to {x}" for x in systems["recommended_scheme"]
    }
    variants = systems[systems["variant"] != "as assumed"]
    assert (int(kept.group(1)), int(kept.group(2))) == (
        int((variants["survives"] == "yes").sum()),
        len(variants),
    )
    cells = re.findall(
        r"<td class='(?:better|close|worse) text'>([^<]+)</td>", section(page, "sensitivity")
    )
    assert len(cells) == len(systems)
    assert "the same 4,096 simulated years" in body and "fewer than the 8,192" in body
    assert "common random numbers" in body


def test_the_workbook_lists_the_same_runs_by_option(example):
    options = pd.read_excel(example["xlsx"], sheet_name="Sensitivity by option", header=1)
    systems = pd.read_excel(example["xlsx"], sheet_name="Sensitivity by system", header=1)
    assert list(dict.fromkeys(options["variant"])) == list(dict.fromkeys(systems["variant"]))
    assert len(options) == options["variant"].nunique() * 6  # the built-in menu
    assert (options["expected_funding_lost"] > 0).all()


def test_no_sensitivity_leaves_it_out_and_says_so(tmp_path):
    page, xlsx = tmp_path / "report.html", tmp_path / "tables.xlsx"
    code, _ = sct_report(
        str(EXAMPLE),
        "--out",
        str(page),
        "--xlsx",
        str(xlsx),
        "--draws",
        "4096",
        "--detail-draws",
        "1024",
        "--no-gradient",
        "--no-sensitivity",
    )
    assert code == 0
    body = section(page.read_text(encoding="utf-8"), "sensitivity")
    assert text(html.escape(LEFT_OUT)) in text(body)
    assert not {"Sensitivity by option", "Sensitivity by system"} & set(
        pd.ExcelFile(xlsx).sheet_names
    )


def test_the_national_page_shows_how_signing_and_the_national_loss_move(tmp_path):
    """With the sensitivity runs at the main analysis's draws and no extra draws, the table's
    as-assumed row is the national page's own answer, figure for figure."""
    page, xlsx = tmp_path / "report.html", tmp_path / "tables.xlsx"
    draws = "4096"
    code, _ = sct_report(
        str(WAVE1),
        "--out",
        str(page),
        "--xlsx",
        str(xlsx),
        "--draws",
        draws,
        "--max-draws",
        draws,
        "--detail-draws",
        "1024",
        "--no-gradient",
        "--sensitivity-draws",
        draws,
    )
    assert code == 0
    national = section(page.read_text(encoding="utf-8"), "national")
    assert "Sensitivity: how the answer moves with the assumptions" in national
    body = text(national[national.index("Sensitivity: how the answer") :])
    assert "one joint simulation" in body and "common random numbers" in body
    sens = pd.read_excel(xlsx, sheet_name="Sensitivity by option", header=1)
    main = pd.read_excel(xlsx, sheet_name="National by option", header=1).set_index("scheme")
    assumed = sens[sens["variant"] == "as assumed"].set_index("scheme")
    for column in ("systems_sign", "systems_recommended", "expected_funding_lost"):
        pd.testing.assert_series_equal(
            assumed[column], main.loc[assumed.index, column], check_names=False
        )
    # Every variant applies to wave 1 but the scenario's own gateway reading.
    assert sens["variant"].nunique() == len(ASSUMPTIONS)
    for row in assumed.itertuples():
        assert f"{row.systems_sign} sign" in body
