#!/usr/bin/env python3
"""Where a SQLite write's tail comes from when several processes write one file (issue 13:
POST /placements on SQLite, two TCS instances, p99 40-117 ms against a 4 ms median).

WRITERS processes each run write transactions as TCS does (BEGIN IMMEDIATE, a read, a few
inserts, COMMIT) for SECONDS, on one WAL file (synchronous=NORMAL, as tis-store opens it).
Two ways to wait for the write lock are compared, side by side in one run:
  busy_timeout  SQLite's own busy handler (what sqlx sets): it sleeps 1, 2, 5, 10, 15, 20,
                25, 25, 25, 50, 50, 100 ms between tries, so a writer that just misses the lock
                sleeps on even when the holder is done a millisecond later;
  poll          busy_timeout 0 and a retry every 0.5 ms (a busy handler with short sleeps).
Prints, per way, the median and p99 of the wait for BEGIN IMMEDIATE and of the whole
transaction, in ms. HOLD: ms each transaction holds the lock beyond its statements.
Usage: WRITERS=4 SECONDS=8 HOLD=2 python3 bench/sqlite-writers.py
"""
import multiprocessing as mp
import os
import sqlite3
import statistics
import tempfile
import time

WRITERS = int(os.environ.get("WRITERS", "4"))
SECONDS = float(os.environ.get("SECONDS", "8"))
# Milliseconds each transaction holds the lock beyond its statements (a create's checks).
HOLD = float(os.environ.get("HOLD", "0"))


def connect(path, timeout):
    db = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def begin(db, way):
    if way == "busy_timeout":
        db.execute("BEGIN IMMEDIATE")
        return
    while True:
        try:
            db.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError:
            time.sleep(0.0005)


def writer(path, way, until, out):
    db = connect(path, 5.0 if way == "busy_timeout" else 0.0)
    waits, totals = [], []
    while time.time() < until:
        t0 = time.perf_counter()
        begin(db, way)
        t1 = time.perf_counter()
        db.execute("SELECT COUNT(*) FROM placement WHERE post_id = ?", (os.getpid() % 50,)).fetchone()
        for _ in range(4):
            db.execute("INSERT INTO placement (post_id, body) VALUES (?, ?)", (os.getpid() % 50, "x" * 200))
        if HOLD:
            time.sleep(HOLD / 1000)
        db.execute("COMMIT")
        t2 = time.perf_counter()
        waits.append((t1 - t0) * 1000)
        totals.append((t2 - t0) * 1000)
        time.sleep(0.002)  # the request's work outside the transaction
    out.put((waits, totals))


def run(way):
    path = os.path.join(tempfile.mkdtemp(), "w.db")
    db = connect(path, 5.0)
    db.execute("CREATE TABLE placement (id INTEGER PRIMARY KEY, post_id INTEGER, body TEXT)")
    db.execute("CREATE INDEX ix ON placement (post_id)")
    db.close()
    out = mp.Queue()
    until = time.time() + SECONDS
    ps = [mp.Process(target=writer, args=(path, way, until, out)) for _ in range(WRITERS)]
    for p in ps:
        p.start()
    waits, totals = [], []
    for _ in ps:
        w, t = out.get()
        waits += w
        totals += t
    for p in ps:
        p.join()
    q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(len(xs) * p))]
    print(f"{way:13} n={len(totals):6}  wait p50 {statistics.median(waits):6.2f} p99 {q(waits, 0.99):7.2f}"
          f"  | transaction p50 {statistics.median(totals):6.2f} p99 {q(totals, 0.99):7.2f} max {max(totals):7.2f} ms")
    return statistics.median(totals), q(totals, 0.99)


if __name__ == "__main__":
    print(f"WRITERS={WRITERS} SECONDS={SECONDS} HOLD={HOLD} load average {os.getloadavg()[0]:.1f}")
    a = run("busy_timeout")
    b = run("poll")
    print(f"busy_timeout/poll ratio: p50 {a[0] / b[0]:.2f}, p99 {a[1] / b[1]:.2f}")
