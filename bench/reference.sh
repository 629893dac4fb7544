#!/usr/bin/env bash
# Reference service baselines (issue 2): one instance's RSS idle and under load, and wrk on
#   GET /reference/api/grades/{id}
#   GET /reference/api/sites?page=0&size=20&columnFilters={"status":["CURRENT"],"organizationType":[…]}
# on SQLite and on PostgreSQL, in one run. The sites table is filled to 5,033 rows first.
#
#   bench/reference.sh                # DURATION=15s CONNS=32 THREADS=2 by default
#   TIS=/path/to/tis bench/reference.sh   # use this binary instead of building one
#   TIS=new/tis COMPARE=old/tis bench/reference.sh
#                                     # A/B on SQLite: both binaries up at once, wrk rounds
#                                     # alternating between them (ROUNDS=3), so both see the
#                                     # same machine; prints one table row per run, then
#                                     # each instance's memory (idle, loaded, under load)
#
# The instance is the `reference-1` of a `tis up` with one instance per service (gateway and
# identity provider on free ports), reached directly with an access token (tis up lets
# services verify access tokens themselves), so the figures are the service's own, without
# the gateway. RSS is read from /proc: 2 s after the instance reports ready (idle), after
# the sites are loaded, sampled every 200 ms while wrk runs (the largest sample), and VmHWM
# (the peak over the process's life, including the bulk load). Idle and loaded figures split
# RSS into anonymous memory (the heap, thread stacks) and file-backed pages (the executable's
# code, shared with every other tis process) and give PSS, which counts shared pages once.
#
# Needs wrk and PostgreSQL's server binaries (Debian: wrk, postgresql). Runs as root or not.
# Data: BENCH_DATA=FILE appends every wrk run's req/s, p50 and p99 as JSON lines
# (bench/lib.sh), target "sqlite grade", "postgres sites", or in A/B mode "A grades/1"…;
# progress shows on a terminal only.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
BENCH_NAME=reference BENCH_COMMAND="DURATION=$DURATION CONNS=$CONNS THREADS=$THREADS${COMPARE:+ COMPARE=$COMPARE} bench/reference.sh"
# shellcheck source=bench/lib.sh
. bench/lib.sh

if [ -z "${TIS:-}" ]; then
    cargo build --release -q -p tis
    TIS=$PWD/target/release/tis
fi
WORK=$(mktemp -d /tmp/tis-bench-ref.XXXXXX)
chmod 755 "$WORK"   # the postgres user must reach its data folder inside
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
# wrk --latency's output on stdin: "req/s p50_ms p99_ms".
wrk_figures() {
    python3 -c '
import re, sys
out = sys.stdin.read()
ms = lambda v: float(v[:-2]) if v.endswith("ms") else float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-1]) * 1000
rps = re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)
pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
print(rps, ms(pct["50"]), ms(pct["99"]))'
}
wrk_data() { # target "<wrk --latency output>"
    local rps p50 p99
    read -r rps p50 p99 < <(wrk_figures <<<"$2")
    bench_data "$1" req_per_s "$rps" "req/s"
    bench_data "$1" p50_ms "$p50" ms
    bench_data "$1" p99_ms "$p99" ms
}
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
# "RSS X MB (heap and other anonymous A MB, the tis executable and libraries F MB; PSS P MB)"
mem() {
    awk '/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} /^RssFile/ {f=$2} END {printf "%d MB (anonymous %d MB, file-backed %d MB", r/1024, a/1024, f/1024}' "/proc/$1/status"
    awk '/^Pss:/ {printf "; PSS %d MB)", $2/1024}' "/proc/$1/smaps_rollup"
}

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

# Starts `tis up` (binary $3, default $TIS) with one Reference instance; sets ADDR, PID, ISSUER.
start_up() {
    local name=$1 url=${2:-} bin=${3:-$TIS}
    mkdir -p "$WORK/$name"
    (
        cd "$WORK/$name"
        export TIS_IDP__LISTEN=127.0.0.1:0 TIS_UP__INSTANCES=1 TIS_LOG__LEVEL=warn \
            TIS_GATEWAY__LISTEN=127.0.0.1:0 TIS_GATEWAY__ADMIN_LISTEN=127.0.0.1:0
        [ -n "$url" ] && export TIS_REFERENCE__DATABASE__URL="$url"
        exec "$bin" up --data-dir .tis >up.log 2>&1
    ) &
    PIDS+=($!)
    local state="$WORK/$name/.tis/run/up.json"
    local deadline=$((SECONDS + 120))
    until [ -f "$state" ] && grep -q reference-1 "$state"; do
        if [ $SECONDS -ge $deadline ]; then
            echo "tis up did not report reference-1 ready within 120 s; its log:" >&2
            tail -n 30 "$WORK/$name/up.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    ADDR=$(json "$state" "d['processes']['reference-1']['addr']")
    PID=$(json "$state" "d['processes']['reference-1']['pid']")
    ISSUER=$(json "$state" "d['issuer']")
}

fill_sites() {
    python3 - "$ADDR" "$WRITER" <<'PY'
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
    # HEE Admin reads; writes need reference:add:modify:entities, which the ETL client has.
    WRITER=$("$TIS" token --client etl --issuer "$ISSUER")
    sleep 2
    local idle; idle=$(mem "$PID")
    fill_sites
    sleep 2
    local loaded; loaded=$(mem "$PID")
    echo "### $name"
    echo
    echo "RSS of the instance: idle 2 s after ready $idle; after loading 5,000 sites $loaded"
    echo
    local peak=0
    for label in grade sites; do
        if [ "$label" = grade ]; then
            path="/reference/api/grades/1"; echo '`GET /reference/api/grades/1`'
        else
            path="/reference/api/sites?page=0&size=20&columnFilters=$FILTER"
            echo '`GET /reference/api/sites?page=0&size=20&columnFilters={"status":["CURRENT"],"organizationType":["GP Practice","Hospice"]}` (5,033 sites)'
        fi
        # Sanity: the request must succeed before it is measured.
        curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" "http://$ADDR$path"
        echo '```'
        ( while sleep 0.2; do rss_kb "$PID"; done > "$WORK/rss.$label" ) &
        local sampler=$! out
        bench_progress "$name: wrk $label ($DURATION)"
        out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "http://$ADDR$path")
        bench_progress_done
        grep -E 'Latency  |50%|75%|90%|99%|requests in|Requests/sec|Non-2xx|Socket errors' <<<"$out"
        wrk_data "$name $label" "$out"
        kill "$sampler"; wait "$sampler" 2>/dev/null || true
        echo '```'
        local m; m=$(sort -n "$WORK/rss.$label" | tail -n 1)
        [ "${m:-0}" -gt "$peak" ] && peak=$m
    done
    echo "RSS under load: largest sample while wrk ran $((peak / 1024)) MB; VmHWM (life peak, includes the bulk load) $(( $(hwm_kb "$PID") / 1024 )) MB"
    echo
    kill -INT "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
}

# One wrk run; prints "req/s | p50 | p99" (and its data, target $4).
wrk_row() {
    local addr=$1 token=$2 path=$3 out
    bench_progress "wrk $4 ($DURATION)"
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $token" "http://$addr$path")
    bench_progress_done
    wrk_data "$4" "$out"
    printf '%s | %s | %s' "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
        "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")"
}

compare() {
    local -A addr token pid idle loaded
    for side in A B; do
        local bin=$TIS; [ $side = B ] && bin=$COMPARE
        start_up "ab-$side" "" "$bin"
        token[$side]=$("$bin" token --user admin --issuer "$ISSUER")
        WRITER=$("$bin" token --client etl --issuer "$ISSUER")
        sleep 2
        idle[$side]=$(mem "$PID")
        fill_sites
        addr[$side]=$ADDR
        pid[$side]=$PID
    done
    for side in A B; do loaded[$side]=$(mem "${pid[$side]}"); done
    ( while sleep 0.2; do echo "$(rss_kb "${pid[A]}") $(rss_kb "${pid[B]}")"; done > "$WORK/rss.ab" ) &
    local sampler=$!
    echo "## Reference A/B on SQLite — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS rounds"
    echo
    echo "A = $TIS, B = $COMPARE"
    echo
    echo "| round | binary | URL | req/s | p50 | p99 |"
    echo "|---|---|---|---|---|---|"
    local sites="/reference/api/sites?page=0&size=20&columnFilters=$FILTER"
    for round in $(seq 1 "$ROUNDS"); do
        local order="A B"; [ $((round % 2)) = 0 ] && order="B A"
        for side in $order; do
            echo "| $round | $side | grades/1 | $(wrk_row "${addr[$side]}" "${token[$side]}" /reference/api/grades/1 "$side grades/1") |"
            echo "| $round | $side | sites filtered | $(wrk_row "${addr[$side]}" "${token[$side]}" "$sites" "$side sites filtered") |"
        done
    done
    kill "$sampler"; wait "$sampler" 2>/dev/null || true
    echo
    echo "| binary | RSS idle (2 s after ready) | after loading 5,000 sites | largest sample under load | VmHWM |"
    echo "|---|---|---|---|---|"
    local col=1
    for side in A B; do
        local peak; peak=$(awk -v c=$col '$c > m {m = $c} END {print m + 0}' "$WORK/rss.ab")
        echo "| $side | ${idle[$side]} | ${loaded[$side]} | $((peak / 1024)) MB | $(( $(hwm_kb "${pid[$side]}") / 1024 )) MB |"
        col=2
    done
}

if [ -n "${COMPARE:-}" ]; then
    ROUNDS=${ROUNDS:-3}
    compare
    exit 0
fi

echo "## Reference baselines — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), wrk -t$THREADS -c$CONNS -d$DURATION"
echo
run_backend sqlite
run_backend postgres "$(start_pg)"
