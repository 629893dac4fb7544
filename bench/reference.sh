#!/usr/bin/env bash
# Reference service baselines (issue 2): one instance's RSS idle and under load, and wrk on
#   GET /reference/api/grades/{id}
#   GET /reference/api/sites?page=0&size=20&columnFilters={"status":["CURRENT"],"organizationType":[…]}
# on SQLite and on PostgreSQL, in one run. The sites table is filled to 5,033 rows first.
#
#   bench/reference.sh                # DURATION=15s CONNS=32 THREADS=2 by default
#
# Needs wrk and PostgreSQL's server binaries (Debian: wrk, postgresql). Runs as root or not.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}

cargo build --release -q -p tis
TIS=$PWD/target/release/tis
WORK=$(mktemp -d /tmp/tis-bench-ref.XXXXXX)
PIDS=()
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
RUN_AS=()
if [ "$(id -u)" = 0 ]; then RUN_AS=(runuser -u postgres --); fi
cleanup() {
    for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -d "$WORK/pg" ] && "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json() { python3 -c "import json,sys; d=json.load(open('$1')); print(eval(sys.argv[1]))" "$2"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

start_pg() {
    mkdir -p "$WORK/pg"
    [ "$(id -u)" = 0 ] && chown postgres: "$WORK/pg"
    local port; port=$(free_port)
    "${RUN_AS[@]}" "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
    cat >> "$WORK/pg/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$WORK/pg'
shared_buffers = '128MB'
CONF
    "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w start >/dev/null
    "${RUN_AS[@]}" "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE reference" >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/reference"
}

# Starts `tis up` with one Reference instance; sets ADDR, PID, ISSUER.
start_up() {
    local name=$1 url=${2:-}
    mkdir -p "$WORK/$name"
    (
        cd "$WORK/$name"
        export TIS_IDP__LISTEN=127.0.0.1:0 TIS_UP__INSTANCES=1 TIS_LOG__LEVEL=warn
        [ -n "$url" ] && export TIS_REFERENCE__DATABASE__URL="$url"
        exec "$TIS" up --data-dir .tis >up.log 2>&1
    ) &
    PIDS+=($!)
    local state="$WORK/$name/.tis/run/up.json"
    for _ in $(seq 1 300); do
        [ -f "$state" ] && grep -q reference-1 "$state" && break
        sleep 0.1
    done
    ADDR=$(json "$state" "d['processes']['reference-1']['addr']")
    PID=$(json "$state" "d['processes']['reference-1']['pid']")
    ISSUER=$(json "$state" "d['issuer']")
}

fill_sites() {
    python3 - "$ADDR" "$TOKEN" <<'PY'
import json, sys, urllib.request
addr, token = sys.argv[1], sys.argv[2]
types = ["NHS Trust", "GP Practice", "Independent", "Hospice"]
for batch in range(10):
    sites = [{"siteCode": f"BENCH{batch:02d}{i:04d}", "siteName": f"Bench site {batch}-{i}",
              "organizationType": types[i % 4], "status": "CURRENT" if i % 5 else "INACTIVE",
              "localOffice": "London", "trustCode": "RJ1"} for i in range(500)]
    req = urllib.request.Request(f"http://{addr}/reference/api/bulk-sites", data=json.dumps(sites).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(req).read()
PY
}

FILTER=$(python3 -c 'import json,urllib.parse; print(urllib.parse.quote(json.dumps({"status":["CURRENT"],"organizationType":["GP Practice","Hospice"]})))')

run_backend() {
    local name=$1 url=${2:-}
    start_up "$name" "$url"
    TOKEN=$("$TIS" token --user admin --issuer "$ISSUER")
    fill_sites
    sleep 2
    local idle; idle=$(rss_kb "$PID")
    echo "### $name"
    echo
    echo "Idle RSS of the instance after start and data load: $((idle / 1024)) MB"
    echo
    for label in grade sites; do
        if [ "$label" = grade ]; then
            path="/reference/api/grades/1"; echo '`GET /reference/api/grades/1`'
        else
            path="/reference/api/sites?page=0&size=20&columnFilters=$FILTER"
            echo '`GET /reference/api/sites?page=0&size=20&columnFilters={"status":["CURRENT"],"organizationType":["GP Practice","Hospice"]}` (5,033 sites)'
        fi
        echo '```'
        wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "http://$ADDR$path" \
            | grep -E 'Latency  |50%|99%|Requests/sec|Non-2xx|Socket errors'
        echo '```'
    done
    echo "Peak RSS under load (VmHWM): $(( $(hwm_kb "$PID") / 1024 )) MB"
    echo
    kill -INT "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
}

echo "## Reference baselines — $(date -u +%Y-%m-%d), $(nproc) cores, wrk -t$THREADS -c$CONNS -d$DURATION"
echo
run_backend sqlite
run_backend postgres "$(start_pg)"
