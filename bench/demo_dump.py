#!/usr/bin/env python3
"""demo_dump.py URL OUT: every table of a TCS database (sqlite://… or postgres://…) as sorted
text: its rows, SQLite's search tables with their rowids, PostgreSQL's sequences; the generation
instant's columns (added_date, amended_date) left out. For checking that a change to
`tis demo generate` writes the same data set as before (docs/benchmarks.md, "TCS posts and
placements"): generate the same --people N the same day with both binaries, dump both, diff
(the migrations tables differ, by their timestamps):

    tis-old demo generate --people 2000 --database-url $PG/old
    tis-new demo generate --people 2000 --database-url $PG/new
    bench/demo_dump.py $PG/old old.txt && bench/demo_dump.py $PG/new new.txt && diff old.txt new.txt
"""
import subprocess, sys, sqlite3
url, out = sys.argv[1], sys.argv[2]
SKIP = {"added_date", "amended_date"}
def dump_rows(name, cols, rows):
    lines = [f"## {name} ({', '.join(cols)}) {len(rows)} rows"]
    lines += sorted("\t".join("" if v is None else str(v) for v in r) for r in rows)
    return lines
lines = []
if url.startswith("sqlite://"):
    db = sqlite3.connect(url[len("sqlite://"):])
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_data' AND name NOT LIKE '%_idx' AND name NOT LIKE '%_docsize' AND name NOT LIKE '%_config' AND name NOT LIKE '%_content' ORDER BY name")]
    for t in tables:
        cur = db.execute(f'SELECT * FROM "{t}"')
        cols = [d[0] for d in cur.description]
        keep = [i for i, c in enumerate(cols) if c not in SKIP]
        rows = [[r[i] for i in keep] for r in cur.fetchall()]
        if t.startswith("search_") or "_search" in t:
            try:
                rid = db.execute(f'SELECT rowid FROM "{t}"').fetchall()
                rows = [[a[0]] + b for a, b in zip(rid, rows)]
            except sqlite3.Error:
                pass
        lines += dump_rows(t, [cols[i] for i in keep], rows)
else:
    def psql(sql):
        return subprocess.run(["psql", "-XAtq", url, "-F", "\t", "-c", sql], check=True, capture_output=True, text=True).stdout
    tables = psql("SELECT table_name FROM information_schema.tables WHERE table_schema='public' AND table_type='BASE TABLE' AND table_name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY 1").split()
    for t in tables:
        cols = [c for c in psql(f"SELECT column_name FROM information_schema.columns WHERE table_schema='public' AND table_name='{t}' ORDER BY ordinal_position").split() if c not in SKIP]
        sel = ", ".join(f'"{c}"' for c in cols)
        text = psql(f'COPY (SELECT {sel} FROM "{t}") TO STDOUT')
        rows = [l.split("\t") for l in text.splitlines()]
        lines += dump_rows(t, cols, rows)
    for s in psql("SELECT sequencename FROM pg_sequences WHERE schemaname='public' ORDER BY 1").split():
        lines.append(f"## sequence {s} {psql(f'SELECT last_value FROM {s}').strip()}")
open(out, "w").write("\n".join(lines) + "\n")
print(out, len(lines), "lines")
