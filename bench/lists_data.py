#!/usr/bin/env python3
"""Synthetic sites for bench/lists.sh: deterministic, shaped like the demo's.

    lists_data.py sites N [ORG_TYPE_IDS]   # N sites as JSON lines, 500 per line (bulk bodies)
    lists_data.py urls N SEED              # N list URLs (path?query) as lines, shuffled

Names are "<prefix> <town> <kind>" over 120 towns, 12 prefixes and 10 kinds, so a town
matches about 1 in 120 sites, a kind about 1 in 10, a post-code area about 1 in 40. Every
site has a local office (one of the 13 demo ones), a trust code, 80 % are CURRENT.
"""

import json
import random
import sys
import urllib.parse

TOWNS = """Aldershot Alnwick Andover Ashford Aylesbury Banbury Barnsley Barnstaple Basildon
Basingstoke Bedford Birkenhead Blackburn Blackpool Bolton Boston Bournemouth Bradford
Brighton Bristol Burnley Burton Bury Cambridge Canterbury Carlisle Chatham Chelmsford
Cheltenham Chester Chesterfield Chichester Colchester Coventry Crawley Crewe Darlington
Derby Doncaster Dorchester Dudley Durham Eastbourne Exeter Folkestone Gateshead Gloucester
Grantham Grimsby Guildford Halifax Harlow Harrogate Hartlepool Hastings Hereford Huddersfield
Ipswich Kendal Kettering Lancaster Leeds Leicester Lincoln Liverpool Luton Maidstone
Mansfield Margate Middlesbrough Milton Newark Newbury Newcastle Northampton Norwich
Nottingham Oldham Oxford Penrith Penzance Peterborough Plymouth Poole Portsmouth Preston
Reading Redditch Rochdale Rotherham Rugby Salford Salisbury Scarborough Scunthorpe
Sheffield Shrewsbury Slough Southampton Southend Southport Stafford Stevenage Stockport
Stoke Sunderland Swindon Taunton Telford Torquay Truro Wakefield Walsall Warrington
Watford Weymouth Wigan Winchester Wolverhampton Worcester Worthing Yeovil York""".split()
PREFIXES = ["", "St Mary's", "Royal", "Queen Elizabeth", "North", "South", "Park Road",
            "Victoria", "Princess Alexandra", "West", "Community", "The"]
KINDS = ["Hospital", "General Hospital", "Surgery", "Medical Centre", "Health Centre",
         "Community Hospital", "Hospice", "Clinic", "Practice", "Infirmary"]
STREETS = ["High Street", "Station Road", "Church Lane", "London Road", "Mill Lane",
           "Victoria Road", "Green Lane", "Manor Road", "Queens Road", "Park Avenue"]
OFFICES = ["Health Education England North West London",
           "Health Education England North Central and East London",
           "Health Education England South London",
           "Health Education England Kent, Surrey and Sussex",
           "Health Education England Wessex", "Health Education England Thames Valley",
           "Health Education England East of England", "Health Education England West Midlands",
           "Health Education England East Midlands", "Health Education England North West",
           "Health Education England Yorkshire and the Humber",
           "Health Education England North East", "Health Education England South West"]
TRUSTS = ["RJ1", "RJZ", "RYJ", "RQM", "RRV", "R1H", "RAL", "RRK", "R0A", "REM", "RTH", "RHM"]
AREAS = [t[:2].upper() for t in TOWNS[:40]]


def site(i, rnd, org_types):
    town = TOWNS[i % len(TOWNS)]
    prefix = PREFIXES[rnd.randrange(len(PREFIXES))]
    kind = KINDS[rnd.randrange(len(KINDS))]
    name = " ".join(p for p in (prefix, town, kind) if p)
    area = AREAS[rnd.randrange(len(AREAS))]
    s = {
        "siteCode": f"BS{i:06d}",
        "siteName": name,
        "siteKnownAs": f"{town} {kind}",
        "siteNumber": str(100000 + i),
        "address": f"{rnd.randrange(1, 300)} {STREETS[rnd.randrange(len(STREETS))]}, {town}",
        "postCode": f"{area}{rnd.randrange(1, 30)} {rnd.randrange(1, 10)}{chr(65 + rnd.randrange(26))}{chr(65 + rnd.randrange(26))}",
        "localOffice": OFFICES[rnd.randrange(len(OFFICES))],
        "trustCode": TRUSTS[rnd.randrange(len(TRUSTS))],
        "startDate": "2013-04-01",
        "status": "CURRENT" if rnd.random() < 0.8 else "INACTIVE",
    }
    if org_types:
        s["organizationType"] = {"id": org_types[rnd.randrange(len(org_types))]}
    return s


def sites(n, org_types):
    rnd = random.Random(11)
    batch = []
    for i in range(n):
        batch.append(site(i, rnd, org_types))
        if len(batch) == 500:
            print(json.dumps(batch))
            batch = []
    if batch:
        print(json.dumps(batch))


def urls(n, seed):
    """List pages a user would ask for: a search term (a town, a kind, a post-code area,
    part of a name) and one to three column filters, 20 rows, some sorted, some past page 0."""
    rnd = random.Random(seed)
    terms = ([t.lower() for t in TOWNS] + [t[:5] for t in TOWNS] + KINDS
             + [f"{a}1" for a in AREAS] + ["royal", "st mary", "queen", "centre", "BS0012"])
    for _ in range(n):
        filters = {"status": ["CURRENT"]}
        r = rnd.random()
        if r < 0.5:
            filters["localOffice"] = [OFFICES[rnd.randrange(len(OFFICES))]]
        elif r < 0.75:
            filters["trustCode"] = rnd.sample(TRUSTS, 2)
        params = {
            "page": str(0 if rnd.random() < 0.8 else rnd.randrange(1, 3)),
            "size": "20",
            "searchQuery": rnd.choice(terms),
            "columnFilters": json.dumps(filters, separators=(",", ":")),
        }
        if rnd.random() < 0.3:
            params["sort"] = rnd.choice(["siteName,asc", "siteCode,desc", "postCode,asc"])
        print("/reference/api/sites?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote))


def writes(n, first, org_types):
    """Creates of one site each (rate.py's JSON lines), ids from `first` on: every one moves
    the sites' data version, so every instance's kept sets and orders are read again."""
    rnd = random.Random(first)
    for i in range(first, first + n):
        print(json.dumps({"method": "POST", "path": "/reference/api/sites", "body": site(i, rnd, org_types)}))


if __name__ == "__main__":
    if sys.argv[1] == "sites":
        org = [int(x) for x in sys.argv[3].split(",")] if len(sys.argv) > 3 and sys.argv[3] else []
        sites(int(sys.argv[2]), org)
    elif sys.argv[1] == "writes":
        org = [int(x) for x in sys.argv[4].split(",")] if len(sys.argv) > 4 and sys.argv[4] else []
        writes(int(sys.argv[2]), int(sys.argv[3]), org)
    else:
        urls(int(sys.argv[2]), int(sys.argv[3]))
