#!/usr/bin/env bash
# Lists through the kit (issue 11): 20-row pages of sites with `columnFilters` and
# `searchQuery` over 50,000 sites, through the gateway, at a fixed rate, on SQLite and on
# PostgreSQL, in one run.
#
#   bench/lists.sh                        # RATE=200 DURATION=30 RUNS=3 BACKENDS="sqlite postgres"
#   TIS=/path/to/tis bench/lists.sh       # this binary instead of target/release/tis
#   ROWS=50000 INSTANCES=2 CONNS=16 bench/lists.sh
#   URLS=20000 bench/lists.sh             # distinct list URLs (default 2,000); many more than
#                                         # a run sends keeps the kept counts cold
#
# For each backend: `tis up` (free ports; INSTANCES per service, default 2 as `tis up`'s
# default; on PostgreSQL `tis up --postgres` against a throwaway PostgreSQL 15 server started
# here: initdb in a temporary folder, free port, shared_buffers = 128MB), then ROWS sites
# through `POST /reference/api/bulk-sites` (500 per request, the ETL client's token; names,
# addresses, post codes, local offices and trusts from bench/lists_data.py, 80 % CURRENT),
# then the load: bench/rate.py, an open-model driver (request i is due at start + i/RATE
# and its latency counts from then, so no coordinated omission), CONNS keep-alive
# connections to the gateway, the `admin` user's token, over 2,000 different list URLs
# (bench/lists_data.py urls: a search term of a town, part of a town's name, a kind of
# site, a post-code district, `royal`, `st mary`, `queen`, `centre` or a site-code prefix;
# `columnFilters` of status CURRENT, and in 3 of 4 URLs also one local office or two
# trusts; 3 in 10 sorted by name, code or post code; 1 in 5 past the first page). On
# PostgreSQL, `VACUUM (ANALYZE) site` after the load (what autovacuum does a minute later). A 5 s
# warm-up at the same rate, then RUNS runs of DURATION seconds; the medians are reported.
# KIND_TERMS=0 leaves out the kind-of-site terms (`hospital` matches 4 sites in 10).
# STATS=1: on PostgreSQL, after each run, the statements that took the most time in it
# (pg_stat_statements: calls, mean, max, total; reset before each run), to say which
# statement a slow request waited on.
#
# WRITES=N: during each run (not the warm-up), also N creates of a site a second (the ETL
# client's token, its own driver), each moving the sites' data version: the list figures
# under writes, when every instance's kept sets re-read after each write. The writes' own
# figures follow the table.
#
# Needs: python3, PostgreSQL's server binaries (Debian: postgresql), curl.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-200}
DURATION=${DURATION:-30}
RUNS=${RUNS:-3}
CONNS=${CONNS:-16}
ROWS=${ROWS:-50000}
URLS=${URLS:-2000}
INSTANCES=${INSTANCES:-2}
BACKENDS=${BACKENDS:-sqlite postgres}
TIS=${TIS:-$PWD/target/release/tis}
[ -x "$TIS" ] || cargo build --release -q -p tis
BENCH=$PWD/bench
WORK=$(mktemp -d /tmp/tis-bench-lists.XXXXXX)
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
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = 'all'
CONF
    "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port" | tee "$WORK/pg/url"
}

# Starts `tis up` in $WORK/$1 (extra arguments follow); sets GW, ISSUER.
start_up() {
    local name=$1; shift
    mkdir -p "$WORK/$name"
    (
        cd "$WORK/$name"
        export TIS_IDP__LISTEN=127.0.0.1:0 TIS_UP__INSTANCES=$INSTANCES TIS_LOG__LEVEL=warn \
            TIS_GATEWAY__LISTEN=127.0.0.1:0 TIS_GATEWAY__ADMIN_LISTEN=127.0.0.1:0
        exec "$TIS" up --data-dir .tis "$@" >up.log 2>&1
    ) &
    PIDS+=($!)
    local state="$WORK/$name/.tis/run/up.json" deadline=$((SECONDS + 300))
    until [ -f "$state" ] && grep -q "\"reference-$INSTANCES\"" "$state" && grep -q "\"profile-$INSTANCES\"" "$state" && grep -q '"gateway"' "$state"; do
        if [ $SECONDS -ge $deadline ]; then
            echo "tis up did not report every process ready within 300 s; its log:" >&2
            tail -n 30 "$WORK/$name/up.log" >&2
            exit 1
        fi
        sleep 0.2
    done
    GW=$(json "$state" "d['processes']['gateway']['addr']")
    ISSUER=$(json "$state" "d['issuer']")
}

load_sites() { # base writer_token reader_token
    local base=$1 writer=$2 reader=$3 org
    # organisation types by id, as the DTO refers to them
    org=$(curl -fsS -H "Authorization: Bearer $reader" "$base/reference/api/organization-types?size=100" \
        | python3 -c 'import json,sys; print(",".join(str(o["id"]) for o in json.load(sys.stdin)))')
    python3 "$BENCH/lists_data.py" sites "$ROWS" "$org" | python3 -c '
import sys, urllib.request
base, token = sys.argv[1], sys.argv[2]
for line in sys.stdin:
    req = urllib.request.Request(base + "/reference/api/bulk-sites", data=line.encode(), method="POST",
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=120).read()
' "$base" "$writer"
}

declare -A SUMMARY
run_backend() {
    local name=$1; shift
    start_up "$name" "$@"
    local base="http://$GW" token writer
    token=$("$TIS" token --user admin --issuer "$ISSUER")
    writer=$("$TIS" token --client etl --issuer "$ISSUER")
    local t0=$SECONDS
    load_sites "$base" "$writer" "$token"
    if [ -f "$WORK/pg/url" ]; then
        # What autovacuum does within a minute or two of a bulk load (here, under the
        # benchmark's load, it came after the runs): statistics for the planner and the GIN
        # indexes' pending lists merged. Without statistics PostgreSQL plans for an empty
        # table, picks `ix_site_status` over the trigram indexes and filters 40,000 rows per
        # request (docs/benchmarks.md, "Lists through the kit").
        "$PGBIN/psql" -X -q "$(cat "$WORK/pg/url")/tis_reference" -c 'VACUUM (ANALYZE) site'
    fi
    local total
    total=$(curl -fsS -D - -o /dev/null -H "Authorization: Bearer $token" "$base/reference/api/sites?size=1" \
        | awk -F': ' 'tolower($1) == "x-total-count" {print $2+0}')
    echo "### $name: $total sites (loaded in $((SECONDS - t0)) s), gateway $GW"
    echo
    python3 "$BENCH/lists_data.py" urls "$URLS" 7 > "$WORK/urls"
    if [ "${KIND_TERMS:-1}" = 0 ]; then
        grep -viE 'searchQuery=(hospital|general|surgery|medical|health|community|hospice|clinic|practice|infirmary|centre)' \
            "$WORK/urls" > "$WORK/urls.k" && mv "$WORK/urls.k" "$WORK/urls"
    fi
    # every URL must answer 200 before it is measured (a sample of them, quickly)
    head -n 50 "$WORK/urls" | while read -r path; do
        curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$base$path" || { echo "failed: $path" >&2; exit 1; }
    done
    local writes=()
    if [ "${WRITES:-0}" != 0 ]; then
        org=$(curl -fsS -H "Authorization: Bearer $token" "$base/reference/api/organization-types?size=100" \
            | python3 -c 'import json,sys; print(",".join(str(o["id"]) for o in json.load(sys.stdin)))')
        python3 "$BENCH/lists_data.py" writes $((WRITES * (DURATION + 10) * RUNS)) "$ROWS" "$org" > "$WORK/writes"
        writes=(python3 "$BENCH/rate.py" --rate "$WRITES" --conns 2 --urls "$WORK/writes"
            --header "Authorization: Bearer $writer" "$base" --duration "$DURATION")
    fi
    local drive=(python3 "$BENCH/rate.py" --rate "$RATE" --conns "$CONNS" --urls "$WORK/urls"
        --header "Authorization: Bearer $token" "$base")
    "${drive[@]}" --duration 5 --grace 5 > /dev/null
    echo "| run | answered/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | answers |"
    echo "|---|---|---|---|---|---|---|---|"
    : > "$WORK/$name.lat"
    local pgdb=
    if [ -f "$WORK/pg/url" ]; then
        pgdb="$(cat "$WORK/pg/url")/tis_reference"
        "$PGBIN/psql" -X -q "$pgdb" -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'
    fi
    for run in $(seq 1 "$RUNS"); do
        [ -n "$pgdb" ] && "$PGBIN/psql" -X -q -o /dev/null "$pgdb" -c 'SELECT pg_stat_statements_reset()'
        local wpid=
        if [ ${#writes[@]} -gt 0 ]; then
            # each run its own creates: rate.py starts at the file's first line
            tail -n +$(( (run - 1) * WRITES * (DURATION + 10) + 1 )) "$WORK/writes" > "$WORK/writes.$run"
            writes[7]="$WORK/writes.$run"
            "${writes[@]}" > "$WORK/$name.writes.$run" & wpid=$!
        fi
        local out; out=$("${drive[@]}" --duration "$DURATION")
        [ -n "$wpid" ] && { wait "$wpid"; echo "    run $run writes: $(cat "$WORK/$name.writes.$run")" >> "$WORK/$name.wstats"; }
        python3 - "$out" "$run" "$WORK/$name.lat" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
answers = ", ".join(f"{v} × {k}" for k, v in d["statuses"].items()) + (f", {d['errors']} errors" if d["errors"] else "") + (f", {d['unfinished']} unfinished" if d["unfinished"] else "")
print(f"| {sys.argv[2]} | {d['answered_per_s']} | {d['p50']} | {d['p90']} | {d['p99']} | {d['p99.9']} | {d['max']} | {answers} |")
open(sys.argv[3], "a").write(f"{d['p50']} {d['p99']}\n")
PY
        if [ -n "$pgdb" ] && [ "${STATS:-0}" = 1 ]; then
            "$PGBIN/psql" -X -q -A -F ' | ' -t "$pgdb" -c "SELECT calls, round(mean_exec_time::numeric, 2), round(max_exec_time::numeric, 1), round(total_exec_time::numeric), left(regexp_replace(query, '\s+', ' ', 'g'), 110) || ' … ' || right(regexp_replace(query, '\s+', ' ', 'g'), 70) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%' ORDER BY total_exec_time DESC LIMIT 8" \
                | sed 's/^/    run '"$run"': calls | mean ms | max ms | total ms | /' >> "$WORK/$name.stats"
        fi
    done
    [ -f "$WORK/$name.wstats" ] && { echo; echo "Writes beside the reads (rate.py):"; echo; cat "$WORK/$name.wstats"; }
    [ -f "$WORK/$name.stats" ] && { echo; echo "PostgreSQL statements by total time in each run (pg_stat_statements):"; echo; cat "$WORK/$name.stats"; }
    SUMMARY[$name]=$(python3 -c "
import statistics
rows = [tuple(map(float, l.split())) for l in open('$WORK/$name.lat')]
print(f'{statistics.median(r[0] for r in rows):.2f} {statistics.median(r[1] for r in rows):.2f}')")
    echo
    echo "median of $RUNS runs: p50 ${SUMMARY[$name]% *} ms, p99 ${SUMMARY[$name]#* } ms; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    kill -INT "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
}

echo "## Lists through the kit — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "$RATE req/s for ${DURATION} s × $RUNS runs (after a 5 s warm-up), $CONNS connections, $ROWS sites added, $URLS URLs, $INSTANCES instances per service, binary $TIS"
echo
for b in $BACKENDS; do
    case $b in
        sqlite) run_backend sqlite ;;
        postgres) run_backend postgres --postgres "$(start_pg)" ;;
    esac
done
echo "| backend | p50 (median of runs) | p99 (median of runs) | target p99 |"
echo "|---|---|---|---|"
for b in $BACKENDS; do
    echo "| $b | ${SUMMARY[$b]% *} ms | ${SUMMARY[$b]#* } ms | < 10 ms |"
done
