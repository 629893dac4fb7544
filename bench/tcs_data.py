#!/usr/bin/env python3
"""URLs for bench/tcs.sh (issue 12's numbers): TCS people searches over the generated people.

    tcs_data.py sample BASE TOKEN PAGES > sample.json   # PAGES random 500-row pages of people
    tcs_data.py urls MIX COUNT sample.json [RECORD_PATH [FROM]] > urls   # COUNT paths of one mix
    tcs_data.py sample-posts BASE TOKEN PAGES > posts.json   # PAGES random 500-row pages of posts

`sample` reads people through the API (`GET /tcs/api/people`, sorted by id, pages picked at
random with a fixed seed), so the URLs name people, programmes and training numbers that
exist on the backend measured. The mixes (each a list of 20-row pages as the UI asks, sorted
`id,desc` as the UI sends, unless said otherwise):

- `name`: `searchQuery` = the first 3 to 6 letters of a sampled surname (a prefix; the
  search is a contains-match, as the original's);
- `gmc`: `searchQuery` = a sampled person's 7-digit GMC number;
- `ntn`: `columnFilters={"trainingNumber":[NTN]}`, a sampled person's training number
  (`searchQuery` does not look at training numbers, as the original's did not);
- `programme`: `columnFilters={"programmeName":[name]}` of a sampled person's programme, 1 in
  4 also `programmeMembershipStatus` CURRENT, pages 0 to 4;
- `filters`: a `columnFilters` page: one or two `currentOwner`s (2 in 3 one), and in half of
  the URLs `status` CURRENT, in a quarter one `programmeMembershipStatus`; sorted by id
  (desc; 3 in 4) or surname; pages 0 to 9;
- `record`: one person, `/people/{id}/basic` (RECORD_PATH may give another form, `{id}`
  replaced), ids of sampled people.

The posts and placements mixes (issue 13; posts.json beside sample.json, from `sample-posts`):

- `posts`: a post list page (`/tcs/api/posts`, 20 rows, `id,desc`) with a `searchQuery`: a
  sampled post's whole National Post Number (1 in 3), its first two parts (`LDN/RJ122`, 1 in
  3), or the first 4 to 7 letters of its primary specialty's name;
- `postfilters`: a `columnFilters` post page: one `owner`, with its `primarySiteId` (1 in 3),
  an `approvedGradeId` (1 in 3) or `status` CURRENT; sorted by id (desc) or
  `nationalPostNumber`; pages 0 to 4;
- `placements`: one person's placements, `/people/{id}/placements`, ids of sampled people;
- `create`: `POST /tcs/api/placements` of a sampled person in a sampled post (its primary
  site and approved grade), each with its own `Idempotency-Key`, one day long and each on its
  own day from 2050-01-01 + FROM (FROM: an offset, so that each run creates new placements:
  no overlap with another of ours, nor with the generated ones, which end by 2040); lines
  are rate.py's JSON requests.
"""

import datetime
import json
import os
import random
import sys
import urllib.parse
import urllib.request
import uuid

API = "/tcs/api/people"


def cf(filters):
    return "columnFilters=" + urllib.parse.quote(json.dumps(filters, separators=(",", ":")), safe="")


def sample(base, token, pages):
    rng = random.Random(12)
    first = json.load(urllib.request.urlopen(urllib.request.Request(
        f"{base}{API}?size=1&sort=id,desc", headers={"Authorization": "Bearer " + token}), timeout=120))
    last = first[0]["id"] if first else 0
    people = []
    for page in sorted(rng.sample(range(max(1, last // 500)), min(pages, max(1, last // 500)))):
        req = urllib.request.Request(f"{base}{API}?size=500&page={page}&sort=id,asc",
                                     headers={"Authorization": "Bearer " + token})
        people.extend(json.load(urllib.request.urlopen(req, timeout=300)))
    json.dump(people, sys.stdout)


def sample_posts(base, token, pages):
    rng = random.Random(13)
    get = lambda url: json.load(urllib.request.urlopen(urllib.request.Request(
        base + url, headers={"Authorization": "Bearer " + token}), timeout=300))
    first = get("/tcs/api/posts?size=1&sort=id,desc")
    last = first[0]["id"] if first else 0
    posts = []
    for page in sorted(rng.sample(range(max(1, last // 500)), min(pages, max(1, last // 500)))):
        posts.extend(get(f"/tcs/api/posts?size=500&page={page}&sort=id,asc"))
    json.dump(posts, sys.stdout)


def urls(mix, count, people, record_path, posts=(), start=0):
    rng = random.Random(f"tcs-{mix}-{start}")
    owners = sorted({p["currentOwner"] for p in people if p.get("currentOwner")})
    out = []
    for _ in range(count):
        p = rng.choice(people)
        if mix == "name":
            s = (p.get("surname") or "smith").lower()
            n = rng.randint(3, min(6, max(3, len(s))))
            out.append(f"{API}?searchQuery={urllib.parse.quote(s[:n])}&size=20&sort=id,desc")
        elif mix == "gmc":
            g = p.get("gmcNumber") or next(q["gmcNumber"] for q in people if q.get("gmcNumber"))
            out.append(f"{API}?searchQuery={g}&size=20&sort=id,desc")
        elif mix == "ntn":
            t = p.get("trainingNumber") or next(q["trainingNumber"] for q in people if q.get("trainingNumber"))
            out.append(f"{API}?{cf({'trainingNumber': [t]})}&size=20&sort=id,desc")
        elif mix == "programme":
            name = p.get("programmeName") or next(q["programmeName"] for q in people if q.get("programmeName"))
            f = {"programmeName": [name]}
            if rng.random() < 0.25:
                f["programmeMembershipStatus"] = ["CURRENT"]
            out.append(f"{API}?{cf(f)}&size=20&page={rng.randint(0, 4)}&sort=id,desc")
        elif mix == "filters":
            f = {"currentOwner": rng.sample(owners, rng.choice([1, 1, 2]))}
            extra = rng.random()
            if extra < 0.5:
                f["status"] = ["CURRENT"]
            elif extra < 0.75:
                f["programmeMembershipStatus"] = [rng.choice(["CURRENT", "FUTURE", "PAST"])]
            sort = rng.choice(["id,desc", "id,desc", "id,desc", "surname,asc"])
            out.append(f"{API}?{cf(f)}&size=20&page={rng.randint(0, 9)}&sort={sort}")
        elif mix == "posts":
            q = rng.choice(posts)
            kind = rng.randrange(3)
            if kind == 0:
                term = q["nationalPostNumber"]
            elif kind == 1:
                term = "/".join(q["nationalPostNumber"].split("/")[:2])
            else:
                name = q.get("primarySpecialtyName") or "medicine"
                term = name[:rng.randint(4, 7)].lower()
            out.append(f"/tcs/api/posts?searchQuery={urllib.parse.quote(term, safe='')}&size=20&sort=id,desc")
        elif mix == "postfilters":
            q = rng.choice(posts)
            f = {"owner": [q["owner"]]}
            extra = rng.randrange(3)
            if extra == 0 and q.get("primarySiteId"):
                f["primarySiteId"] = [q["primarySiteId"]]
            elif extra == 1 and q.get("approvedGradeId"):
                f["approvedGradeId"] = [q["approvedGradeId"]]
            else:
                f["status"] = ["CURRENT"]
            sort = rng.choice(["id,desc", "id,desc", "nationalPostNumber,asc"])
            out.append(f"/tcs/api/posts?{cf(f)}&size=20&page={rng.randint(0, 4)}&sort={sort}")
        elif mix == "placements":
            out.append(f"{API}/{p['id']}/placements")
        elif mix == "create":
            q = rng.choice([q for q in posts if q.get("primarySiteId") and q.get("approvedGradeId")])
            day = datetime.date(2050, 1, 1) + datetime.timedelta(days=start + len(out))
            out.append(json.dumps({
                "method": "POST",
                "path": "/tcs/api/placements",
                "headers": {"Idempotency-Key": str(uuid.UUID(int=rng.getrandbits(128)))},
                "body": {
                    "traineeId": p["id"], "postId": q["id"],
                    "siteId": q["primarySiteId"], "siteCode": q.get("primarySiteCode"),
                    "gradeId": q["approvedGradeId"], "gradeAbbreviation": q.get("approvedGradeCode"),
                    "placementType": "IN_POST", "dateFrom": day.isoformat(), "dateTo": day.isoformat(),
                    "wholeTimeEquivalent": 1.0, "trainingDescription": "Benchmark",
                },
            }, separators=(",", ":")))
        elif mix == "record":
            out.append(record_path.replace("{id}", str(p["id"])))
        else:
            sys.exit(f"unknown mix {mix}")
    print("\n".join(out))


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "sample":
        sample(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) >= 5 and sys.argv[1] == "sample-posts":
        sample_posts(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) >= 5 and sys.argv[1] == "urls":
        record = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else API + "/{id}/basic"
        start = int(sys.argv[6]) if len(sys.argv) > 6 else 0
        posts_file = os.path.join(os.path.dirname(sys.argv[4]), "posts.json")
        posts = json.load(open(posts_file)) if os.path.exists(posts_file) else []
        urls(sys.argv[2], int(sys.argv[3]), json.load(open(sys.argv[4])), record, posts, start)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
