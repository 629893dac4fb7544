#!/usr/bin/env python3
"""Issue 11, per statement: what a sites list page costs on SQLite, old plan against new,
alternated per URL in one run, without the service, the gateway or HTTP around it.

    bench/lists_statements.py [DB] [URLS] [SEED]    # defaults: a fresh /tmp copy, 600, 1

DB: a SQLite file with Reference's schema and the sites (made when missing: the migrations
of crates/services/reference/migrations/sqlite and 50,000 sites of bench/lists_data.py, about
half a minute). URLS: how many of `lists_data.py urls N SEED`, the URLs bench/lists.sh sends.
The statements are written as the kit writes them (crates/kit/src/repo/query.rs):

- old: the page driven by the FTS5 match (`query::select`), then, when the page is full,
  its COUNT(*) (`query::count`), cold: never kept between URLs;
- new: for a search sorted by an indexed column (`query::walkable`) the COUNT(*) first, then
  `MAX(rowid)`, then the sort column's index walked when the page is expected within a
  half of the walk budget (`query::walk`, `Repo::sorted_page`), else as old.

- sets: what the kit reads for a list of a table with a data version since it keeps id sets
  (`repo::Sets`, `query::id_sets`): per condition (each filter, the term), the ids it matches
  as one `group_concat`, once per data version; timed here once per distinct condition of the
  URLs (what a cold instance, or every instance after a write, pays once per condition).

Each URL runs old then new (or new then old, alternating), cache_size 256 KiB as the service.
Rows of old and new are compared (order included) for every URL; a difference stops the run.
Prints p50 / p90 / p99 per kind of request, then the slowest old requests (SLOWEST=N, default
15) with their page and count statements' times apart: which URLs make the tail, and in which
statement. Uses pysqlite3 (a recent SQLite, as the
service's bundled one) when installed, else Python's sqlite3.
"""

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse

try:
    import pysqlite3 as sqlite3
except ImportError:
    import sqlite3

HERE = os.path.dirname(os.path.abspath(__file__))
MIGRATIONS = os.path.join(HERE, "..", "crates", "services", "reference", "migrations", "sqlite")
SEARCHABLE = ["site_code", "site_name", "site_known_as", "address", "post_code",
              "local_office", "trust_code"]
SELECT = ("site.id, site_code, site_name, site_known_as, site_number, address, post_code, "
          "start_date, end_date, local_office, trust_code, trust_id, organisational_unit, "
          "organization_type_id, status, intrepid_id")
SELECT_BARE = SELECT.replace("site.id", "id")
COLUMNS = {"siteName": "site_name", "siteCode": "site_code", "postCode": "post_code",
           "status": "status", "localOffice": "local_office", "trustCode": "trust_code"}
WALK_BUDGET = 4000


def make_db(path):
    db = sqlite3.connect(path)
    for f in sorted(os.listdir(MIGRATIONS)):
        db.executescript(open(os.path.join(MIGRATIONS, f)).read())
    cols = ["site_code", "site_name", "site_known_as", "site_number", "address", "post_code",
            "local_office", "trust_code", "start_date", "status"]
    keys = ["siteCode", "siteName", "siteKnownAs", "siteNumber", "address", "postCode",
            "localOffice", "trustCode", "startDate", "status"]
    out = subprocess.run([sys.executable, os.path.join(HERE, "lists_data.py"), "sites", "50000"],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        db.executemany(f"INSERT INTO site ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                       [[s.get(k) for k in keys] for s in json.loads(line)])
    db.commit()
    db.close()


def escape_like(s):
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def parse(url):
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    sort = q.get("sort", [None])[0]
    return {
        "term": q["searchQuery"][0].lower(),
        "filters": json.loads(q["columnFilters"][0]),
        "sort": (COLUMNS[sort.split(",")[0]], sort.split(",")[1] == "desc") if sort else None,
        "page": int(q.get("page", ["0"])[0]),
        "size": int(q.get("size", ["20"])[0]),
    }


def filters_sql(u):
    sql, args = [], []
    for k, vs in u["filters"].items():
        sql.append(f"{COLUMNS[k]} IN ({', '.join('?' * len(vs))})")
        args += vs
    return sql, args


def phrase(term):
    return "{%s} : \"%s\"" % (" ".join(SEARCHABLE), term.replace('"', '""'))


def order_by(u, id_expr):
    terms = []
    if u["sort"]:
        col, desc = u["sort"]
        terms.append(f"{col} DESC NULLS FIRST" if desc else f"{col} ASC NULLS LAST")
    terms.append(f"{id_expr} ASC")
    return " ORDER BY " + ", ".join(terms)


def select(u):
    f, a = filters_sql(u)
    where = (" WHERE " + " AND ".join(f)) if f else ""
    sql = (f"SELECT {SELECT} FROM (SELECT rowid AS search_rowid FROM search_site WHERE "
           f"search_site MATCH ?) CROSS JOIN site ON site.id = search_rowid{where}"
           f"{order_by(u, 'search_rowid')} LIMIT ? OFFSET ?")
    return sql, [phrase(u["term"])] + a + [u["size"], u["page"] * u["size"]]


def count(u):
    f, a = filters_sql(u)
    f.append("id IN (SELECT rowid FROM search_site WHERE search_site MATCH ?)")
    return "SELECT COUNT(*) AS n FROM site WHERE " + " AND ".join(f), a + [phrase(u["term"])]


def like_any(term):
    pattern = "%" + escape_like(term) + "%"
    parts = []
    for c in SEARCHABLE:
        e = c
        if "k" in term:
            e = f"REPLACE({e}, char(8490), 'k')"
        if "s" in term:
            e = f"REPLACE({e}, char(383), 's')"
        parts.append(f"{e} LIKE ? ESCAPE '\\'")
    return "(" + " OR ".join(parts) + ")", [pattern] * len(SEARCHABLE)


def walk(u, budget):
    col, desc = u["sort"]
    d = "DESC" if desc else "ASC"
    f, a = filters_sql(u)
    like, la = like_any(u["term"])
    cond = " WHERE " + " AND ".join(f + [like])
    sql = (f"SELECT {SELECT_BARE} FROM (SELECT * FROM site INDEXED BY ix_site_{col} WHERE {col} "
           f"IS NOT NULL ORDER BY {col} {d}, id ASC LIMIT {budget}) AS site{cond}")
    args = a + la
    if desc:
        sql += (f" AND NOT EXISTS (SELECT 1 FROM (SELECT * FROM site INDEXED BY ix_site_{col} "
                f"WHERE {col} IS NULL) AS site{cond})")
        args += a + la
    sql += f" ORDER BY {col} {d}, id ASC LIMIT ? OFFSET ?"
    return sql, args + [u["size"], u["page"] * u["size"]]


def walkable(u):
    return len(u["term"]) >= 3 and u["term"].isascii() and u["sort"] is not None


def old(db, u):
    rows = db.execute(*select(u)).fetchall()
    t_page = time.perf_counter()
    n = len(rows)
    if n < u["size"] and (n > 0 or u["page"] == 0):
        return rows, None, t_page
    db.execute(*count(u)).fetchone()
    return rows, "counted", t_page


def new(db, u):
    if not walkable(u):
        rows, counted, t = old(db, u)
        return rows, counted, t, "select"
    total = db.execute(*count(u)).fetchone()[0]
    end = (u["page"] + 1) * u["size"]
    if total >= end:
        table = db.execute("SELECT MAX(rowid) FROM site").fetchone()[0] or 0
        expected = end * max(table, total) // total
        if expected * 2 <= WALK_BUDGET:
            rows = db.execute(*walk(u, min(max(expected * 4, end), WALK_BUDGET))).fetchall()
            if len(rows) == u["size"]:
                return rows, "counted", None, "walk"
    rows = db.execute(*select(u)).fetchall()
    return rows, "counted", None, "select"


def set_reads(db, urls):
    """The id-set statement of each distinct condition of `urls` (`query::id_sets`), timed."""
    seen, times = set(), {}
    for url in urls:
        u = parse(url)
        conds = [("filter", f"SELECT group_concat(id) FROM site WHERE {COLUMNS[k]} IN "
                  f"({', '.join('?' * len(v))})", tuple(v)) for k, v in u["filters"].items()]
        if len(u["term"]) >= 3:
            conds.append(("term", "SELECT group_concat(id) FROM (SELECT rowid AS id FROM "
                          "search_site WHERE search_site MATCH ?)", (phrase(u["term"]),)))
        for kind, sql, args in conds:
            if (sql, args) in seen:
                continue
            seen.add((sql, args))
            t0 = time.perf_counter()
            text = db.execute(sql, args).fetchone()[0] or ""
            ids = {int(x) for x in text.split(",") if x}
            times.setdefault(f"sets: cold {kind} set", []).append((time.perf_counter() - t0) * 1000)
            times.setdefault(f"sets: {kind} set size", []).append(len(ids))
    return times


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/tis-lists-statements.db"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 600
    seed = sys.argv[3] if len(sys.argv) > 3 else "1"
    if not os.path.exists(path):
        make_db(path)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.execute("PRAGMA cache_size = -256")
    urls = subprocess.run([sys.executable, os.path.join(HERE, "lists_data.py"), "urls", str(n),
                           seed], capture_output=True, text=True, check=True).stdout.split()
    times = {}

    def add(kind, ms):
        times.setdefault(kind, []).append(ms)

    plans = {}
    slow = []
    for i, url in enumerate(urls):
        u = parse(url)
        if len(u["term"]) < 3:
            continue
        order = [0, 1] if i % 2 == 0 else [1, 0]
        got = [None, None]
        for which in order:
            t0 = time.perf_counter()
            if which == 0:
                rows, _, t_page = old(db, u)
                t1 = time.perf_counter()
                add("old: request (page + count)", (t1 - t0) * 1000)
                add("old: page statement", (t_page - t0) * 1000)
                slow.append(((t1 - t0) * 1000, (t_page - t0) * 1000, (t1 - t_page) * 1000, u))
                if u["sort"]:
                    add("old: request, column sort", (t1 - t0) * 1000)
            else:
                rows, _, _, plan = new(db, u)
                t1 = time.perf_counter()
                add("new: request (page + count)", (t1 - t0) * 1000)
                if u["sort"]:
                    add("new: request, column sort", (t1 - t0) * 1000)
                    plans[plan] = plans.get(plan, 0) + 1
            got[which] = rows
        if got[0] != got[1]:
            sys.exit(f"different rows for {url}:\n old {[r[0] for r in got[0]]}\n new "
                     f"{[r[0] for r in got[1]]}")
    times.update(set_reads(db, urls))
    print(f"SQLite {sqlite3.sqlite_version}, {len(urls)} URLs of seed {seed}, rows equal on all; "
          f"column-sorted pages: {plans}; load average {os.getloadavg()[0]:.1f}")
    print(f"| {'statement (ms)':32} | n | p50 | p90 | p99 | max |")
    print("|---|---|---|---|---|---|")
    for kind in sorted(times):
        xs = times[kind]
        print(f"| {kind:32} | {len(xs)} | {statistics.median(xs):.2f} | {pct(xs, 90):.2f} | "
              f"{pct(xs, 99):.2f} | {max(xs):.2f} |")
    print()
    print("| slowest old requests: ms | page ms | count ms | term | filters | sort | page |")
    print("|---|---|---|---|---|---|---|")
    for total, page, counted, u in sorted(slow, key=lambda x: -x[0])[:int(os.environ.get("SLOWEST", "15"))]:
        filters = ", ".join(f"{k}={len(v)}" for k, v in u["filters"].items())
        sort = f"{u['sort'][0]} {'desc' if u['sort'][1] else 'asc'}" if u["sort"] else "id"
        print(f"| {total:.1f} | {page:.1f} | {counted:.1f} | {u['term']} | {filters} | {sort} | {u['page']} |")


if __name__ == "__main__":
    main()
