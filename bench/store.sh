#!/usr/bin/env bash
# tis-store benchmark: GET-by-id load on the Reference service (over HTTP, wrk) with
# PostgreSQL primary + 2 replicas against primary-only, in the same run, with the share of
# statements each node served; then failover times (kill -9 → first successful write) with a
# manual `pg_ctl promote` and with Patroni + HAProxy.
#
# Usage: bench/store.sh [SECONDS_PER_RUN] [CONNECTIONS] [ROUNDS]     (from the repository root)
# Needs: wrk, PostgreSQL 15 server binaries, patroni etcd-server etcd-client haproxy (Debian).
# Data: BENCH_DATA=FILE appends each run's req/s (target "hits, primary only"…) and the two
# failover times as JSON lines (bench/lib.sh). Progress shows on a terminal only.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=store
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_progress "building the benchmark (release)"
cargo build --release -q -p tis-reference --example replica_bench
bench_progress "running: clusters, wrk rounds, then two failovers (a few minutes)"
OUT=$(mktemp /tmp/tis-bench-store.XXXXXX)
trap 'rm -f "$OUT"' EXIT
target/release/examples/replica_bench "$@" | tee "$OUT"
bench_progress_done
[ -n "${BENCH_DATA:-}" ] || exit 0
# The table's rows "| run | ids | configuration | req/s | …" and the failover sentences.
python3 - "$OUT" <<'PY' | while IFS=$'\t' read -r target metric value unit; do bench_data "$target" "$metric" "$value" "$unit"; done
import re, sys
for line in open(sys.argv[1], encoding="utf-8"):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) >= 4 and cells[0].isdigit():
        print(f"{cells[1]}, {cells[2]}\treq_per_s\t{cells[3]}\treq/s")
    m = re.match(r"(manual promotion|Patroni \+ HAProxy): first successful write ([0-9.]+) s", line.strip())
    if m:
        print(f"{m.group(1)}\tfailover_s\t{m.group(2)}\ts")
PY
