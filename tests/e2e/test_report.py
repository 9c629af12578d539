"""`sct report` and `sct compare` end to end: the HTML report, its workbook, and a real browser."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sct_engine.cli as cli
from sct_engine.report.data import ReportSettings, prepare_report
from sct_engine.report.html import SECTIONS, money
from tests.e2e.chromium import (
    A4_POINTS,
    chromium,
    cut_on_a4,
    pdf_page_sizes,
    screenshot_problems,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "example_ics.yaml"


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
        assert html.escape(title.split(":")[0]) in page
    assert re.search(r"(sign|stay with) <strong>[a-z_0-9]+</strong>", page)  # the recommendation
    # Charts: funding at risk, a loss exceedance curve and an attribution chart for the one system.
    assert page.count("<svg") >= 3
    assert "tl-green" in page or "tl-amber" in page or "tl-red" in page  # traffic lights
    assert "would not sign" in page or "too close to call" in page.lower()
    assert "What the colours measure" in page and "materially worse off" in page


def _text(fragment: str) -> str:
    """HTML as a reader sees it: tags dropped, entities read, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_report_opens_with_the_inputs_and_assumptions(report):
    """The first section after the summary is the inputs: every member's plan, control total, funding at stake and
    turnover as the scenario file gives them, the system control total, the draws and seed, the
    options compared."""
    page = report["html"].read_text(encoding="utf-8")
    sections = re.findall(r"<section id='([^']+)'", page)
    assert sections[:2] == ["summary", "inputs"] == [x for x, _ in SECTIONS[:2]]
    inputs = page[page.index("<section id='inputs'") : page.index("<section id='recommendation'")]
    rows = [_text(r) for r in re.findall(r"<tr>(.*?)</tr>", inputs, flags=re.S)]
    scenario = yaml.safe_load(EXAMPLE.read_text())
    system = scenario["systems"][0]
    members = system["organisations"]
    for org in members:
        (row,) = [r for r in rows if f" {org['id']} · " in f" {r}"]
        expected = [
            money(org["plan"], 1, sign=True),
            money(org["control_total"], 1, sign=True),
            money(org["sustainability_funding"], 1),
            money(org["turnover"], 0),
        ]
        for figure in expected:
            assert figure in row.split(), (org["id"], figure, row)
    (totals,) = [r for r in rows if r.startswith(system["name"])]
    plans = sum(org["plan"] for org in members)
    control_total = system["system_control_total"]
    if control_total is None:  # the members' control totals with their uplifts
        control_total = sum(o["control_total"] + o.get("control_total_uplift", 0) for o in members)
    at_stake = sum(org["sustainability_funding"] for org in members)
    assert totals.split()[-5:-1] == [
        str(len(members)),
        money(plans, 1, sign=True),
        money(control_total, 1, sign=True),
        money(plans - control_total, 1, sign=True),
    ] and totals.split()[-1] == money(at_stake, 1), totals
    assert "Draws (simulated years) 8,192" in rows
    assert f"Random seed {scenario['simulation']['seed']}" in rows
    options = [r.split()[0] for r in rows if re.match(r"(organisation_only|all_or|flexible)", r)]
    assert options[:6] == [
        "organisation_only",
        "all_or_nothing",
        "all_or_nothing_strict",
        "flexible_25",
        "flexible_50",
        "flexible_75",
    ]


def test_each_member_has_a_chart_of_its_expected_funding_by_option(report):
    """One chart per member; its bars are labelled with the member's expected funding under each
    option, the numbers of the workbook's Participation table, and the dashed line is its
    funding at stake."""
    page = report["html"].read_text(encoding="utf-8")
    section = page[page.index("<section id='member-funding'") :]
    section = section[: section.index("</section>")]
    participation = pd.read_excel(report["xlsx"], sheet_name="Participation", header=1)
    scenario = yaml.safe_load(EXAMPLE.read_text())
    members = scenario["systems"][0]["organisations"]
    figures = re.findall(
        r"<figure class='member' id='member-([^']+)'>(.*?)</figure>", section, re.S
    )
    assert [org_id for org_id, _ in figures] == [org["id"] for org in members]
    for org, (_, figure) in zip(members, figures, strict=True):
        labels = re.findall(r"<!-- (.*?) -->", figure)  # matplotlib names each text it draws
        bars = [x for x in labels if re.fullmatch(r"£[\d,]+\.\d\dm", x)]
        rows = participation[participation["organisation"] == org["id"]]
        assert bars == [f"£{v:,.2f}m" for v in rows["expected_funding"]], org["id"]
        assert (rows["expected_funding"] <= org["sustainability_funding"] + 1e-9).all()
        if org["sustainability_funding"] > 0:
            assert f"at stake £{org['sustainability_funding']:,.1f}m" in labels


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
        "Finance and A&E",
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


def test_report_renders_in_headless_chromium_without_errors(report, tmp_path):
    dom = chromium(report["html"], tmp_path / "profile-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    for anchor, _ in SECTIONS:
        assert f'id="{anchor}"' in dom.stdout, anchor
    problems = screenshot_problems(report["html"], tmp_path / "profile-shot", tmp_path / "r.png")
    assert not problems, problems


def test_report_prints_on_a4_without_cut_tables(report, tmp_path):
    """Printed, every page is A4; laid out at A4's printable width under the print rules, no
    table, figure or chart runs past the page's edge (the widest: the members' inputs and the
    per-option tables with one column per option)."""
    pdf = tmp_path / "report.pdf"
    printed = chromium(
        report["html"], tmp_path / "profile-pdf", f"--print-to-pdf={pdf}", "--no-pdf-header-footer"
    )
    assert printed.returncode == 0 and pdf.is_file(), printed.stderr[-2000:]
    sizes = pdf_page_sizes(pdf)
    assert len(sizes) >= 5, sizes  # a long report, many pages
    for width, height in sizes:
        assert abs(width - A4_POINTS[0]) < 1 and abs(height - A4_POINTS[1]) < 1, (width, height)
    assert cut_on_a4(report["html"], tmp_path) == []


def test_report_from_a_run_folder_recreates_the_runs_tables_exactly(tmp_path):
    """`sct run` and `sct report` on the same seed and draws: one engine, identical tables."""
    run_dir = tmp_path / "run"
    assert (
        sct(
            [
                "run",
                str(EXAMPLE),
                "--draws",
                "4096",
                "--seed",
                "5",
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
    for table in ("organisations", "systems", "national"):
        saved = pd.read_csv(run_dir / f"{table}.csv")
        recreated = getattr(data.analysis.result, table)
        assert list(saved.columns) == list(recreated.columns)
        for column in saved.columns:
            if pd.api.types.is_float_dtype(saved[column]):
                np.testing.assert_array_equal(
                    recreated[column].to_numpy(), saved[column].to_numpy(), err_msg=column
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
        r"flexible_50 (lowers|raises) expected funding by £\d+\.\d\dm ± \d+\.\d\dm; the chance "
        r"of losing more than £1m goes from \d+\.\d% to \d+\.\d%",
        text,
    )
    assert re.search(r"Recommendation for Example ICS: (sign|stay with) ", text)
    assert "Decision rule:" in text
    systems = pd.read_csv(tmp_path / "comparison_systems.csv")
    assert list(systems["scheme"]) == ["organisation_only", "flexible_50", "all_or_nothing"]
    assert (systems["se_diff_expected_funding"] >= 0).all()


def test_compare_rejects_an_unknown_option(capsys):
    assert (
        sct(["compare", str(EXAMPLE), "--schemes", "organisation_only,nope", "--draws", "100"]) == 2
    )
    assert "unknown scheme 'nope'" in capsys.readouterr().err


def test_a_mistyped_scheme_gets_a_did_you_mean(capsys):
    code = sct(["compare", str(EXAMPLE), "--schemes", "organisation_only,flexibel_25"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown scheme 'flexibel_25'; did you mean flexible_25?" in err


def test_a_mistyped_option_shows_the_subcommands_usage(capsys):
    with pytest.raises(SystemExit) as exit_:
        sct(["report", str(EXAMPLE), "--drawz", "100"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: sct report") and "unrecognized arguments: --drawz 100" in err
