"""End to end: sweeps, ``--point``, ``--set`` and plausibility warnings through the `sct` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

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
