"""``sct calibrate``: parameter recovery, the printed table and snippet, and the command line.

Statistical checks state their tolerance in standard errors: an estimate
passes when ``|estimate - true| < 4 SE`` on data simulated with fixed seeds,
and each test also bounds the SE so that a vague fit cannot pass by being vague.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sct_engine.cli
from sct_engine import calibration
from sct_engine.calibration import Calibration, fit_history
from sct_engine.calibration.history import history_from_frame, load_history
from sct_engine.rules.organisations import canonical_group

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "scenarios" / "history_synthetic.csv"
TOLERANCE_SE = 4.0


def simulate_frame(
    seed: int,
    kinds: dict[str, tuple[int, float]],
    tail: tuple[float, float, float] | None,
    years: int = 5,
) -> pd.DataFrame:
    """A history drawn from ``r = sd_k eps - J L``; ``kinds``: kind -> (organisations, sd_pct).

    Written independently of the fitting code: only NumPy draws and the model's definition.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for kind, (count, sd_pct) in kinds.items():
        turnover = 300.0 * np.exp(0.4 * rng.standard_normal(count))
        for year in range(2014, 2014 + years):
            plan = rng.normal(0.0, 2.0, count)
            r = sd_pct * rng.standard_normal(count)
            if tail is not None:
                probability, median_pct, sigma = tail
                event = rng.random(count) < probability
                r -= np.where(event, median_pct * np.exp(sigma * rng.standard_normal(count)), 0.0)
            outturn = plan + turnover * r / 100.0
            rows += [
                {
                    "organisation": f"{kind}_{i}",
                    "kind": kind,
                    "year": year,
                    "plan": plan[i],
                    "outturn": outturn[i],
                    "turnover": turnover[i],
                }
                for i in range(count)
            ]
    return pd.DataFrame(rows)


def assert_within(name: str, estimate: calibration.Estimate, true: float, max_se: float) -> None:
    assert math.isfinite(estimate.se), f"{name}: no standard error"
    assert estimate.se < max_se, f"{name}: SE {estimate.se:.3g} too large to test anything"
    z = (estimate.value - true) / estimate.se
    assert abs(z) < TOLERANCE_SE, f"{name}: {estimate.value:.4g} vs true {true} ({z:+.1f} SE)"
    assert estimate.low <= estimate.value <= estimate.high


# --- parameter recovery -----------------------------------------------------------------


def test_recovers_known_parameters_from_simulated_history() -> None:
    true_sd = {"provider": 1.0, "commissioner": 0.5}
    true_tail = (0.08, 3.0, 0.5)
    frame = simulate_frame(
        20180401, {kind: (160, sd) for kind, sd in true_sd.items()}, true_tail
    )  # 1600 organisation-years
    cal = fit_history(history_from_frame(frame, "simulated.csv"))

    assert cal.tail_detected
    assert cal.tests[0].p_value < 1e-6
    fit = cal.shared
    assert fit is not None and fit.converged
    for kind, sd in true_sd.items():
        assert_within(f"sd_pct[{kind}]", fit.sd_pct[kind], sd, max_se=0.05)
    tail = fit.tail["all"]
    assert_within("probability", tail.probability, true_tail[0], max_se=0.02)
    assert_within("median_pct", tail.median_pct, true_tail[1], max_se=0.5)
    assert_within("sigma", tail.sigma, true_tail[2], max_se=0.15)
    # The normal-only fit absorbs the tail into sd: it must be visibly wider than the truth.
    assert cal.normal.sd_pct["commissioner"].value > 1.5 * true_sd["commissioner"]


def test_pure_normal_history_reports_no_tail_and_recovers_sd() -> None:
    true_sd = {"acute": 1.2, "commissioner": 0.6}
    frame = simulate_frame(7, {kind: (60, sd) for kind, sd in true_sd.items()}, None)
    frame["kind"] = frame["kind"].replace({"commissioner": "CCG"})  # the history's own word
    cal = fit_history(history_from_frame(frame, "normal.csv"))

    assert not cal.tail_detected
    assert cal.tests[0].p_value >= calibration.TAIL_TEST_LEVEL
    assert cal.best is cal.normal
    assert any("no evidence of a large-adverse-event tail" in note for note in cal.notes)
    for kind, sd in true_sd.items():
        assert_within(f"sd_pct[{kind}]", cal.normal.sd_pct[kind], sd, max_se=0.06)
    snippet = cal.snippet()
    loaded = yaml.safe_load(snippet)  # sd_pct_by_type only: no tail to paste
    assert list(loaded["uncertainty"]) == ["sd_pct_by_type"]
    assert set(loaded["uncertainty"]["sd_pct_by_type"]) == {"acute", "commissioner"}
    assert "leave uncertainty.tail out" in snippet


def test_too_few_rows_for_a_tail_fall_back_to_normal() -> None:
    frame = simulate_frame(1, {"acute": (6, 1.0), "ccg": (6, 0.5)}, (0.1, 3.0, 0.5), years=3)
    cal = fit_history(history_from_frame(frame))
    assert cal.shared is None and not cal.tail_detected
    assert "too few to fit a tail" in cal.notes[0]
    assert "too few to fit a tail" in cal.table()


def test_tail_by_kind_is_fitted_per_kind_and_tested_against_shared() -> None:
    frame = simulate_frame(11, {"acute": (60, 1.0), "ccg": (60, 0.5)}, (0.1, 3.0, 0.5))
    cal = fit_history(history_from_frame(frame), tail="by_kind")
    assert cal.by_kind is not None and cal.shared is not None
    assert set(cal.by_kind.tail) == {"acute", "commissioner"}  # `ccg` is read as commissioner
    test = cal.tests[1]
    assert test.name == "tail by kind vs shared tail" and test.df == 3
    # Same data, nested models: the per-kind fit cannot be worse than the shared one.
    assert cal.by_kind.log_likelihood >= cal.shared.log_likelihood - 1e-6


# --- the shipped synthetic history ---------------------------------------------------------


def _make_history_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "make_history", ROOT / "scenarios" / "tools" / "make_history.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shipped() -> Calibration:
    return fit_history(load_history(SHIPPED))


def test_shipped_history_is_what_its_script_writes() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == _make_history_module().build_csv()


def test_shipped_history_recovers_its_true_parameters(shipped: Calibration) -> None:
    truth = _make_history_module()
    assert shipped.history.n == 1000
    assert shipped.tail_detected
    fit = shipped.shared
    assert fit is not None
    for kind, sd in truth.TRUE_SD_PCT.items():
        group = canonical_group(kind)  # the file's `ccg` is the scenario's `commissioner`
        assert_within(f"sd_pct[{group}]", fit.sd_pct[group], sd, max_se=0.1)
    tail = fit.tail["all"]
    assert_within("probability", tail.probability, truth.TRUE_TAIL["probability"], max_se=0.02)
    assert_within("median_pct", tail.median_pct, truth.TRUE_TAIL["median_pct"], max_se=1.0)
    assert_within("sigma", tail.sigma, truth.TRUE_TAIL["sigma"], max_se=0.25)


def test_snippet_is_yaml_with_the_scenario_field_names(shipped: Calibration) -> None:
    snippet = shipped.snippet()
    assert snippet.startswith("# sct calibrate history_synthetic.csv (n=1000 organisation-years")
    loaded = yaml.safe_load(snippet)
    assert list(loaded) == ["uncertainty"]
    assert list(loaded["uncertainty"]) == ["sd_pct_by_type", "tail"]
    tail = loaded["uncertainty"]["tail"]
    assert list(tail) == ["probability", "median_pct", "sigma"]
    fitted = shipped.shared.tail["all"]  # type: ignore[union-attr]
    for name, value in tail.items():
        estimate = getattr(fitted, name)
        assert isinstance(value, float)
        assert value == pytest.approx(estimate.value, abs=estimate.se / 5)
    # sd_pct_by_type is a scenario field, in the scenario's words, with the fitted values.
    by_type = loaded["uncertainty"]["sd_pct_by_type"]
    assert (
        set(by_type)
        == set(shipped.history.kinds)
        == {
            "acute",
            "ambulance",
            "commissioner",
            "community",
            "mental_health",
        }
    )
    for kind, value in by_type.items():
        assert value == pytest.approx(fitted_sd := shipped.shared.sd_pct[kind].value, rel=0.01), (  # type: ignore[union-attr]
            kind,
            fitted_sd,
        )


def test_table_shows_estimates_with_uncertainty(shipped: Calibration) -> None:
    table = shipped.table()
    for text in (
        "parameter",
        "estimate",
        "SE",
        "95% CI",
        "tail.probability",
        "sd_pct[commissioner]",
    ):
        assert text in table
    assert "tail vs no tail: LR =" in table
    assert "Verdict: the history shows a heavy left tail" in table


# --- command line ---------------------------------------------------------------------


@pytest.fixture
def sct(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sct_engine.cli, "COMMAND_MODULES", ("sct_engine.calibration.commands",))
    return sct_engine.cli.main


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    path = tmp_path / "history.csv"
    simulate_frame(5, {"acute": (40, 1.0), "ccg": (40, 0.5)}, (0.1, 3.0, 0.5)).to_csv(
        path, index=False
    )
    return path


def test_cli_writes_the_snippet(sct, small_csv: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "snippet.yaml"
    assert sct(["calibrate", str(small_csv), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sd_pct[acute]" in printed and f"YAML snippet written to {out}" in printed
    assert "tail" in yaml.safe_load(out.read_text())["uncertainty"]


@pytest.mark.parametrize(
    ("flag", "expected"),
    [("--no-tail", "Normal only (no tail)"), ("--tail-by-kind", "tail[acute].probability")],
)
def test_cli_flags(sct, small_csv: Path, capsys, flag: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert sct(["calibrate", str(small_csv), flag]) == 0
    printed = capsys.readouterr().out
    assert expected in printed
    if flag == "--no-tail":
        assert "tail.probability" not in printed
        snippet = yaml.safe_load(printed[printed.index("# sct calibrate") :])
        assert list(snippet["uncertainty"]) == ["sd_pct_by_type"]  # no tail to paste


def test_cli_missing_file_is_one_clean_line(sct, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "nope.csv"
    assert sct(["calibrate", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(missing) in err and "file not found" in err and "Fix:" in err


def test_the_snippet_pastes_into_a_scenario_and_sets_each_members_spread(
    shipped: Calibration, tmp_path: Path
) -> None:
    """Both sides speak the same words: the fitted sd_pct of a type reaches its organisations."""
    from sct_engine.scenario import load_scenario

    snippet = yaml.safe_load(shipped.snippet())
    scenario = {
        "name": "calibrated",
        **snippet,
        "systems": [
            {
                "id": "s",
                "organisations": [
                    {"id": "a", "kind": "provider", "provider_type": "acute", "plan": 0.0,
                     "control_total": 0.0, "sustainability_funding": 5.0, "turnover": 400.0},
                    {"id": "c", "kind": "ccg", "plan": 0.0, "control_total": -1.0,
                     "sustainability_funding": 1.0, "turnover": 600.0},
                ],
            }
        ],
    }  # fmt: skip
    path = tmp_path / "calibrated.yaml"
    path.write_text(yaml.safe_dump(scenario))
    acute, ccg = load_scenario(path).systems[0].organisations
    table = snippet["uncertainty"]["sd_pct_by_type"]
    assert acute.sd_pct == table["acute"] and ccg.sd_pct == table["commissioner"]
    assert ccg.kind == "commissioner"


def test_a_kind_outside_the_scenario_words_stays_a_comment() -> None:
    frame = simulate_frame(3, {"acute": (40, 1.0), "hospice": (40, 0.7)}, None)
    snippet = fit_history(history_from_frame(frame)).snippet()
    assert set(yaml.safe_load(snippet)["uncertainty"]["sd_pct_by_type"]) == {"acute"}
    assert "#   hospice: 0." in snippet
