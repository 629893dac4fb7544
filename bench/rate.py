#!/usr/bin/env python3
"""A constant-rate (open-model) HTTP/1.1 load driver, wrk2-style, standard library only.

    rate.py --rate 200 --duration 30 --conns 16 --header "Authorization: Bearer …" \
            --urls FILE http://127.0.0.1:8080

Request i is due at start + i/rate whatever the answers take; its latency is measured from
that due time, not from when a connection became free, so a slow answer that holds later
requests back counts against every request it delayed (no coordinated omission). The paths
in FILE (one per line, `/path?query`) are used in turn; a line that is a JSON object,
`{"method": "POST", "path": …, "headers": {…}, "body": …}`, is that request instead (a write
with its own Idempotency-Key, say). Requests still unanswered --grace
seconds after the last one was due are abandoned and counted as "unfinished", with the time
they had waited (a lower bound). Prints one JSON object: the rate achieved, the count of
answers by status, and latency percentiles in milliseconds.

Data: with `BENCH_DATA=FILE` in the environment (or --data FILE), the figures are also
appended to FILE as JSON lines, one per metric, the format `scripts/bench-charts.py` reads:
{"bench": "rate", "run": "<start, RFC 3339>", "target": "<--label>", "metric": "p99_ms",
"value": 4.2, "unit": "ms", "load": "<load average>", "command": "<argv>"}. So every script
that drives load through rate.py writes its data without a change of its own.

Progress: on a terminal (stderr is a TTY), one line updated every second (elapsed, sent,
answered, in flight); nothing when stderr is a file or a pipe (CI, logs).
"""

import argparse
import asyncio
import datetime
import json
import os
import sys
import time
import urllib.parse


class Conn:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, raw):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        if headers.get("connection", "").lower() == "close":
            self.writer.close()
            self.reader = self.writer = None
        return status


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def raw(line, host, extra):
    if not line.startswith("{"):
        return f"GET {line} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()
    r = json.loads(line)
    body = json.dumps(r["body"]).encode() if "body" in r else b""
    head = "".join(f"{k}: {v}\r\n" for k, v in r.get("headers", {}).items())
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return f"{r['method']} {r['path']} HTTP/1.1\r\nHost: {host}\r\n{extra}{head}\r\n".encode() + body


async def run(args):
    url = urllib.parse.urlsplit(args.base)
    host, port = url.hostname, url.port or 80
    paths = [line.strip() for line in open(args.urls) if line.strip()]
    extra = "".join(f"{h}\r\n" for h in args.header)
    raws = [raw(p, url.netloc, extra) for p in paths]
    pool = asyncio.Queue()
    for _ in range(args.conns):
        pool.put_nowait(Conn(host, port))
    latencies, statuses, errors = [], {}, 0
    total = int(args.rate * args.duration)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1

    async def one(i):
        nonlocal errors
        due = start + i / args.rate
        conn = await pool.get()
        try:
            status = await conn.request(raws[i % len(raws)])
            statuses[status] = statuses.get(status, 0) + 1
        except Exception:  # a refused or reset connection: counted, and a new one next time
            errors += 1
            conn.reader = conn.writer = None
        finally:
            pool.put_nowait(conn)
        latencies.append((loop.time() - due) * 1000)

    tasks = []
    progress = asyncio.create_task(show_progress(args, start, tasks, latencies)) if sys.stderr.isatty() else None
    for i in range(total):
        delay = start + i / args.rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    # Requests still unanswered `grace` seconds after the last was due are abandoned and
    # counted with the time they had waited so far (a lower bound of their latency).
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, start + args.duration + args.grace - loop.time()))
    for t in pending:
        t.cancel()
    if progress:
        progress.cancel()
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    now = loop.time()
    unfinished = len(pending)
    latencies.extend((now - (start + i / args.rate)) * 1000 for i, t in enumerate(tasks) if t in pending)
    elapsed = min(now, loop.time()) - start
    lat = sorted(latencies)
    return {
        "requests": total,
        "rate": round(total / elapsed, 1),
        "answered_per_s": round((total - unfinished - errors) / elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": errors,
        "unfinished": unfinished,
        "p50": round(percentile(lat, 50), 2),
        "p90": round(percentile(lat, 90), 2),
        "p99": round(percentile(lat, 99), 2),
        "p99.9": round(percentile(lat, 99.9), 2),
        "max": round(lat[-1], 2) if lat else None,
    }


async def show_progress(args, start, tasks, latencies):
    """One line on the terminal, rewritten every second."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(1)
        elapsed = max(0.0, loop.time() - start)
        sent, answered = len(tasks), len(latencies)
        print(
            f"\r\033[K  {elapsed:5.1f}/{args.duration:g} s  sent {sent}  answered {answered}  in flight {sent - answered}",
            end="", file=sys.stderr, flush=True,
        )


def write_data(path, args, out, started):
    """Appends `out` to `path` as one JSON line per metric (see the module documentation)."""
    base = {
        "bench": os.environ.get("BENCH_NAME", "rate"),
        "run": started,
        "target": args.label or os.environ.get("BENCH_LABEL") or f"{args.base} {os.path.basename(args.urls)}",
        "load": " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "?",
        "command": " ".join(sys.argv),
        "rate": args.rate,
        "duration_s": args.duration,
    }
    metrics = [("answered_per_s", "req/s"), ("p50", "ms"), ("p90", "ms"), ("p99", "ms"), ("p99.9", "ms"),
               ("max", "ms"), ("errors", "requests"), ("unfinished", "requests")]
    with open(path, "a", encoding="utf-8") as f:
        for key, unit in metrics:
            if out.get(key) is None:
                continue
            name = key if unit != "ms" else f"{key}_ms"
            f.write(json.dumps({**base, "metric": name, "value": out[key], "unit": unit}) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--grace", type=float, default=10,
                    help="seconds after the last request was due before the unanswered are abandoned")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--urls", required=True)
    ap.add_argument("--label", help="what is measured, in the data file (default: BENCH_LABEL, or the URL and the urls file)")
    ap.add_argument("--data", default=os.environ.get("BENCH_DATA"),
                    help="append the figures to this JSON-lines file too (default: BENCH_DATA)")
    ap.add_argument("base")
    args = ap.parse_args()
    t = time.time()
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = asyncio.run(run(args))
    out["wall_s"] = round(time.time() - t, 1)
    json.dump(out, sys.stdout)
    print()
    if args.data:
        write_data(args.data, args, out, started)


if __name__ == "__main__":
    main()
