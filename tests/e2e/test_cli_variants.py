"""End to end: sweeps, ``--point``, ``--set`` and plausibility warnings through the `sct` command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
import yaml

from sct_engine.report.sweep_html import SWEEP_SECTIONS
from tests.e2e.chromium import cut_on_a4, screenshot_problems

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "example_ics.yaml"
FAST = ("--engine", "reference", "--draws", "3000", "--seed", "5", "--quiet")
REPORT_FAST = ("--draws", "2000", "--detail-draws", "256", "--no-gradient", "--quiet")


def sct(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sct_engine.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def small() -> dict[str, Any]:
    """Two members, no mitigation or tails: outturn is plan plus a shock."""
    return {
        "name": "small",
        "simulation": {"draws": 3000, "seed": 5},
        "systems": [
            {
                "id": "s1",
                "organisations": [
                    {"id": "trust", "kind": "provider", "provider_type": "acute", "plan": -1.0,
                     "control_total": -1.5, "sustainability_funding": 5.0, "sd": 2.0,
                     "has_ae": True},
                    {"id": "ccg", "kind": "ccg", "plan": 0.5, "control_total": -1.0,
                     "sustainability_funding": 2.0, "sd": 1.0},
                ],
            }
        ],
    }  # fmt: skip


def write(folder: Path, name: str, data: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def example_scaled(folder: Path, name: str, factor: float, fields: tuple[str, ...]) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    for org in data["systems"][0]["organisations"]:
        for field in fields:
            if field in org:
                org[field] = org[field] * factor
    return write(folder, name, data)


def test_validate_warns_of_thousands_and_fraction_sd_pct(tmp_path: Path):
    money = ("plan", "control_total", "sustainability_funding", "turnover", "sd", "mitigation",
             "control_total_uplift")  # fmt: skip
    thousands = example_scaled(tmp_path, "example_in_thousands.yaml", 1000.0, money)
    fraction = example_scaled(tmp_path, "example_sd_pct_fraction.yaml", 0.01, ("sd_pct",))
    done = sct("validate", thousands.name, fraction.name, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "example_in_thousands.yaml: ok (8 warnings)"
    assert lines[1].startswith(
        "  - warning: example_in_thousands.yaml: systems[0].organisations[0].turnover: "
        "'acute_north': turnover 620,000.0"
    )
    assert all("like £000s, not £m" in line for line in lines[1:9])
    assert lines[9] == "example_sd_pct_fraction.yaml: ok (5 warnings)"
    assert lines[10].startswith(
        "  - warning: example_sd_pct_fraction.yaml: systems[0].organisations[1].sd_pct: "
        "'acute_south': sd_pct is 0.014, i.e. 0.014% of turnover, below 0.05%"
    )
    assert all("looks like a fraction" in line for line in lines[10:])


def test_run_prints_and_keeps_the_warnings(tmp_path: Path):
    data = small()
    data["systems"][0]["organisations"][0].update(sd=None, sd_pct=0.004, turnover=500.0)
    path = write(tmp_path, "fraction.yaml", data)
    done = sct("run", str(path), *FAST, "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "warning: fraction.yaml: systems[0].organisations[0].sd_pct:" in done.stderr
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert len(run["scenario_warnings"]) == 1 and "fraction" in run["scenario_warnings"][0]


def test_validate_lists_the_points_of_a_sweep_and_checks_each(tmp_path: Path):
    good = write(
        tmp_path, "good.yaml", {**small(), "sweep": {"schemes[3].system_linked_share": [0, 0.5]}}
    )
    bad = write(tmp_path, "bad.yaml", {**small(), "sweep": {"schemes[3].system_linked_share": [0.5, 1.5]}})  # fmt: skip
    done = sct("validate", good.name, bad.name, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines()[:3] == [
        "good.yaml: ok (sweep of 2 points)",
        "  - point 0: schemes[3].system_linked_share=0",
        "  - point 1: schemes[3].system_linked_share=0.5",
    ]
    assert "bad.yaml: INVALID (1 problem)" in done.stdout
    assert "bad.yaml [point 1: schemes[3].system_linked_share=1.5]: schemes[3].system_linked_share" in done.stdout  # fmt: skip
    assert "Traceback" not in done.stdout + done.stderr


def test_run_writes_every_point_in_its_folder_with_labelled_options(tmp_path: Path):
    path = write(tmp_path, "swept.yaml", {**small(), "sweep": {"schemes[3].system_linked_share": [0.1, 0.9]}})  # fmt: skip
    out = tmp_path / "out"
    done = sct("run", str(path), *FAST, "--out", str(out))
    assert done.returncode == 0, done.stderr
    index = json.loads((out / "sweep.json").read_text())
    assert [(e["point"], e["sweep"]) for e in index] == [
        (0, "schemes[3].system_linked_share=0.1"),
        (1, "schemes[3].system_linked_share=0.9"),
    ]
    lost = {}
    for entry in index:
        folder = out / entry["folder"]
        run = json.loads((folder / "run.json").read_text())
        assert run["sweep_point"] == entry["point"] and run["sweep_values"] == entry["sweep_values"]
        share = entry["sweep_values"]["schemes[3].system_linked_share"]
        national = pd.read_csv(folder / "national.csv").set_index("scheme")
        label = f"flexible_25[system_linked_share={share}]"
        assert label in national.index and "flexible_25" not in national.index
        lost[share] = national["expected_funding_lost"]
    # Common random numbers: only the swept option moves.
    assert (lost[0.1].drop(lost[0.1].index[3]).values == lost[0.9].drop(lost[0.9].index[3]).values).all()  # fmt: skip
    assert lost[0.1].iloc[3] != lost[0.9].iloc[3]

    again = sct("run", str(path), *FAST, "--out", str(tmp_path / "one"), "--point", "1")
    assert again.returncode == 0, again.stderr
    (folder,) = [p for p in (tmp_path / "one").iterdir() if p.is_dir()]
    assert folder.name == index[1]["folder"]
    pd.testing.assert_frame_equal(
        pd.read_csv(folder / "national.csv"), pd.read_csv(out / folder.name / "national.csv")
    )


def test_set_changes_one_field_and_is_recorded(tmp_path: Path):
    path = write(tmp_path, "small.yaml", small())
    base, changed = tmp_path / "base", tmp_path / "changed"
    assert sct("run", str(path), *FAST, "--out", str(base)).returncode == 0
    done = sct(
        "run", str(path), *FAST, "--out", str(changed),
        "--set", "systems[0].organisations[0].plan=-4", "--set", "schemes[5].share_cap=0.3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = json.loads((changed / "run.json").read_text())
    assert run["set"] == [
        {"path": "systems[0].organisations[0].plan", "value": -4, "was": -1.0},
        {"path": "schemes[5].share_cap", "value": 0.3, "was": 0.5},
    ]
    before = pd.read_csv(base / "organisations.csv").set_index(["scheme", "organisation"])
    after = pd.read_csv(changed / "organisations.csv").set_index(["scheme", "organisation"])
    shift = (
        after.loc[("organisation_only", "trust"), "expected_outturn"]
        - before.loc[("organisation_only", "trust"), "expected_outturn"]
    )
    assert shift == pytest.approx(-3.0, abs=1e-9)  # the same draws, plan moved by -3
    assert "flexible_75[share_cap=0.3]" in set(after.index.get_level_values("scheme"))


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (
            "systems[0].organisations[7].plan=-4",
            "--set systems[0].organisations[7].plan: `systems[0].organisations` has 2 entries",
        ),
        (
            "systems[0].organisations[0].plan=abc",
            "--set systems[0].organisations[0].plan: must be a number in £m (got 'abc')",
        ),
        ("plan", "--set: plan: is not PATH=VALUE"),
    ],
)
def test_a_bad_set_is_one_line_without_traceback(tmp_path: Path, option: str, expected: str):
    path = write(tmp_path, "small.yaml", small())
    for command in ("run", "compare", "report"):
        done = sct(command, str(path), "--set", option, cwd=tmp_path)
        assert done.returncode == 2, (command, done.stderr)
        assert expected in done.stderr and "Traceback" not in done.stderr, (command, done.stderr)


def test_compare_runs_every_point_and_takes_the_files_option_names(tmp_path: Path):
    path = write(tmp_path, "swept.yaml", {**small(), "sweep": {"schemes[3].system_linked_share": [0.1, 0.9]}})  # fmt: skip
    done = sct(
        "compare", str(path), "--draws", "2000", "--schemes", "organisation_only,flexible_25",
        "--level", "national", "--out", str(tmp_path / "cmp"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "flexible_25[system_linked_share=0.1]" in done.stdout
    assert "flexible_25[system_linked_share=0.9]" in done.stdout
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == [
        "point_0__schemes.3.system_linked_share=0.1",
        "point_1__schemes.3.system_linked_share=0.9",
    ]


def test_report_states_changes_and_warnings_at_the_top(tmp_path: Path):
    data = small()
    data["systems"][0]["organisations"][1]["sd_pct"] = 0.01
    data["systems"][0]["organisations"][1].update(sd=None, turnover=300.0)
    path = write(tmp_path, "small.yaml", data)
    out = tmp_path / "run"
    done = sct("run", str(path), *FAST, "--out", str(out), "--set", "systems[0].organisations[0].plan=-4")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = sct("report", str(out), *REPORT_FAST)  # from the folder: the same change again
    assert report.returncode == 0, report.stderr
    page = (out / "report.html").read_text()
    header = page[: page.index("</header>")]
    assert "Changed from the scenario file" in header
    assert "systems[0].organisations[0].plan = -4 (the file: -1.0)" in header
    assert "Warnings about the scenario" in header and "looks like a fraction" in header
    assert "trust · acute" in page  # the provider type beside the organisation


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_report_on_a_sweep_run_folder_writes_one_report_per_point(tmp_path: Path):
    path = write(tmp_path, "swept.yaml", {**small(), "sweep": {"uncertainty.national_share": [0.1, 0.4]}})  # fmt: skip
    out = tmp_path / "out"
    assert sct("run", str(path), *FAST, "--out", str(out)).returncode == 0
    done = sct("report", str(out), *REPORT_FAST)
    assert done.returncode == 0, done.stderr
    index = json.loads((out / "sweep.json").read_text())
    for entry in index:
        page = (out / entry["folder"] / "report.html").read_text()
        assert f"sweep point {entry['point']} of the file: {entry['sweep']}" in page
    one = sct("report", str(path), *REPORT_FAST, "--point", "1", "--out", str(tmp_path / "r.html"))
    assert one.returncode == 0, one.stderr
    assert (tmp_path / f"r.{index[1]['folder']}.html").is_file()


@pytest.mark.slow  # over 10 s on 2 cores (issue 27)
def test_report_on_a_sweep_compares_its_points(tmp_path: Path):
    """The report comparing a sweep's points holds, at every point, exactly the recommendation
    and each member's expected funding of that point's own report (`--point K`, same seed and
    draws); moving the trust's plan £4m down lowers its expected funding under organisation_only
    (its own control total decides it) by many standard errors. `--sweep-only` writes no page
    per point."""
    plans = [-1.0, -5.0]
    data = {**small(), "sweep": {"systems[0].organisations[0].plan": plans}}
    path = write(tmp_path, "swept.yaml", data)
    out = tmp_path / "sweep"
    args = ("--draws", "2000", "--seed", "5", "--quiet")
    done = sct("report", str(path), *args, "--sweep-only", "--out", str(out / "compared.html"),
               "--xlsx", str(out / "compared.xlsx"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["compared.html", "compared.xlsx"]
    members = pd.read_excel(out / "compared.xlsx", sheet_name="Members by point", header=1)
    chosen = pd.read_excel(out / "compared.xlsx", sheet_name="Recommendation by point", header=1)
    points = pd.read_excel(out / "compared.xlsx", sheet_name="Points", header=1)
    assert list(points["sweep.systems[0].organisations[0].plan"]) == plans
    for k in range(len(plans)):
        one = tmp_path / f"point{k}"
        done = sct("report", str(path), *args, "--point", str(k), "--no-gradient",
                   "--detail-draws", "256", "--out", str(one / "r.html"),
                   "--xlsx", str(one / "r.xlsx"))  # fmt: skip
        assert done.returncode == 0, done.stderr
        (book,) = one.glob("r.*.xlsx")
        own = pd.read_excel(book, sheet_name="Participation", header=1)
        here = members[members["point"] == k]
        assert list(here["organisation"]) == list(own["organisation"])
        assert list(here["scheme"]) == list(own["scheme"])
        for column in ("expected_funding", "diff_expected_funding", "se_diff_expected_funding"):
            assert here[column].tolist() == own[column].tolist(), (k, column)
        own_rec = pd.read_excel(book, sheet_name="Recommendation", header=1)
        assert chosen.loc[chosen["point"] == k, "recommended_scheme"].tolist() == list(
            own_rec["recommended_scheme"]
        )
    alone = members[
        (members["organisation"] == "trust") & (members["scheme"] == "organisation_only")
    ]
    drop = alone["expected_funding"].iloc[0] - alone["expected_funding"].iloc[1]
    # Funding lies in [0, 5]: each mean's standard error is at most 2.5/sqrt(draws).
    se = np.sqrt(2) * 2.5 / np.sqrt(2000)
    assert drop > 10 * se, (drop, se)
    page = (out / "compared.html").read_text(encoding="utf-8")
    for anchor, _ in SWEEP_SECTIONS:
        assert f"<section id='{anchor}'>" in page, anchor
    assert "trust (trust): plan (£m)" in page  # the swept field in words


def test_the_sweeps_report_opens_in_headless_chromium_and_links_each_points_page(tmp_path: Path):
    """Without --sweep-only: a page per point beside the comparison, which links to each; the
    comparison opens in a real browser with no console errors, and prints on A4 uncut."""
    data = {**small(), "sweep": {"systems[0].organisations[0].plan": [-1.0, -3.0, -5.0]}}
    path = write(tmp_path, "swept.yaml", data)
    out = tmp_path / "out"
    done = sct("report", str(path), *REPORT_FAST, "--out", str(out / "report.html"))
    assert done.returncode == 0, done.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    pages = sorted(out.glob("report.point_*.html"))
    assert len(pages) == 3
    links = [unquote(x) for x in re.findall(r"<a href='([^'#][^']*)'", page)]
    assert sorted(links) == [own.name for own in pages]  # each point's page, linked
    assert "<script" not in page and "<link" not in page
    problems = screenshot_problems(out / "report.html", tmp_path / "profile", tmp_path / "s.png")
    assert not problems, problems
    assert cut_on_a4(out / "report.html", tmp_path) == []


@pytest.mark.parametrize("mode", [("--sweep-only",), ("--no-gradient", "--detail-draws", "256")])
def test_a_sweep_keeps_its_finished_points_when_one_fails(
    tmp_path: Path, monkeypatch, capsys, mode
):
    """A point that cannot be analysed (here point 1 refused by the memory check, as a point
    too large for the machine would be) no longer loses the others: the comparison is written
    with the points that finished and names the failed one and why; exit code 2, no traceback."""
    import sct_engine.cli as cli
    import sct_engine.report.commands as commands
    from sct_engine.errors import Problem, ScenarioError
    from sct_engine.report.data import resolve_sources

    data = {**small(), "sweep": {"systems[0].organisations[0].plan": [-1.0, -3.0, -5.0]}}
    path = write(tmp_path, "swept.yaml", data)
    folders = [folder for _, _, folder in resolve_sources(path)]
    check = commands._check_analysis_memory
    calls: list[str] = []

    def refuse_point_1(scenario: Any, engine: str) -> None:
        calls.append(engine)
        if len(calls) == 2:
            raise ScenarioError([Problem(str(path), "simulation.draws", "too big here", "fewer")])
        check(scenario, engine)

    monkeypatch.setattr(commands, "_check_analysis_memory", refuse_point_1)
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("sct_engine.report.commands",))
    out = tmp_path / "sweep"
    code = cli.main(["report", str(path), "--draws", "2000", "--seed", "5", "--quiet", *mode,
                     "--out", str(out / "compared.html"), "--xlsx", str(out / "compared.xlsx")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and len(calls) == 3, err
    assert "Traceback" not in err
    assert f"error: {folders[1]}: " in err and "too big here" in err
    assert f"1 of 3 sweep points could not be analysed ({folders[1]})" in err
    points = pd.read_excel(out / "compared.xlsx", sheet_name="Points", header=1)
    assert list(points["point"]) == [0, 2]
    assert list(points["sweep.systems[0].organisations[0].plan"]) == [-1.0, -5.0]
    missing = pd.read_excel(out / "compared.xlsx", sheet_name="Points not analysed", header=1)
    assert list(missing["folder"]) == [folders[1]]
    assert "too big here" in missing["error"].iloc[0]
    page = (out / "compared.html").read_text(encoding="utf-8")
    card = re.search(r"<h3>Points not analysed.*?</ul>", page, re.S)
    assert card is not None and card.group(0).count("<li>") == 1
    assert folders[1] in card.group(0) and "too big here" in card.group(0)
    if "--sweep-only" not in mode:  # each finished point's own page is written too
        assert sorted(p.name for p in out.glob("compared.*.html")) == [
            f"compared.{folders[0]}.html",
            f"compared.{folders[2]}.html",
        ]


def test_a_sweep_point_whose_page_cannot_be_written_loses_no_other_point(
    tmp_path: Path, monkeypatch, capsys
):
    """Point 1's own page fails to write (a full disk, say): the comparison still holds the
    points that finished and names point 1 with the write error; exit code 2."""
    import sct_engine.cli as cli
    import sct_engine.report.commands as commands
    from sct_engine.errors import OutputError
    from sct_engine.report.data import resolve_sources

    data = {**small(), "sweep": {"systems[0].organisations[0].plan": [-1.0, -3.0, -5.0]}}
    path = write(tmp_path, "swept.yaml", data)
    folders = [folder for _, _, folder in resolve_sources(path)]
    real_write = commands.write_file_atomically

    def disk_full_for_point_1(target: Any, write: Any, option: str) -> Any:
        if folders[1] in str(target):
            raise OutputError(option, str(target), "could not be written (disk full)", "free space")
        return real_write(target, write, option)

    monkeypatch.setattr(commands, "write_file_atomically", disk_full_for_point_1)
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("sct_engine.report.commands",))
    out = tmp_path / "sweep"
    code = cli.main(["report", str(path), "--draws", "2000", "--seed", "5", "--quiet",
                     "--no-gradient", "--detail-draws", "256",
                     "--out", str(out / "compared.html"), "--xlsx", str(out / "compared.xlsx")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert f"1 of 3 sweep points could not be analysed ({folders[1]})" in err
    points = pd.read_excel(out / "compared.xlsx", sheet_name="Points", header=1)
    assert list(points["point"]) == [0, 2]
    missing = pd.read_excel(out / "compared.xlsx", sheet_name="Points not analysed", header=1)
    assert list(missing["folder"]) == [folders[1]] and "disk full" in missing["error"].iloc[0]


def test_compare_on_a_sweep_goes_on_past_a_failing_point(tmp_path: Path, monkeypatch, capsys):
    """Point 1 refused (by the memory check, as a point too large would be): points 0 and 2
    are still compared and their tables written; the failed point is named; exit code 2."""
    import sct_engine.cli as cli
    import sct_engine.report.commands as commands
    from sct_engine.errors import Problem, ScenarioError
    from sct_engine.report.data import resolve_sources

    data = {**small(), "sweep": {"systems[0].organisations[0].plan": [-1.0, -3.0, -5.0]}}
    path = write(tmp_path, "swept.yaml", data)
    folders = [folder for _, _, folder in resolve_sources(path)]
    check = commands._check_analysis_memory
    calls: list[str] = []

    def refuse_point_1(scenario: Any, engine: str) -> None:
        calls.append(engine)
        if len(calls) == 2:
            raise ScenarioError([Problem(str(path), "simulation.draws", "too big here", "fewer")])
        check(scenario, engine)

    monkeypatch.setattr(commands, "_check_analysis_memory", refuse_point_1)
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("sct_engine.report.commands",))
    out = tmp_path / "cmp"
    code = cli.main(["compare", str(path), "--draws", "2000", "--level", "national", "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and len(calls) == 3 and "Traceback" not in err, err
    assert f"error: {folders[1]}: " in err and "too big here" in err
    assert f"1 of 3 sweep points could not be compared ({folders[1]})" in err
    assert sorted(p.name for p in out.iterdir()) == [folders[0], folders[2]]
    for folder in (folders[0], folders[2]):
        assert (out / folder / "comparison_national.csv").is_file()
