"""Public-knowledge inputs of ``make_england.py``: what the reference CSV does not hold.

``scenarios/data/england-stps-2018-19.csv`` gives every CCG (with its 2018 population) and
every acute trust of England, by STP / ICS footprint. This module adds, by hand:

* the sizes of the acute trusts (approximate 2018/19 turnover, £m, rounded) and a
  financial-position class for each (``POSITION``);
* the mental health, community, ambulance and specialist trusts, each with the footprint it is
  placed in and a ``source`` note saying why (``OTHER_TRUSTS``);
* the CCGs given a deficit control total (``DEFICIT_CCGS``);
* the footprint of each first-wave ICS of ``make_wave1.py`` (``WAVE1_FOOTPRINT``).

Every figure and class here is ILLUSTRATIVE. Turnover is sized like the real trust from public
reporting (annual reports, press); the classes follow what was publicly reported about trusts'
and commissioners' finances in 2017-19 (financial special measures, large deficits). None of it
is a statement about any organisation's accounts, plans or control totals.
"""

from __future__ import annotations

# Kinds of trust (the same words as make_wave1.py).
SPECIALIST, MH, COMMUNITY, AMBULANCE = "specialist", "mental_health", "community", "ambulance"

#: Footprint (ONS STP code) of each first-wave ICS of ``make_wave1.SYSTEMS``. Buckinghamshire
#: and Berkshire West were two first-wave ICSs inside one STP (Buckinghamshire, Oxfordshire and
#: Berkshire West), so that footprint becomes three systems: the two ICSs and Oxfordshire.
WAVE1_FOOTPRINT = {
    "dorset": "E54000041",
    "south_yorkshire_bassetlaw": "E54000009",
    "blmk": "E54000024",
    "berkshire_west": "E54000044",
    "buckinghamshire": "E54000044",
    "frimley": "E54000034",
    "nottinghamshire": "E54000014",
    "lancashire_south_cumbria": "E54000048",
    "greater_manchester": "E54000007",
    "surrey_heartlands": "E54000035",
}
#: The rest of a footprint that holds first-wave ICSs but is not all theirs: (id, name).
REST_OF_FOOTPRINT = {"E54000044": ("oxfordshire", "Oxfordshire (rest of BOB footprint)")}

# Financial-position classes of acute trusts (control total before PSF, see make_england.py):
#   S  surplus        B  about breakeven        D  deficit
#   X  deep deficit, modelled like the 26 providers that did not accept a 2018/19 control
#      total: accepted_control_total false, no PSF, no management actions, and their own
#      deep-deficit plan as the control total their system counts.
S, B, D, X = "S", "B", "D", "X"

#: Acute trusts of the CSV that are not in a first-wave ICS: ODS code -> (turnover £m, class).
ACUTE = {
    # West Yorkshire and Harrogate
    "RCF": (200, D),
    "RAE": (450, B),
    "RWY": (410, D),
    "RCD": (230, B),
    "RR8": (1250, B),
    "RXF": (560, D),
    # Humber, Coast and Vale
    "RWA": (640, D),
    "RJL": (420, X),
    "RCB": (550, D),
    # Cheshire and Merseyside
    "REM": (430, B),
    "RBS": (290, S),
    "RJR": (280, D),
    "RJN": (160, D),
    "RBT": (280, B),
    "RQ6": (500, D),
    "RVY": (230, D),
    "RBN": (360, B),
    "RWW": (270, D),
    "RBL": (390, D),
    # Staffordshire and Stoke on Trent
    "RJF": (310, D),
    "RJE": (900, X),
    # Shropshire and Telford and Wrekin
    "RXW": (410, X),
    # Derbyshire (Chesterfield Royal is in South Yorkshire and Bassetlaw, as in wave 1)
    "RTG": (680, D),
    # Lincolnshire
    "RWD": (510, X),
    # Leicester, Leicestershire and Rutland
    "RWE": (960, X),
    # The Black Country and West Birmingham
    "RXK": (480, B),
    "RNA": (420, B),
    "RL4": (600, B),
    "RBK": (290, D),
    # Birmingham and Solihull
    "RQ3": (430, S),
    "RR1": (750, D),
    "RRK": (1050, B),
    # Coventry and Warwickshire
    "RLT": (160, D),
    "RJC": (240, B),
    "RKB": (640, D),
    # Herefordshire and Worcestershire
    "RWP": (440, X),
    "RLQ": (200, X),
    # Northamptonshire
    "RNQ": (250, X),
    "RNS": (320, D),
    # Cambridgeshire and Peterborough
    "RGT": (900, D),
    "RGN": (480, X),
    # Norfolk and Waveney
    "RGP": (200, D),
    "RM1": (580, D),
    "RCX": (230, X),
    # Suffolk and North East Essex
    "RDE": (330, D),
    "RGQ": (340, D),
    "RGR": (260, D),
    # Hertfordshire and West Essex
    "RWH": (470, D),
    "RQW": (270, D),
    "RWG": (380, D),
    # Mid and South Essex
    "RDD": (370, D),
    "RQ8": (330, D),
    "RAJ": (340, D),
    # North West London
    "RQM": (700, S),
    "RYJ": (1200, B),
    "R1K": (700, D),
    "RAS": (260, D),
    # North London
    "RAP": (310, X),
    "RAL": (1000, B),
    "RKE": (320, D),
    "RRV": (1100, S),
    # East London
    "RF4": (590, X),
    "R1H": (1550, X),
    "RQX": (330, B),
    # South East London
    "RJ1": (1650, B),
    "RJZ": (1200, X),
    "RJ2": (590, X),
    # South West London (Epsom and St Helier is in Surrey Heartlands, as in wave 1)
    "RJ6": (380, X),
    "RAX": (260, B),
    "RJ7": (850, X),
    # Kent and Medway
    "RN7": (240, D),
    "RVV": (620, X),
    "RWF": (520, D),
    "RPA": (320, D),
    # Sussex and East Surrey
    "RXH": (580, X),
    "RXC": (400, D),
    "RTP": (330, B),
    "RYR": (460, B),
    # Cornwall and the Isles of Scilly
    "REF": (430, X),
    # Devon
    "RBZ": (230, X),
    "RK9": (540, D),
    "RH8": (500, B),
    "RA9": (400, D),
    # Somerset
    "RBA": (340, B),
    "RA4": (170, D),
    # Bristol, North Somerset and South Gloucestershire
    "RVJ": (650, B),
    "RA7": (660, S),
    "RA3": (120, X),
    # Bath and North East Somerset, Swindon and Wiltshire
    "RN3": (320, D),
    "RD1": (310, B),
    "RNZ": (230, B),
    # Hampshire and the Isle of Wight
    "RN5": (390, B),
    "R1F": (220, X),
    "RHU": (560, D),
    "RHM": (880, B),
    # Gloucestershire
    "RTE": (540, D),
    # Buckinghamshire, Oxfordshire and Berkshire West (the rest: Oxfordshire)
    "RTH": (1050, B),
    # Cumbria and North East
    "RLN": (400, B),
    "RXP": (480, D),
    "RR7": (250, B),
    "RNL": (310, D),
    "RVW": (310, B),
    "RTF": (560, S),
    "RTR": (640, D),
    "RE9": (180, B),
    "RTD": (1150, S),
}

#: Acute trusts of the CSV that merged during or just before 2018/19. The CSV lists them
#: separately and so does this file (a comment in the YAML says so).
MERGED = {
    "RR1": "merged into University Hospitals Birmingham NHS FT on 1 April 2018",
    "RRK": "took over Heart of England NHS FT on 1 April 2018",
    "RJF": "merged with Derby Teaching Hospitals on 1 July 2018 (University Hospitals of Derby "
    "and Burton NHS FT)",
    "RTG": "merged with Burton Hospitals on 1 July 2018 (University Hospitals of Derby and "
    "Burton NHS FT)",
    "RDE": "merged with Ipswich Hospital on 1 July 2018 (East Suffolk and North Essex NHS FT)",
    "RGQ": "merged with Colchester Hospital on 1 July 2018 (East Suffolk and North Essex NHS FT)",
}

_HQ = "serves several footprints; placed in the footprint of its headquarters"
_AREA = "its services are in this footprint"
_LONDON = "a London-wide specialist trust; placed in the footprint where its main site is"

#: Mental health, community, ambulance and specialist trusts not in a first-wave ICS, added from
#: public knowledge: (footprint STP code, name, kind, turnover £m, source note). Trusts serving
#: several footprints are placed once, by the rule in the note. Ambulance trusts serve a region:
#: each goes to the footprint of its headquarters, or, where that is a first-wave ICS that did
#: not name it as a member, to the most populous other footprint it serves.
OTHER_TRUSTS: list[tuple[str, str, str, int, str]] = [
    # Cumbria and North East
    ("E54000049", "Northumberland, Tyne and Wear NHS Foundation Trust", MH, 330, _AREA),
    ("E54000049", "Tees, Esk and Wear Valleys NHS Foundation Trust", MH, 370, _HQ),
    ("E54000049", "Cumbria Partnership NHS Foundation Trust", MH, 200, _AREA),
    ("E54000049", "North East Ambulance Service NHS Foundation Trust", AMBULANCE, 150, _AREA),
    # West Yorkshire and Harrogate
    ("E54000005", "Bradford District Care NHS Foundation Trust", MH, 150, _AREA),
    ("E54000005", "Leeds and York Partnership NHS Foundation Trust", MH, 170, _HQ),
    ("E54000005", "South West Yorkshire Partnership NHS Foundation Trust", MH, 240, _HQ),
    ("E54000005", "Leeds Community Healthcare NHS Trust", COMMUNITY, 150, _AREA),
    # Humber, Coast and Vale
    ("E54000006", "Humber Teaching NHS Foundation Trust", MH, 150, _AREA),
    # Cheshire and Merseyside
    ("E54000008", "Cheshire and Wirral Partnership NHS Foundation Trust", MH, 180, _AREA),
    ("E54000008", "Mersey Care NHS Foundation Trust", MH, 350, _AREA),
    ("E54000008", "North West Boroughs Healthcare NHS Foundation Trust", MH, 170, _HQ),
    ("E54000008", "Wirral Community NHS Foundation Trust", COMMUNITY, 70, _AREA),
    (
        "E54000008",
        "Bridgewater Community Healthcare NHS Foundation Trust",
        COMMUNITY,
        110,
        "serves Halton and Warrington here and parts of Greater Manchester; Greater Manchester "
        "is a first-wave ICS that did not name it, so it is placed here",
    ),
    (
        "E54000008",
        "Liverpool Heart and Chest Hospital NHS Foundation Trust",
        SPECIALIST,
        160,
        _AREA,
    ),
    ("E54000008", "Liverpool Women's NHS Foundation Trust", SPECIALIST, 110, _AREA),
    ("E54000008", "The Walton Centre NHS Foundation Trust", SPECIALIST, 130, _AREA),
    ("E54000008", "The Clatterbridge Cancer Centre NHS Foundation Trust", SPECIALIST, 150, _AREA),
    # Staffordshire and Stoke on Trent
    ("E54000010", "Midlands Partnership NHS Foundation Trust", MH, 330, _HQ),
    ("E54000010", "North Staffordshire Combined Healthcare NHS Trust", MH, 90, _AREA),
    # Shropshire and Telford and Wrekin
    ("E54000011", "Shropshire Community Health NHS Trust", COMMUNITY, 70, _AREA),
    (
        "E54000011",
        "The Robert Jones and Agnes Hunt Orthopaedic Hospital NHS Foundation Trust",
        SPECIALIST,
        120,
        _AREA,
    ),
    # Derbyshire
    ("E54000012", "Derbyshire Healthcare NHS Foundation Trust", MH, 150, _AREA),
    (
        "E54000012",
        "Derbyshire Community Health Services NHS Foundation Trust",
        COMMUNITY,
        150,
        _AREA,
    ),
    # Lincolnshire
    ("E54000013", "Lincolnshire Partnership NHS Foundation Trust", MH, 110, _AREA),
    ("E54000013", "Lincolnshire Community Health Services NHS Trust", COMMUNITY, 120, _AREA),
    # Leicester, Leicestershire and Rutland
    ("E54000015", "Leicestershire Partnership NHS Trust", MH, 270, _AREA),
    (
        "E54000015",
        "East Midlands Ambulance Service NHS Trust",
        AMBULANCE,
        200,
        "serves the East Midlands; its headquarters are in Nottinghamshire, a first-wave ICS "
        "that did not name it, so it is placed in the most populous other footprint it serves",
    ),
    # The Black Country and West Birmingham
    ("E54000016", "Black Country Partnership NHS Foundation Trust", MH, 120, _AREA),
    ("E54000016", "Dudley and Walsall Mental Health Partnership NHS Trust", MH, 80, _AREA),
    (
        "E54000016",
        "West Midlands Ambulance Service University NHS Foundation Trust",
        AMBULANCE,
        290,
        _HQ,
    ),
    # Birmingham and Solihull
    ("E54000017", "Birmingham and Solihull Mental Health NHS Foundation Trust", MH, 270, _AREA),
    ("E54000017", "Birmingham Community Healthcare NHS Foundation Trust", COMMUNITY, 240, _AREA),
    ("E54000017", "The Royal Orthopaedic Hospital NHS Foundation Trust", SPECIALIST, 100, _AREA),
    # Coventry and Warwickshire
    ("E54000018", "Coventry and Warwickshire Partnership NHS Trust", MH, 210, _AREA),
    # Herefordshire and Worcestershire
    ("E54000019", "Worcestershire Health and Care NHS Trust", MH, 150, _AREA),
    # Northamptonshire
    ("E54000020", "Northamptonshire Healthcare NHS Foundation Trust", MH, 230, _AREA),
    # Cambridgeshire and Peterborough
    ("E54000021", "Cambridgeshire and Peterborough NHS Foundation Trust", MH, 140, _AREA),
    ("E54000021", "Cambridgeshire Community Services NHS Trust", COMMUNITY, 110, _HQ),
    ("E54000021", "Royal Papworth Hospital NHS Foundation Trust", SPECIALIST, 230, _AREA),
    ("E54000021", "East of England Ambulance Service NHS Trust", AMBULANCE, 290, _HQ),
    # Norfolk and Waveney
    ("E54000022", "Norfolk and Suffolk NHS Foundation Trust", MH, 230, _HQ),
    ("E54000022", "Norfolk Community Health and Care NHS Trust", COMMUNITY, 130, _AREA),
    # Hertfordshire and West Essex
    ("E54000025", "Hertfordshire Partnership University NHS Foundation Trust", MH, 230, _HQ),
    ("E54000025", "Hertfordshire Community NHS Trust", COMMUNITY, 120, _AREA),
    # Mid and South Essex
    ("E54000026", "Essex Partnership University NHS Foundation Trust", MH, 330, _HQ),
    # North West London
    ("E54000027", "Central and North West London NHS Foundation Trust", MH, 510, _HQ),
    ("E54000027", "West London NHS Trust", MH, 270, _AREA),
    ("E54000027", "Central London Community Healthcare NHS Trust", COMMUNITY, 210, _HQ),
    ("E54000027", "Royal Brompton and Harefield NHS Foundation Trust", SPECIALIST, 440, _LONDON),
    ("E54000027", "The Royal Marsden NHS Foundation Trust", SPECIALIST, 460, _LONDON),
    # North London
    ("E54000028", "Barnet, Enfield and Haringey Mental Health NHS Trust", MH, 200, _AREA),
    ("E54000028", "Camden and Islington NHS Foundation Trust", MH, 140, _AREA),
    ("E54000028", "Tavistock and Portman NHS Foundation Trust", MH, 60, _LONDON),
    (
        "E54000028",
        "Great Ormond Street Hospital for Children NHS Foundation Trust",
        SPECIALIST,
        530,
        _LONDON,
    ),
    ("E54000028", "Moorfields Eye Hospital NHS Foundation Trust", SPECIALIST, 230, _LONDON),
    ("E54000028", "Royal National Orthopaedic Hospital NHS Trust", SPECIALIST, 140, _LONDON),
    # East London
    ("E54000029", "East London NHS Foundation Trust", MH, 400, _HQ),
    ("E54000029", "North East London NHS Foundation Trust", MH, 400, _HQ),
    # South East London
    ("E54000030", "South London and Maudsley NHS Foundation Trust", MH, 450, _HQ),
    ("E54000030", "Oxleas NHS Foundation Trust", MH, 290, _AREA),
    (
        "E54000030",
        "London Ambulance Service NHS Trust",
        AMBULANCE,
        440,
        "serves all five London footprints; placed in the footprint of its headquarters",
    ),
    # South West London
    ("E54000031", "South West London and St George's Mental Health NHS Trust", MH, 200, _AREA),
    ("E54000031", "Hounslow and Richmond Community Healthcare NHS Trust", COMMUNITY, 90, _HQ),
    # Kent and Medway
    ("E54000032", "Kent and Medway NHS and Social Care Partnership Trust", MH, 190, _AREA),
    ("E54000032", "Kent Community Health NHS Foundation Trust", COMMUNITY, 240, _AREA),
    # Sussex and East Surrey
    ("E54000033", "Sussex Partnership NHS Foundation Trust", MH, 280, _AREA),
    ("E54000033", "Sussex Community NHS Foundation Trust", COMMUNITY, 220, _AREA),
    ("E54000033", "Queen Victoria Hospital NHS Foundation Trust", SPECIALIST, 70, _AREA),
    # Cornwall and the Isles of Scilly
    ("E54000036", "Cornwall Partnership NHS Foundation Trust", MH, 130, _AREA),
    # Devon
    ("E54000037", "Devon Partnership NHS Trust", MH, 140, _AREA),
    # Somerset
    ("E54000038", "Somerset Partnership NHS Foundation Trust", MH, 160, _AREA),
    # Bath and North East Somerset, Swindon and Wiltshire
    ("E54000040", "Avon and Wiltshire Mental Health Partnership NHS Trust", MH, 220, _HQ),
    # Hampshire and the Isle of Wight
    ("E54000042", "Southern Health NHS Foundation Trust", MH, 330, _AREA),
    ("E54000042", "Solent NHS Trust", COMMUNITY, 200, _AREA),
    # Gloucestershire
    ("E54000043", "2gether NHS Foundation Trust", MH, 110, _HQ),
    ("E54000043", "Gloucestershire Care Services NHS Trust", COMMUNITY, 120, _AREA),
]

#: CCGs (ODS codes) outside the first-wave ICSs given a deficit control total, and so CSF.
#: About a third of CCGs, as in the wave-1 file (15 of 41), chosen in the footprints whose
#: commissioners reported most financial pressure in 2017-19. Illustrative: not a statement
#: that these CCGs had deficit control totals.
DEFICIT_CCGS = frozenset(
    [
        # Humber, Coast and Vale
        "03Q",
        "03M",
        # Cheshire and Merseyside
        "01V",
        "01T",
        "01C",
        "01R",
        "02D",
        "02F",
        "02E",
        "12F",
        # Staffordshire and Stoke on Trent
        "04Y",
        "05D",
        "05G",
        "05Q",
        "05V",
        "05W",
        # Shropshire and Telford and Wrekin
        "05N",
        "05X",
        # Lincolnshire
        "03T",
        "04D",
        "99D",
        "04Q",
        # Northamptonshire
        "03V",
        "04G",
        # Cambridgeshire and Peterborough
        "06H",
        # Norfolk and Waveney
        "06M",
        "07J",
        # Mid and South Essex
        "99E",
        "99F",
        "07G",
        # Hertfordshire and West Essex
        "06N",
        # North West London
        "08G",
        # North London
        "07M",
        "07X",
        "08D",
        # South West London
        "07V",
        "08J",
        "08P",
        # Kent and Medway
        "10E",
        "10D",
        "09W",
        # Sussex and East Surrey
        "09G",
        "09H",
        "09X",
        "09D",
        "09P",
        "09F",
        "99K",
        # Devon
        "99P",
        "99Q",
        # Somerset
        "11X",
        # Cornwall and the Isles of Scilly
        "11N",
        # Herefordshire and Worcestershire
        "05J",
        "06D",
        "05F",
        # Bath and North East Somerset, Swindon and Wiltshire
        "12D",
        # Hampshire and the Isle of Wight
        "10L",
        # Cumbria and North East
        "01H",
        "03D",
    ]
)
