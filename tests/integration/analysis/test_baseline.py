"""The baseline is the national rules' organisation-only option, wherever the menu lists it.

Issue 25's bug: a menu whose first option with nothing linked or shared switches the A&E
gateway off (``ae_gateway: false``) had every option judged against that option, which was
then recommended although it changes a national rule. These run the compiled kernel.
"""

from __future__ import annotations

import pytest

from sct_engine.analysis import analyse
from sct_engine.analysis.submodels import BaselineError, national_baseline
from sct_engine.rules import SchemeOption
from sct_engine.scenario import load_scenario
from tests.factories import make_model

pytestmark = pytest.mark.integration

MEMBERS = [
    {"plan": 1.0, "control_total": 0.0, "sd": 2.0, "funding": 10.0, "ae": 0.3, "p_ae": 0.8},
    {"plan": 0.5, "control_total": 0.0, "sd": 2.0, "funding": 6.0, "ae": 0.3, "p_ae": 0.8},
]


def test_an_option_changing_a_national_rule_listed_first_is_never_the_baseline():
    """``alone_no_gateway`` comes first and links nothing; the baseline is ``alone`` (the
    national rules' organisation-only option) and the gateway-free option is not recommended."""
    menu = [
        SchemeOption(name="alone_no_gateway", ae_gateway=False),
        SchemeOption(name="alone"),
        SchemeOption(name="linked_50", system_linked_share=0.5, redistribution="full"),
    ]
    analysis = analyse(make_model([MEMBERS], menu), draws=20_000, seed=2)
    assert analysis.baseline == "alone"
    (rec,) = analysis.recommend()
    assert rec.baseline == "alone"
    assert rec.scheme != "alone_no_gateway"
    assert rec.national_rule_changes == ("alone_no_gateway",)
    assert "changes national rules" in rec.excluded["alone_no_gateway"]


def test_organisation_only_named_but_without_the_gateway_is_not_the_baseline():
    menu = [
        SchemeOption(name="organisation_only", ae_gateway=False),
        SchemeOption(name="own_test"),
    ]
    assert national_baseline(make_model([MEMBERS], menu)) == "own_test"


def test_a_menu_without_the_national_organisation_only_option_is_refused(tmp_path):
    path = tmp_path / "no_baseline.yaml"
    path.write_text(
        "name: no baseline\n"
        "schemes:\n"
        "  - {name: free, ae_gateway: false}\n"
        "  - {name: linked, system_linked_share: 0.5, redistribution: full}\n"
        "systems:\n"
        "  - id: s\n"
        "    organisations:\n"
        "      - {id: a, kind: provider, plan: 1, control_total: 0, sustainability_funding: 5, sd: 1}\n"
        "      - {id: b, kind: provider, plan: 0, control_total: 0, sustainability_funding: 5, sd: 1}\n"
    )
    with pytest.raises(BaselineError) as err:
        analyse(load_scenario(path), draws=1_000)
    message = str(err.value)
    assert str(path) in message and "schemes" in message and "organisation_only" in message


def test_a_baseline_named_that_changes_a_national_rule_is_refused():
    menu = [SchemeOption(name="organisation_only"), SchemeOption(name="free", ae_gateway=False)]
    with pytest.raises(BaselineError, match="free changes national rules"):
        analyse(make_model([MEMBERS], menu), draws=1_000, baseline="free")


def test_the_gradient_and_solvers_refuse_a_menu_without_the_national_baseline():
    """The incentive gradient and the solvers take the same baseline as ``analyse``: a menu of
    several options without the national organisation-only option is refused, not judged
    against its first option (which here switches the A&E gateway off)."""
    from sct_engine.analysis import incentive_gradient
    from sct_engine.analysis.submodels import default_baseline

    menu = [
        SchemeOption(name="alone_no_gateway", ae_gateway=False),
        SchemeOption(name="linked_50", system_linked_share=0.5, redistribution="full"),
    ]
    model = make_model([MEMBERS], menu)
    with pytest.raises(BaselineError):
        default_baseline(model)
    with pytest.raises(BaselineError):
        incentive_gradient(model, draws=1_000, seed=1)
    one = make_model([MEMBERS], [SchemeOption(name="linked_50", system_linked_share=0.5)])
    assert default_baseline(one) == "linked_50"  # a menu of one is its own baseline
