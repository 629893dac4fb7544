#!/usr/bin/env python3
"""Writes a made-up 30-day status history, for screenshots of the status page.

    scripts/status-history-demo.py FILE [GATEWAY_ID]

FILE is a gateway's `gateway.status_history.file` (under `tis up`: DATA_DIR/status-history.jsonl),
written before the gateway starts: it reads the file back, as after a restart, and draws
the bars, percentages and incidents from it. The history is every capability working
normally for 27 days (the 3 oldest days have no data: the gateway was not yet running) but
for a few incidents; the format is `crates/gateway/src/status/history.rs`'s `Line`.
Standard library only; the same file every day it is run (times are relative to now).
"""

import json
import sys
import time

SLOT = 15 * 60 * 1000
DAY = 24 * 3600 * 1000
CAPS = {
    "login": "Login",
    "service:profile": "Users and permissions",
    "service:reference": "Reference data",
    "service:tcs": "Trainee records",
    "writes": "Saving changes",
}
# (capability, days ago, hour (UTC; today: hours ago), minute, minutes, level, reason)
INCIDENTS = [
    ("login", 0, -3, 0, 20, "degraded",
     "Login is unavailable: the identity provider cannot be reached. People already logged in can keep working for up to 12 hours."),
    ("service:reference", 1, 16, 53, 15, "degraded",
     "Reference data is working with reduced capacity: 1 of 2 instances are not responding. It may be slower than usual."),
    ("writes", 3, 7, 53, 6, "degraded",
     "Changes cannot be saved in Trainee records right now: its database is read-only while it recovers. Viewing still works."),
    ("service:tcs", 9, 2, 10, 9, "down",
     "Trainee records is unavailable: none of its 2 instances is responding."),
]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path, gw = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "gw-demo000000000001")
    now = int(time.time() * 1000)
    today = now - now % DAY
    first = today - 26 * DAY
    bad = {}  # (capability, slot) -> (level, ms)
    lines = [{"k": "gateway", "id": gw}]
    for cap, days, hour, minute, minutes, level, reason in INCIDENTS:
        if days == 0:  # today: `hour` is hours ago, so that it falls in the last 24 hours
            start = now + hour * 3600 * 1000 + minute * 60 * 1000
            start -= start % 60000
        else:
            start = today - days * DAY + hour * 3600 * 1000 + minute * 60 * 1000
        end = start + minutes * 60 * 1000
        t = start
        while t < end:
            slot = t - t % SLOT
            step = min(end, slot + SLOT) - t
            lvl, ms = bad.get((cap, slot), (level, 0))
            bad[(cap, slot)] = (level, ms + step)
            t += step
        lines.append({"k": "incident", "gateway": gw, "capability": cap, "name": CAPS[cap],
                      "start": start, "end": end, "level": level, "reason": reason})
    slot = first
    last = now - now % SLOT
    while slot < last:
        for cap in CAPS:
            level, ms = bad.get((cap, slot), ("ok", 0))
            counts = {"ok": SLOT - ms, "degraded": 0, "down": 0}
            if ms:
                counts[level] = ms
            lines.append({"k": "cell", "slot": slot, "capability": cap, "gateway": gw, **counts})
        slot += SLOT
    lines.append({"k": "seen", "gateway": gw, "at": last})
    lines += [{"k": "name", "id": i, "name": n} for i, n in CAPS.items()]
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    print(f"{path}: {len(lines)} lines, {(last - first) // DAY} days")


if __name__ == "__main__":
    main()
