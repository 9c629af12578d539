#!/usr/bin/env python3
"""Generate ``scenarios/wave1_2018_19.yaml``, or check it (``--check``).

The ten first-wave integrated care systems (ICSs) of 2018/19 with their real
member organisations. Every money figure is ILLUSTRATIVE: it is sized like a
real trust or CCG but is not taken from any set of accounts.

Each organisation's year-end outturn is built in three layers, as the engine
simulates it (``sct_engine.engine.reference.block_outturns``):

1. Ordinary variation around the plan: ``plan + sd * factor`` (Student-t
   factors shared nationally, by system, and the organisation's own).
   ``p_short`` in the data is the target chance that this falls below the
   control total; the plan follows from it::

       sd   = sd_pct / 100 * turnover
       plan = control_total + sd * z(1 - p_short)     (rounded to £0.1m)

2. Large adverse events (``uncertainty.tail``, CCGs their own smaller ``tail``):
   the heavy left tail of 2018/19, when a few providers missed by far more
   than the rest.
3. Management actions (``mitigation``, £m, ``MITIGATION_SD`` standard deviations
   of the ordinary variation): a shortfall up to that size is recovered and the
   organisation lands exactly on its control total; a larger one is reduced by it.

Quarterly mode (``uncertainty.quarterly``) tests year-to-date positions, before
large adverse events and management actions, which the engine applies at year
end. ``QUARTER_VARIANCE`` back-loads the year's variance (winter, year-end
agreements), so that about a fifth of providers are adverse year to date at Q2
and a quarter at Q3, as in 2018/19.

Three providers are modelled like the providers that did not accept a control
total (``accepted_control_total: false``): no PSF at stake (in 2018/19 a trust had
to accept its control total to receive any), no management actions, and as
``control_total`` their own plan, ``NOT_ACCEPTED_GAP`` below the total they were
offered, which is what the system control total counts (rule 10). Two
providers agree a ``control_total_uplift`` (incentive PSF, £2 per £1), and the
regime pays trusts' unearned PSF to trusts as a year-end bonus (``regime.bonus``).

Usage (from the repository root)::

    python scenarios/tools/make_wave1.py            # (re)write the YAML
    python scenarios/tools/make_wave1.py --check    # calibration report; fails if the file is stale

The output depends only on this file. It has no timestamps and needs no
randomness, so the same script always writes the same YAML. ``--check`` loads
the YAML with the engine (``sct_engine``) and reports the calibration from the
engine's own draws (``draw_block`` and ``block_outturns``, the scenario's seed)
and the national funding lost per scheme from the engine's simulator.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scipy.stats import norm

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "wave1_2018_19.yaml"
ROOT = HERE.parent.parent

DRAWS = 100_000
SEED = 20180401
DOF = 5
NATIONAL_SHARE = 0.25
SYSTEM_SHARE = 0.25
#: Commissioners' signed loading on their system's factor. Providers keep the default
#: sqrt(SYSTEM_SHARE) = 0.5; a CCG at -0.25 moves partly against them (the contract
#: line: activity above plan earns a trust income and costs its CCG the same money), so
#: provider-CCG pairs correlate 0.25 - 0.125 = 0.125 and CCG pairs 0.25 + 0.0625 = 0.31.
COMMISSIONER_LOADING = -0.25
#: Quarterly year-to-date tests and payments (rule 6), and the share of the year's
#: outturn variance arising in each quarter: most of it in the second half.
QUARTERLY = True
QUARTER_VARIANCE = [0.05, 0.1, 0.35, 0.5]

# Kinds of organisation -> (scenario kind, has type-1 A&E)
ACUTE, SPECIALIST, MH, COMMUNITY, AMBULANCE, CCG = (
    "acute",
    "specialist",
    "mental_health",
    "community",
    "ambulance",
    "ccg",
)

# ---------------------------------------------------------------------------
# The 2018/19 regime and its calibration (see scenarios/README.md for the fit).
# ---------------------------------------------------------------------------

#: Large adverse events for every organisation (``uncertainty.tail``): each year,
#: with this probability, a loss of turnover * LogNormal(log(median_pct), sigma) / 100.
TAIL = {"probability": 0.1, "median_pct": 3.5, "sigma": 0.8}
#: CCGs' own, smaller events (each CCG's ``tail`` overrides the default). An assumption:
#: a CCG's large overspend is taken to be smaller, relative to its allocation, than a
#: trust's large deficit relative to its turnover.
CCG_TAIL = {"probability": 0.08, "median_pct": 1.0, "sigma": 0.5}

#: Management actions (non-recurrent savings, reserves), in standard deviations of the
#: organisation's ordinary variation (sd = sd_pct / 100 * turnover), by type.
MITIGATION_SD = {ACUTE: 0.5, SPECIALIST: 0.5, MH: 0.5, COMMUNITY: 0.5, AMBULANCE: 0.5, CCG: 0.2}

#: Incentive PSF: providers with headroom that agree to raise their control total
#: by this much (£m). They are judged against the raised total and earn
#: INCENTIVE_RATE x uplift when they meet it.
UPLIFT = {"sheffield_teaching": 2.0, "salford_royal": 3.0}
INCENTIVE_RATE = 2.0
#: Year-end bonus: PSF finance funding unearned by trusts across the file is paid
#: to the trusts that met their control totals, pro rata to their allocations (the
#: national "general distribution" of unearned PSF, here within the ten systems).
#: Unearned CSF is not redistributed.
BONUS = True
BONUS_SHARE = 1.0
#: Quarterly mode: PSF finance funding missed in a quarter is paid at year end when
#: the year-end test passes (A&E funding is never recovered).
RECOVERY = True
#: The national A&E gateway (rule 1 of docs/rules-2018-19.md).
AE_GATEWAY = "finance_earned"
#: CSF timing: paid quarterly in arrears on each quarter's test, even weights, no recovery.
CSF_QUARTER_WEIGHTS = (0.25, 0.25, 0.25, 0.25)
CSF_RECOVERY = False

#: Providers modelled like those that did not accept a control total: their own plan is this
#: many £m below the control total they were offered (the data's control_total). The file
#: gives them accepted_control_total: false, no PSF, no management actions, and that own plan
#: as both plan and control_total (the figure their system control total counts, rule 10).
NOT_ACCEPTED_GAP = {
    "bedford_hospital": 18.0,
    "morecambe_bay_hospitals": 25.0,
    "pennine_acute": 35.0,
}

# ---------------------------------------------------------------------------
# Data. One tuple per organisation:
#   (id, real name, type, turnover £m, control_total £m, sf_pct, sd_pct, p_short, p_ae, comment)
# sf_pct: PSF as % of turnover (providers). For CCGs it is ignored: CSF = the
# deficit in a deficit control total, else 0.
# p_short: target chance that ordinary variation alone leaves the organisation
# below its control total, before management actions and large adverse events
# (None for the NOT_ACCEPTED_GAP providers, whose plan is set by the gap).
# p_ae: A&E element probability (acute trusts with a type-1 A&E only), else None.
# comment: optional YAML comment lines placed above the organisation.
# ---------------------------------------------------------------------------

#: Comment for the few organisations modelled as not accepting their control total.
#: About 1 provider in 9 (26 of 227) did not accept its 2018/19 control total.
#: These organisations are MODELLED that way. This is not a claim about the real trust.
NOT_ACCEPTED = [
    "Modelled like one of the 26 providers that did not accept a 2018/19 control total:",
    "no PSF at stake, no management actions; its control total is its own plan, which",
    "the system control total counts. Illustrative only.",
]

SYSTEMS: list[dict] = [
    {
        "id": "dorset",
        "name": "Dorset",
        "note": "Dorset linked all of its members' PSF/CSF to the system control total in 2018/19.",
        "orgs": [
            ("dorset_ccg", "NHS Dorset CCG", CCG, 1160, 0.0, None, 0.5, 0.08, None, None),
            (
                "dorset_county_hospital",
                "Dorset County Hospital NHS Foundation Trust",
                ACUTE,
                225,
                -2.0,
                3.0,
                1.2,
                0.30,
                0.60,
                None,
            ),
            (
                "poole_hospital",
                "Poole Hospital NHS Foundation Trust",
                ACUTE,
                270,
                -4.0,
                3.0,
                1.2,
                0.30,
                0.55,
                None,
            ),
            (
                "royal_bournemouth",
                "Royal Bournemouth and Christchurch Hospitals NHS Foundation Trust",
                ACUTE,
                330,
                3.0,
                2.5,
                1.1,
                0.10,
                0.55,
                None,
            ),
            (
                "dorset_healthcare",
                "Dorset HealthCare University NHS Foundation Trust",
                COMMUNITY,
                300,
                1.5,
                1.0,
                0.7,
                0.08,
                None,
                None,
            ),
            (
                "swast",
                "South Western Ambulance Service NHS Foundation Trust",
                AMBULANCE,
                285,
                2.0,
                1.0,
                0.8,
                0.12,
                None,
                [
                    "Serves the whole South West (Devon, Cornwall, Somerset, Gloucestershire, ...).",
                    "Dorset is the only first-wave ICS it serves, so it is here, and its whole",
                    "trust-level PSF and control total sit in Dorset's system total.",
                ],
            ),
        ],
    },
    {
        "id": "south_yorkshire_bassetlaw",
        "name": "South Yorkshire and Bassetlaw",
        "orgs": [
            ("barnsley_ccg", "NHS Barnsley CCG", CCG, 420, 0.0, None, 0.6, 0.10, None, None),
            (
                "bassetlaw_ccg",
                "NHS Bassetlaw CCG",
                CCG,
                170,
                0.0,
                None,
                0.7,
                0.12,
                None,
                [
                    "In Nottinghamshire, but a member of South Yorkshire and Bassetlaw, not of",
                    "the Nottingham and Nottinghamshire ICS.",
                ],
            ),
            ("doncaster_ccg", "NHS Doncaster CCG", CCG, 500, 0.0, None, 0.6, 0.12, None, None),
            ("rotherham_ccg", "NHS Rotherham CCG", CCG, 420, 0.0, None, 0.5, 0.08, None, None),
            ("sheffield_ccg", "NHS Sheffield CCG", CCG, 850, 0.0, None, 0.6, 0.15, None, None),
            (
                "barnsley_hospital",
                "Barnsley Hospital NHS Foundation Trust",
                ACUTE,
                265,
                -7.0,
                3.5,
                1.3,
                0.30,
                0.50,
                None,
            ),
            (
                "doncaster_bassetlaw",
                "Doncaster and Bassetlaw Teaching Hospitals NHS Foundation Trust",
                ACUTE,
                420,
                -14.0,
                3.5,
                1.3,
                0.30,
                0.45,
                None,
            ),
            (
                "sheffield_teaching",
                "Sheffield Teaching Hospitals NHS Foundation Trust",
                ACUTE,
                1150,
                5.0,
                2.0,
                1.0,
                0.10,
                0.60,
                None,
            ),
            (
                "rotherham_ft",
                "The Rotherham NHS Foundation Trust",
                ACUTE,
                260,
                -9.0,
                3.5,
                1.4,
                0.35,
                0.45,
                None,
            ),
            (
                "sheffield_childrens",
                "Sheffield Children's NHS Foundation Trust",
                SPECIALIST,
                230,
                1.0,
                1.5,
                1.0,
                0.15,
                None,
                ["Specialist children's trust: modelled with finance-only PSF (has_ae false)."],
            ),
            (
                "chesterfield_royal",
                "Chesterfield Royal Hospital NHS Foundation Trust",
                ACUTE,
                270,
                -3.0,
                3.0,
                1.2,
                0.25,
                0.55,
                [
                    "In Derbyshire. It also works with the Derbyshire STP but was a member of",
                    "the South Yorkshire and Bassetlaw ICS, so it is listed here only.",
                ],
            ),
            (
                "sheffield_health_social_care",
                "Sheffield Health and Social Care NHS Foundation Trust",
                MH,
                140,
                0.0,
                1.0,
                0.9,
                0.20,
                None,
                None,
            ),
            (
                "rdash",
                "Rotherham Doncaster and South Humber NHS Foundation Trust",
                MH,
                170,
                2.0,
                1.0,
                0.7,
                0.08,
                None,
                None,
            ),
            (
                "yorkshire_ambulance",
                "Yorkshire Ambulance Service NHS Trust",
                AMBULANCE,
                290,
                3.0,
                1.0,
                0.7,
                0.10,
                None,
                [
                    "Covers all of Yorkshire and the Humber, including the West Yorkshire and",
                    "Harrogate system, which is not in this file. Listed here because the King's Fund",
                    "names it as a South Yorkshire and Bassetlaw member.",
                ],
            ),
        ],
    },
    {
        "id": "blmk",
        "name": "Bedfordshire, Luton and Milton Keynes",
        "note": (
            "The CSV lists only the three acute trusts as providers. East of England Ambulance"
            " Service and the London-based mental health/community trusts serving BLMK (East"
            " London NHS FT, Central and North West London NHS FT) are left out: they sit"
            " mainly in other systems."
        ),
        "orgs": [
            (
                "bedfordshire_ccg",
                "NHS Bedfordshire CCG",
                CCG,
                650,
                -12.0,
                None,
                0.7,
                0.40,
                None,
                None,
            ),
            ("luton_ccg", "NHS Luton CCG", CCG, 330, 0.0, None, 0.6, 0.10, None, None),
            (
                "milton_keynes_ccg",
                "NHS Milton Keynes CCG",
                CCG,
                420,
                -4.0,
                None,
                0.6,
                0.30,
                None,
                None,
            ),
            (
                "bedford_hospital",
                "Bedford Hospital NHS Trust",
                ACUTE,
                230,
                -22.0,
                4.0,
                1.5,
                None,
                0.45,
                NOT_ACCEPTED,
            ),
            (
                "luton_dunstable",
                "Luton and Dunstable University Hospital NHS Foundation Trust",
                ACUTE,
                345,
                1.5,
                2.5,
                1.1,
                0.20,
                0.60,
                None,
            ),
            (
                "milton_keynes_hospital",
                "Milton Keynes University Hospital NHS Foundation Trust",
                ACUTE,
                290,
                -16.0,
                4.0,
                1.4,
                0.45,
                0.50,
                None,
            ),
        ],
    },
    {
        "id": "berkshire_west",
        "name": "Berkshire West",
        "orgs": [
            (
                "berkshire_west_ccg",
                "NHS Berkshire West CCG",
                CCG,
                700,
                0.0,
                None,
                0.5,
                0.05,
                None,
                None,
            ),
            (
                "royal_berkshire",
                "Royal Berkshire NHS Foundation Trust",
                ACUTE,
                425,
                4.0,
                2.5,
                1.0,
                0.10,
                0.55,
                None,
            ),
            (
                "berkshire_healthcare",
                "Berkshire Healthcare NHS Foundation Trust",
                COMMUNITY,
                285,
                3.0,
                1.0,
                0.7,
                0.05,
                None,
                [
                    "Also a member of Frimley (it serves all of Berkshire, East and West). It appears",
                    "only here, because it is a core partner of the Berkshire West system and without",
                    "it Berkshire West would have a single provider. Frimley keeps Frimley Health.",
                ],
            ),
        ],
    },
    {
        "id": "buckinghamshire",
        "name": "Buckinghamshire",
        "orgs": [
            (
                "buckinghamshire_ccg",
                "NHS Buckinghamshire CCG",
                CCG,
                800,
                0.0,
                None,
                0.6,
                0.12,
                None,
                None,
            ),
            (
                "buckinghamshire_healthcare",
                "Buckinghamshire Healthcare NHS Trust",
                ACUTE,
                430,
                -8.0,
                3.0,
                1.2,
                0.35,
                0.50,
                ["Acute and community trust. Type-1 A&E at Stoke Mandeville."],
            ),
            (
                "oxford_health",
                "Oxford Health NHS Foundation Trust",
                MH,
                330,
                2.0,
                1.0,
                0.7,
                0.12,
                None,
                [
                    "Also serves Oxfordshire (Buckinghamshire, Oxfordshire and Berkshire West STP),",
                    "which is not a first-wave ICS. Listed here as the King's Fund names it.",
                ],
            ),
            (
                "south_central_ambulance",
                "South Central Ambulance Service NHS Foundation Trust",
                AMBULANCE,
                235,
                1.5,
                1.0,
                0.8,
                0.15,
                None,
                [
                    "Also serves Berkshire West, Frimley (East Berkshire, North East Hampshire),",
                    "Oxfordshire and Hampshire. It appears once, here, as the King's Fund lists it",
                    "under Buckinghamshire.",
                ],
            ),
        ],
    },
    {
        "id": "frimley",
        "name": "Frimley",
        "note": (
            "Berkshire Healthcare NHS FT (listed under Berkshire West) and Surrey and Borders"
            " Partnership NHS FT (listed under Surrey Heartlands) are also Frimley members."
            " Each appears only once in this file."
        ),
        "orgs": [
            (
                "frimley_health",
                "Frimley Health NHS Foundation Trust",
                ACUTE,
                660,
                8.0,
                2.5,
                1.0,
                0.12,
                0.60,
                None,
            ),
            (
                "east_berkshire_ccg",
                "NHS East Berkshire CCG",
                CCG,
                580,
                0.0,
                None,
                0.5,
                0.08,
                None,
                None,
            ),
            (
                "ne_hampshire_farnham_ccg",
                "NHS North East Hampshire and Farnham CCG",
                CCG,
                300,
                0.0,
                None,
                0.6,
                0.10,
                None,
                None,
            ),
            (
                "surrey_heath_ccg",
                "NHS Surrey Heath CCG",
                CCG,
                140,
                0.0,
                None,
                0.7,
                0.15,
                None,
                None,
            ),
        ],
    },
    {
        "id": "nottinghamshire",
        "name": "Nottingham and Nottinghamshire",
        "note": (
            "Nottingham CityCare Partnership is a member, but it is a community interest"
            " company, not an NHS trust: it had no NHS control total and no PSF, and its"
            " finances were outside the system control total. Left out so that its result"
            " does not move the system test. East Midlands Ambulance Service (not named by"
            " the King's Fund) is also left out."
        ),
        "orgs": [
            (
                "nottingham_university_hospitals",
                "Nottingham University Hospitals NHS Trust",
                ACUTE,
                990,
                -18.0,
                2.5,
                1.2,
                0.35,
                0.50,
                None,
            ),
            (
                "sherwood_forest",
                "Sherwood Forest Hospitals NHS Foundation Trust",
                ACUTE,
                330,
                -60.0,
                4.0,
                1.5,
                0.50,
                0.55,
                ["Large deficit control total (illustrative)."],
            ),
            (
                "nottinghamshire_healthcare",
                "Nottinghamshire Healthcare NHS Foundation Trust",
                COMMUNITY,
                430,
                3.0,
                1.0,
                0.7,
                0.10,
                None,
                ["Mental health, community and national forensic services (e.g. Rampton)."],
            ),
            (
                "nottingham_city_ccg",
                "NHS Nottingham City CCG",
                CCG,
                480,
                0.0,
                None,
                0.6,
                0.10,
                None,
                None,
            ),
            (
                "nottingham_north_east_ccg",
                "NHS Nottingham North and East CCG",
                CCG,
                230,
                0.0,
                None,
                0.6,
                0.15,
                None,
                None,
            ),
            (
                "nottingham_west_ccg",
                "NHS Nottingham West CCG",
                CCG,
                150,
                0.0,
                None,
                0.7,
                0.12,
                None,
                None,
            ),
            ("rushcliffe_ccg", "NHS Rushcliffe CCG", CCG, 160, 0.0, None, 0.7, 0.12, None, None),
            (
                "mansfield_ashfield_ccg",
                "NHS Mansfield and Ashfield CCG",
                CCG,
                300,
                -5.0,
                None,
                0.7,
                0.25,
                None,
                None,
            ),
            (
                "newark_sherwood_ccg",
                "NHS Newark and Sherwood CCG",
                CCG,
                190,
                -3.0,
                None,
                0.7,
                0.30,
                None,
                None,
            ),
        ],
    },
    {
        "id": "lancashire_south_cumbria",
        "name": "Lancashire and South Cumbria",
        "note": (
            "The CSV names no commissioners for this system. Its eight CCGs of 2018/19 are"
            " added from public knowledge (the King's Fund profile confirms the provider"
            " mix only)."
        ),
        "orgs": [
            (
                "blackpool_teaching",
                "Blackpool Teaching Hospitals NHS Foundation Trust",
                ACUTE,
                440,
                -10.0,
                3.0,
                1.2,
                0.35,
                0.50,
                None,
            ),
            (
                "lancashire_teaching",
                "Lancashire Teaching Hospitals NHS Foundation Trust",
                ACUTE,
                510,
                -15.0,
                3.0,
                1.2,
                0.35,
                0.45,
                None,
            ),
            (
                "east_lancashire_hospitals",
                "East Lancashire Hospitals NHS Trust",
                ACUTE,
                500,
                -8.0,
                3.0,
                1.2,
                0.30,
                0.50,
                None,
            ),
            (
                "morecambe_bay_hospitals",
                "University Hospitals of Morecambe Bay NHS Foundation Trust",
                ACUTE,
                400,
                -40.0,
                4.0,
                1.5,
                None,
                0.45,
                NOT_ACCEPTED,
            ),
            (
                "lancashire_care",
                "Lancashire Care NHS Foundation Trust",
                COMMUNITY,
                330,
                1.0,
                1.0,
                0.8,
                0.12,
                None,
                None,
            ),
            (
                "north_west_ambulance",
                "North West Ambulance Service NHS Trust",
                AMBULANCE,
                330,
                2.5,
                1.0,
                0.7,
                0.10,
                None,
                [
                    "Also serves Greater Manchester (another first-wave system), Cheshire and",
                    "Merseyside, and Cumbria. It appears once, here, because the King's Fund lists",
                    "an ambulance trust among Lancashire and South Cumbria's members.",
                ],
            ),
            (
                "blackburn_darwen_ccg",
                "NHS Blackburn with Darwen CCG",
                CCG,
                240,
                0.0,
                None,
                0.7,
                0.10,
                None,
                None,
            ),
            ("blackpool_ccg", "NHS Blackpool CCG", CCG, 270, -3.0, None, 0.7, 0.25, None, None),
            (
                "chorley_south_ribble_ccg",
                "NHS Chorley and South Ribble CCG",
                CCG,
                250,
                -6.0,
                None,
                0.8,
                0.30,
                None,
                None,
            ),
            (
                "east_lancashire_ccg",
                "NHS East Lancashire CCG",
                CCG,
                560,
                0.0,
                None,
                0.6,
                0.10,
                None,
                None,
            ),
            (
                "fylde_wyre_ccg",
                "NHS Fylde and Wyre CCG",
                CCG,
                250,
                -4.0,
                None,
                0.7,
                0.30,
                None,
                None,
            ),
            (
                "greater_preston_ccg",
                "NHS Greater Preston CCG",
                CCG,
                300,
                -7.0,
                None,
                0.8,
                0.30,
                None,
                None,
            ),
            (
                "morecambe_bay_ccg",
                "NHS Morecambe Bay CCG",
                CCG,
                470,
                -10.0,
                None,
                0.7,
                0.35,
                None,
                ["Covers South Cumbria and North Lancashire (formed 2017)."],
            ),
            (
                "west_lancashire_ccg",
                "NHS West Lancashire CCG",
                CCG,
                170,
                0.0,
                None,
                0.7,
                0.15,
                None,
                None,
            ),
        ],
    },
    {
        "id": "greater_manchester",
        "name": "Greater Manchester",
        "note": (
            "Membership added from public knowledge (not in the CSV). It is the Greater"
            " Manchester Health and Social Care Partnership (devolution), counted among the"
            " ten. North West Ambulance Service is listed under Lancashire and South Cumbria."
            " The Christie and other specialist trusts are not included."
        ),
        "orgs": [
            ("bolton_ccg", "NHS Bolton CCG", CCG, 430, 0.0, None, 0.5, 0.08, None, None),
            ("bury_ccg", "NHS Bury CCG", CCG, 290, -3.0, None, 0.7, 0.35, None, None),
            (
                "hmr_ccg",
                "NHS Heywood, Middleton and Rochdale CCG",
                CCG,
                330,
                0.0,
                None,
                0.6,
                0.12,
                None,
                None,
            ),
            ("manchester_ccg", "NHS Manchester CCG", CCG, 900, 0.0, None, 0.5, 0.05, None, None),
            ("oldham_ccg", "NHS Oldham CCG", CCG, 360, 0.0, None, 0.6, 0.10, None, None),
            ("salford_ccg", "NHS Salford CCG", CCG, 410, 0.0, None, 0.5, 0.05, None, None),
            ("stockport_ccg", "NHS Stockport CCG", CCG, 420, -4.0, None, 0.6, 0.30, None, None),
            (
                "tameside_glossop_ccg",
                "NHS Tameside and Glossop CCG",
                CCG,
                370,
                -6.0,
                None,
                0.7,
                0.35,
                None,
                None,
            ),
            ("trafford_ccg", "NHS Trafford CCG", CCG, 330, 0.0, None, 0.6, 0.15, None, None),
            ("wigan_ccg", "NHS Wigan Borough CCG", CCG, 480, 0.0, None, 0.5, 0.05, None, None),
            (
                "manchester_university",
                "Manchester University NHS Foundation Trust",
                ACUTE,
                1550,
                -5.0,
                2.0,
                1.0,
                0.20,
                0.50,
                [
                    "Formed October 2017 (Central Manchester + University Hospital of South Manchester)."
                ],
            ),
            (
                "salford_royal",
                "Salford Royal NHS Foundation Trust",
                ACUTE,
                720,
                4.0,
                2.0,
                1.0,
                0.10,
                0.60,
                None,
            ),
            (
                "pennine_acute",
                "The Pennine Acute Hospitals NHS Trust",
                ACUTE,
                650,
                -55.0,
                4.0,
                1.4,
                None,
                0.40,
                [
                    *NOT_ACCEPTED,
                    "Large deficit. Run by Salford Royal as part of the Northern Care Alliance,",
                    "but a separate trust with its own control total.",
                ],
            ),
            (
                "stockport_ft",
                "Stockport NHS Foundation Trust",
                ACUTE,
                380,
                -12.0,
                3.5,
                1.4,
                0.35,
                0.40,
                None,
            ),
            (
                "tameside_glossop_icft",
                "Tameside and Glossop Integrated Care NHS Foundation Trust",
                ACUTE,
                270,
                -20.0,
                4.0,
                1.4,
                0.35,
                0.50,
                None,
            ),
            (
                "wrightington_wigan_leigh",
                "Wrightington, Wigan and Leigh NHS Foundation Trust",
                ACUTE,
                345,
                1.0,
                2.5,
                1.1,
                0.15,
                0.55,
                None,
            ),
            (
                "bolton_ft",
                "Bolton NHS Foundation Trust",
                ACUTE,
                360,
                -6.0,
                3.0,
                1.2,
                0.30,
                0.50,
                None,
            ),
            (
                "gm_mental_health",
                "Greater Manchester Mental Health NHS Foundation Trust",
                MH,
                250,
                1.5,
                1.0,
                0.8,
                0.10,
                None,
                None,
            ),
            (
                "pennine_care",
                "Pennine Care NHS Foundation Trust",
                COMMUNITY,
                340,
                1.0,
                1.0,
                0.8,
                0.12,
                None,
                ["Mental health and community services."],
            ),
        ],
    },
    {
        "id": "surrey_heartlands",
        "name": "Surrey Heartlands",
        "note": (
            "Membership added from public knowledge (not in the CSV). First Community Health"
            " and Care (a community interest company serving mainly East Surrey, which joined"
            " Surrey Heartlands later) and CSH Surrey (an employee-owned social enterprise) are"
            " left out: they are not NHS trusts, had no control total or PSF, and sat outside"
            " the system control total."
        ),
        "orgs": [
            (
                "guildford_waverley_ccg",
                "NHS Guildford and Waverley CCG",
                CCG,
                310,
                -3.0,
                None,
                0.7,
                0.30,
                None,
                None,
            ),
            (
                "north_west_surrey_ccg",
                "NHS North West Surrey CCG",
                CCG,
                480,
                -5.0,
                None,
                0.6,
                0.30,
                None,
                None,
            ),
            (
                "surrey_downs_ccg",
                "NHS Surrey Downs CCG",
                CCG,
                420,
                -8.0,
                None,
                0.7,
                0.30,
                None,
                None,
            ),
            (
                "royal_surrey",
                "Royal Surrey County Hospital NHS Foundation Trust",
                ACUTE,
                355,
                3.0,
                2.5,
                1.0,
                0.10,
                0.60,
                None,
            ),
            (
                "ashford_st_peters",
                "Ashford and St Peter's Hospitals NHS Foundation Trust",
                ACUTE,
                330,
                -4.0,
                3.0,
                1.1,
                0.25,
                0.55,
                None,
            ),
            (
                "epsom_st_helier",
                "Epsom and St Helier University Hospitals NHS Trust",
                ACUTE,
                430,
                -25.0,
                3.5,
                1.4,
                0.30,
                0.50,
                ["Also serves Sutton and Merton (South West London STP, not a first-wave ICS)."],
            ),
            (
                "surrey_borders",
                "Surrey and Borders Partnership NHS Foundation Trust",
                MH,
                205,
                1.0,
                1.0,
                0.8,
                0.12,
                None,
                [
                    "Also a member of Frimley. It appears only here, because most of its Surrey",
                    "population and contract value is in the Surrey Heartlands CCGs (Frimley has",
                    "only Surrey Heath and part of North East Hampshire and Farnham).",
                ],
            ),
            (
                "secamb",
                "South East Coast Ambulance Service NHS Foundation Trust",
                AMBULANCE,
                240,
                -1.0,
                1.0,
                0.9,
                0.25,
                None,
                [
                    "Also serves Kent, Sussex and Frimley's Surrey Heath. Its only first-wave",
                    "system with most of its Surrey work is Surrey Heartlands, so it is here.",
                ],
            ),
        ],
    },
]


# ---------------------------------------------------------------------------
# Derivation
# ---------------------------------------------------------------------------


def derive(org: tuple) -> dict:
    """Turn a data tuple into the organisation's scenario fields (plus helpers)."""
    oid, name, typ, turnover, ct, sf_pct, sd_pct, p_short, p_ae, comment = org
    sd = sd_pct / 100.0 * turnover
    accepted = oid not in NOT_ACCEPTED_GAP
    if not accepted:  # its own plan, below the total offered, is what its system counts
        ct = round(ct - NOT_ACCEPTED_GAP[oid], 1)
        plan = ct
        mitigation = 0.0
    else:
        margin = round(sd * float(norm.isf(p_short)), 1)  # plan - control_total
        plan = round(ct + margin, 1)
        mitigation = round(MITIGATION_SD[typ] * sd, 1)
    uplift = UPLIFT.get(oid, 0.0)
    target = ct + uplift  # the finance test is against the raised control total
    if typ == CCG:
        kind = "commissioner"
        sf = round(-ct, 1) if ct < 0 else 0.0  # CSF only for a deficit control total
    else:
        kind = "provider"
        sf = round(sf_pct / 100.0 * turnover, 1) if accepted else 0.0
    has_ae = typ == ACUTE
    return {
        "id": oid,
        "name": name,
        "type": typ,
        "kind": kind,
        "plan": plan,
        "control_total": ct,
        "accepted_control_total": accepted,
        "control_total_uplift": uplift,
        "sustainability_funding": sf,
        "turnover": float(turnover),
        "sd_pct": sd_pct,
        "mitigation": mitigation,
        "tail": CCG_TAIL if typ == CCG else None,
        "has_ae": has_ae,
        "p_ae": p_ae if has_ae else None,
        "comment": comment,
        "sd": sd,
        # Normal-marginal chances, ignoring large adverse events (the `plan:` comment):
        "p_short": float(norm.cdf(-(plan - target) / sd)),
        "p_miss": float(norm.cdf(-(plan + mitigation - target) / sd)),
    }


TYPE_LABEL = {
    ACUTE: "acute trust with type-1 A&E",
    SPECIALIST: "specialist trust, no type-1 A&E",
    MH: "mental health trust",
    COMMUNITY: "community / mental health trust",
    AMBULANCE: "ambulance trust",
    CCG: "CCG",
}


def fmt(x: float) -> str:
    return f"{x:.1f}"


def pct(p: float) -> str:
    return f"{100 * p:.0f}%" if p >= 0.01 or p == 0 else "<1%"


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
# totals, PSF/CSF allocations, management actions or incentive agreements of
# these organisations. They are sized like 2018/19 bodies of each type:
#   acute £225m-£1.55bn turnover, PSF 2-4%, sd 1.0-1.5% of turnover
#   mental health / community / ambulance £140-430m, PSF 1%, sd 0.7-0.9%
#   CCG allocations £140m-£1.16bn, sd 0.5-0.8%; CSF only with a deficit control
#   total, equal to that deficit (it brings the CCG to in-year balance)
# Do not read any single organisation's figures as a statement about it.
#
# Money in £m. Surplus +, deficit -. Plan and control total are both BEFORE
# sustainability funding.
# Calibration, in three layers (the engine's order of play):
#   1. ordinary variation: plan = control_total + sd * z, sd = sd_pct/100 * turnover,
#      chosen so that P(shortfall) = Phi(-(plan - control_total) / sd) hits a
#      target per organisation;
#   2. large adverse events (uncertainty.tail; CCGs have their own smaller tail);
#   3. management actions (mitigation, £m): 0.5 sd for trusts, 0.2 sd for CCGs;
#      a shortfall up to that size lands exactly on the control total, a larger
#      one is reduced by it.
# The comment on each `plan:` line gives the normal-marginal P(shortfall) before
# actions and P(miss) after them, both without large adverse events. Quarterly
# year-to-date tests see layer 1 only (events and actions come at year end); the
# year's variance is back-loaded (quarterly_variance). The targets give a
# national picture like 2018/19 (scenarios/README.md has the fit).
#
# An organisation that belongs to two systems appears ONCE. A comment says
# where else it belongs.
"""


def _yaml_tail(t: dict, indent: str) -> list[str]:
    return [
        f"{indent}probability: {t['probability']}",
        f"{indent}median_pct: {t['median_pct']}",
        f"{indent}sigma: {t['sigma']}",
    ]


def render() -> str:
    out = [HEADER]
    out.append("name: First-wave ICSs 2018/19 (illustrative figures)")
    out.append("description: >-")
    out.append("  The ten first-wave integrated care systems of 2018/19 with their real member")
    out.append("  organisations and ILLUSTRATIVE (not real) plans, control totals and PSF/CSF,")
    out.append("  calibrated to 2018/19: about a fifth of providers adverse year to date at Q2")
    out.append("  and Q3, a fifth of providers and a sixth of CCGs missing their control totals")
    out.append("  at year end, one provider in twenty more than £10m adverse; three providers")
    out.append("  did not accept a control total. Management actions, large adverse events,")
    out.append("  incentive PSF, quarterly payments and the year-end bonus pool are all on.")
    out.append("")
    out.append("simulation:")
    out.append(f"  draws: {DRAWS}")
    out.append(f"  seed: {SEED}")
    out.append("")
    out.append("uncertainty:")
    out.append("  distribution: student_t   # heavy tails: a few large overspends")
    out.append(f"  dof: {DOF}")
    out.append(f"  national_share: {NATIONAL_SHARE}")
    out.append(
        f"  system_share: {SYSTEM_SHARE}   # providers in a system correlate 0.25 + 0.25 = 0.5; "
        f"CCGs carry system_loading {COMMISSIONER_LOADING}"
    )
    if QUARTERLY:
        out.append(
            "  quarterly: true   # year-to-date tests and payments, Q1-Q4 weights 15/20/30/35%"
        )
        out.append(
            f"  quarterly_variance: {json.dumps(QUARTER_VARIANCE)}   # most of the year's "
            "risk arises in the second half"
        )
    out.append("  # Large adverse events, default for every organisation (CCGs override it):")
    out.append(
        f"  # with probability {TAIL['probability']} a year, a loss of turnover x LogNormal"
        f"(median {TAIL['median_pct']}%, sigma {TAIL['sigma']})."
    )
    out.append("  tail:")
    out.extend(_yaml_tail(TAIL, "    "))
    out.append("")
    out.append("regime:")
    out.append(
        f"  incentive_rate: {INCENTIVE_RATE}   # £2 of incentive PSF per £1 of agreed uplift "
        "(2018/19 mid-year reset)"
    )
    out.append(
        f"  bonus: {'true' if BONUS else 'false'}   # trusts' unearned PSF paid at year end "
        "to trusts that met their control totals"
    )
    out.append(f"  bonus_share: {BONUS_SHARE}")
    if QUARTERLY:
        out.append(
            f"  recovery: {'true' if RECOVERY else 'false'}   # quarterly PSF finance money missed "
            "is paid at year end on a year-end pass"
        )
    out.append(
        f"  ae_gateway: {AE_GATEWAY}   # A&E paid in a period in which some finance element "
        "is earned"
    )
    if QUARTERLY:
        weights = ", ".join(str(w) for w in CSF_QUARTER_WEIGHTS)
        out.append(
            f"  csf_quarter_weights: [{weights}]   # CSF paid quarterly, on each quarter's test"
        )
        out.append(
            f"  csf_recovery: {'true' if CSF_RECOVERY else 'false'}   # CSF missed in a quarter "
            "is not paid at year end"
        )
    out.append("")
    out.append("# No `schemes:` key, so the built-in 2018/19 menu is compared.")
    out.append("")
    out.append("systems:")
    for sysd in SYSTEMS:
        orgs = [derive(o) for o in sysd["orgs"]]
        sct = sum(o["control_total"] + o["control_total_uplift"] for o in orgs)
        out.append(f"  - id: {sysd['id']}")
        out.append(f"    name: {json.dumps(sysd['name'])}")
        if sysd.get("note"):
            out.extend(wrap(sysd["note"], "    "))
        out.append(
            "    system_control_total: null   # = sum of members' control totals, with "
            f"uplifts ({fmt(sct)})"
        )
        out.append("    organisations:")
        for o in orgs:
            out.append(f"      # {o['name']}: {TYPE_LABEL[o['type']]}.")
            for line in o["comment"] or []:
                out.append(f"      # {line}")
            if o["control_total_uplift"]:
                u = o["control_total_uplift"]
                out.append(
                    f"      # Incentive PSF (illustrative): agrees to raise its control total by "
                    f"£{u:g}m and earns"
                )
                out.append(
                    f"      # £{INCENTIVE_RATE * u:g}m more PSF if it meets the raised total."
                )
            out.append(f"      - id: {o['id']}")
            out.append(f"        name: {json.dumps(o['name'])}")
            out.append(f"        kind: {o['kind']}")
            if o["kind"] == "provider":
                out.append(f"        provider_type: {o['type']}")
            out.append(
                f"        plan: {fmt(o['plan'])}   # P(shortfall) ~{pct(o['p_short'])}, "
                f"P(miss) after actions ~{pct(o['p_miss'])}"
            )
            out.append(f"        control_total: {fmt(o['control_total'])}")
            if not o["accepted_control_total"]:
                out.append(
                    "        accepted_control_total: false   # no PSF at stake (rule 10); its own "
                    "plan"
                )
            if o["control_total_uplift"]:
                out.append(f"        control_total_uplift: {fmt(o['control_total_uplift'])}")
            out.append(f"        sustainability_funding: {fmt(o['sustainability_funding'])}")
            out.append(f"        turnover: {fmt(o['turnover'])}")
            out.append(f"        sd_pct: {o['sd_pct']}")
            if o["mitigation"]:
                out.append(f"        mitigation: {fmt(o['mitigation'])}")
            if o["kind"] == "commissioner":
                out.append(
                    f"        system_loading: {COMMISSIONER_LOADING}   # against the system's providers "
                    "(contract line)"
                )
            if o["tail"]:
                out.append("        tail:")
                out.extend(_yaml_tail(o["tail"], "          "))
            if o["kind"] == "provider":
                out.append(f"        has_ae: {'true' if o['has_ae'] else 'false'}")
                if o["has_ae"]:
                    out.append(f"        p_ae: {o['p_ae']}")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------
# Check
# ---------------------------------------------------------------------------

#: 2018/19 facts (docs/rules-2018-19.md) printed beside the file's numbers.
FACT_MISS_PROVIDERS = "44/227=19% adverse YTD at Q2, 60/227=26% at Q3"
FACT_MISS_CCGS = "33/~195=17% overspent"
FACT_BIG = "29/227=12.6%"
FACT_YTD = "Q2 44/227=19%, Q3 60/227=26%"
FACT_BIG_SHARE = "120%"
#: "Just above" target: met the control total by less than this share of turnover.
JUST_ABOVE_PCT = 0.5


def validate(doc: dict) -> list[str]:
    """Field names against the engine's scenario models (the format's contract), and unique ids."""
    from sct_engine.scenario import Organisation, Scenario, System

    errs = [f"top-level field {k!r}" for k in set(doc) - set(Scenario.model_fields)]
    ids = set()
    for s in doc["systems"]:
        errs += [f"system {s.get('id')}: field {k!r}" for k in set(s) - set(System.model_fields)]
        for o in s["organisations"]:
            errs += [
                f"org {o.get('id')}: field {k!r}" for k in set(o) - set(Organisation.model_fields)
            ]
            if o["id"] in ids:
                errs.append(f"duplicate id {o['id']}")
            ids.add(o["id"])
            if ("sd" in o) == ("sd_pct" in o):
                errs.append(f"org {o['id']}: give exactly one of sd / sd_pct")
    return errs


def engine_calibration(path: Path, draws: int, seed: int) -> dict:
    """Calibration numbers from the engine's own draws of the scenario (reference simulator).

    Outturns are ``block_outturns(model, draw_block(...))`` (ordinary variation, large adverse
    events, management actions), compared with the control total the engine tests (with any
    uplift), so ``1 - share missing`` equals the mean of ``p_meet_control_total``.
    """
    import numpy as np

    from sct_engine.engine.model import build_model
    from sct_engine.engine.reference import block_outturns, block_ytd_outturns, draw_block
    from sct_engine.engine.rng import block_sizes
    from sct_engine.scenario import load_scenario

    model = build_model(load_scenario(path))
    prov = np.array([k == "provider" for k in model.org_kinds])
    ct = model.control_total
    just_above = JUST_ABOVE_PCT / 100.0 * model.turnover
    n_orgs = model.n_orgs
    miss = np.zeros(n_orgs)
    big = np.zeros(n_orgs)
    on = np.zeros(n_orgs)
    near = np.zeros(n_orgs)
    miss_prov, miss_ccg = np.zeros(draws), np.zeros(draws)
    ytd_miss = np.zeros((4, n_orgs))
    shortfall = big_shortfall = 0.0
    done = 0
    for block, n in block_sizes(draws):
        if model.quarterly:
            ytd = block_ytd_outturns(model, draw_block(model, seed, block, n))  # (n, 4, N)
            ytd_miss += (ytd < model.ytd_control_total().T[None]).sum(axis=0)
            x = ytd[:, -1]
        else:
            x = block_outturns(model, draw_block(model, seed, block, n))
        gap = ct - x  # > 0: adverse to the control total
        m, b = gap > 0, gap > 10.0
        miss += m.sum(axis=0)
        big += b.sum(axis=0)
        on += (gap == 0).sum(axis=0)
        near += ((gap <= 0) & (-gap < just_above)).sum(axis=0)
        miss_prov[done : done + n] = m[:, prov].sum(axis=1)
        miss_ccg[done : done + n] = m[:, ~prov].sum(axis=1)
        shortfall += gap[:, prov].sum()
        big_shortfall += (gap * b)[:, prov].sum()
        done += n
    return {
        "model": model,
        "prov": prov,
        "miss_prov": miss[prov].mean() / draws,
        "miss_ccg": miss[~prov].mean() / draws,
        "big_prov": big[prov].mean() / draws,
        "on_prov": on[prov].mean() / draws,
        "near_prov": near[prov].mean() / draws,
        "on_ccg": on[~prov].mean() / draws,
        "ytd_miss_prov": ytd_miss[:, prov].mean(axis=1) / draws if model.quarterly else None,
        "ytd_miss_ccg": ytd_miss[:, ~prov].mean(axis=1) / draws if model.quarterly else None,
        "count_prov": miss_prov,
        "count_ccg": miss_ccg,
        "net_shortfall": shortfall / draws,
        "big_shortfall": big_shortfall / draws,
    }


def check() -> int:
    import numpy as np
    import yaml

    from sct_engine.engine.simulate import simulate
    from sct_engine.scenario import load_scenario

    text = OUT.read_text()
    stale = text != render()
    doc = yaml.safe_load(text)
    errs = validate(doc)
    for e in errs:
        print("FIELD ERROR:", e)
    if errs:
        return 1

    orgs = [derive(o) for s in SYSTEMS for o in s["orgs"]]
    prov_rows = [o for o in orgs if o["kind"] == "provider"]
    ccg_rows = [o for o in orgs if o["kind"] != "provider"]
    draws, seed = doc["simulation"]["draws"], doc["simulation"]["seed"]
    cal = engine_calibration(OUT, draws, seed)
    model, prov = cal["model"], cal["prov"]
    n_p, n_c = int(prov.sum()), int((~prov).sum())
    psf, csf = model.funding[prov].sum(), model.funding[~prov].sum()
    rel = OUT.relative_to(ROOT)
    print(
        f"file: {rel}  systems {model.n_systems}  providers {n_p}  CCGs {n_c}  "
        f"(engine draws: {draws:,}, seed {seed})"
    )
    print(
        f"PSF at stake £{psf:.1f}m; CSF at stake £{csf:.1f}m "
        f"({int((model.funding[~prov] > 0).sum())} CCGs with deficit control totals); "
        f"incentive uplifts £{model.control_total_uplift.sum():.1f}m "
        f"({int((model.control_total_uplift > 0).sum())} providers); "
        f"management actions £{model.mitigation[prov].sum():.1f}m providers, "
        f"£{model.mitigation[~prov].sum():.1f}m CCGs"
    )
    print("Expected share missing control total (1 - mean p_meet_control_total):")
    print(
        f"  providers: {cal['miss_prov']:.1%}   (normal rule, no large events: "
        f"{np.mean([o['p_miss'] for o in prov_rows]):.1%})   [2018/19: {FACT_MISS_PROVIDERS}]"
    )
    print(
        f"  CCGs:      {cal['miss_ccg']:.1%}   (normal rule, no large events: "
        f"{np.mean([o['p_miss'] for o in ccg_rows]):.1%})   [2018/19: {FACT_MISS_CCGS}]"
    )
    q = np.percentile(cal["count_prov"], [5, 50, 95])
    qc = np.percentile(cal["count_ccg"], [5, 50, 95])
    print(
        f"  number of providers missing: mean {cal['count_prov'].mean():.1f}, "
        f"5/50/95% {q[0]:.0f}/{q[1]:.0f}/{q[2]:.0f} of {n_p}"
    )
    print(
        f"  number of CCGs missing:      mean {cal['count_ccg'].mean():.1f}, "
        f"5/50/95% {qc[0]:.0f}/{qc[1]:.0f}/{qc[2]:.0f} of {n_c}"
    )
    if cal["ytd_miss_prov"] is not None:
        qp, qc = cal["ytd_miss_prov"], cal["ytd_miss_ccg"]
        print(
            "  adverse year to date at Q1/Q2/Q3 (quarterly tests, before year-end events and actions):"
        )
        print(f"    providers {qp[0]:.1%} / {qp[1]:.1%} / {qp[2]:.1%}   [2018/19: {FACT_YTD}]")
        print(f"    CCGs      {qc[0]:.1%} / {qc[1]:.1%} / {qc[2]:.1%}")
    print(f"Providers > £10m adverse: {cal['big_prov']:.1%}   [2018/19: {FACT_BIG}]")
    rest = cal["net_shortfall"] - cal["big_shortfall"]
    print(
        f"  providers' expected net shortfall against control totals £{cal['net_shortfall']:.1f}m: "
        f"£{cal['big_shortfall']:.1f}m from those > £10m adverse, the rest £{abs(rest):.1f}m "
        f"{'short of' if rest >= 0 else 'better than'} theirs   [2018/19: the > £10m adverse "
        f"explained {FACT_BIG_SHARE} of the net shortfall]"
    )
    print(
        f"Providers landing on target (actions closed the gap): {cal['on_prov']:.1%}; on or less than "
        f"{JUST_ABOVE_PCT:g}% of turnover above: {cal['near_prov']:.1%}   [2018/19: most trusts on or "
        "just above]"
    )

    result = simulate(load_scenario(OUT), draws=draws, seed=seed)
    nat = result.national
    print(
        f"National funding lost per scheme (£m, engine kernel, {draws:,} draws, seed {seed}; "
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
