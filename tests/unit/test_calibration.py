"""``sct calibrate``: the tail-model likelihood, parameter recovery, the snippet and bad input.

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
from scipy import integrate, optimize, stats

import sct_engine.cli
from sct_engine import calibration
from sct_engine.calibration import (
    Calibration,
    History,
    fit_history,
    history_from_frame,
    load_history,
    log_density,
)
from sct_engine.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
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


# --- the likelihood ------------------------------------------------------------------


def reference_log_density(r: float, sd: float, p: float, median: float, sigma: float) -> float:
    """The mixture density by adaptive quadrature over z = (log L - log median) / sigma."""
    mu = math.log(median)

    def integrand(z: float) -> float:
        x = (r + math.exp(mu + sigma * z)) / sd
        return math.exp(-0.5 * (z * z + x * x)) / (2.0 * math.pi * sd)

    points = [0.0]
    if r < 0:  # the kernel peaks where L = -r
        points.append((math.log(-r) - mu) / sigma)
    points = sorted(z for z in points if -12 < z < 12)
    tail, _ = integrate.quad(integrand, -12, 12, points=points, limit=500, epsabs=0, epsrel=1e-11)
    return math.log((1 - p) * stats.norm.pdf(r, scale=sd) + p * tail)


@pytest.mark.parametrize(
    ("sd", "p", "median", "sigma"),
    [(1.0, 0.06, 2.5, 0.6), (0.5, 0.1, 4.0, 0.4), (2.0, 0.05, 3.0, 1.0), (0.3, 0.2, 8.0, 0.8)],
)
def test_log_density_matches_adaptive_quadrature(
    sd: float, p: float, median: float, sigma: float
) -> None:
    r = np.array([4.0, 1.0, 0.0, -1.0, -2.5, -5.0, -10.0, -20.0, -40.0])
    got = log_density(r, sd, p, median, sigma)
    want = np.array([reference_log_density(x, sd, p, median, sigma) for x in r])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-8)


def test_density_integrates_to_one_with_the_model_mean() -> None:
    sd, p, median, sigma = 0.8, 0.1, 3.0, 0.7
    r = np.linspace(-150.0, 10.0, 32_001)
    density = np.exp(log_density(r, sd, p, median, sigma))
    assert integrate.trapezoid(density, r) == pytest.approx(1.0, abs=1e-4)
    mean = -p * median * math.exp(sigma**2 / 2)
    assert integrate.trapezoid(r * density, r) == pytest.approx(mean, abs=1e-3)


def test_log_density_without_tail_is_normal() -> None:
    r = np.array([-3.0, 0.0, 2.0])
    np.testing.assert_allclose(log_density(r, 1.5), stats.norm.logpdf(r, scale=1.5))


@pytest.mark.parametrize("by_kind", [False, True])
def test_gradient_matches_finite_differences(by_kind: bool) -> None:
    rng = np.random.default_rng(3)
    n = 400
    kind = rng.integers(0, 2, n)
    r = np.where(kind == 0, 1.2, 0.6) * rng.standard_normal(n)
    r -= (rng.random(n) < 0.1) * 3.0 * np.exp(0.8 * rng.standard_normal(n))
    group = kind if by_kind else np.zeros(n, dtype=np.int64)
    g = 2 if by_kind else 1
    design = calibration._Design(r, kind, group, 2, g)
    theta = np.concatenate(
        [[0.1, -0.4], np.full(g, -2.0), np.full(g, math.log(2.0)), np.full(g, math.log(0.7))]
    )
    theta[2 : 2 + g] += np.arange(g) * 0.3

    def value(t: np.ndarray) -> float:
        return calibration._negative_log_likelihood(t, design)[0]

    gradient = calibration._negative_log_likelihood(theta, design)[1]
    numeric = optimize.approx_fprime(theta, value, 1e-6)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-4, atol=1e-3)


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
    true_sd = {"acute": 1.2, "ccg": 0.6}
    frame = simulate_frame(7, {kind: (60, sd) for kind, sd in true_sd.items()}, None)
    cal = fit_history(history_from_frame(frame, "normal.csv"))

    assert not cal.tail_detected
    assert cal.tests[0].p_value >= calibration.TAIL_TEST_LEVEL
    assert cal.best is cal.normal
    assert any("no evidence of a large-adverse-event tail" in note for note in cal.notes)
    for kind, sd in true_sd.items():
        assert_within(f"sd_pct[{kind}]", cal.normal.sd_pct[kind], sd, max_se=0.06)
    snippet = cal.snippet()
    assert yaml.safe_load(snippet) is None  # comments only: nothing to paste under uncertainty
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
    assert set(cal.by_kind.tail) == {"acute", "ccg"}
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
        assert_within(f"sd_pct[{kind}]", fit.sd_pct[kind], sd, max_se=0.1)
    tail = fit.tail["all"]
    assert_within("probability", tail.probability, truth.TRUE_TAIL["probability"], max_se=0.02)
    assert_within("median_pct", tail.median_pct, truth.TRUE_TAIL["median_pct"], max_se=1.0)
    assert_within("sigma", tail.sigma, truth.TRUE_TAIL["sigma"], max_se=0.25)


def test_snippet_is_yaml_with_the_scenario_field_names(shipped: Calibration) -> None:
    snippet = shipped.snippet()
    assert snippet.startswith("# sct calibrate history_synthetic.csv (n=1000 organisation-years")
    loaded = yaml.safe_load(snippet)
    assert list(loaded) == ["uncertainty"]
    tail = loaded["uncertainty"]["tail"]
    assert list(tail) == ["probability", "median_pct", "sigma"]
    fitted = shipped.shared.tail["all"]  # type: ignore[union-attr]
    for name, value in tail.items():
        estimate = getattr(fitted, name)
        assert isinstance(value, float)
        assert value == pytest.approx(estimate.value, abs=estimate.se / 5)
    # sd_pct_by_kind is a commented guide (a scenario rejects unknown keys): uncomment and parse it.
    lines = snippet.splitlines()
    start = lines.index("# sd_pct_by_kind:")
    guide = yaml.safe_load("\n".join(line[2:] for line in lines[start:]))
    assert set(guide["sd_pct_by_kind"]) == set(shipped.history.kinds)
    for kind, value in guide["sd_pct_by_kind"].items():
        assert value == pytest.approx(fitted_sd := shipped.shared.sd_pct[kind].value, rel=0.01), (  # type: ignore[union-attr]
            kind,
            fitted_sd,
        )


def test_table_shows_estimates_with_uncertainty(shipped: Calibration) -> None:
    table = shipped.table()
    for text in ("parameter", "estimate", "SE", "95% CI", "tail.probability", "sd_pct[ccg]"):
        assert text in table
    assert "tail vs no tail: LR =" in table
    assert "Verdict: the history shows a heavy left tail" in table


# --- command line ---------------------------------------------------------------------


@pytest.fixture
def sct(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sct_engine.cli, "COMMAND_MODULES", ("sct_engine.calibration",))
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
        assert "uncertainty:" not in printed


def test_cli_missing_file_is_one_clean_line(sct, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "nope.csv"
    assert sct(["calibrate", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(missing) in err and "file not found" in err and "Fix:" in err


# --- bad input --------------------------------------------------------------------------

GOOD_ROW = {
    "organisation": "acute_a",
    "kind": "acute",
    "year": "2018",
    "plan": "-3.0",
    "outturn": "-4.5",
    "turnover": "420",
}


def table(rows: int = 12, **changes: dict[int, str]) -> pd.DataFrame:
    """``rows`` good rows (two kinds); ``changes`` sets column -> {row index: text}."""
    records = []
    for i in range(rows):
        record = dict(GOOD_ROW)
        record["organisation"] = f"org_{i}"
        record["kind"] = "acute" if i % 2 else "ccg"
        record["outturn"] = str(-3.0 + 0.1 * (i - rows / 2))
        records.append(record)
    frame = pd.DataFrame(records, dtype=str)
    for column, cells in changes.items():
        for index, text in cells.items():
            frame.loc[index, column] = text
    return frame


def problems_of(frame: pd.DataFrame, tmp_path: Path) -> list[calibration.Problem]:
    path = tmp_path / "hist.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ScenarioError) as info:
        load_history(path)
    return info.value.problems


def test_good_table_loads(tmp_path: Path) -> None:
    path = tmp_path / "hist.csv"
    table(year={0: "2018/19", 1: "2017/18"}).to_csv(path, index=False)
    history = load_history(path)
    assert isinstance(history, History) and history.n == 12
    assert history.year[0] == 2018 and history.year[1] == 2017


def test_missing_column_is_named(tmp_path: Path) -> None:
    (problem,) = problems_of(table().drop(columns=["outturn"]), tmp_path)
    assert problem.file.endswith("hist.csv") and problem.field == "outturn"
    assert "missing" in problem.message and "`outturn`" in problem.fix


@pytest.mark.parametrize(
    ("column", "text", "message"),
    [
        ("plan", "abc", "must be a number (got 'abc')"),
        ("outturn", "", "is empty"),
        ("turnover", "0", "must be greater than 0"),
        ("turnover", "-5", "must be greater than 0"),
        ("plan", "inf", "must be a finite number"),
        ("year", "20x8", "must be a year"),
        ("year", "2018/20", "must be a year"),
        ("kind", " ", "is empty"),
    ],
)
def test_bad_cell_names_file_row_and_column(
    tmp_path: Path, column: str, text: str, message: str
) -> None:
    (problem,) = problems_of(table(**{column: {1: text}}), tmp_path)
    assert problem.file.endswith("hist.csv row 3 (organisation=org_1)")
    assert problem.field == column
    assert message in problem.message
    assert problem.fix
    assert str(problem).count("\n") == 0


def test_every_bad_cell_is_reported_at_once(tmp_path: Path) -> None:
    problems = problems_of(table(plan={0: "x"}, turnover={4: "0"}), tmp_path)
    assert [(p.file.rsplit(" ", 2)[-2], p.field) for p in problems] == [
        ("2", "plan"),
        ("6", "turnover"),
    ]


def test_too_few_rows(tmp_path: Path) -> None:
    (problem,) = problems_of(table(rows=5), tmp_path)
    assert "at least 10" in problem.message and problem.file.endswith("hist.csv")


def test_duplicate_organisation_year(tmp_path: Path) -> None:
    (problem,) = problems_of(table(organisation={3: "org_1"}), tmp_path)
    assert problem.field == "year" and "repeats organisation org_1" in problem.message


def test_kind_with_too_few_rows(tmp_path: Path) -> None:
    (problem,) = problems_of(table(kind={0: "ambulance"}), tmp_path)
    assert problem.field == "kind" and "'ambulance'" in problem.message
    assert "merge it" in problem.fix


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(ScenarioError) as info:
        load_history(path)
    assert "not a readable CSV" in str(info.value) and "empty.csv" in str(info.value)
