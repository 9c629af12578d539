"""scenarios/england_2018_19.yaml: up to date with its generator, loadable, and built as stated.

Checks the file against its sources (the reference CSV in scenarios/data and the wave-1 file),
not against the generator's own numbers, except for the up-to-date test, which regenerates the
YAML in memory and compares bytes. No simulation: the calibration is `make_england.py --check`.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from sct_engine import load_scenario

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
ENGLAND = SCENARIOS / "england_2018_19.yaml"
WAVE1 = SCENARIOS / "wave1_2018_19.yaml"
CSV = SCENARIOS / "data" / "england-stps-2018-19.csv"

#: Stated sizes (scenarios/README.md): about £2.45bn PSF and about £400m CSF.
PSF_RANGE = (2400.0, 2500.0)
CSF_RANGE = (390.0, 410.0)
PER_HEAD_RANGE = (1300.0, 1500.0)
#: Buckinghamshire, Oxfordshire and Berkshire West holds two first-wave ICSs and the rest.
FOOTPRINTS, SYSTEMS = 42, 44
#: Reference-CSV organisations that wave 1 places in a system of another footprint.
MOVED_BY_WAVE1 = {
    "Chesterfield Royal Hospital NHS Foundation Trust": "south_yorkshire_bassetlaw",
    "Epsom And St Helier University Hospitals NHS Trust": "surrey_heartlands",
}


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCENARIOS / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _key(name: str) -> str:
    key = re.sub(r"[^a-z0-9 ]", "", name.lower().replace("&", "and"))
    return re.sub(r"^the ", "", re.sub(r"\s+", " ", key)).strip()


def _load_yaml(path: Path) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return _module("make_england")


@pytest.fixture(scope="module")
def doc() -> dict:
    return _load_yaml(ENGLAND)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with CSV.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _orgs(doc: dict) -> list[tuple[str, dict]]:
    return [(s["id"], o) for s in doc["systems"] for o in s["organisations"]]


def test_shipped_file_is_what_the_generator_writes(generator):
    assert ENGLAND.read_text(encoding="utf-8") == generator.render(), (
        "scenarios/england_2018_19.yaml is stale: run `python scenarios/tools/make_england.py`"
    )


def test_file_loads_and_validates():
    scenario = load_scenario(ENGLAND)
    assert len(scenario.systems) == SYSTEMS
    assert sum(len(s.organisations) for s in scenario.systems) > 400


def test_systems_cover_every_footprint_of_the_csv(generator, rows):
    footprints = {r["stp_code"] for r in rows}
    assert len(footprints) == FOOTPRINTS
    built = generator.systems(rows)
    assert len(built) == SYSTEMS
    assert {s["footprint"][0] for s in built} == footprints
    assert len({s["id"] for s in built}) == SYSTEMS


def test_every_ccg_and_acute_trust_of_the_csv_is_in_its_footprint(generator, doc, rows):
    footprint_of = {s["id"]: s["footprint"][0] for s in generator.systems(rows)}
    where = {_key(o["name"]): (sid, o["kind"]) for sid, o in _orgs(doc)}
    assert len(where) == len(_orgs(doc)), "an organisation name appears twice"
    for r in rows:
        assert _key(r["name"]) in where, f"{r['name']} ({r['ods_code']}) is missing"
        sid, kind = where[_key(r["name"])]
        assert kind == r["kind"], r["name"]
        if r["name"] in MOVED_BY_WAVE1:
            assert sid == MOVED_BY_WAVE1[r["name"]]
        else:
            assert footprint_of[sid] == r["stp_code"], f"{r['name']} is in {sid}"
    ccgs = [o for _, o in _orgs(doc) if o["kind"] == "commissioner"]
    assert len(ccgs) == sum(r["kind"] == "commissioner" for r in rows) == 195


def test_psf_and_csf_totals_are_as_stated(doc):
    orgs = [o for _, o in _orgs(doc)]
    psf = sum(o["sustainability_funding"] for o in orgs if o["kind"] == "provider")
    csf = sum(o["sustainability_funding"] for o in orgs if o["kind"] == "commissioner")
    assert PSF_RANGE[0] <= psf <= PSF_RANGE[1]
    assert CSF_RANGE[0] <= csf <= CSF_RANGE[1]


def test_csf_only_on_deficit_ccgs_and_equal_to_the_deficit(doc):
    for _, o in _orgs(doc):
        if o["kind"] != "commissioner":
            continue
        if o["control_total"] >= 0:
            assert o["sustainability_funding"] == 0, o["id"]
        else:
            assert o["sustainability_funding"] == pytest.approx(-o["control_total"]), o["id"]


def test_new_ccg_allocations_follow_population(doc, rows):
    wave1_ids = {o["id"] for s in _load_yaml(WAVE1)["systems"] for o in s["organisations"]}
    population = {_key(r["name"]): int(r["population_2018"]) for r in rows if r["population_2018"]}
    checked = 0
    for _, o in _orgs(doc):
        if o["kind"] == "commissioner" and o["id"] not in wave1_ids:
            per_head = o["turnover"] * 1e6 / population[_key(o["name"])]
            assert PER_HEAD_RANGE[0] <= per_head <= PER_HEAD_RANGE[1], o["id"]
            checked += 1
    assert checked == 195 - 41


def test_type1_ae_split_is_the_default_70_30(doc):
    providers = [o for _, o in _orgs(doc) if o["kind"] == "provider"]
    assert sum(o.get("has_ae", False) for o in providers) > 100
    assert all("ae_share" not in o for o in providers)  # the format's default, 0.3


def test_first_wave_systems_keep_wave1_members_and_figures(doc):
    england = {s["id"]: s for s in doc["systems"]}
    for system in _load_yaml(WAVE1)["systems"]:
        assert system["id"] in england
        assert england[system["id"]]["organisations"] == system["organisations"], system["id"]


def test_providers_not_accepting_a_control_total_have_no_psf_and_plan_their_own_total(doc):
    """26 of 227 providers did not accept a 2018/19 control total (the record): the file marks
    as many with ``accepted_control_total: false``, no PSF, no management actions, and their own
    plan as the control total their system counts (rule 10)."""
    declined = [o for _, o in _orgs(doc) if o.get("accepted_control_total") is False]
    assert len(declined) == 26
    for o in declined:
        assert o["kind"] == "provider", o["id"]
        assert o["sustainability_funding"] == 0, o["id"]
        assert o["control_total"] == o["plan"], o["id"]
        assert "mitigation" not in o and "control_total_uplift" not in o, o["id"]


def test_incentive_uplifts_are_those_of_q3_2018_19(doc):
    """42 providers agreed to improve their control totals by £112m in total (HFMA, March 2019)."""
    uplifts = [o["control_total_uplift"] for _, o in _orgs(doc) if o.get("control_total_uplift")]
    assert len(uplifts) == 42
    assert sum(uplifts) == pytest.approx(112.0, abs=0.5)
