#!/usr/bin/env bash
# TCS people (issue 12's numbers): searches and one person's record over PEOPLE generated
# trainees, through the gateway, at a fixed rate, on SQLite and on PostgreSQL, in one run;
# with the RSS of each TCS instance under the load.
#
#   bench/tcs.sh                          # PEOPLE=200000 RATE=200 DURATION=20 RUNS=3
#   TIS=/path/to/tis bench/tcs.sh         # this binary instead of target/release/tis
#   MIXES="name gmc" BACKENDS=sqlite PEOPLE=20000 bench/tcs.sh
#   EXPLAIN=1 bench/tcs.sh                # also print each mix's query plan (see below)
#   DAY_TURN_DAYS=30 bench/tcs.sh         # instead of the mixes: how long TCS's turn of the
#                                         # day takes with that many days of calendar changes
#                                         # to catch up on (src/day.rs; from its log line)
#   UP_ENV="MALLOC_ARENA_MAX=2" bench/tcs.sh   # environment for `tis up` and its instances
#   WAITS=1 BACKENDS=postgres bench/tcs.sh   # also where a mix's time goes (see below)
#   TCS_DB=/path/tcs.db BACKENDS=sqlite bench/tcs.sh   # a copy of that SQLite data set instead of
#                                         # generating one (e.g. one kept with KEEP=1)
#   TCS_PG=postgres://postgres@127.0.0.1:PORT/tcs200k bench/tcs.sh   # on PostgreSQL, a copy
#                                         # (CREATE DATABASE … TEMPLATE, dropped after) of that
#                                         # generated database on that running server instead
#                                         # of a new server and a new data set (EXPLAIN: plans
#                                         # in that server's log, not read here)
#
# For each backend: PEOPLE trainees with `tis demo generate` into TCS's database before `tis up`
# starts (so `tis up` seeds nothing more): the data folder's tcs.db, or on PostgreSQL database
# tis_tcs of a throwaway PostgreSQL 15 server started here (initdb in a temporary folder, free
# port, shared_buffers = 128MB; ANALYZE after the load, as autovacuum would do shortly after);
# then `tis up` (free ports, INSTANCES per service, default 2 as `tis up`'s; `--postgres` on
# PostgreSQL). bench/tcs_data.py samples SAMPLE_PAGES random 500-row pages of people through
# the API (the etl client) and writes 2,000 URLs per mix:
#
#   name       searchQuery = 3–6 first letters of a surname
#   gmc        searchQuery = a 7-digit GMC number
#   ntn        columnFilters trainingNumber = an NTN
#   programme  columnFilters programmeName (1 in 4 also programmeMembershipStatus), pages 0–4
#   filters    columnFilters 1–2 currentOwners, half of them with status CURRENT, a quarter with
#              a programmeMembershipStatus; sorted by id desc (3 in 4) or surname; pages 0–9
#   record     one person: GET /people/{id}, the PersonDTO with its sub-records (RECORD=full,
#              the default), or /people/{id}/basic (RECORD=basic: binaries before d46e5e7)
#
# Posts and placements (issue 13's numbers; `tis demo generate` makes a quarter as many posts
# as people and about five placements a person: 50,000 and ~1,000,000 for 200,000):
#
#   MIXES="posts postfilters placements create" bench/tcs.sh
#
#   posts        post list pages with a searchQuery (a whole NPN, its first two parts, or a
#                specialty name's first letters)
#   postfilters  post list pages with columnFilters (an owner and a site, a grade or a status)
#   placements   one person's placements, GET /people/{id}/placements
#   create       POST /placements (validation, the overlap checks, the write), each with its
#                own Idempotency-Key, a one-day placement on a day of its own after 2050 (new
#                URLs for every run: none is a replay)
#
# Each mix on its own (20-row pages, sort id,desc unless said): bench/rate.py, the open-model
# driver (request i is due at start + i/RATE, its latency counts from then: no coordinated
# omission), CONNS keep-alive connections to the gateway, the TOKEN_USER's token (default
# `admin`: every designated body, so the owners' scope clause is in every query), a 5 s warm-up
# at the same rate, then RUNS runs of DURATION s; medians of the runs are reported. During each
# run the RSS of every TCS instance is read from /proc/PID/status (VmRSS, RssAnon; and Pss
# from /proc/PID/smaps_rollup) once a
# second; the table gives the highest seen.
#
# EXPLAIN=1: after a backend's table, the plan of the first URL of each list mix: on
# PostgreSQL the plan the service's own statement got (auto_explain, ANALYZE and BUFFERS: a
# prepared statement's custom or generic plan, as executed); on SQLite EXPLAIN QUERY PLAN of
# the statement bench/tcs_plans.py writes for the URL (the text people/search.rs writes).
#
# WAITS=1 (PostgreSQL): during each mix's runs, the TCS database's sessions are sampled every
# 50 ms (pg_stat_activity: state and wait event; `idle in transaction` = the server waiting for
# the service's next statement) and each TCS instance's own request duration histogram
# (/metrics, http_server_request_duration_seconds) is read before and after: a line after the
# table gives the shares, and the service's share of requests over 25 and 50 ms beside the
# client's p99 says whether a tail is in the service or in front of it (gateway, driver).
#
# Needs: python3, PostgreSQL's server binaries (Debian: postgresql), curl.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-200}
DURATION=${DURATION:-20}
RUNS=${RUNS:-3}
CONNS=${CONNS:-16}
PEOPLE=${PEOPLE:-200000}
INSTANCES=${INSTANCES:-2}
SAMPLE_PAGES=${SAMPLE_PAGES:-20}
BACKENDS=${BACKENDS:-sqlite postgres}
MIXES=${MIXES:-name gmc ntn programme filters record}
TOKEN_USER=${TOKEN_USER:-admin}
TIS=${TIS:-$PWD/target/release/tis}
[ -x "$TIS" ] || cargo build --release -q -p tis
BENCH=$PWD/bench
WORK=$(mktemp -d /tmp/tis-bench-tcs.XXXXXX)
chmod 755 "$WORK"   # the postgres user must reach its data folder inside
PIDS=()
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
RUN_AS=()
if [ "$(id -u)" = 0 ]; then RUN_AS=(runuser -u postgres --); fi
cleanup() {
    for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -d "$WORK/pg" ] && "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
    [ -n "${COPY_DB:-}" ] && "$PGBIN/psql" -X -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $COPY_DB" >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json() { python3 -c "import json,sys; d=json.load(open('$1')); print(eval(sys.argv[1]))" "$2"; }

PG=
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
shared_preload_libraries = 'auto_explain'
auto_explain.log_min_duration = -1
auto_explain.log_analyze = on
auto_explain.log_buffers = on
log_line_prefix = '@@ '
CONF
    "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w start >/dev/null
    PG="postgres://postgres@127.0.0.1:$port"
}
COPY_DB=
psql_tcs() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$PG/${COPY_DB:-tis_tcs}" "$@"; }

# Starts `tis up` in $WORK/$1 (extra arguments follow); sets GW, ISSUER, STATE.
start_up() {
    local name=$1; shift
    mkdir -p "$WORK/$name"
    (
        cd "$WORK/$name"
        export TIS_IDP__LISTEN=127.0.0.1:0 TIS_UP__INSTANCES=$INSTANCES TIS_LOG__LEVEL=warn \
            TIS_GATEWAY__LISTEN=127.0.0.1:0 TIS_GATEWAY__ADMIN_LISTEN=127.0.0.1:0
        # shellcheck disable=SC2086
        [ -n "${UP_ENV:-}" ] && export ${UP_ENV?}
        exec "$TIS" up --data-dir .tis "$@" >up.log 2>&1
    ) &
    PIDS+=($!)
    STATE="$WORK/$name/.tis/run/up.json"
    local deadline=$((SECONDS + 300))
    until [ -f "$STATE" ] && grep -q "\"tcs-$INSTANCES\"" "$STATE" && grep -q "\"reference-$INSTANCES\"" "$STATE" && grep -q '"gateway"' "$STATE"; do
        if [ $SECONDS -ge $deadline ]; then
            echo "tis up did not report every process ready within 300 s; its log:" >&2
            tail -n 30 "$WORK/$name/up.log" >&2
            exit 1
        fi
        sleep 0.2
    done
    GW=$(json "$STATE" "d['processes']['gateway']['addr']")
    ISSUER=$(json "$STATE" "d['issuer']")
}

# Samples VmRSS, RssAnon and Pss (kB) of every tcs-N of $STATE once a second into $1 until killed
# (the pids are re-read each time: an instance `tis up` restarted is followed, and counted).
watch_rss() {
    exec python3 - "$STATE" "$1" <<'PY'
import json, sys, time
out, seen = open(sys.argv[2], "a"), {}
while True:
    try:
        state = json.load(open(sys.argv[1]))
    except (OSError, ValueError):
        time.sleep(0.2)
        continue
    for name, p in sorted(state["processes"].items()):
        if not name.startswith("tcs-"):
            continue
        if seen.setdefault(name, p["pid"]) != p["pid"]:
            out.write(f"restart {name}\n")
            seen[name] = p["pid"]
        try:
            st = dict(l.split(":", 1) for l in open(f"/proc/{p['pid']}/status"))
        except OSError:
            continue
        try:
            # PSS: the shared pages (the one `tis` executable, mapped by every process of
            # `tis up`) divided among the processes that map them.
            roll = dict(l.split(":", 1) for l in open(f"/proc/{p['pid']}/smaps_rollup") if l.rstrip().endswith("kB"))
            pss = roll["Pss"].split()[0]
        except (OSError, KeyError):
            pss = "0"
        out.write(f"{name} {st['VmRSS'].split()[0]} {st['RssAnon'].split()[0]} {pss}\n")
    out.flush()
    time.sleep(1)
PY
}

# WAITS=1: samples the sessions of database $2 on server $1 every 50 ms into $3 until killed.
watch_waits() {
    exec "$PGBIN/psql" -X -q -At -F '|' "$1/postgres" -f <(while :; do
        echo "SELECT coalesce(state, '-'), coalesce(wait_event_type || ':' || wait_event, '-') FROM pg_stat_activity WHERE datname = '$2' AND pid <> pg_backend_pid() AND state <> 'idle';"
        echo "SELECT '--';"
        sleep 0.05
    done) > "$3"
}

# WAITS=1: the TCS instances' request duration histogram, summed (`le count` lines).
service_histogram() {
    python3 - "$STATE" <<'PY'
import json, re, sys, urllib.request
state, total = json.load(open(sys.argv[1])), {}
for name, p in state["processes"].items():
    if name.startswith("tcs-"):
        for l in urllib.request.urlopen(f"http://{p['addr']}/metrics", timeout=5).read().decode().splitlines():
            if l.startswith("http_server_request_duration_seconds_bucket{") and 'route="/tcs/api/' in l:
                le = re.search(r'le="([^"]*)"', l).group(1)
                total[le] = total.get(le, 0) + float(l.rsplit(" ", 1)[1])
for le, n in total.items():
    print(le, int(n))
PY
}

declare -A SUMMARY
run_backend() {
    local name=$1; shift
    local t0=$SECONDS url
    mkdir -p "$WORK/$name/.tis"
    if [ "$name" = postgres ] && [ -n "${TCS_PG:-}" ]; then
        PG=${TCS_PG%/*}
        COPY_DB=tis_tcs_bench_$$
        "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$PG/postgres" \
            -c "CREATE DATABASE $COPY_DB TEMPLATE ${TCS_PG##*/} STRATEGY FILE_COPY"
        url="$PG/$COPY_DB"
        echo "a copy of $TCS_PG"
    elif [ "$name" = postgres ]; then
        start_pg
        "$PGBIN/createdb" -h 127.0.0.1 -p "${PG##*:}" -U postgres tis_tcs
        url="$PG/tis_tcs"
    else
        url="sqlite://$WORK/$name/.tis/tcs.db"
    fi
    if [ "$name" = sqlite ] && [ -n "${TCS_DB:-}" ]; then
        cp "$TCS_DB" "$WORK/$name/.tis/tcs.db"
        echo "a copy of $TCS_DB"
    elif [ -n "${COPY_DB:-}" ]; then
        :
    else
        (cd "$WORK/$name" && TIS_LOG__LEVEL=warn "$TIS" demo generate --people "$PEOPLE" --database-url "$url") 2>&1 | tail -n 1
    fi
    [ "$name" = postgres ] && psql_tcs -c 'ANALYZE'
    local counted="SELECT (SELECT COUNT(*) FROM post), (SELECT COUNT(*) FROM placement)"
    if [ "$name" = postgres ]; then
        psql_tcs -At -F ' ' -c "$counted"
    else
        python3 -c 'import sqlite3, sys; print(*sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone())' "$WORK/$name/.tis/tcs.db" "$counted"
    fi | { read -r posts placements; echo "($posts posts, $placements placements)"; }
    local loaded=$((SECONDS - t0))
    # The turn of the day (crates/services/tcs/src/day.rs), at this binary's schema: none to
    # do at start (last day turned: today), or DAY_TURN_DAYS days of changes to catch up on.
    (cd "$WORK/$name" && TIS_LOG__LEVEL=warn "$TIS" migrate tcs --database-url "$url") > /dev/null
    local days=${DAY_TURN_DAYS:-0}
    if [ "$name" = postgres ]; then
        psql_tcs -c "DO \$\$ BEGIN IF to_regclass('day_turn') IS NOT NULL THEN UPDATE day_turn SET last_day = CURRENT_DATE - $days; END IF; END \$\$"
    else
        python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
if db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", ("day_turn",)).fetchone():
    db.execute("UPDATE day_turn SET last_day = date(?, ?)", ("now", f"-{sys.argv[2]} days"))
    db.commit()' "$WORK/$name/.tis/tcs.db" "$days"
    fi
    local turn_env=
    [ -n "${DAY_TURN_DAYS:-}" ] && turn_env="TIS_LOG__LEVEL=warn,tis_tcs::day=info"
    # TCS is pointed at its database by name: `tis up --postgres` alone would use (and create)
    # `tis_tcs` on that server, not the copy.
    local up_env="${UP_ENV:-} $turn_env"
    if [ "$name" = postgres ]; then
        UP_ENV="$up_env TIS_TCS__DATABASE__URL=$url" start_up "$name" --postgres "$PG"
    elif [ -n "${up_env// /}" ]; then
        UP_ENV="$up_env" start_up "$name"
    else
        start_up "$name"
    fi
    local mixes=$MIXES
    if [ -n "${DAY_TURN_DAYS:-}" ]; then
        mixes=
        local deadline=$((SECONDS + 1800)) line=
        until line=$(grep -m 1 'the day turned' "$WORK/$name/up.log"); do
            if [ $SECONDS -ge $deadline ]; then
                echo "no turn of the day logged within 1800 s; the log:" >&2
                tail -n 30 "$WORK/$name/up.log" >&2
                exit 1
            fi
            sleep 1
        done
        echo "### $name: the turn of the day, $DAY_TURN_DAYS days of changes"
        echo
        python3 -c 'import json, sys
e = json.loads(sys.argv[1][sys.argv[1].index("{"):])
def get(k):
    if k in e:
        return e[k]
    v = e
    for part in k.split("."):
        v = v.get(part, {}) if isinstance(v, dict) else {}
    return v
people, posts, took = (get(k) for k in ("tis.people", "tis.posts", "event.duration"))
print(f"people {people}, posts {posts}, {int(took) / 1e9:.2f} s")' "$line"
        echo
    fi
    local base="http://$GW" token etl
    token=$("$TIS" token --user "$TOKEN_USER" --issuer "$ISSUER")
    etl=$("$TIS" token --client etl --issuer "$ISSUER")
    local record=${RECORD:-full} record_path="/tcs/api/people/{id}/basic"
    [ "$record" = full ] && record_path="/tcs/api/people/{id}"
    python3 "$BENCH/tcs_data.py" sample "$base" "$etl" "$SAMPLE_PAGES" > "$WORK/sample.json"
    case " $MIXES " in
    *" posts "* | *" postfilters "* | *" create "*)
        python3 "$BENCH/tcs_data.py" sample-posts "$base" "$etl" "$SAMPLE_PAGES" > "$WORK/posts.json" ;;
    esac
    echo "### $name: $PEOPLE people (generated in $loaded s), gateway $GW, the \`$TOKEN_USER\` user's token, record = \`${record_path#/tcs/api}\`"
    echo
    echo "| mix | answered/s | p50 ms | p90 ms | p99 ms | max ms | answers | TCS RSS peak (anon; PSS) | runs p99 |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for mix in $mixes; do
        # a token per mix: an access token lives minutes, a backend's run longer
        token=$("$TIS" token --user "$TOKEN_USER" --issuer "$ISSUER")
        python3 "$BENCH/tcs_data.py" urls "$mix" 2000 "$WORK/sample.json" "$record_path" > "$WORK/$mix.urls"
        local writes=0 offset=0
        [ "$mix" = create ] && writes=1
        # every URL must answer 200 before it is measured (a sample of them, quickly); a write
        # is checked by the first run's answers instead
        if [ $writes = 0 ] && ! head -n 20 "$WORK/$mix.urls" | while read -r path; do
            curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$base$path" || { echo "failed: $path" >&2; exit 1; }
        done; then
            echo "| $mix | not measured: a sample URL failed (see stderr) | | | | | | | |"
            continue
        fi
        local drive=(python3 "$BENCH/rate.py" --rate "$RATE" --conns "$CONNS" --urls "$WORK/$mix.urls"
            --header "Authorization: Bearer $token" "$base")
        # A write mix gets new requests for each run (its own days, keys): none a replay.
        fresh() {
            [ $writes = 1 ] || return 0
            python3 "$BENCH/tcs_data.py" urls "$mix" "$1" "$WORK/sample.json" "" "$offset" > "$WORK/$mix.urls"
            offset=$((offset + $1))
        }
        fresh $((${RATE%.*} * 5 + 10))
        "${drive[@]}" --duration 5 --grace 5 > /dev/null
        : > "$WORK/$name.$mix.runs"
        : > "$WORK/$name.$mix.rss"
        watch_rss "$WORK/$name.$mix.rss" &
        local watcher=$! waiter=
        if [ -n "${WAITS:-}" ] && [ "$name" = postgres ]; then
            service_histogram > "$WORK/$mix.hist0"
            watch_waits "$PG" "${COPY_DB:-tis_tcs}" "$WORK/$mix.waits" &
            waiter=$!
        fi
        for _ in $(seq 1 "$RUNS"); do
            fresh $((${RATE%.*} * ${DURATION%.*} + 10))
            "${drive[@]}" --duration "$DURATION" >> "$WORK/$name.$mix.runs"
        done
        kill "$watcher"; wait "$watcher" 2>/dev/null || true
        if [ -n "$waiter" ]; then
            kill "$waiter"; wait "$waiter" 2>/dev/null || true
            service_histogram > "$WORK/$mix.hist1"
        fi
        python3 - "$WORK/$name.$mix.runs" "$WORK/$name.$mix.rss" "$mix" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
med = lambda k: statistics.median(r[k] for r in runs)
statuses = {}
for r in runs:
    for k, v in r["statuses"].items():
        statuses[k] = statuses.get(k, 0) + v
errors, unfinished = sum(r["errors"] for r in runs), sum(r["unfinished"] for r in runs)
answers = ", ".join(f"{v} × {k}" for k, v in statuses.items()) + (f", {errors} errors" if errors else "") + (f", {unfinished} unfinished" if unfinished else "")
rss, restarts = {}, 0
for l in open(sys.argv[2]):
    if l.startswith("restart "):
        restarts += 1
        continue
    n, v, a, pss = (l.split() + ["0"])[:4]
    rss[n] = max(rss.get(n, (0, 0, 0)), (int(v), int(a), int(pss)))
peak = ", ".join(f"{v / 1024:.1f} MB ({a / 1024:.1f}; PSS {p / 1024:.1f})" for _, (v, a, p) in sorted(rss.items()))
if restarts:
    peak += f", {restarts} instance restart(s)"
print(f"| {sys.argv[3]} | {med('answered_per_s'):.1f} | {med('p50'):.2f} | {med('p90'):.2f} | **{med('p99'):.2f}** | {max(r['max'] for r in runs):.1f} | {answers} | {peak} | {', '.join(str(r['p99']) for r in runs)} |")
PY
        if [ -n "$waiter" ]; then waits_summary "$WORK/$mix"; fi
    done
    echo
    echo "load average now $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    if [ -n "${EXPLAIN:-}" ]; then explain "$name"; fi
    kill -INT "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
    if [ -n "$COPY_DB" ]; then
        "$PGBIN/psql" -X -q "$PG/postgres" -c "DROP DATABASE $COPY_DB" || true
        COPY_DB=
    elif [ "$name" = postgres ]; then
        "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast stop >/dev/null
        rm -rf "$WORK/pg"
    fi
}

# WAITS=1: the summary of a mix's samples ($1.waits) and service histograms ($1.hist0, .hist1).
waits_summary() {
    python3 - "$1" "${1##*/}" <<'PY'
import collections, sys
samples, seen = 0, collections.Counter()
for l in open(sys.argv[1] + ".waits"):
    l = l.strip()
    if l == "--":
        samples += 1
    elif l:
        seen[l.replace("|", " ")] += 1
busy = sum(seen.values())
shares = ", ".join(f"{k} {v / busy:.0%}" for k, v in seen.most_common(6)) if busy else "none"
read = lambda f: {le: int(n) for le, n in (l.split() for l in open(f))}
h0, h1 = read(sys.argv[1] + ".hist0"), read(sys.argv[1] + ".hist1")
d = {le: h1[le] - h0.get(le, 0) for le in h1}
n = d.get("+Inf", 0)
over = lambda le: f"{(n - d.get(le, n)) / n:.2%}" if n else "-"
print(f"\n- `{sys.argv[2]}`: {samples} samples of the TCS database's sessions, {busy / max(samples, 1):.2f} busy on average: {shares}; "
      f"TCS's own request durations (both instances, warm-up excluded): {n} requests, over 25 ms {over('0.025')}, over 50 ms {over('0.05')}\n")
PY
}

# The plans of the people list's statements, one URL of each mix (not `record`), on backend $1.
# PostgreSQL: the plans the service's own statements got, as executed (a prepared statement's
# custom or generic plan, with its parameters), logged by auto_explain with ANALYZE and
# BUFFERS while each URL is asked twice through the gateway after the load. SQLite: EXPLAIN
# QUERY PLAN (sqlite3's library) of the statement bench/tcs_plans.py writes for the URL, the
# same text as crates/services/tcs/src/people/search.rs writes.
explain() {
    local name=$1
    echo "#### $name: query plans"
    echo
    if [ "$name" = postgres ]; then
        psql_tcs -c "ALTER SYSTEM SET auto_explain.log_min_duration = 0" -c "SELECT pg_reload_conf()" >/dev/null
        sleep 1
    fi
    for mix in $MIXES; do
        [ "$mix" = record ] && continue
        local path; path=$(head -n 1 "$WORK/$mix.urls")
        echo "- \`$mix\`: \`$path\`"
        echo
        echo '```'
        if [ "$name" = postgres ]; then
            local from; from=$(stat -c %s "$WORK/pg/log")
            for _ in 1 2; do
                curl -fsS -o /dev/null -H "Authorization: Bearer $token" "http://$GW$path"
            done
            sleep 0.5
            tail -c +$((from + 1)) "$WORK/pg/log" | python3 -c '
import sys
entries = sys.stdin.read().split("@@ ")
plans = [e for e in entries if "person_view" in e and "plan:" in e]
print(plans[-1].strip() if plans else "(no plan logged)")'
        else
            python3 "$BENCH/tcs_plans.py" "$path" | python3 -c '
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
q = json.load(sys.stdin)
print(q["sql"])
for row in db.execute("EXPLAIN QUERY PLAN " + q["sql"], q["params"]):
    print("  " * 0 + "--", row[3])
' "$WORK/$name/.tis/tcs.db"
        fi
        echo '```'
        echo
    done
    if [ "$name" = postgres ]; then
        psql_tcs -c "ALTER SYSTEM RESET auto_explain.log_min_duration" -c "SELECT pg_reload_conf()" >/dev/null
    fi
}

echo "## TCS people, posts and placements — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "$RATE req/s per mix for ${DURATION} s × $RUNS runs (after a 5 s warm-up), $CONNS connections, $PEOPLE people (posts and placements as tis demo generate makes them), $INSTANCES instances per service, binary $TIS"
echo
for b in $BACKENDS; do
    run_backend "$b"
done
