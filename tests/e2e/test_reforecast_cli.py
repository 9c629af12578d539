"""`sct reforecast`: the table printed, the CSV files written whole, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from sct_engine.cli import main

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "example_ics_q2.yaml"


def test_the_worked_example_prints_and_writes_its_tables(tmp_path, capsys):
    out = tmp_path / "rf"
    code = main(
        ["reforecast", str(EXAMPLE), "--draws", "3000", "--target", "0.9", "--out", str(out)]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "In-year re-forecast at Q2 for option flexible_50 (3,000 draws)" in text
    assert "= example_ics" in text and "What it takes" in text
    members = pd.read_csv(out / "reforecast_members.csv")
    assert list(members["organisation"])[:2] == ["acute_north", "acute_south"]
    assert {"p_own_test_q3", "p_instalment_q4", "p_year_end_pass"} <= set(members.columns)
    assert "p_own_test_q2" not in members.columns  # closed quarters are not forecast
    assert (members["option"] == "flexible_50").all()
    # Paid so far is the actuals' finance and A&E instalments.
    north = members.set_index("organisation").loc["acute_north"]
    assert north["funding_paid_so_far"] == pytest.approx(1.953 + 1.302 + 0.837)
    assert north["funding_to_come_ci_low"] <= north["expected_funding_to_come"]
    systems = pd.read_csv(out / "reforecast_systems.csv")
    assert systems["funding_paid_so_far"].iloc[0] == pytest.approx(
        members["funding_paid_so_far"].sum()
    )
    takes = pd.read_csv(out / "reforecast_what_it_takes.csv")
    assert set(takes["organisation"]) <= set(members["organisation"])
    assert (takes["p_year_end_pass_with_improvement"] >= 0.9).all()


def test_option_overrides_the_signed_one_and_an_unknown_one_is_refused(tmp_path, capsys):
    out = tmp_path / "rf"
    args = ["reforecast", str(EXAMPLE), "--draws", "500", "--target", "0", "--out", str(out)]
    assert main([*args, "--option", "organisation_only"]) == 0
    assert "for option organisation_only" in capsys.readouterr().out
    assert main([*args, "--option", "flexible_60"]) == 2
    err = capsys.readouterr().err
    assert "--option" in err and "flexible_50" in err and "Traceback" not in err


def test_a_scenario_without_actuals_is_refused_with_the_fix(tmp_path, capsys):
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    del data["actuals"]
    path = tmp_path / "no_actuals.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    out = tmp_path / "rf"
    assert main(["reforecast", str(path), "--draws", "100", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "actuals" in err and "docs/in-year.md" in err
    assert not out.exists()  # nothing written


def test_a_rules_disagreement_with_the_actuals_is_warned(tmp_path, capsys):
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["actuals"]["organisations"][1]["finance_paid"] = [1.659, 1.0]  # Q2 not paid by the rules
    path = tmp_path / "disagree.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    out = tmp_path / "rf"
    assert (
        main(["reforecast", str(path), "--draws", "200", "--target", "0", "--out", str(out)]) == 0
    )
    err = capsys.readouterr().err
    assert "acute_south" in err and "paid so far" in err


MEMBERS = (
    "id,kind,plan,control_total,sustainability_funding,sd\n"
    "trust,provider,-1.0,-1.0,5.0,2.0\n"
    "ccg,commissioner,-2.0,-3.0,3.0,1.0\n"
)


def test_outputs_never_replace_an_input_of_the_scenario(tmp_path, capsys):
    """A members CSV named like an output, --out its folder: refused before any work."""
    members = tmp_path / "reforecast_members.csv"
    members.write_text(MEMBERS, encoding="utf-8")
    data = {
        "name": "inputs",
        "uncertainty": {"quarterly": True},
        "systems": [{"id": "sys_a", "organisations_csv": "reforecast_members.csv"}],
        "actuals": {
            "closed_quarters": 1,
            "organisations": [
                {"id": "trust", "ytd_outturn": [-0.2]},
                {"id": "ccg", "ytd_outturn": [-0.9]},
            ],
        },
    }
    path = tmp_path / "inputs.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code = main(
        ["reforecast", str(path), "--draws", "100", "--target", "0", "--out", str(tmp_path)]
    )
    assert code == 2
    assert "reforecast_members.csv" in capsys.readouterr().err
    assert members.read_text(encoding="utf-8") == MEMBERS


def test_convert_carries_actuals_to_yaml_and_to_a_workbook(tmp_path):
    from sct_engine.scenario import load_scenario

    expected = load_scenario(EXAMPLE).actuals
    for name in ("again.yaml", "q2.xlsx"):
        assert main(["convert", str(EXAMPLE), str(tmp_path / name)]) == 0
        assert load_scenario(tmp_path / name).actuals == expected
    out = tmp_path / "rf"
    args = ["reforecast", str(tmp_path / "q2.xlsx"), "--draws", "300", "--target", "0"]
    assert main([*args, "--out", str(out)]) == 0
    assert (out / "reforecast_members.csv").is_file()


def test_a_run_of_a_scenario_with_actuals_says_so_in_run_json(tmp_path):
    import json

    out = tmp_path / "run"
    assert main(["run", str(EXAMPLE), "--draws", "500", "--out", str(out), "--quiet"]) == 0
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["closed_quarters"] == 2
