#!/usr/bin/env python3
"""Generate ``scenarios/wave1_2018_19.yaml``, or check it (``--check``).

The ten first-wave integrated care systems (ICSs) of 2018/19 with their real
member organisations. Every money figure is ILLUSTRATIVE: it is sized like a
real trust or CCG but is not taken from any set of accounts.

The calibration is set by a target marginal probability of missing the control
total, ``p_miss``, for each organisation, and the plan follows from it:

    sd   = sd_pct / 100 * turnover
    plan = control_total + sd * z(1 - p_miss)       (rounded to £0.1m)

so that ``P(miss) = Phi(-(plan - control_total) / sd) ~= p_miss``.

Usage (from the repository root)::

    python scenarios/tools/make_wave1.py            # (re)write the YAML
    python scenarios/tools/make_wave1.py --check    # calibration report; fails if the file is stale

The output depends only on this file. It has no timestamps and needs no
randomness, so the same script always writes the same YAML. ``--check`` also runs
a Monte Carlo under the scenario's own uncertainty model (Student-t factors,
fixed seed).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from scipy.stats import norm

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "wave1_2018_19.yaml"

DRAWS = 100_000
SEED = 20180401
DOF = 5
NATIONAL_SHARE = 0.25
SYSTEM_SHARE = 0.25

# Kinds of organisation -> (scenario kind, has type-1 A&E)
ACUTE, SPECIALIST, MH, COMMUNITY, AMBULANCE, CCG = (
    "acute", "specialist", "mental_health", "community", "ambulance", "ccg",
)

# ---------------------------------------------------------------------------
# Data. One tuple per organisation:
#   (id, real name, type, turnover £m, control_total £m, sf_pct, sd_pct, p_miss, p_ae, comment)
# sf_pct: PSF as % of turnover (providers). For CCGs it is ignored: CSF = the
# deficit in a deficit control total, else 0.
# p_ae: A&E element probability (acute trusts with a type-1 A&E only), else None.
# comment: optional YAML comment lines placed above the organisation.
# ---------------------------------------------------------------------------

#: Comment for the few organisations given a plan far below their control total.
#: About 1 provider in 9 (26 of 227) did not accept its 2018/19 control total.
#: These organisations are MODELLED that way. This is not a claim about the real trust.
NOT_ACCEPTED = [
    "Plan far below the control total (near-certain miss). Modelled like one of the 26",
    "providers that did not accept a 2018/19 control total. Illustrative only.",
]

SYSTEMS: list[dict] = [
    {
        "id": "dorset",
        "name": "Dorset",
        "note": "Dorset linked all of its members' PSF/CSF to the system control total in 2018/19.",
        "orgs": [
            ("dorset_ccg", "NHS Dorset CCG", CCG, 1160, 0.0, None, 0.5, 0.08, None, None),
            ("dorset_county_hospital", "Dorset County Hospital NHS Foundation Trust", ACUTE,
             225, -2.0, 3.0, 1.2, 0.30, 0.60, None),
            ("poole_hospital", "Poole Hospital NHS Foundation Trust", ACUTE,
             270, -4.0, 3.0, 1.2, 0.30, 0.55, None),
            ("royal_bournemouth", "Royal Bournemouth and Christchurch Hospitals NHS Foundation Trust",
             ACUTE, 330, 3.0, 2.5, 1.1, 0.10, 0.55, None),
            ("dorset_healthcare", "Dorset HealthCare University NHS Foundation Trust", COMMUNITY,
             300, 1.5, 1.0, 0.7, 0.08, None, None),
            ("swast", "South Western Ambulance Service NHS Foundation Trust", AMBULANCE,
             285, 2.0, 1.0, 0.8, 0.12, None,
             ["Serves the whole South West (Devon, Cornwall, Somerset, Gloucestershire, ...).",
              "Dorset is the only first-wave ICS it serves, so it is here, and its whole",
              "trust-level PSF and control total sit in Dorset's system total."]),
        ],
    },
    {
        "id": "south_yorkshire_bassetlaw",
        "name": "South Yorkshire and Bassetlaw",
        "orgs": [
            ("barnsley_ccg", "NHS Barnsley CCG", CCG, 420, 0.0, None, 0.6, 0.10, None, None),
            ("bassetlaw_ccg", "NHS Bassetlaw CCG", CCG, 170, 0.0, None, 0.7, 0.12, None,
             ["In Nottinghamshire, but a member of South Yorkshire and Bassetlaw, not of",
              "the Nottingham and Nottinghamshire ICS."]),
            ("doncaster_ccg", "NHS Doncaster CCG", CCG, 500, 0.0, None, 0.6, 0.12, None, None),
            ("rotherham_ccg", "NHS Rotherham CCG", CCG, 420, 0.0, None, 0.5, 0.08, None, None),
            ("sheffield_ccg", "NHS Sheffield CCG", CCG, 850, 0.0, None, 0.6, 0.15, None, None),
            ("barnsley_hospital", "Barnsley Hospital NHS Foundation Trust", ACUTE,
             265, -7.0, 3.5, 1.3, 0.30, 0.50, None),
            ("doncaster_bassetlaw", "Doncaster and Bassetlaw Teaching Hospitals NHS Foundation Trust",
             ACUTE, 420, -14.0, 3.5, 1.3, 0.30, 0.45, None),
            ("sheffield_teaching", "Sheffield Teaching Hospitals NHS Foundation Trust", ACUTE,
             1150, 5.0, 2.0, 1.0, 0.10, 0.60, None),
            ("rotherham_ft", "The Rotherham NHS Foundation Trust", ACUTE,
             260, -9.0, 3.5, 1.4, 0.35, 0.45, None),
            ("sheffield_childrens", "Sheffield Children's NHS Foundation Trust", SPECIALIST,
             230, 1.0, 1.5, 1.0, 0.15, None,
             ["Specialist children's trust: modelled with finance-only PSF (has_ae false)."]),
            ("chesterfield_royal", "Chesterfield Royal Hospital NHS Foundation Trust", ACUTE,
             270, -3.0, 3.0, 1.2, 0.25, 0.55,
             ["In Derbyshire. It also works with the Derbyshire STP but was a member of",
              "the South Yorkshire and Bassetlaw ICS, so it is listed here only."]),
            ("sheffield_health_social_care", "Sheffield Health and Social Care NHS Foundation Trust",
             MH, 140, 0.0, 1.0, 0.9, 0.20, None, None),
            ("rdash", "Rotherham Doncaster and South Humber NHS Foundation Trust", MH,
             170, 2.0, 1.0, 0.7, 0.08, None, None),
            ("yorkshire_ambulance", "Yorkshire Ambulance Service NHS Trust", AMBULANCE,
             290, 3.0, 1.0, 0.7, 0.10, None,
             ["Covers all of Yorkshire and the Humber, including the West Yorkshire and",
              "Harrogate system, which is not in this file. Listed here because the King's Fund",
              "names it as a South Yorkshire and Bassetlaw member."]),
        ],
    },
    {
        "id": "blmk",
        "name": "Bedfordshire, Luton and Milton Keynes",
        "note": ("The CSV lists only the three acute trusts as providers. East of England Ambulance"
                 " Service and the London-based mental health/community trusts serving BLMK (East"
                 " London NHS FT, Central and North West London NHS FT) are left out: they sit"
                 " mainly in other systems."),
        "orgs": [
            ("bedfordshire_ccg", "NHS Bedfordshire CCG", CCG, 650, -12.0, None, 0.7, 0.40, None, None),
            ("luton_ccg", "NHS Luton CCG", CCG, 330, 0.0, None, 0.6, 0.10, None, None),
            ("milton_keynes_ccg", "NHS Milton Keynes CCG", CCG, 420, -4.0, None, 0.6, 0.30, None, None),
            ("bedford_hospital", "Bedford Hospital NHS Trust", ACUTE,
             230, -22.0, 4.0, 1.5, 0.85, 0.45, NOT_ACCEPTED),
            ("luton_dunstable", "Luton and Dunstable University Hospital NHS Foundation Trust", ACUTE,
             345, 1.5, 2.5, 1.1, 0.20, 0.60, None),
            ("milton_keynes_hospital", "Milton Keynes University Hospital NHS Foundation Trust", ACUTE,
             290, -16.0, 4.0, 1.4, 0.45, 0.50, None),
        ],
    },
    {
        "id": "berkshire_west",
        "name": "Berkshire West",
        "orgs": [
            ("berkshire_west_ccg", "NHS Berkshire West CCG", CCG, 700, 0.0, None, 0.5, 0.05, None, None),
            ("royal_berkshire", "Royal Berkshire NHS Foundation Trust", ACUTE,
             425, 4.0, 2.5, 1.0, 0.10, 0.55, None),
            ("berkshire_healthcare", "Berkshire Healthcare NHS Foundation Trust", COMMUNITY,
             285, 3.0, 1.0, 0.7, 0.05, None,
             ["Also a member of Frimley (it serves all of Berkshire, East and West). It appears",
              "only here, because it is a core partner of the Berkshire West system and without",
              "it Berkshire West would have a single provider. Frimley keeps Frimley Health."]),
        ],
    },
    {
        "id": "buckinghamshire",
        "name": "Buckinghamshire",
        "orgs": [
            ("buckinghamshire_ccg", "NHS Buckinghamshire CCG", CCG, 800, 0.0, None, 0.6, 0.12, None, None),
            ("buckinghamshire_healthcare", "Buckinghamshire Healthcare NHS Trust", ACUTE,
             430, -8.0, 3.0, 1.2, 0.35, 0.50,
             ["Acute and community trust. Type-1 A&E at Stoke Mandeville."]),
            ("oxford_health", "Oxford Health NHS Foundation Trust", MH,
             330, 2.0, 1.0, 0.7, 0.12, None,
             ["Also serves Oxfordshire (Buckinghamshire, Oxfordshire and Berkshire West STP),",
              "which is not a first-wave ICS. Listed here as the King's Fund names it."]),
            ("south_central_ambulance", "South Central Ambulance Service NHS Foundation Trust",
             AMBULANCE, 235, 1.5, 1.0, 0.8, 0.15, None,
             ["Also serves Berkshire West, Frimley (East Berkshire, North East Hampshire),",
              "Oxfordshire and Hampshire. It appears once, here, as the King's Fund lists it",
              "under Buckinghamshire."]),
        ],
    },
    {
        "id": "frimley",
        "name": "Frimley",
        "note": ("Berkshire Healthcare NHS FT (listed under Berkshire West) and Surrey and Borders"
                 " Partnership NHS FT (listed under Surrey Heartlands) are also Frimley members."
                 " Each appears only once in this file."),
        "orgs": [
            ("frimley_health", "Frimley Health NHS Foundation Trust", ACUTE,
             660, 8.0, 2.5, 1.0, 0.12, 0.60, None),
            ("east_berkshire_ccg", "NHS East Berkshire CCG", CCG, 580, 0.0, None, 0.5, 0.08, None, None),
            ("ne_hampshire_farnham_ccg", "NHS North East Hampshire and Farnham CCG", CCG,
             300, 0.0, None, 0.6, 0.10, None, None),
            ("surrey_heath_ccg", "NHS Surrey Heath CCG", CCG, 140, 0.0, None, 0.7, 0.15, None, None),
        ],
    },
    {
        "id": "nottinghamshire",
        "name": "Nottingham and Nottinghamshire",
        "note": ("Nottingham CityCare Partnership is a member, but it is a community interest"
                 " company, not an NHS trust: it had no NHS control total and no PSF, and its"
                 " finances were outside the system control total. Left out so that its result"
                 " does not move the system test. East Midlands Ambulance Service (not named by"
                 " the King's Fund) is also left out."),
        "orgs": [
            ("nottingham_university_hospitals", "Nottingham University Hospitals NHS Trust", ACUTE,
             990, -18.0, 2.5, 1.2, 0.35, 0.50, None),
            ("sherwood_forest", "Sherwood Forest Hospitals NHS Foundation Trust", ACUTE,
             330, -60.0, 4.0, 1.5, 0.50, 0.55,
             ["Large deficit control total (illustrative)."]),
            ("nottinghamshire_healthcare", "Nottinghamshire Healthcare NHS Foundation Trust",
             COMMUNITY, 430, 3.0, 1.0, 0.7, 0.10, None,
             ["Mental health, community and national forensic services (e.g. Rampton)."]),
            ("nottingham_city_ccg", "NHS Nottingham City CCG", CCG, 480, 0.0, None, 0.6, 0.10, None, None),
            ("nottingham_north_east_ccg", "NHS Nottingham North and East CCG", CCG,
             230, 0.0, None, 0.6, 0.15, None, None),
            ("nottingham_west_ccg", "NHS Nottingham West CCG", CCG, 150, 0.0, None, 0.7, 0.12, None, None),
            ("rushcliffe_ccg", "NHS Rushcliffe CCG", CCG, 160, 0.0, None, 0.7, 0.12, None, None),
            ("mansfield_ashfield_ccg", "NHS Mansfield and Ashfield CCG", CCG,
             300, -5.0, None, 0.7, 0.25, None, None),
            ("newark_sherwood_ccg", "NHS Newark and Sherwood CCG", CCG,
             190, -3.0, None, 0.7, 0.30, None, None),
        ],
    },
    {
        "id": "lancashire_south_cumbria",
        "name": "Lancashire and South Cumbria",
        "note": ("The CSV names no commissioners for this system. Its eight CCGs of 2018/19 are"
                 " added from public knowledge (the King's Fund profile confirms the provider"
                 " mix only)."),
        "orgs": [
            ("blackpool_teaching", "Blackpool Teaching Hospitals NHS Foundation Trust", ACUTE,
             440, -10.0, 3.0, 1.2, 0.35, 0.50, None),
            ("lancashire_teaching", "Lancashire Teaching Hospitals NHS Foundation Trust", ACUTE,
             510, -15.0, 3.0, 1.2, 0.35, 0.45, None),
            ("east_lancashire_hospitals", "East Lancashire Hospitals NHS Trust", ACUTE,
             500, -8.0, 3.0, 1.2, 0.30, 0.50, None),
            ("morecambe_bay_hospitals", "University Hospitals of Morecambe Bay NHS Foundation Trust",
             ACUTE, 400, -40.0, 4.0, 1.5, 0.92, 0.45, NOT_ACCEPTED),
            ("lancashire_care", "Lancashire Care NHS Foundation Trust", COMMUNITY,
             330, 1.0, 1.0, 0.8, 0.12, None, None),
            ("north_west_ambulance", "North West Ambulance Service NHS Trust", AMBULANCE,
             330, 2.5, 1.0, 0.7, 0.10, None,
             ["Also serves Greater Manchester (another first-wave system), Cheshire and",
              "Merseyside, and Cumbria. It appears once, here, because the King's Fund lists",
              "an ambulance trust among Lancashire and South Cumbria's members."]),
            ("blackburn_darwen_ccg", "NHS Blackburn with Darwen CCG", CCG,
             240, 0.0, None, 0.7, 0.10, None, None),
            ("blackpool_ccg", "NHS Blackpool CCG", CCG, 270, -3.0, None, 0.7, 0.25, None, None),
            ("chorley_south_ribble_ccg", "NHS Chorley and South Ribble CCG", CCG,
             250, -6.0, None, 0.8, 0.30, None, None),
            ("east_lancashire_ccg", "NHS East Lancashire CCG", CCG, 560, 0.0, None, 0.6, 0.10, None, None),
            ("fylde_wyre_ccg", "NHS Fylde and Wyre CCG", CCG, 250, -4.0, None, 0.7, 0.30, None, None),
            ("greater_preston_ccg", "NHS Greater Preston CCG", CCG, 300, -7.0, None, 0.8, 0.30, None, None),
            ("morecambe_bay_ccg", "NHS Morecambe Bay CCG", CCG, 470, -10.0, None, 0.7, 0.35, None,
             ["Covers South Cumbria and North Lancashire (formed 2017)."]),
            ("west_lancashire_ccg", "NHS West Lancashire CCG", CCG, 170, 0.0, None, 0.7, 0.15, None, None),
        ],
    },
    {
        "id": "greater_manchester",
        "name": "Greater Manchester",
        "note": ("Membership added from public knowledge (not in the CSV). It is the Greater"
                 " Manchester Health and Social Care Partnership (devolution), counted among the"
                 " ten. North West Ambulance Service is listed under Lancashire and South Cumbria."
                 " The Christie and other specialist trusts are not included."),
        "orgs": [
            ("bolton_ccg", "NHS Bolton CCG", CCG, 430, 0.0, None, 0.5, 0.08, None, None),
            ("bury_ccg", "NHS Bury CCG", CCG, 290, -3.0, None, 0.7, 0.35, None, None),
            ("hmr_ccg", "NHS Heywood, Middleton and Rochdale CCG", CCG, 330, 0.0, None, 0.6, 0.12, None, None),
            ("manchester_ccg", "NHS Manchester CCG", CCG, 900, 0.0, None, 0.5, 0.05, None, None),
            ("oldham_ccg", "NHS Oldham CCG", CCG, 360, 0.0, None, 0.6, 0.10, None, None),
            ("salford_ccg", "NHS Salford CCG", CCG, 410, 0.0, None, 0.5, 0.05, None, None),
            ("stockport_ccg", "NHS Stockport CCG", CCG, 420, -4.0, None, 0.6, 0.30, None, None),
            ("tameside_glossop_ccg", "NHS Tameside and Glossop CCG", CCG,
             370, -6.0, None, 0.7, 0.35, None, None),
            ("trafford_ccg", "NHS Trafford CCG", CCG, 330, 0.0, None, 0.6, 0.15, None, None),
            ("wigan_ccg", "NHS Wigan Borough CCG", CCG, 480, 0.0, None, 0.5, 0.05, None, None),
            ("manchester_university", "Manchester University NHS Foundation Trust", ACUTE,
             1550, -5.0, 2.0, 1.0, 0.20, 0.50,
             ["Formed October 2017 (Central Manchester + University Hospital of South Manchester)."]),
            ("salford_royal", "Salford Royal NHS Foundation Trust", ACUTE,
             720, 4.0, 2.0, 1.0, 0.10, 0.60, None),
            ("pennine_acute", "The Pennine Acute Hospitals NHS Trust", ACUTE,
             650, -55.0, 4.0, 1.4, 0.95, 0.40,
             [*NOT_ACCEPTED, "Large deficit control total. Run by Salford Royal as part of the Northern Care",
              "Alliance, but a separate trust with its own control total and PSF."]),
            ("stockport_ft", "Stockport NHS Foundation Trust", ACUTE,
             380, -12.0, 3.5, 1.4, 0.35, 0.40, None),
            ("tameside_glossop_icft", "Tameside and Glossop Integrated Care NHS Foundation Trust",
             ACUTE, 270, -20.0, 4.0, 1.4, 0.35, 0.50, None),
            ("wrightington_wigan_leigh", "Wrightington, Wigan and Leigh NHS Foundation Trust", ACUTE,
             345, 1.0, 2.5, 1.1, 0.15, 0.55, None),
            ("bolton_ft", "Bolton NHS Foundation Trust", ACUTE,
             360, -6.0, 3.0, 1.2, 0.30, 0.50, None),
            ("gm_mental_health", "Greater Manchester Mental Health NHS Foundation Trust", MH,
             250, 1.5, 1.0, 0.8, 0.10, None, None),
            ("pennine_care", "Pennine Care NHS Foundation Trust", COMMUNITY,
             340, 1.0, 1.0, 0.8, 0.12, None, ["Mental health and community services."]),
        ],
    },
    {
        "id": "surrey_heartlands",
        "name": "Surrey Heartlands",
        "note": ("Membership added from public knowledge (not in the CSV). First Community Health"
                 " and Care (a community interest company serving mainly East Surrey, which joined"
                 " Surrey Heartlands later) and CSH Surrey (an employee-owned social enterprise) are"
                 " left out: they are not NHS trusts, had no control total or PSF, and sat outside"
                 " the system control total."),
        "orgs": [
            ("guildford_waverley_ccg", "NHS Guildford and Waverley CCG", CCG,
             310, -3.0, None, 0.7, 0.30, None, None),
            ("north_west_surrey_ccg", "NHS North West Surrey CCG", CCG,
             480, -5.0, None, 0.6, 0.30, None, None),
            ("surrey_downs_ccg", "NHS Surrey Downs CCG", CCG, 420, -8.0, None, 0.7, 0.30, None, None),
            ("royal_surrey", "Royal Surrey County Hospital NHS Foundation Trust", ACUTE,
             355, 3.0, 2.5, 1.0, 0.10, 0.60, None),
            ("ashford_st_peters", "Ashford and St Peter's Hospitals NHS Foundation Trust", ACUTE,
             330, -4.0, 3.0, 1.1, 0.25, 0.55, None),
            ("epsom_st_helier", "Epsom and St Helier University Hospitals NHS Trust", ACUTE,
             430, -25.0, 3.5, 1.4, 0.30, 0.50,
             ["Also serves Sutton and Merton (South West London STP, not a first-wave ICS)."]),
            ("surrey_borders", "Surrey and Borders Partnership NHS Foundation Trust", MH,
             205, 1.0, 1.0, 0.8, 0.12, None,
             ["Also a member of Frimley. It appears only here, because most of its Surrey",
              "population and contract value is in the Surrey Heartlands CCGs (Frimley has",
              "only Surrey Heath and part of North East Hampshire and Farnham)."]),
            ("secamb", "South East Coast Ambulance Service NHS Foundation Trust", AMBULANCE,
             240, -1.0, 1.0, 0.9, 0.25, None,
             ["Also serves Kent, Sussex and Frimley's Surrey Heath. Its only first-wave",
              "system with most of its Surrey work is Surrey Heartlands, so it is here."]),
        ],
    },
]


# ---------------------------------------------------------------------------
# Derivation
# ---------------------------------------------------------------------------

def derive(org: tuple) -> dict:
    """Turn a data tuple into the organisation's scenario fields (plus helpers)."""
    oid, name, typ, turnover, ct, sf_pct, sd_pct, p_miss, p_ae, comment = org
    sd = sd_pct / 100.0 * turnover
    margin = round(sd * float(norm.isf(p_miss)), 1)  # plan - control_total
    plan = round(ct + margin, 1)
    if typ == CCG:
        kind = "commissioner"
        sf = round(-ct, 1) if ct < 0 else 0.0  # CSF only for a deficit control total
    else:
        kind = "provider"
        sf = round(sf_pct / 100.0 * turnover, 1)
    has_ae = typ == ACUTE
    return {
        "id": oid, "name": name, "type": typ, "kind": kind, "plan": plan, "control_total": ct,
        "sustainability_funding": sf, "turnover": float(turnover), "sd_pct": sd_pct,
        "has_ae": has_ae, "p_ae": p_ae if has_ae else None, "comment": comment,
        "sd": sd, "p_miss": float(norm.cdf(-(plan - ct) / sd)),
    }


TYPE_LABEL = {
    ACUTE: "acute trust with type-1 A&E", SPECIALIST: "specialist trust, no type-1 A&E",
    MH: "mental health trust", COMMUNITY: "community / mental health trust",
    AMBULANCE: "ambulance trust", CCG: "CCG",
}


def fmt(x: float) -> str:
    return f"{x:.1f}"


def wrap(text: str, indent: str, width: int = 92) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(indent) + 2 + len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    if cur:
        lines.append(cur)
    return [f"{indent}# {line}" for line in lines]


HEADER = """\
# GENERATED FILE: written by scenarios/tools/make_wave1.py. Do not edit by hand.
# Edit the script and run `python scenarios/tools/make_wave1.py`. Run it with
# --check for the calibration report.
#
# The ten first-wave integrated care systems (ICSs) of 2018/19 and their member
# organisations. Membership is real (see scenarios/README.md for sources).
#
# ALL MONEY FIGURES ARE ILLUSTRATIVE. They are NOT the accounts, plans, control
# totals or PSF/CSF allocations of these organisations. They are sized like
# 2018/19 bodies of each type:
#   acute £225m-£1.55bn turnover, PSF 2-4%, sd 1.0-1.5% of turnover
#   mental health / community / ambulance £140-430m, PSF 1%, sd 0.7-0.9%
#   CCG allocations £140m-£1.16bn, sd 0.5-0.8%; CSF only with a deficit control
#   total, equal to that deficit (it brings the CCG to in-year balance)
# Do not read any single organisation's figures as a statement about it.
#
# Money in £m. Surplus +, deficit -. Plan and control total are both BEFORE
# sustainability funding.
# Calibration: plan = control_total + sd * z, chosen so that the marginal
#   P(miss) = Phi(-(plan - control_total) / sd), sd = sd_pct/100 * turnover
# hits a target per organisation (the comment on each `plan:` line). The
# targets give a national picture like 2018/19. See scenarios/README.md for the
# resulting shares of providers and CCGs missing.
#
# An organisation that belongs to two systems appears ONCE. A comment says
# where else it belongs.
"""


def render() -> str:
    out = [HEADER]
    out.append("name: First-wave ICSs 2018/19 (illustrative figures)")
    out.append("description: >-")
    out.append("  The ten first-wave integrated care systems of 2018/19 with their real member")
    out.append("  organisations and ILLUSTRATIVE (not real) plans, control totals and PSF/CSF,")
    out.append("  calibrated so that about a quarter of providers and a fifth of CCGs are")
    out.append("  expected to miss their control totals, as in 2018/19.")
    out.append("")
    out.append("simulation:")
    out.append(f"  draws: {DRAWS}")
    out.append(f"  seed: {SEED}")
    out.append("")
    out.append("uncertainty:")
    out.append("  distribution: student_t   # heavy tails: a few large overspends")
    out.append(f"  dof: {DOF}")
    out.append(f"  national_share: {NATIONAL_SHARE}")
    out.append(f"  system_share: {SYSTEM_SHARE}")
    out.append("")
    out.append("# No `schemes:` key, so the built-in 2018/19 menu is compared.")
    out.append("")
    out.append("systems:")
    for sysd in SYSTEMS:
        orgs = [derive(o) for o in sysd["orgs"]]
        sct = sum(o["control_total"] for o in orgs)
        out.append(f"  - id: {sysd['id']}")
        out.append(f"    name: {json.dumps(sysd['name'])}")
        if sysd.get("note"):
            out.extend(wrap(sysd["note"], "    "))
        out.append(f"    system_control_total: null   # = sum of members' control totals ({fmt(sct)})")
        out.append("    organisations:")
        for o in orgs:
            out.append(f"      # {o['name']}: {TYPE_LABEL[o['type']]}.")
            for line in o["comment"] or []:
                out.append(f"      # {line}")
            out.append(f"      - id: {o['id']}")
            out.append(f"        name: {json.dumps(o['name'])}")
            out.append(f"        kind: {o['kind']}")
            out.append(f"        plan: {fmt(o['plan'])}   # P(miss) ~{100 * o['p_miss']:.0f}%")
            out.append(f"        control_total: {fmt(o['control_total'])}")
            out.append(f"        sustainability_funding: {fmt(o['sustainability_funding'])}")
            out.append(f"        turnover: {fmt(o['turnover'])}")
            out.append(f"        sd_pct: {o['sd_pct']}")
            if o["kind"] == "provider":
                out.append(f"        has_ae: {'true' if o['has_ae'] else 'false'}")
                if o["has_ae"]:
                    out.append(f"        p_ae: {o['p_ae']}")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------
# Check
# ---------------------------------------------------------------------------

ALLOWED_TOP = {"name", "description", "simulation", "uncertainty", "schemes", "systems",
               "organisations_csv"}
ALLOWED_SYSTEM = {"id", "name", "system_control_total", "organisations", "organisations_csv"}
ALLOWED_ORG = {"id", "name", "kind", "plan", "control_total", "sustainability_funding",
               "turnover", "sd", "sd_pct", "has_ae", "ae_share", "p_ae"}


def validate(doc: dict) -> list[str]:
    """Field-name check against shared/docs/scenario-format.md."""
    errs = []
    errs += [f"top-level field {k!r}" for k in set(doc) - ALLOWED_TOP]
    ids = set()
    for s in doc["systems"]:
        errs += [f"system {s.get('id')}: field {k!r}" for k in set(s) - ALLOWED_SYSTEM]
        for o in s["organisations"]:
            errs += [f"org {o.get('id')}: field {k!r}" for k in set(o) - ALLOWED_ORG]
            if o["id"] in ids:
                errs.append(f"duplicate id {o['id']}")
            ids.add(o["id"])
            if ("sd" in o) == ("sd_pct" in o):
                errs.append(f"org {o['id']}: give exactly one of sd / sd_pct")
    return errs


def check() -> int:
    import numpy as np
    import yaml

    text = OUT.read_text()
    stale = text != render()
    doc = yaml.safe_load(text)
    errs = validate(doc)
    for e in errs:
        print("FIELD ERROR:", e)

    rows = []  # (system index, kind, plan, ct, sd, sf, name)
    for si, s in enumerate(doc["systems"]):
        for o in s["organisations"]:
            sd = o["sd"] if "sd" in o else o["sd_pct"] / 100.0 * o["turnover"]
            rows.append((si, o["kind"], o["plan"], o["control_total"], sd,
                         o["sustainability_funding"], o["id"]))
    sys_idx = np.array([r[0] for r in rows])
    prov = np.array([r[1] == "provider" for r in rows])
    plan = np.array([r[2] for r in rows], float)
    ct = np.array([r[3] for r in rows], float)
    sd = np.array([r[4] for r in rows], float)
    sf = np.array([r[5] for r in rows], float)

    # Analytic (normal marginal, as in the calibration rule).
    p_norm = norm.cdf(-(plan - ct) / sd)
    p10_norm = norm.cdf(-(plan - ct + 10.0) / sd)

    # Monte Carlo under the scenario's own model: Student-t factors scaled to unit variance.
    unc = doc["uncertainty"]
    a, b, dof = unc["national_share"], unc["system_share"], unc["dof"]
    n_sys = len(doc["systems"])
    rng = np.random.default_rng(doc["simulation"]["seed"])
    scale = math.sqrt((dof - 2.0) / dof)
    draws = doc["simulation"]["draws"]
    miss_prov = np.zeros(draws)
    miss_ccg = np.zeros(draws)
    big_prov = np.zeros(draws)
    p_mc = np.zeros(len(rows))
    chunk = 20_000
    for start in range(0, draws, chunk):
        n = min(chunk, draws - start)
        z_nat = rng.standard_t(dof, (n, 1)) * scale
        z_sys = rng.standard_t(dof, (n, n_sys)) * scale
        e = rng.standard_t(dof, (n, len(rows))) * scale
        x = plan + sd * (math.sqrt(a) * z_nat + math.sqrt(b) * z_sys[:, sys_idx]
                         + math.sqrt(1.0 - a - b) * e)
        miss = x < ct
        p_mc += miss.sum(axis=0)
        miss_prov[start:start + n] = miss[:, prov].sum(axis=1)
        miss_ccg[start:start + n] = miss[:, ~prov].sum(axis=1)
        big_prov[start:start + n] = (x[:, prov] < ct[prov] - 10.0).sum(axis=1)
    p_mc /= draws

    n_p, n_c = int(prov.sum()), int((~prov).sum())
    print(f"file: {OUT.relative_to(HERE.parent.parent)}  systems {n_sys}  "
          f"providers {n_p}  CCGs {n_c}")
    print(f"PSF at stake £{sf[prov].sum():.1f}m; CSF at stake £{sf[~prov].sum():.1f}m "
          f"({int((sf[~prov] > 0).sum())} CCGs with deficit control totals)")
    print("Expected share missing control total:")
    print(f"  providers: {p_norm[prov].mean():.1%} (normal marginal rule), "
          f"{p_mc[prov].mean():.1%} (Monte Carlo, t{dof} factors)   [2018/19: 44/227=19% Q2, "
          f"60/227=26% Q3]")
    print(f"  CCGs:      {p_norm[~prov].mean():.1%} (normal marginal rule), "
          f"{p_mc[~prov].mean():.1%} (Monte Carlo)   [2018/19: 33/~195=17% overspent]")
    q = np.percentile(miss_prov, [5, 50, 95])
    qc = np.percentile(miss_ccg, [5, 50, 95])
    print(f"  number of providers missing: mean {miss_prov.mean():.1f}, "
          f"5/50/95% {q[0]:.0f}/{q[1]:.0f}/{q[2]:.0f} of {n_p}")
    print(f"  number of CCGs missing:      mean {miss_ccg.mean():.1f}, "
          f"5/50/95% {qc[0]:.0f}/{qc[1]:.0f}/{qc[2]:.0f} of {n_c}")
    print(f"Providers > £10m adverse: {p10_norm[prov].mean():.1%} (normal), "
          f"{big_prov.mean() / n_p:.1%} (Monte Carlo)   [2018/19: 29/227=12.6%]")
    if stale:
        print("STALE: the YAML differs from what the script writes; re-run without --check.")
    return 1 if (stale or errs) else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="print the calibration report")
    args = ap.parse_args(argv)
    if args.check:
        return check()
    OUT.write_text(render())
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
