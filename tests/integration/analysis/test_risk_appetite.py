"""Members' risk appetite in the decision rule, on the kernel, against a closed-form bound.

The worked example of issue 13 (docs/decisions.md): ``strong`` (plan 1.365, funding £10m, sd
£1m) and ``weak`` (plan 0.5, funding £3m, sd £1m), control totals 0, options
``organisation_only`` and ``flexible_25`` (a quarter linked, full redistribution), which the
rule recommends. Under ``flexible_25`` weak fails its own test after redistribution exactly
when the two members' outturns sum below 0: at least Phi(-1.865 / sqrt(2)) = 9.3% of years
(the independent case; correlation only widens the sum). Then it loses at least the unlinked
three quarters of its £3m, so its 1-in-20-year loss is at least £2.25m; it can never exceed
its £3m allocation. An appetite of £2.0m is breached, one of £3.0m never is.
"""

from __future__ import annotations

import pytest
from scipy import stats as sps

from sct_engine.analysis import analyse
from sct_engine.analysis.rule import NOT_WORSE, WORSE, appetite_verdict
from sct_engine.scenario import load_scenario

pytestmark = pytest.mark.integration

SCENARIO = """
name: appetite
simulation: {{draws: 40000, seed: 0}}
schemes:
  - {{name: organisation_only}}
  - {{name: flexible_25, system_linked_share: 0.25, redistribution: full}}
systems:
  - id: pair
    organisations:
      - {{id: strong, kind: provider, plan: 1.365, control_total: 0, sustainability_funding: 10, sd: 1}}
      - {{id: weak, kind: provider, plan: 0.5, control_total: 0, sustainability_funding: 3, sd: 1{appetite}}}
"""


def analysis(tmp_path, appetite: float | None):
    path = tmp_path / f"appetite_{appetite}.yaml"
    text = "" if appetite is None else f", risk_appetite: {appetite}"
    path.write_text(SCENARIO.format(appetite=text))
    return analyse(load_scenario(path))


def test_the_closed_form_bound_holds():
    assert sps.norm.cdf(-1.865 / 2**0.5) > 0.05 + 0.04  # far above 1 in 20


def test_an_option_beyond_a_members_appetite_is_not_recommended_and_the_reason_says_so(tmp_path):
    free = analysis(tmp_path, None)
    (rec,) = free.recommend()
    assert rec.scheme == "flexible_25"  # the rule's choice without an appetite

    bound = analysis(tmp_path, 2.0)
    d = bound.decisions.set_index(["scheme", "organisation"])
    assert d.loc[("flexible_25", "weak"), "funding_lost_p95_low"] >= 2.25 - 3 * 0.003
    assert d.loc[("flexible_25", "weak"), "appetite"] == WORSE
    assert d.loc[("flexible_25", "strong"), "appetite"] == NOT_WORSE  # none stated
    assert d.loc[("organisation_only", "weak"), "appetite"] == WORSE  # reported, not ruled on
    (rec,) = bound.recommend()
    assert rec.scheme == "organisation_only" and rec.stays
    assert "beyond its risk appetite of £2.00m" in rec.excluded["flexible_25"]
    assert "risk appetite" in bound.rule_text()


def test_an_appetite_at_the_whole_allocation_changes_nothing(tmp_path):
    (rec,) = analysis(tmp_path, 3.0).recommend()
    assert rec.scheme == "flexible_25"


def test_the_appetite_verdict_reads_the_interval():
    import numpy as np

    low, high = np.array([1.0, 1.0, 1.0, 1.0]), np.array([1.5, 1.5, 1.5, 1.5])
    appetite = np.array([0.9, 1.2, 1.5, np.nan])
    verdict = appetite_verdict((low, high), appetite, np.full(4, 10.0))
    assert verdict.tolist() == [WORSE, "too close to call", NOT_WORSE, NOT_WORSE]


def test_an_option_lowering_a_loss_the_baseline_already_puts_beyond_the_appetite_stays_allowed():
    """Baseline and option both beyond the appetite: the option is ruled out only if it does
    not lower the member's 1-in-20-year loss; lowering it, it is allowed (else the baseline,
    worse on the very criterion, would win)."""
    import numpy as np

    low, high = np.array([2.4, 2.6, 3.0, 2.7]), np.array([2.5, 2.7, 3.0, 2.9])
    base = (np.array([2.9, 2.4, 3.0, 2.8]), np.array([3.0, 2.5, 3.0, 3.0]))
    appetite = np.array([2.0, 2.0, 2.0, 2.0])
    cap = np.full(4, 3.0)
    alone = appetite_verdict((low, high), appetite, cap)
    assert alone.tolist() == [WORSE] * 4  # on the appetite alone, every option is over it
    verdict = appetite_verdict((low, high), appetite, cap, base)
    assert verdict[0] == NOT_WORSE  # clearly lower than the baseline: not ruled out
    assert verdict[1] == WORSE  # higher than the baseline's: still ruled out
    assert verdict[2] == WORSE  # the same as the baseline's (worked example): still ruled out
    assert verdict[3] == "too close to call"  # possibly lower: more draws decide
    assert appetite_verdict((low, high), np.full(4, np.nan), cap, base).tolist() == [NOT_WORSE] * 4
