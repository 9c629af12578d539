"""`sct report` and `sct compare` end to end: the HTML report, its workbook, and a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sct_engine.cli as cli
from sct_engine.report.data import ReportSettings, prepare_report
from sct_engine.report.html import SECTIONS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "example_ics.yaml"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def sct(argv: list[str]) -> int:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli, "COMMAND_MODULES", ("sct_engine.report.commands",))
        return cli.main(argv)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("report")
    html, xlsx = out / "report.html", out / "tables.xlsx"
    code = sct(
        [
            "report",
            str(EXAMPLE),
            "--out",
            str(html),
            "--xlsx",
            str(xlsx),
            "--draws",
            "8192",
            "--detail-draws",
            "4096",
            "--quiet",
        ]
    )
    assert code == 0
    return {"dir": out, "html": html, "xlsx": xlsx}


def test_report_has_every_section(report):
    page = report["html"].read_text(encoding="utf-8")
    for anchor, title in SECTIONS:
        assert f"id='{anchor}'" in page, anchor
        assert title.split(":")[0] in page
    assert re.search(r"sign <strong>[a-z_0-9]+</strong>", page)  # the recommendation
    # Charts: funding at risk, a loss exceedance curve and an attribution chart for the one system.
    assert page.count("<svg") >= 3
    assert "tl-green" in page or "tl-amber" in page or "tl-red" in page  # traffic lights
    assert "would not sign" in page or "nobody worse off" in page.lower()


def test_report_is_self_contained_and_printable(report):
    page = report["html"].read_text(encoding="utf-8")
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#)""", page), "only in-page links allowed"
    assert not re.search(r"url\((?!#)", page)
    assert "@media print" in page and "@page" in page
    ids = re.findall(r"""\bid=["']([^"']+)["']""", page)
    assert len(ids) == len(set(ids)), "duplicate element ids across inline charts"


def test_workbook_holds_the_tables(report):
    from openpyxl import load_workbook

    book = load_workbook(report["xlsx"], read_only=True)
    for sheet in (
        "Recommendation",
        "Funding at risk",
        "Participation",
        "Attribution",
        "Contagion",
        "Incentive gradient",
        "Plan buffers",
        "Largest linked share",
        "Provenance",
    ):
        assert sheet in book.sheetnames, sheet
    # Row 1: plain-English headers; row 2: the column names of docs/results.md.
    participation = pd.read_excel(report["xlsx"], sheet_name="Participation", header=1)
    assert {"scheme", "organisation", "diff_expected_funding", "would_sign"} <= set(
        participation.columns
    )
    assert len(participation) == 6 * 8  # built-in menu x example members


def test_board_workbook_is_formatted_for_a_board(report):
    """Inputs first; £m and % formats; plain-English headers with units; frozen headers;
    widths; a native chart of funding at risk by option."""
    from openpyxl import load_workbook

    book = load_workbook(report["xlsx"])
    assert book.sheetnames[0] == "Inputs"
    inputs = [v for row in book["Inputs"].iter_rows(values_only=True) for v in row if v]
    for block in ("Run", "Uncertainty and regime", "Systems", "Options compared", "Organisations"):
        assert block in inputs, block
    assert {"acute_north", "flexible_50", "Random seed", 20180401} <= set(inputs)

    sheet = book["Funding at risk"]
    heads = {c.value: c for c in sheet[2]}  # field names
    titles = [c.value for c in sheet[1]]
    lost = heads["expected_funding_lost"].column
    assert titles[lost - 1] == "Expected funding lost (£m)"
    assert "£" in sheet.cell(3, lost).number_format and '"m"' in sheet.cell(3, lost).number_format
    assert sheet.freeze_panes == "B3"  # both header rows and the option column stay in view
    assert sheet.column_dimensions[sheet.cell(1, lost).column_letter].width >= 10
    (chart,) = sheet._charts
    assert chart.tagname == "barChart" and len(chart.series) == 3
    categories = chart.series[0].cat.strRef.f
    assert categories == "'Funding at risk'!$A$3:$A$8"  # the six options
    assert (
        chart.series[0].val.numRef.f
        == f"'Funding at risk'!${heads['expected_funding_lost'].column_letter}$3:${heads['expected_funding_lost'].column_letter}$8"
    )

    orgs = book["Organisations"]
    heads = {c.value: c.column for c in orgs[2]}
    p_meet = heads["p_meet_control_total"]
    assert orgs.cell(1, p_meet).value == "Probability of meeting own control total (%)"
    assert orgs.cell(3, p_meet).number_format == "0.0%"
    assert orgs.freeze_panes == "D3"  # scheme, system, organisation stay in view


def _browser() -> str:
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    message = "headless Chromium is not installed (apt-get install -y chromium, as .ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(message)  # CI installs it: a missing browser there is a broken pipeline
    pytest.skip(message)


def _chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            _browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *extra,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_renders_in_headless_chromium_without_errors(report, tmp_path):
    import matplotlib.image as mpimg

    dom = _chromium(report["html"], tmp_path / "profile-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    for anchor, _ in SECTIONS:
        assert f'id="{anchor}"' in dom.stdout, anchor

    shot = tmp_path / "report.png"
    run = _chromium(
        report["html"],
        tmp_path / "profile-shot",
        "--enable-logging=stderr",
        "--v=0",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
    )
    assert run.returncode == 0, run.stderr[-2000:]
    problems = [
        line
        for line in run.stderr.splitlines()
        if re.search(r"Uncaught|CONSOLE|Failed to load resource|net::ERR_", line)
    ]
    assert not problems, problems
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.std() > 0.05, "blank screenshot"
    assert (pixels.min(axis=-1) < 0.5).mean() > 0.01, "almost nothing drawn"


def test_report_from_a_run_folder_recreates_the_runs_draws(tmp_path):
    run_dir = tmp_path / "run"
    # The reference engine, so this checks the re-creation of the draws, not kernel parity (tested elsewhere).
    assert (
        sct(
            [
                "run",
                str(EXAMPLE),
                "--draws",
                "4096",
                "--seed",
                "5",
                "--engine",
                "reference",
                "--out",
                str(run_dir),
                "--quiet",
            ]
        )
        == 0
    )
    data = prepare_report(
        run_dir, ReportSettings(detail_draws=2048, gradient=False), progress=False
    )
    assert data.analysis.draws == 4096 and data.analysis.seed == 5
    saved = pd.read_csv(run_dir / "national.csv")
    recreated = data.analysis.result.national
    np.testing.assert_allclose(
        recreated["expected_funding_lost"], saved["expected_funding_lost"], rtol=1e-9
    )
    html = tmp_path / "from_run.html"
    assert (
        sct(
            [
                "report",
                str(run_dir),
                "--out",
                str(html),
                "--detail-draws",
                "2048",
                "--no-gradient",
                "--quiet",
            ]
        )
        == 0
    )
    page = html.read_text(encoding="utf-8")
    assert "re-created from the run" in page and "4,096 simulated years" in page
    info = json.loads((run_dir / "run.json").read_text())
    assert info["scenario_hash"] in page


def test_report_refuses_a_folder_without_a_run(tmp_path, capsys):
    assert sct(["report", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 2
    assert "run.json" in capsys.readouterr().err


def test_compare_prints_paired_differences(capsys, tmp_path):
    code = sct(
        [
            "compare",
            str(EXAMPLE),
            "--schemes",
            "organisation_only,flexible_50,all_or_nothing",
            "--draws",
            "4096",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "differences from organisation_only" in text
    assert re.search(
        r"flexible_50 (lowers|raises) the probability that any member loses funding by "
        r"\d+\.\d points ± \d+\.\d",
        text,
    )
    systems = pd.read_csv(tmp_path / "comparison_systems.csv")
    assert list(systems["scheme"]) == ["organisation_only", "flexible_50", "all_or_nothing"]
    assert (systems["se_diff_expected_funding"] >= 0).all()


def test_compare_rejects_an_unknown_option(capsys):
    assert (
        sct(["compare", str(EXAMPLE), "--schemes", "organisation_only,nope", "--draws", "100"]) == 2
    )
    assert "unknown scheme 'nope'" in capsys.readouterr().err
