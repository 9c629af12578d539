"""The national view on the kernel: participation counted as a brute force counts it, national
funding at risk exactly `sct run`'s, sums over systems that add up.

The first-wave scenario (ten systems, the year-end bonus on) at a few thousand draws, with the
decision rule capped at the run's draws, so the systems' positions are a mix of would sign,
too close to call and would not sign.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sct_engine.analysis import DecisionRule, analyse
from sct_engine.analysis.national import (
    RECOMMENDED_MIX,
    REFUSES,
    SIGNS,
    TOO_CLOSE,
    gini,
    joint_national,
    national_view,
    top_share,
)
from sct_engine.engine.simulate import simulate
from sct_engine.scenario import load_scenario

pytestmark = pytest.mark.integration

WAVE1 = Path(__file__).resolve().parents[3] / "scenarios" / "wave1_2018_19.yaml"
DRAWS, SEED = 12_288, 11


@pytest.fixture(scope="module")
def analysis():
    return analyse(load_scenario(WAVE1), draws=DRAWS, seed=SEED, rule=DecisionRule(max_draws=DRAWS))


@pytest.fixture(scope="module")
def view(analysis):
    return national_view(analysis)


def test_systems_signing_equal_a_brute_force_count_of_the_participation_table(analysis, view):
    part = analysis.participation()
    expected: dict[str, dict[str, int]] = {}
    for name in analysis.scheme_names:
        counts = {SIGNS: 0, TOO_CLOSE: 0, REFUSES: 0}
        for sid in analysis.model.system_ids:
            rows = [r for r in part.itertuples(index=False) if r.scheme == name and r.system == sid]
            if all(r.would_sign for r in rows):
                counts[SIGNS] += 1
            elif any(r.verdict == "materially worse" for r in rows):
                counts[REFUSES] += 1
            else:
                counts[TOO_CLOSE] += 1
        expected[name] = counts
    got = view.options.set_index("scheme")
    for name, counts in expected.items():
        assert got.loc[name, "systems_sign"] == counts[SIGNS], name
        assert got.loc[name, "systems_too_close"] == counts[TOO_CLOSE], name
        assert got.loc[name, "systems_refuse"] == counts[REFUSES], name
    # Every system signs the baseline; the run is short enough that the options are contested.
    assert got.loc[analysis.baseline, "systems_sign"] == analysis.model.n_systems
    positions = set(view.systems.loc[view.systems["scheme"] != analysis.baseline, "position"])
    assert {SIGNS, REFUSES} <= positions


def test_recommended_counts_and_the_signing_systems_agree_with_the_recommendation(analysis, view):
    recs = analysis.recommend()
    got = view.options.set_index("scheme")
    for name in analysis.scheme_names:
        assert got.loc[name, "systems_recommended"] == sum(r.scheme == name for r in recs)
    sys = view.systems
    for r in recs:
        signing = set(sys.loc[(sys["system"] == r.system) & (sys["position"] == SIGNS), "scheme"])
        national = set(sys.loc[sys["changes_national_rules"], "scheme"])
        assert set(r.eligible) == signing - national


def test_national_expected_loss_is_sct_runs_national_table(analysis, view):
    run = simulate(load_scenario(WAVE1), draws=DRAWS, seed=SEED).national.set_index("scheme")
    got = view.options.set_index("scheme")
    for column in ("expected_funding_lost", "se_expected_funding_lost", "funding_lost_p95"):
        np.testing.assert_array_equal(
            got.loc[list(analysis.scheme_names), column].to_numpy(),
            run.loc[list(analysis.scheme_names), column].to_numpy(),
            err_msg=column,
        )
    # Every system signing the baseline: the participation figure is the national one.
    base = got.loc[analysis.baseline]
    assert base["expected_funding_lost_with_participation"] == pytest.approx(
        base["expected_funding_lost"], rel=1e-12
    )


def test_sums_over_systems_add_up(analysis, view):
    sys, opts = view.systems, view.options.set_index("scheme")
    base = sys[sys["scheme"] == analysis.baseline].set_index("system")
    for name in analysis.scheme_names:
        sub = sys[sys["scheme"] == name].set_index("system")
        # National loss: the systems' losses add up to it (every system signs).
        assert sub["expected_funding_lost"].sum() == pytest.approx(
            opts.loc[name, "expected_funding_lost"], rel=1e-9
        )
        signs = sub["position"] == SIGNS
        mixed = np.where(signs, sub["expected_funding_lost"], base["expected_funding_lost"]).sum()
        assert opts.loc[name, "expected_funding_lost_with_participation"] == pytest.approx(mixed)
        gains = (
            opts.loc[name, "gain_signing"]
            + opts.loc[name, "gain_too_close"]
            + opts.loc[name, "gain_refusing"]
        )
        assert gains == pytest.approx(sub["diff_expected_income"].sum(), abs=1e-9)
        # The bound on a sum's half-width is at least the half-width were systems independent.
        se = sub.loc[signs, "se_diff_expected_income"].to_numpy()
        assert opts.loc[name, "ci95_gain_signing_bound"] >= 1.959 * np.sqrt((se**2).sum())


def test_fairness_reads_the_systems_gains(analysis, view):
    sys = view.systems
    fair = view.fairness.set_index("scheme")
    for name in analysis.scheme_names:
        diff = sys.loc[sys["scheme"] == name, "diff_expected_income"].to_numpy()
        losses = np.maximum(-diff, 0.0)
        assert fair.loc[name, "systems_losing"] == int((diff < 0).sum())
        assert fair.loc[name, "gross_loss"] == pytest.approx(losses.sum())
        if losses.sum() > 0:
            assert fair.loc[name, "loss_gini"] == pytest.approx(gini(losses))
            assert fair.loc[name, "loss_worst_decile_share"] == pytest.approx(top_share(losses))
    assert fair.loc[analysis.baseline, "systems_losing"] == 0
    assert pd.isna(fair.loc[analysis.baseline, "loss_gini"])


def test_joint_funding_is_the_systems_funding_summed_and_the_bonus_is_what_differs(analysis, view):
    """On the same draws, PSF/CSF paid adds up over systems whoever else moves, so the joint
    change in funding is the per-system changes summed, for every system on the option
    recommended to it and on each option; what the systems acting together change is the bonus
    (income = funding + bonus)."""
    joint = joint_national(analysis, systems=view.systems).set_index("counterfactual")
    sys = view.systems
    rows = {RECOMMENDED_MIX: sys[sys["recommended"]]}
    rows |= {f"every system on {n}": sys[sys["scheme"] == n] for n in analysis.scheme_names}
    for name, sub in rows.items():
        row = joint.loc[name]
        assert row["draws"] == DRAWS
        assert row["diff_expected_funding"] == pytest.approx(
            sub["diff_expected_funding"].sum(), rel=1e-9, abs=1e-9
        ), name
        assert row["sum_of_system_gains"] == pytest.approx(sub["diff_expected_income"].sum())
        assert row["diff_expected_income"] == pytest.approx(
            row["diff_expected_funding"] + row["diff_expected_bonus"], rel=1e-9, abs=1e-9
        )
    assert joint.loc[f"every system on {analysis.baseline}", "diff_expected_income"] == 0.0
