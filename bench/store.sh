#!/usr/bin/env bash
# tis-store benchmark: GET-by-id load on the Reference service (over HTTP, wrk) with
# PostgreSQL primary + 2 replicas against primary-only, in the same run, with the share of
# statements each node served; then failover times (kill -9 → first successful write) with a
# manual `pg_ctl promote` and with Patroni + HAProxy.
#
# Usage: bench/store.sh [SECONDS_PER_RUN] [CONNECTIONS] [ROUNDS]     (from the repository root)
# Needs: wrk, PostgreSQL 15 server binaries, patroni etcd-server etcd-client haproxy (Debian).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p tis-reference --example replica_bench
exec target/release/examples/replica_bench "$@"
