#!/usr/bin/env python3
"""Draws the key benchmark comparisons as SVG from the benchmarks' data files.

    scripts/bench-charts.py [DATA_DIR] [OUT_DIR]     (defaults: docs/benchmarks/data docs/benchmarks)

Python standard library only (no matplotlib): the SVG is written by hand, so the charts can
be redrawn anywhere the repository is, and review as text in a diff.

Input: every `*.jsonl` in DATA_DIR, one measurement a line:
    {"bench": "gateway", "run": "<RFC 3339 start of the run>", "target": "nginx proxy",
     "metric": "req_per_s", "value": 51741.37, "unit": "req/s", "load": "1.73 1.96 1.93", ...}
as `bench/gateway.sh` (and `bench/rate.py`, `"bench": "rate"`) append when `BENCH_DATA` is
set. A metric's bar is the median over the runs; each run is a dot on it. Of each bench, only
the runs of its latest day (UTC) are drawn: older files stay as the record, and a chart never
mixes a quiet night with a loaded afternoon.

Output (the gateway's comparisons, issue 4 and issue 18):
    gateway-throughput.svg      req/s: direct, tis gateway, nginx, HAProxy (and the others measured)
    gateway-cpu.svg             CPU µs per request of each proxy, during its own run
    gateway-added-latency.svg   latency the gateway adds at a fixed 2,000 req/s, p50 and p99,
                                against the targets (0.3 ms, 2 ms)
and, when their data is there (`bench/lib.sh`'s `bench_data`):
    rss-idle.svg                idle RSS of each TIS process of `tis up` (bench/rss.sh), against
                                the 20 MB target of issue 11
    tracing.svg                 the gateway's req/s with traces off and on (bench/tracing.sh)
"""

import glob
import json
import os
import statistics
import sys
from xml.sax.saxutils import escape

ORDER = [
    "direct",
    "tis gateway (JWT)",
    "gateway (before)",
    "gateway, Profile (cached)",
    "nginx proxy",
    "haproxy",
    "bare hyper proxy (floor)",
    "hyper + tis-mesh only",
]
OURS = {"tis gateway (JWT)", "gateway (before)", "gateway, Profile (cached)"}
# GOV.UK palette, as the status page: readable in colour-blind tests, text never on colour.
COLOUR_OURS, COLOUR_THEIRS, COLOUR_DOT, TEXT, GRID = "#1d70b8", "#b1b4b6", "#0b0c0c", "#0b0c0c", "#dcdcdc"


def load(data_dir):
    rows = []
    for path in sorted(glob.glob(os.path.join(data_dir, "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    sys.exit(f"{path}:{n}: not JSON: {e}")
    return rows


def latest_day(rows):
    """Each bench's rows of the last day it was run."""
    last = {}
    for r in rows:
        b = r.get("bench")
        last[b] = max(last.get(b, ""), r.get("run", "")[:10])
    return [r for r in rows if r.get("run", "")[:10] == last[r.get("bench")]]


def series(rows, bench, metric):
    """target -> list of (run, value), in ORDER then the others alphabetically."""
    out = {}
    for r in rows:
        if r.get("bench") == bench and r.get("metric") == metric:
            out.setdefault(r["target"], []).append((r["run"], float(r["value"])))
    rank = {t: i for i, t in enumerate(ORDER)}
    return dict(sorted(out.items(), key=lambda kv: (rank.get(kv[0], len(ORDER)), kv[0])))


def nice_max(v):
    if v <= 0:
        return 1
    mag = 10 ** (len(str(int(v))) - 1) if v >= 1 else 0.1
    for step in (1, 2, 2.5, 5, 10):
        if step * mag >= v:
            return step * mag
    return 10 * mag


def fmt(v, unit):
    if unit == "req/s":
        return f"{v / 1000:.1f} k"
    if unit == "ms":
        return f"{v:.3f} ms"
    return f"{v:.1f} {unit}"


def bar_chart(title, subtitle, when, bars, unit, targets=(), width=760):
    """bars: [(label, values, ours)]: one horizontal bar (median) with a dot per run."""
    left, right, top, row = 230, 90, 96, 34
    height = top + row * len(bars) + 46
    top_value = nice_max(max([max(v) for _, v, _ in bars] + [t for t, _ in targets]))
    plot = width - left - right
    x = lambda v: left + plot * v / top_value
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="t d" '
        f'font-family="system-ui, sans-serif" font-size="13">',
        f'<title id="t">{escape(title)}</title>',
        "<desc id=\"d\">"
        + escape("; ".join(f"{l}: median {fmt(statistics.median(v), unit)} over {len(v)} runs" for l, v, _ in bars))
        + "</desc>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="12" y="24" font-size="16" font-weight="bold" fill="{TEXT}">{escape(title)}</text>',
        f'<text x="12" y="44" fill="#505a5f">{escape(subtitle)}</text>',
        f'<text x="12" y="62" fill="#505a5f">{escape(when)}</text>',
    ]
    for i in range(6):
        v = top_value * i / 5
        gx = x(v)
        out.append(f'<line x1="{gx:.1f}" y1="{top - 6}" x2="{gx:.1f}" y2="{top + row * len(bars)}" stroke="{GRID}"/>')
        out.append(
            f'<text x="{gx:.1f}" y="{top + row * len(bars) + 18}" text-anchor="middle" fill="#505a5f">'
            f"{escape(fmt(v, unit))}</text>"
        )
    for i, (label, values, ours) in enumerate(bars):
        y = top + row * i
        med = statistics.median(values)
        colour = COLOUR_OURS if ours else COLOUR_THEIRS
        out.append(f'<text x="{left - 8}" y="{y + 19}" text-anchor="end" fill="{TEXT}">{escape(label)}</text>')
        out.append(f'<rect x="{left}" y="{y + 5}" width="{max(1, x(med) - left):.1f}" height="{row - 12}" fill="{colour}"/>')
        for v in values:
            out.append(f'<circle cx="{x(v):.1f}" cy="{y + row / 2 - 1:.1f}" r="3" fill="{COLOUR_DOT}" fill-opacity="0.7"/>')
        out.append(f'<text x="{x(max(values)) + 8:.1f}" y="{y + 19}" fill="{TEXT}">{escape(fmt(med, unit))}</text>')
    for value, label in targets:
        tx = x(value)
        out.append(
            f'<line x1="{tx:.1f}" y1="{top - 10}" x2="{tx:.1f}" y2="{top + row * len(bars)}" '
            f'stroke="#d4351c" stroke-width="2" stroke-dasharray="6 4"/>'
        )
        anchor = ("end", tx - 4) if tx > width - 160 else ("start", tx + 4)
        out.append(
            f'<text x="{anchor[1]:.1f}" y="{top - 14}" text-anchor="{anchor[0]}" fill="#d4351c">{escape(label)}</text>'
        )
    out.append(
        f'<text x="12" y="{height - 8}" fill="#505a5f">bar: median of the runs; dots: each run. '
        f"Blue: TIS; grey: the others.</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def runs_note(rows, bench):
    runs = sorted({r["run"] for r in rows if r.get("bench") == bench})
    loads = sorted({r.get("load", "?") for r in rows if r.get("bench") == bench})
    return runs, loads


def gateway(rows, out_dir):
    runs, loads = runs_note(rows, "gateway")
    if not runs:
        return []
    first = [float(l.split()[0]) for l in loads if l and l != "?"]
    when = f"{len(runs)} runs, {runs[0][:10]} {runs[0][11:16]}–{runs[-1][11:16]} UTC" + (
        f", load average {min(first):.1f}–{max(first):.1f}" if first else "")
    written = []
    rps = series(rows, "gateway", "req_per_s")
    if rps:
        written.append(("gateway-throughput.svg", bar_chart(
            "Requests per second through each proxy (higher is better)",
            "bench/gateway.sh: wrk -t2 -c32 -d10s, the same 1 KB upstream, one target after the other", when,
            [(t, [v for _, v in vs], t in OURS) for t, vs in rps.items()], "req/s")))
    cpu = series(rows, "gateway", "cpu_us_per_req")
    if cpu:
        floor = sorted(v for _, v in cpu.get("bare hyper proxy (floor)", []))
        targets = []
        if floor:  # issue 17: the gateway's CPU a request within 1.25 × the floor's median
            targets = [(1.25 * floor[len(floor) // 2], "1.25 × floor (target)")]
        written.append(("gateway-cpu.svg", bar_chart(
            "CPU per request, µs (lower is better)",
            "the proxy's user+system CPU during its own wrk run ÷ its requests", when,
            [(t, [v for _, v in vs], t in OURS) for t, vs in cpu.items()], "µs",
            targets=targets)))
    p50, p99 = series(rows, "gateway", "p50_ms_at_2000"), series(rows, "gateway", "p99_ms_at_2000")
    if "direct" in p50 and "gateway" in p50:
        def added(s):
            direct = dict(s["direct"])
            return [v - direct[run] for run, v in s["gateway"] if run in direct]
        written.append(("gateway-added-latency.svg", bar_chart(
            "Latency the gateway adds at 2,000 req/s, ms (lower is better)",
            "oha -q 2000 -z 10s -c 16: the gateway's percentile minus direct's, same run", when,
            [("added p50", added(p50), True), ("added p99", added(p99), True)], "ms",
            targets=[(0.3, "p50 target 0.3 ms"), (2.0, "p99 target 2 ms")])))
    for name, svg in written:
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            f.write(svg)
    return [n for n, _ in written]


def when_note(rows, bench):
    runs, loads = runs_note(rows, bench)
    first = [float(l.split()[0]) for l in loads if l and l != "?"]
    return f"{len(runs)} run(s), {runs[0][:10]} {runs[0][11:16]}–{runs[-1][11:16]} UTC" + (
        f", load average {min(first):.1f}–{max(first):.1f}" if first else "")


def others(rows, out_dir):
    """The charts of the other benches, each drawn when its data is there."""
    written = []
    rss = series(rows, "rss", "rss_mb_idle")
    if rss:
        written.append(("rss-idle.svg", bar_chart(
            "Idle RSS of each TIS process, MB (lower is better)",
            "bench/rss.sh: a fresh tis up on SQLite, every instance ready, then idle; median of instances",
            when_note(rows, "rss"),
            [(t, [v for _, v in vs], True) for t, vs in rss.items()], "MB",
            targets=[(20.0, "target 20 MB")])))
    tracing = series(rows, "tracing", "req_per_s")
    if tracing:
        written.append(("tracing.svg", bar_chart(
            "The gateway's req/s with traces off and on (higher is better)",
            "bench/tracing.sh: the same release gateway twice, wrk -t2 -c32, rounds alternating",
            when_note(rows, "tracing"),
            [(t, [v for _, v in vs], "off" not in t) for t, vs in tracing.items()], "req/s")))
    for name, svg in written:
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            f.write(svg)
    return [n for n, _ in written]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "docs/benchmarks/data")
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "docs/benchmarks")
    rows = latest_day(load(data_dir))
    os.makedirs(out_dir, exist_ok=True)
    names = gateway(rows, out_dir)
    if not names:
        sys.exit(f"no gateway measurements in {data_dir}/*.jsonl")
    names += others(rows, out_dir)
    for n in names:
        print(os.path.join(out_dir, n))


if __name__ == "__main__":
    main()
