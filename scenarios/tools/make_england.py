#!/usr/bin/env python3
"""Generate ``scenarios/england_2018_19.yaml``, or check it (``--check``).

Every STP / ICS footprint of England in late 2018 (42; the Buckinghamshire, Oxfordshire and
Berkshire West footprint holds two first-wave ICSs and so gives three systems) with its CCGs
and acute trusts from ``scenarios/data/england-stps-2018-19.csv``, the ten first-wave ICSs
exactly as ``make_wave1.py`` builds them (same members, same figures), and the mental health,
community, ambulance and specialist trusts of ``england_data.py`` (public knowledge, each with
a source note). Every money figure is ILLUSTRATIVE: sized like the real body, not its accounts.

Organisations outside the first-wave ICSs are sized from facts and rules:

* CCG allocation = 2018 population x ``ALLOCATION_PER_HEAD``; a CCG in
  ``england_data.DEFICIT_CCGS`` has a deficit control total of ``CCG_DEFICIT_PCT`` of its
  allocation and CSF equal to that deficit (brings it to in-year balance), others break even
  and have no CSF; ``CCG_DEFICIT_PCT`` is solved so that CSF totals ``CSF_TOTAL`` nationally;
* trust PSF = 1% of turnover for trusts without a type-1 A&E (as in wave 1) and
  ``acute PSF rate`` x turnover for acute trusts that accepted their control total, the rate
  solved so that the PSF at stake totals ``PSF_TOTAL`` nationally (70% finance / 30% A&E for
  type-1 A&E trusts): in 2018/19 the whole fund went to the trusts that accepted;
* control totals (before PSF) by financial-position class (``england_data.S/B/D/X``): surplus,
  breakeven after PSF, deficit, deep deficit; the depth of the D and X deficits is solved so that
  the sector's submitted plans (control totals with uplifts, the own plan of a trust that did not
  accept) plus the whole PSF make the 2018/19 plan after PSF (``SECTOR_PLAN``);
* class X trusts are the providers that did not accept a control total
  (``accepted_control_total: false``): no PSF at stake, no management actions, and their own
  deep-deficit plan as ``control_total`` (what their system control total counts, rule 10);
* ``UPLIFT_PROVIDERS`` of the surplus and breakeven acute trusts agree an incentive uplift,
  ``UPLIFT_TOTAL`` with wave 1's two (42 providers, £112m, as at Q3 2018/19), and plan to meet
  the raised total;
* plans as in wave 1: ``plan = control_total + uplift + sd * z(1 - p_short)``, ``p_short`` by
  class, with management actions ``MITIGATION_SD`` sd; CCGs outside wave 1 have their own spread,
  margins, actions and events (``CCG_*``), fitted to the CCG facts.

The regime (Student-t factors, loadings, quarterly payments, large adverse events, incentive
rate, bonus pool, recovery) is wave 1's, imported from ``make_wave1.py``, except that trusts'
large adverse events have their own probability and size (``TAIL``, fitted to the sector's
variance from plan and the >£10m adverse count); the bonus pool is national, as it was in
2018/19.

Usage (from the repository root)::

    python scenarios/tools/make_england.py            # (re)write the YAML
    python scenarios/tools/make_england.py --check    # calibration table; fails if the file is stale

The output depends only on this folder and ``scenarios/data``: no timestamps, no randomness.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scipy.stats import norm

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = HERE.parent / "england_2018_19.yaml"
CSV = HERE.parent / "data" / "england-stps-2018-19.csv"

if str(HERE) not in sys.path:  # the sibling modules, however this file is loaded
    sys.path.insert(0, str(HERE))
wave1: Any = importlib.import_module("make_wave1")
data: Any = importlib.import_module("england_data")

DRAWS = wave1.DRAWS
SEED = wave1.SEED

# ---------------------------------------------------------------------------
# National facts the sizing is built on (scheme-2018-19.md, "Facts").
# ---------------------------------------------------------------------------

PSF_TOTAL = 2450.0  # £m, Provider Sustainability Fund 2018/19
CSF_TOTAL = 400.0  # £m, Commissioner Sustainability Fund 2018/19
SECTOR_PLAN = -394.0  # £m, providers' final plan after PSF
#: £ per head of 2018 population: CCG allocations were about £1,300-£1,500 a head in 2018/19.
ALLOCATION_PER_HEAD = 1400.0
#: PSF of trusts without a type-1 A&E, % of turnover (wave 1's rule).
OTHER_PSF_PCT = 1.0

# ---------------------------------------------------------------------------
# Calibration of the organisations outside the first-wave ICSs (scenarios/README.md).
# ---------------------------------------------------------------------------

#: Control total before PSF, % of turnover, by class; D and X are scaled by a solved depth.
#: X (did not accept): its own plan, with no PSF to plan on.
CT_PCT = {data.S: 1.0, data.B: None, data.D: -2.0, data.X: -8.0}  # B: -PSF (breakeven after)
#: Control total of trusts without a type-1 A&E, % of turnover (small surpluses, as in wave 1).
OTHER_CT_PCT = 0.5
#: Target chance that ordinary variation leaves the trust below its control total.
P_SHORT = {data.S: 0.20, data.B: 0.25, data.D: 0.35}
OTHER_P_SHORT = 0.20
#: Incentive PSF: this many trusts outside wave 1 (every surplus and breakeven acute trust, then
#: the largest of the other trusts) agree uplifts pro rata to turnover, so that with wave 1's two the count and
#: the total are those of Q3 2018/19: 42 providers, £112m (docs/rules-2018-19.md#facts).
UPLIFT_PROVIDERS = 40
UPLIFT_TOTAL = 112.0
#: CCGs outside wave 1: target chance of a shortfall before management actions (breakeven /
#: deficit control total), actions in sd, and their own large adverse events (an overspend).
CCG_P_SHORT = {"breakeven": 0.3, "deficit": 0.3}
CCG_MITIGATION_SD = 1.0
CCG_TAIL = {"probability": 0.12, "median_pct": 1.3, "sigma": 0.5}
#: Year-end sd of outturn, % of turnover (wave 1's ranges).
SD_PCT = {
    "acute_large": 1.0,  # turnover of £800m or more
    "acute": 1.2,
    "acute_small": 1.4,  # under £300m
    data.SPECIALIST: 1.0,
    data.MH: 0.8,
    data.COMMUNITY: 0.8,
    data.AMBULANCE: 0.8,
    "ccg": 0.1,  # CCGs: outturns held close to plan; overspends come as events (CCG_TAIL)
}
#: Chance that the A&E element is earned per quarter (4-hour performance was short of 90%).
P_AE = 0.55

NOT_ACCEPTED = wave1.NOT_ACCEPTED

#: Large adverse events (``uncertainty.tail``, every organisation but the CCGs, which have their
#: own): fitted so that the providers' expected variance from plan, excluding PSF, and the
#: count more than £10m adverse to plan are those of 2018/19 (scenarios/README.md).
TAIL = {**wave1.TAIL, "probability": 0.3, "median_pct": 3.2}

# ---------------------------------------------------------------------------
# Reading the reference CSV
# ---------------------------------------------------------------------------


def read_csv(path: Path = CSV) -> list[dict[str, str]]:
    """Rows of the reference CSV (every CCG and acute trust by footprint)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def name_key(name: str) -> str:
    """Organisation names compared across sources: case, 'The', '&' and punctuation ignored."""
    key = re.sub(r"[^a-z0-9 ]", "", name.lower().replace("&", "and"))
    return re.sub(r"^the ", "", re.sub(r"\s+", " ", key)).strip()


def slug(text: str) -> str:
    """Scenario id from a name: lower case, short words dropped, joined by underscores."""
    drop = {"and", "the", "of", "nhs", "on"}
    plain = re.sub(r"[^a-z0-9 ]", " ", text.lower().replace("'", ""))
    words = [w for w in plain.split() if w not in drop]
    return "_".join(words)


def org_id(name: str, kind: str) -> str:
    """Id of an organisation outside the first-wave ICSs, from its name."""
    if kind == "commissioner":
        return slug(re.sub(r"^NHS | CCG$", "", name)) + "_ccg"
    short = name.replace(" NHS Foundation Trust", " FT").replace(" NHS Trust", " trust")
    return slug(short)


# ---------------------------------------------------------------------------
# Derivation
# ---------------------------------------------------------------------------


def _wave1_orgs() -> dict[str, list[dict]]:
    """The first-wave ICSs' members, exactly as make_wave1.py derives them, by system id."""
    return {s["id"]: [wave1.derive(o) for o in s["orgs"]] for s in wave1.SYSTEMS}


def _trust_sd_pct(typ: str, turnover: float) -> float:
    if typ != wave1.ACUTE:
        return SD_PCT[typ]
    if turnover >= 800:
        return SD_PCT["acute_large"]
    return SD_PCT["acute_small"] if turnover < 300 else SD_PCT["acute"]


def _base(oid: str, name: str, typ: str, kind: str, turnover: float, sd_pct: float) -> dict:
    return {
        "id": oid,
        "name": name,
        "type": typ,
        "kind": kind,
        "control_total_uplift": 0.0,
        "turnover": float(turnover),
        "sd_pct": sd_pct,
        "sd": sd_pct / 100.0 * turnover,
        "tail": CCG_TAIL if kind == "commissioner" else None,
        "accepted_control_total": True,
        "has_ae": typ == wave1.ACUTE,
        "p_ae": P_AE if typ == wave1.ACUTE else None,
    }


def _finish(o: dict, ct: float, plan: float, sf: float, mitigation: float) -> dict:
    """Round the figures and add the normal-marginal chances shown on the `plan:` line."""
    o.update(
        control_total=round(ct, 1),
        plan=round(plan, 1),
        sustainability_funding=round(sf, 1),
        mitigation=round(mitigation, 1),
    )
    sd, target = o["sd"], o["control_total"] + o["control_total_uplift"]
    o["p_short"] = float(norm.cdf(-(o["plan"] - target) / sd))
    o["p_miss"] = float(norm.cdf(-(o["plan"] + o["mitigation"] - target) / sd))
    return o


def submitted_plan(o: dict) -> float:
    """The plan the 2018/19 record measures variance from: the control total with its uplift
    for a trust that accepted it (its plan had to meet it), its own plan for one that did not
    (``control_total`` there). The ``plan`` field is the centre of ordinary variation instead."""
    return o["control_total"] + o["control_total_uplift"]


def _margin(sd: float, p_short: float) -> float:
    return round(sd * float(norm.isf(p_short)), 1)


def new_organisations(rows: list[dict[str, str]], wave1_names: set[str]) -> dict[str, list[dict]]:
    """Organisations outside the first-wave ICSs, by footprint code, sized by the rules above."""
    fixed_psf = sum(
        o["sustainability_funding"]
        for orgs in _wave1_orgs().values()
        for o in orgs
        if o["kind"] == "provider"
    )
    trusts: list[tuple[str, dict, str]] = []  # (footprint, organisation, class)
    wave1_providers = [
        o for orgs in _wave1_orgs().values() for o in orgs if o["kind"] == "provider"
    ]
    ccgs: list[tuple[str, dict, bool]] = []  # (footprint, organisation, deficit)
    for r in rows:
        if name_key(r["name"]) in wave1_names:
            continue
        if r["kind"] == "commissioner":
            allocation = round(int(r["population_2018"]) * ALLOCATION_PER_HEAD / 1e6, -1)
            o = _base(
                org_id(r["name"], "commissioner"),
                r["name"],
                wave1.CCG,
                "commissioner",
                allocation,
                SD_PCT["ccg"],
            )
            o["ods"] = r["ods_code"]
            o["comment"] = [
                f"ODS {r['ods_code']}; 2018 population {int(r['population_2018']):,} x "
                f"£{ALLOCATION_PER_HEAD:,.0f} a head."
            ]
            ccgs.append((r["stp_code"], o, r["ods_code"] in data.DEFICIT_CCGS))
        else:
            turnover, cls = data.ACUTE[r["ods_code"]]
            o = _base(
                org_id(r["name"], "provider"),
                r["name"],
                wave1.ACUTE,
                "provider",
                turnover,
                _trust_sd_pct(wave1.ACUTE, turnover),
            )
            o["ods"] = r["ods_code"]
            o["comment"] = [f"ODS {r['ods_code']}."]
            if r["ods_code"] in data.MERGED:
                o["comment"].append(
                    f"Listed separately in the reference CSV; {data.MERGED[r['ods_code']]}."
                )
            trusts.append((r["stp_code"], o, cls))
    for stp, name, typ, turnover, source in data.OTHER_TRUSTS:
        o = _base(
            org_id(name, "provider"), name, typ, "provider", turnover, _trust_sd_pct(typ, turnover)
        )
        o["comment"] = [f"Added from public knowledge, not from the reference CSV: {source}."]
        trusts.append((stp, o, "other"))

    # PSF: 1% of turnover without a type-1 A&E; the acute rate makes the national total at
    # stake. A trust that did not accept its control total has none (rule 10).
    other_psf = sum(
        round(OTHER_PSF_PCT / 100 * o["turnover"], 1) for _, o, c in trusts if c == "other"
    )
    acute_turnover = sum(o["turnover"] for _, o, c in trusts if c not in ("other", data.X))
    acute_psf_pct = round(100 * (PSF_TOTAL - fixed_psf - other_psf) / acute_turnover, 3)
    for _, o, c in trusts:
        pct = OTHER_PSF_PCT if c == "other" else 0.0 if c == data.X else acute_psf_pct
        o["sustainability_funding"] = round(pct / 100 * o["turnover"], 1)
        o["accepted_control_total"] = c != data.X

    # Incentive uplifts: the largest surplus and breakeven acute trusts, pro rata to turnover.
    rank = {data.S: 0, data.B: 0, "other": 1}  # acute trusts with headroom, then the others
    takers = sorted(
        (o for _, o, c in trusts if c in rank),
        key=lambda o: (rank[next(c for _, t, c in trusts if t is o)], -o["turnover"], o["id"]),
    )[:UPLIFT_PROVIDERS]
    wave1_uplift = sum(o["control_total_uplift"] for o in wave1_providers)
    per_turnover = (UPLIFT_TOTAL - wave1_uplift) / sum(o["turnover"] for o in takers)
    for o in takers:
        o["control_total_uplift"] = round(per_turnover * o["turnover"], 1)

    # Control totals. D and X deficits scale with a depth solved for the sector plan.
    def ct_without_depth(o: dict, c: str) -> float:
        if c == "other":
            return OTHER_CT_PCT / 100 * o["turnover"]
        if c == data.S:
            return CT_PCT[c] / 100 * o["turnover"]
        if c == data.X:
            return 0.0
        return -o["sustainability_funding"]  # B, and D before its depth

    wave1_submitted = sum(submitted_plan(o) for o in wave1_providers)
    fixed = wave1_submitted + sum(
        ct_without_depth(o, c) + o["control_total_uplift"] for _, o, c in trusts
    )
    unit = sum(-CT_PCT[c] / 100 * o["turnover"] for _, o, c in trusts if c in (data.D, data.X))
    depth = round((fixed + PSF_TOTAL - SECTOR_PLAN) / unit, 3)
    for _, o, c in trusts:
        sf = o["sustainability_funding"]
        ct = ct_without_depth(o, c)
        if c in (data.D, data.X):
            ct += depth * CT_PCT[c] / 100 * o["turnover"]
        if c == data.X:
            _finish(o, ct, ct, sf, 0.0)
            o["comment"].append(" ".join(NOT_ACCEPTED))
            continue
        p_short = OTHER_P_SHORT if c == "other" else P_SHORT[c]
        target = ct + o["control_total_uplift"]
        _finish(
            o, ct, target + _margin(o["sd"], p_short), sf, wave1.MITIGATION_SD[o["type"]] * o["sd"]
        )

    # CCGs: CSF equals a deficit control total, sized so that CSF totals the national fund.
    fixed_csf = sum(
        o["sustainability_funding"]
        for orgs in _wave1_orgs().values()
        for o in orgs
        if o["kind"] == "commissioner"
    )
    deficit_allocation = sum(o["turnover"] for _, o, d in ccgs if d)
    ccg_deficit_pct = round(100 * (CSF_TOTAL - fixed_csf) / deficit_allocation, 3)
    for _, o, deficit in ccgs:
        csf = round(ccg_deficit_pct / 100 * o["turnover"], 1) if deficit else 0.0
        p = CCG_P_SHORT["deficit" if deficit else "breakeven"]
        _finish(o, -csf, -csf + _margin(o["sd"], p), csf, CCG_MITIGATION_SD * o["sd"])

    out: dict[str, list[dict]] = {}
    for stp, o, _ in ccgs:
        out.setdefault(stp, []).append(o)
    for stp, o, _ in trusts:
        out.setdefault(stp, []).append(o)
    SIZING.update(acute_psf_pct=acute_psf_pct, deficit_depth=depth, ccg_deficit_pct=ccg_deficit_pct)
    return out


#: Solved sizing parameters of the last derivation (printed by --check, written in the header).
SIZING: dict[str, float] = {}


def systems(rows: list[dict[str, str]] | None = None) -> list[dict]:
    """Every system of the file, in footprint order: id, name, footprint, note, organisations."""
    rows = read_csv() if rows is None else rows
    first_wave = _wave1_orgs()
    wave1_names = {name_key(o["name"]) for orgs in first_wave.values() for o in orgs}
    new = new_organisations(rows, wave1_names)
    footprints: dict[str, str] = {}
    for r in rows:
        footprints.setdefault(r["stp_code"], r["stp_name"])
    by_footprint: dict[str, list[str]] = {}
    for sid, stp in data.WAVE1_FOOTPRINT.items():
        by_footprint.setdefault(stp, []).append(sid)
    wave1_by_id = {s["id"]: s for s in wave1.SYSTEMS}
    out = []
    for stp, stp_name in sorted(footprints.items()):
        for sid in by_footprint.get(stp, []):
            s = wave1_by_id[sid]
            out.append(
                {
                    "id": sid,
                    "name": s["name"],
                    "footprint": (stp, stp_name),
                    "first_wave": True,
                    "note": s.get("note"),
                    "orgs": first_wave[sid],
                }
            )
        if stp in new:
            sid, name = data.REST_OF_FOOTPRINT.get(stp, (slug(stp_name), stp_name))
            out.append(
                {
                    "id": sid,
                    "name": name,
                    "footprint": (stp, stp_name),
                    "first_wave": False,
                    "note": None,
                    "orgs": new[stp],
                }
            )
    return out


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------

HEADER = """\
# GENERATED FILE: written by scenarios/tools/make_england.py. Do not edit by hand.
# Edit the script (or england_data.py) and run `python scenarios/tools/make_england.py`.
# Run it with --check for the calibration table (scenarios/README.md has it).
#
# England 2018/19: every STP / ICS footprint of late 2018 with its CCGs and acute
# trusts (ONS / NHS Digital ODS, OGL v3.0; acute trust to STP lookup from the Health
# Foundation's Winter_pressures repository, MIT), the ten first-wave ICSs with exactly
# the members and figures of wave1_2018_19.yaml, and mental health, community,
# ambulance and specialist trusts added from public knowledge (each marked so).
#
# ALL MONEY FIGURES ARE ILLUSTRATIVE. They are NOT the accounts, plans, control
# totals, PSF/CSF allocations or management actions of these organisations. Sizing:
#   CCG allocation = 2018 population x £{per_head:,.0f} a head; CSF only for a deficit
#     control total ({ccg_pct:.2f}% of allocation here), equal to that deficit;
#   trust turnover approximate for each trust; PSF {acute_psf:.2f}% of turnover for acute
#     trusts with a type-1 A&E (70% finance / 30% A&E), {other_psf:g}% for other trusts,
#     so that PSF totals about £{psf:,.0f}m and CSF about £{csf:,.0f}m;
#   control totals (before PSF) by a financial-position class per trust, deficits scaled
#     so that the sector plans a £{plan:,.0f}m deficit after PSF, as in 2018/19.
# Do not read any single organisation's figures as a statement about it.
#
# Money in £m. Surplus +, deficit -. Plan and control total are both BEFORE
# sustainability funding. The calibration layers are those of wave1_2018_19.yaml
# (ordinary variation, large adverse events, management actions); the comment on each
# `plan:` line gives the normal-marginal P(shortfall) before actions and P(miss) after.
#
# An organisation that serves several footprints appears ONCE; a comment says why it
# is where it is.
"""


def _org_lines(o: dict) -> list[str]:
    out = [f"      # {o['name']}: {wave1.TYPE_LABEL[o['type']]}."]
    out += [f"      # {line}" for c in o.get("comment") or [] for line in _wrapped(c)]
    if o["control_total_uplift"]:
        u = o["control_total_uplift"]
        text = (
            f"Incentive PSF (illustrative): agrees to raise its control total by £{u:g}m, plans "
            f"to meet the raised total and earns £{wave1.INCENTIVE_RATE * u:g}m more PSF if it does."
        )
        out += [f"      # {line}" for line in _wrapped(text)]
    out += [
        f"      - id: {o['id']}",
        f"        name: {json.dumps(o['name'])}",
        f"        kind: {o['kind']}",
        *([f"        provider_type: {o['type']}"] if o["kind"] == "provider" else []),
        f"        plan: {wave1.fmt(o['plan'])}   # P(shortfall) ~{wave1.pct(o['p_short'])}, "
        f"P(miss) after actions ~{wave1.pct(o['p_miss'])}",
        f"        control_total: {wave1.fmt(o['control_total'])}",
    ]
    if not o["accepted_control_total"]:
        out.append(
            "        accepted_control_total: false   # no PSF at stake (rule 10); its own plan"
        )
    if o["control_total_uplift"]:
        out.append(f"        control_total_uplift: {wave1.fmt(o['control_total_uplift'])}")
    out += [
        f"        sustainability_funding: {wave1.fmt(o['sustainability_funding'])}",
        f"        turnover: {wave1.fmt(o['turnover'])}",
        f"        sd_pct: {o['sd_pct']}",
    ]
    if o["mitigation"]:
        out.append(f"        mitigation: {wave1.fmt(o['mitigation'])}")
    if o["kind"] == "commissioner":
        out.append(
            f"        system_loading: {wave1.COMMISSIONER_LOADING}   # against the system's "
            "providers (contract line)"
        )
    if o["tail"]:
        out.append("        tail:")
        out.extend(wave1._yaml_tail(o["tail"], "          "))
    if o["kind"] == "provider":
        out.append(f"        has_ae: {'true' if o['has_ae'] else 'false'}")
        if o["has_ae"]:
            out.append(f"        p_ae: {o['p_ae']}")
    return out


def _wrapped(text: str, width: int = 86) -> Iterator[str]:
    """A comment's text in lines of at most ``width`` characters (whole words)."""
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            yield line
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        yield line


def render(all_systems: list[dict] | None = None) -> str:
    """The YAML text of the scenario (the same bytes on every run)."""
    all_systems = systems() if all_systems is None else all_systems
    orgs = [o for s in all_systems for o in s["orgs"]]
    psf = sum(o["sustainability_funding"] for o in orgs if o["kind"] == "provider")
    csf = sum(o["sustainability_funding"] for o in orgs if o["kind"] == "commissioner")
    plan = sum(o["plan"] for o in orgs if o["kind"] == "provider") + psf
    out = [
        HEADER.format(
            per_head=ALLOCATION_PER_HEAD,
            ccg_pct=SIZING["ccg_deficit_pct"],
            acute_psf=SIZING["acute_psf_pct"],
            other_psf=OTHER_PSF_PCT,
            psf=psf,
            csf=csf,
            plan=-plan,
        ),
        "name: England 2018/19, every STP / ICS footprint (illustrative figures)",
        "description: >-",
        "  Every STP / ICS footprint of England in late 2018 (the ten first-wave ICSs as in",
        "  wave1_2018_19.yaml) with real member organisations and ILLUSTRATIVE (not real) plans,",
        "  control totals and PSF/CSF: about £2.45bn PSF and £400m CSF at stake, the provider",
        "  sector planning a £394m deficit after PSF. Calibrated to the 2018/19 national record",
        "  (scenarios/README.md). Management actions, large adverse events, incentive PSF,",
        "  quarterly payments and the national year-end bonus pool are all on.",
        "",
        "simulation:",
        f"  draws: {DRAWS}",
        f"  seed: {SEED}",
        "",
        "uncertainty:",
        "  distribution: student_t   # heavy tails: a few large overspends",
        f"  dof: {wave1.DOF}",
        f"  national_share: {wave1.NATIONAL_SHARE}",
        f"  system_share: {wave1.SYSTEM_SHARE}   # providers in a system correlate 0.25 + 0.25 = "
        f"0.5; CCGs carry system_loading {wave1.COMMISSIONER_LOADING}",
        "  quarterly: true   # year-to-date tests and payments, Q1-Q4 weights 15/20/30/35%",
        f"  quarterly_variance: {json.dumps(wave1.QUARTER_VARIANCE)}   # most of the year's risk "
        "arises in the second half",
        "  # Large adverse events, default for every organisation (CCGs override it):",
        f"  # with probability {TAIL['probability']} a year, a loss of turnover x LogNormal"
        f"(median {TAIL['median_pct']}%, sigma {TAIL['sigma']}).",
        "  tail:",
        *wave1._yaml_tail(TAIL, "    "),
        "",
        "regime:",
        f"  incentive_rate: {wave1.INCENTIVE_RATE}   # £2 of incentive PSF per £1 of agreed uplift "
        "(2018/19 mid-year reset)",
        f"  bonus: {'true' if wave1.BONUS else 'false'}   # national pool: trusts' unearned PSF "
        "paid at year end to trusts that met their control totals",
        f"  bonus_share: {wave1.BONUS_SHARE}",
        f"  recovery: {'true' if wave1.RECOVERY else 'false'}   # quarterly PSF finance money missed "
        "is paid at year end on a year-end pass",
        f"  ae_gateway: {wave1.AE_GATEWAY}   # A&E paid in a period in which some finance element "
        "is earned",
        f"  csf_quarter_weights: [{', '.join(str(w) for w in wave1.CSF_QUARTER_WEIGHTS)}]   # CSF "
        "paid quarterly, on each quarter's test",
        f"  csf_recovery: {'true' if wave1.CSF_RECOVERY else 'false'}   # CSF missed in a quarter "
        "is not paid at year end",
        "",
        "# No `schemes:` key, so the built-in 2018/19 menu is compared.",
        "",
        "systems:",
    ]
    for s in all_systems:
        members = s["orgs"]
        sct = sum(o["control_total"] + o["control_total_uplift"] for o in members)
        stp, stp_name = s["footprint"]
        out.append(
            f"  # Footprint {stp} {stp_name}"
            + (": first-wave ICS (as in wave1_2018_19.yaml)." if s["first_wave"] else ".")
        )
        out.append(f"  - id: {s['id']}")
        out.append(f"    name: {json.dumps(s['name'])}")
        if s["note"]:
            out.extend(wave1.wrap(s["note"], "    "))
        out.append(
            "    system_control_total: null   # = sum of members' control totals, with "
            f"uplifts ({wave1.fmt(sct)})"
        )
        out.append("    organisations:")
        for o in members:
            out.extend(_org_lines(o))
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------
# Check: the calibration table, from the engine's own draws
# ---------------------------------------------------------------------------

#: 2018/19 facts, each with its source and the basis the source measures on. Providers are
#: counted out of 227 and CCGs out of 195. "Plan" is a trust's submitted plan: its control total
#: (with any uplift) when it accepted one, its own plan otherwise (``submitted_plan``).
FACT_PROVIDERS, FACT_CCGS = 227, 195
FACT_YTD = {2: 44, 3: 60}
FACT_BIG = 29
FACT_BIG_VARIANCE = -569.0  # £m: the >£10m adverse providers' variance from plan, excl. PSF
FACT_VARIANCE = -474.0  # £m: the sector's variance from plan excl. PSF (£569m is 120% of it)
FACT_TECHNICAL_GAIN = 256.0  # £m: one-off accounting gain in the £571m (Carillion PFI assets)
FACT_SECTOR_OUTTURN = -571.0
FACT_DEFICIT_TRUSTS = 100
FACT_UPLIFTS = (42, 112.0)
FACT_CCG_OVERSPENT = 33
FACT_CCG_ON_TARGET = 135
FACT_CCG_NET = 27.0  # £m underspend against plan
FACT_CCG_YTD = {2: 36, 3: 48}  # month 6 and month 8 (the nearest to Q3 the source gives)
HFMA_JUNE_2019 = "HFMA, Financial performance improves but 2018/19 plan missed (June 2019)"
HFMA_MARCH_2019 = "HFMA, Provider financial position deteriorates further (March 2019)"
ISSUE_RECORD = "2018/19 record as cited in issue 23 (no primary document checked)"


def engine_draws(path: Path, draws: int, seed: int) -> Iterator[tuple[Any, Any, Any]]:
    """``(model, ytd, year_end)`` per block of the engine's own draws of the scenario.

    The only place this tool uses the engine's internals (model arrays, the reference
    simulator's per-block draws and outturns): ``ytd`` is the year-to-date outturn per quarter
    before large adverse events and management actions (``(n, 4, N)``, the quarterly tests'
    view), ``year_end`` the year-end outturn after them (``(n, N)``).
    """
    from sct_engine import load_scenario
    from sct_engine.engine.model import build_model
    from sct_engine.engine.reference import block_ytd_outturns, draw_block
    from sct_engine.engine.rng import block_sizes

    model = build_model(load_scenario(path))
    for block, n in block_sizes(draws):
        ytd = block_ytd_outturns(model, draw_block(model, seed, block, n))
        yield model, ytd, ytd[:, -1]


def calibration(path: Path, draws: int, seed: int) -> dict[str, Any]:
    """Per-draw calibration quantities of the table, from ``engine_draws``.

    Every figure is measured as its source measures it: variance from the submitted plan
    (the control total the engine tests, uplift included; a non-accepting trust's own plan),
    excluding PSF, at year end after events and management actions; year to date before them.
    """
    import numpy as np

    per_draw: dict[str, Any] = {}
    done = 0
    model = None
    for model, ytd, x in engine_draws(path, draws, seed):
        prov = np.array([k == "provider" for k in model.org_kinds])
        variance = x - model.control_total  # < 0: adverse to plan (excluding PSF)
        big = (variance < -10.0) & prov
        ytd_adverse = ytd < model.ytd_control_total().T[None]  # before events and actions
        met = variance >= 0
        after_psf = x + model.funding * met  # PSF paid on meeting the control total
        rows = {
            "big": big.sum(axis=1),
            "big_variance": (variance * big).sum(axis=1),
            "variance": variance[:, prov].sum(axis=1),
            "miss": (~met[:, prov]).sum(axis=1),
            "deficit": (after_psf[:, prov] < 0).sum(axis=1),
            "outturn": x[:, prov].sum(axis=1),
            "ytd2": ytd_adverse[:, 1, prov].sum(axis=1),
            "ytd3": ytd_adverse[:, 2, prov].sum(axis=1),
            "ccg_over": (variance[:, ~prov] < 0).sum(axis=1),
            "ccg_on": (variance[:, ~prov] == 0).sum(axis=1),
            "ccg_net": variance[:, ~prov].sum(axis=1),
            "ccg_ytd2": ytd_adverse[:, 1, ~prov].sum(axis=1),
            "ccg_ytd3": ytd_adverse[:, 2, ~prov].sum(axis=1),
        }
        for key, value in rows.items():
            per_draw.setdefault(key, np.zeros(draws))[done : done + len(x)] = value
        done += len(x)
    per_draw["share"] = per_draw["big_variance"] / np.minimum(per_draw["variance"], -1e-9)
    per_draw["share_of_means"] = per_draw["big_variance"].mean() / per_draw["variance"].mean()
    return {"model": model, "per_draw": per_draw}


def calibration_rows(cal: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """(fact, source basis, source, record, model mean, model 5-95% of draws) per row."""
    import numpy as np

    model, d = cal["model"], cal["per_draw"]
    prov = np.array([k == "provider" for k in model.org_kinds])
    n_p, n_c = int(prov.sum()), int((~prov).sum())

    def band(key: str, money: bool = False, pct: bool = False) -> tuple[str, str]:
        lo, hi = np.percentile(d[key], [5, 95])
        mean = float(np.mean(d[key]))
        if pct:  # a ratio of the means; a draw's ratio has no meaning where the sector beats plan
            above = float(np.mean(d["variance"] >= 0))
            return (
                f"{d['share_of_means']:.0%}",
                f"no band: the sector is on or better than plan in {above:.0%} of draws",
            )
        if money:
            return f"£{mean:,.0f}m", f"£{lo:,.0f}m to £{hi:,.0f}m"
        return f"{mean:.1f}", f"{lo:.0f} to {hi:.0f}"

    uplifted = model.control_total_uplift > 0
    rows = [
        (
            "Providers adverse year to date at Q2",
            "YTD variance from plan excl. PSF (count); model: before year-end events and actions",
            HFMA_MARCH_2019,
            f"{FACT_YTD[2]} of {FACT_PROVIDERS}",
            *band("ytd2"),
        ),
        (
            "Providers adverse year to date at Q3",
            "as above",
            HFMA_MARCH_2019,
            f"{FACT_YTD[3]} of {FACT_PROVIDERS}",
            *band("ytd3"),
        ),
        (
            "Providers more than £10m adverse at year end",
            "year-end variance from plan excl. PSF (count)",
            HFMA_JUNE_2019,
            f"{FACT_BIG} of {FACT_PROVIDERS}",
            *band("big"),
        ),
        (
            "Their variance from plan",
            "£m excl. PSF",
            HFMA_JUNE_2019,
            f"£{FACT_BIG_VARIANCE:,.0f}m",
            *band("big_variance", money=True),
        ),
        (
            "Sector variance from plan (like for like)",
            "£m excl. PSF and the one-off £256m gain (£569m is 120% of it)",
            HFMA_JUNE_2019,
            f"£{FACT_VARIANCE:,.0f}m",
            *band("variance", money=True),
        ),
        (
            "Share of it from the >£10m adverse",
            "their variance / the sector's, excl. PSF",
            HFMA_JUNE_2019,
            "120%",
            *band("share", pct=True),
        ),
        (
            "Sector outturn after PSF, all £2.45bn paid, like for like",
            f"£m; record £571m deficit less the £{FACT_TECHNICAL_GAIN:.0f}m one-off gain",
            HFMA_JUNE_2019,
            f"£{FACT_SECTOR_OUTTURN - FACT_TECHNICAL_GAIN:,.0f}m",
            f"£{float(np.mean(d['outturn'])) + PSF_TOTAL:,.0f}m",
            "{} to {}".format(
                *(f"£{v + PSF_TOTAL:,.0f}m" for v in np.percentile(d["outturn"], [5, 95]))
            ),
        ),
        (
            "Providers in deficit at year end",
            "outturn after PSF < 0 (count; model: PSF paid when the control total is met)",
            ISSUE_RECORD,
            f"about {FACT_DEFICIT_TRUSTS}",
            *band("deficit"),
        ),
        (
            "Providers with incentive uplifts",
            "count and £m of agreed control-total improvements, at Q3",
            HFMA_MARCH_2019,
            f"{FACT_UPLIFTS[0]}, £{FACT_UPLIFTS[1]:.0f}m",
            f"{int(uplifted.sum())}, £{model.control_total_uplift.sum():.0f}m",
            "an input (no spread)",
        ),
        (
            "CCGs overspent against plan",
            "year-end count",
            "project reference notes (not linked); HFMA April 2019: up to 35",
            f"{FACT_CCG_OVERSPENT} of about {FACT_CCGS}",
            *band("ccg_over"),
        ),
        (
            "CCGs exactly on their control total",
            "year-end count",
            ISSUE_RECORD,
            f"about {FACT_CCG_ON_TARGET}",
            *band("ccg_on"),
        ),
        (
            "CCGs' net variance from plan",
            "£m, + underspend",
            ISSUE_RECORD,
            f"£{FACT_CCG_NET:.0f}m",
            *band("ccg_net", money=True),
        ),
        (
            "CCGs overspent year to date at Q2",
            "YTD count at month 6",
            "HFMA, Commissioners report aggregate underspend (Dec 2018)",
            f"{FACT_CCG_YTD[2]}",
            *band("ccg_ytd2"),
        ),
        (
            "CCGs overspent year to date at Q3",
            "YTD count at month 8 (model: Q3, month 9)",
            "HFMA, Overall underspend rises despite CCG deterioration (Feb 2019)",
            f"{FACT_CCG_YTD[3]}",
            *band("ccg_ytd3"),
        ),
        (
            "Providers missing their control total at year end",
            "count (no 2018/19 figure; 75 missed in 2017/18)",
            "",
            "",
            *band("miss"),
        ),
    ]
    assert n_p and n_c
    return rows


def check(draws: int | None = None, simulate_too: bool = True) -> int:
    """Print the calibration table; non-zero exit if the YAML is stale or does not load."""
    import numpy as np

    from sct_engine import load_scenario, simulate

    all_systems = systems()
    stale = OUT.read_text(encoding="utf-8") != render(all_systems)
    scenario = load_scenario(OUT)  # validates: raises with the file, field and fix
    draws = scenario.simulation.draws if draws is None else draws
    seed = scenario.simulation.seed
    cal = calibration(OUT, draws, seed)
    model = cal["model"]
    prov = np.array([k == "provider" for k in model.org_kinds])
    n_p, n_c = int(prov.sum()), int((~prov).sum())
    psf, csf = model.funding[prov].sum(), model.funding[~prov].sum()
    kinds: dict[str, int] = {}
    for o in (o for s in all_systems for o in s["orgs"]):
        kinds[o["type"]] = kinds.get(o["type"], 0) + 1
    submitted = sum(
        submitted_plan(o) for s in all_systems for o in s["orgs"] if o["kind"] == "provider"
    )
    print(
        f"file: {OUT.relative_to(ROOT)}  systems {model.n_systems}  providers {n_p}  CCGs {n_c}  "
        f"(engine draws {draws:,}, seed {seed})"
    )
    print("organisations by type: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print(
        f"PSF at stake £{psf:.1f}m ({SIZING['acute_psf_pct']:.2f}% of turnover for the accepting "
        f"acute trusts outside wave 1); {sum(not o.get('accepted_control_total', True) for s in all_systems for o in s['orgs'])} "
        f"providers did not accept a control total; CSF £{csf:.1f}m on "
        f"{int((model.funding[~prov] > 0).sum())} deficit CCGs; deficit depth "
        f"{SIZING['deficit_depth']:.3f}; sector plan after PSF (submitted plans + £{PSF_TOTAL:,.0f}m) "
        f"£{submitted + PSF_TOTAL:,.0f}m [record £{SECTOR_PLAN:,.0f}m]"
    )
    rows = calibration_rows(cal)
    print("\n| Fact | Source basis | Source | 2018/19 | Model (mean) | Model 5-95% of draws |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if simulate_too:
        result = simulate(scenario, draws=draws, seed=seed)
        orgs = result.organisations
        base = orgs[(orgs["scheme"] == "organisation_only") & (orgs["kind"] == "provider")]
        outturn = float(base["expected_outturn"].sum())
        paid = float(
            (base["expected_funding"] + base["expected_bonus"] + base["expected_incentive"]).sum()
        )
        print(
            f"\nSector outturn after PSF as the engine pays it (organisation_only: PSF earned, "
            f"incentive, bonus): £{outturn + paid:,.0f}m (£{paid:,.0f}m of £{psf:,.0f}m PSF and "
            f"the incentive reach providers) [record £{FACT_SECTOR_OUTTURN:,.0f}m]"
        )
        nat = result.national
        print(
            f"\nNational funding lost per scheme (£m, kernel, {draws:,} draws, seed {seed}; "
            f"£{nat['sustainability_funding'].iloc[0]:.1f}m at stake):"
        )
        for row in nat.itertuples():
            print(
                f"  {row.scheme:<22} {row.expected_funding_lost:7.1f} (se {row.se_expected_funding_lost:.2f})"
                f"   p95 {row.funding_lost_p95:6.1f}   incentive {row.expected_incentive:5.2f}"
                f"   bonus {row.expected_bonus:6.1f}"
            )
    if stale:
        print("STALE: the YAML differs from what the script writes; re-run without --check.")
    return 1 if stale else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--check", action="store_true", help="print the calibration table")
    ap.add_argument("--draws", type=int, help="--check with this many draws (default: the file's)")
    ap.add_argument(
        "--no-simulate", action="store_true", help="--check without the funding simulation"
    )
    args = ap.parse_args(argv)
    if args.check:
        return check(args.draws, simulate_too=not args.no_simulate)
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
