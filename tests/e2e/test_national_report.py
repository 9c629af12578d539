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
from sct_engine.analysis.national import JOINT_BASIS, RECOMMENDED_MIX
from sct_engine.engine.model import build_model
from sct_engine.report.system_detail import CHARTS_LEFT_OUT
from sct_engine.scenario import load_scenario

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
def test_the_national_page_then_the_inputs_open_the_report_with_one_ranked_table(report):
    page = report["html"].read_text(encoding="utf-8")
    # The report opens with the summary (page 1), the national page, then the inputs, outside
    # the folded box (so they print), then the per-system material folded, then the method and provenance.
    sections = re.findall(r"<section id='([^']+)'", page)
    assert sections[0] == "summary"  # page 1: the executive summary (report/summary.py)
    assert sections[1:4] == ["national", "inputs", "recommendation"]
    assert sections[-1] == "assumptions"
    assert "<details class='per-system'>" in page  # ten systems: the per-system material folds
    box = page.index("<details class='per-system'>")
    assert page.index("id='national'") < page.index("<section id='inputs'") < box
    assert page.index("</details>") < page.index("<section id='assumptions'")
    assert page.count("<details class='per-system'>") == 1
    assert page.index("<section id='recommendation'") > box
    nav = re.search(r"<nav[^>]*>(.*?)</nav>", page, re.S)
    assert nav is not None
    assert re.findall(r"href='#([^']+)'", nav.group(1))[:4] == [
        "summary",
        "national",
        "inputs",
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


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
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
    # Two systems: the national page opens the report too, the rest follows unfolded.
    sections = re.findall(r"<section id='([^']+)'", page)
    assert sections[:4] == ["summary", "national", "inputs", "recommendation"]
    assert "<details class='per-system'>" not in page
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


def national_section(page: str) -> str:
    start = page.index("<section id='national'")
    return page[start : page.index("</section>", start)]


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_joint_figures_and_per_system_sums_carry_distinct_labels(report):
    """The national figure is one joint simulation; the per-system sum sits beside it under its
    own words, the same on the page, in the workbook and on the terminal."""
    summed = "sum of one-system-at-a-time gains, others on organisation_only"
    national = national_section(report["html"].read_text(encoding="utf-8"))
    assert JOINT_BASIS in national and summed in national
    joint = sheet(report, "National together")
    assert joint["counterfactual"].iloc[0] == RECOMMENDED_MIX
    assert set(joint["basis"]) == {JOINT_BASIS}
    assert set(joint["sum_basis"]) == {summed}
    assert set(sheet(report, "National recommended")["basis"]) == {summed}
    assert JOINT_BASIS in report["stdout"] and summed in report["stdout"]
    lines = report["stdout"].splitlines()
    after = lines[next(i for i, x in enumerate(lines) if x.startswith("National, all systems")) :]
    line = next(x for x in after if x.strip().startswith(f"{RECOMMENDED_MIX}:"))
    assert "together" in line and "summed one system at a time" in line


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_page_one_states_the_joint_national_figure_not_the_per_system_sum(report):
    """Page 1's national figure is the joint table's (every system on its recommendation,
    together), with its 95% interval and the joint label; the per-system sum only under its own."""
    from sct_engine.report.html_parts import money, plus_minus
    from sct_engine.report.summary import ANCHOR

    page = report["html"].read_text(encoding="utf-8")
    start = page.index(f"<section id='{ANCHOR}'")
    summary = page[start : page.index("</section>", start)]
    joint = sheet(report, "National together").set_index("counterfactual").loc[RECOMMENDED_MIX]
    figure = (
        f"{JOINT_BASIS}, every system on its recommendation: "
        f"{money(float(joint['diff_expected_income']), sign=True)} <span class='se'>"
        f"{plus_minus(float(joint['ci95_diff_expected_income']))}</span>"
    )
    assert figure in summary
    summed = "sum of one-system-at-a-time gains, others on organisation_only"
    assert summed in summary and "each system deciding for itself" not in summary


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_joint_figures_add_up_and_match_the_run_where_they_must(report):
    """Every system on one option jointly is the run's own national table (same draws); the
    splits add up to the gross loss; net of bonus is gross less the bonus recycled; the
    baseline against itself changes nothing."""
    joint = sheet(report, "National together").set_index("counterfactual")
    national = sheet(report, "Funding at risk").set_index("scheme")
    for name, row in national.iterrows():
        j = joint.loc[f"every system on {name}"]
        assert j["expected_funding_lost"] == pytest.approx(row["expected_funding_lost"], rel=1e-9)
    for _, j in joint.iterrows():
        gross = j["expected_funding_lost"]
        assert j["expected_psf_lost"] + j["expected_csf_lost"] == pytest.approx(gross, rel=1e-9)
        assert j["expected_finance_lost"] + j["expected_ae_lost"] == pytest.approx(gross, rel=1e-9)
        net = gross - j["expected_bonus_recycled"]
        assert j["expected_funding_lost_net_of_bonus"] == pytest.approx(net, rel=1e-9)
    base = joint.loc["every system on organisation_only"]
    assert base["diff_expected_income"] == 0.0 and base["expected_bonus_recycled"] > 0.0


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_many_systems_draw_no_member_charts_and_keep_the_page_small(report):
    """Ten systems or more: the members' and systems' charts are not drawn unless asked for
    (--system-detail); their numbers are tables. A bound on the wave-1 page's size (England's
    is measured in the closing note of issue 23: 33 MB before)."""
    page = report["html"].read_text(encoding="utf-8")
    assert "<figure class='member'" not in page
    assert "<figure class='member cash'" not in page  # nor the quarterly cash timing charts
    assert CHARTS_LEFT_OUT.format(n=10) in page
    assert report["html"].stat().st_size < 1_500_000


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_system_detail_draws_every_members_and_systems_charts(tmp_path):
    """``--system-detail`` asks for the charts a many-system report leaves out by default."""
    html = tmp_path / "detail.html"
    code, _ = sct_report(
        str(WAVE1),
        "--out",
        str(html),
        "--draws",
        "1024",
        "--max-draws",
        "1024",
        "--detail-draws",
        "256",
        "--no-gradient",
        "--system-detail",
        "--quiet",
    )
    assert code == 0
    page = html.read_text(encoding="utf-8")
    model = build_model(load_scenario(WAVE1))
    assert page.count("<figure class='member'") == model.n_orgs
    start = page.index("<section id='loss-exceedance'")
    curves = page[start : page.index("</section>", start)]
    assert curves.count("<svg") == model.n_systems
    assert CHARTS_LEFT_OUT.format(n=10) not in page
