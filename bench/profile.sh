#!/usr/bin/env bash
# Profile benchmark (issue 5): `GET /profile/api/userinfo` on one Profile instance on SQLite,
# at a fixed rate (oha -q, latency corrected for coordinated omission), next to the same
# instance's `/health/live` (no token, no database) at the same rate as the floor of this
# server on this machine. Each rate runs RUNS times in a row; the medians are reported.
#
#   bench/profile.sh                      # RATES="500 1000" DURATION=20 RUNS=3 CONNS=16
#
# The instance runs under `tis up` (release build, local mode: the demo database and realm),
# with one instance per service; the caller is the demo user `admin` with a real token from
# the real IdP, which Profile verifies on every request (as it does for the gateway).
# Needs: oha (cargo install oha), python3, target/release/tis (built here if missing;
# TIS=… to use another binary).
# BASE=/path/to/another/tis adds a row for /userinfo on a second `tis up` running that binary,
# measured in the same interleaved runs (before/after comparisons).
# PRIORITY=-10 (root only) runs the Profile instance's threads and oha at that nice value, to
# keep other work on a shared machine (builds) from queueing in front of the measurement;
# the table says when it was used.
# Data: BENCH_DATA=FILE appends each row's medians as JSON lines (bench/lib.sh): target the
# path (and "(BASE)"), metrics p50_ms_at_RATE, p99_ms_at_RATE, p999_ms_at_RATE,
# cpu_us_per_req_at_RATE. Progress shows on a terminal only.
set -euo pipefail
cd "$(dirname "$0")/.."
RATES=${RATES:-500 1000}
DURATION=${DURATION:-20}
RUNS=${RUNS:-3}
CONNS=${CONNS:-16}
BENCH_NAME=profile BENCH_COMMAND="RATES=\"$RATES\" DURATION=$DURATION RUNS=$RUNS CONNS=$CONNS bench/profile.sh"
# shellcheck source=bench/lib.sh
. bench/lib.sh
PRIORITY=${PRIORITY:-}
TIS=${TIS:-$PWD/target/release/tis}
OHA=${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}
[ -x "$TIS" ] || cargo build --release -q -p tis
WORK=$(mktemp -d /tmp/tis-bench-profile.XXXXXX)
UP_PIDS=()
cleanup() {
    for p in "${UP_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

json() { python3 -c "import json,sys; d=json.load(open('$1')); print(eval(sys.argv[1]))" "$2"; }
declare -A ADDRS PIDS TOKENS
NICE=()
[ -n "$PRIORITY" ] && NICE=(nice -n "$PRIORITY")

# Starts `tis up` (one instance per service) with binary $2 in $WORK/$1; records the Profile
# instance's address and pid, and a token of `admin`, under key $1.
start_instance() {
    local key=$1 bin=$2
    mkdir -p "$WORK/$key"
    (
        cd "$WORK/$key"
        export TIS_IDP__LISTEN=127.0.0.1:0 TIS_GATEWAY__LISTEN=127.0.0.1:0 \
            TIS_GATEWAY__ADMIN_LISTEN=127.0.0.1:0 TIS_UP__INSTANCES=1 TIS_LOG__LEVEL=warn
        exec "$bin" up --data-dir .tis >up.log 2>&1
    ) &
    UP_PIDS+=($!)
    local state="$WORK/$key/.tis/run/up.json"
    for _ in $(seq 1 600); do
        [ -f "$state" ] && grep -q '"profile-1"' "$state" && break
        sleep 0.1
    done
    ADDRS[$key]=$(json "$state" "d['processes']['profile-1']['addr']")
    PIDS[$key]=$(json "$state" "d['processes']['profile-1']['pid']")
    TOKENS[$key]=$("$bin" token --user admin --issuer "$(json "$state" "d['issuer']")")
    curl -fsS -o /dev/null -H "Authorization: Bearer ${TOKENS[$key]}" "http://${ADDRS[$key]}/profile/api/userinfo"
    if [ -n "$PRIORITY" ]; then
        for t in /proc/"${PIDS[$key]}"/task/*; do renice -n "$PRIORITY" -p "${t##*/}" >/dev/null; done
    fi
}
INSTANCES=(tis)
start_instance tis "$TIS"
if [ -n "${BASE:-}" ]; then
    INSTANCES+=(base)
    start_instance base "$BASE"
fi
PID=${PIDS[tis]}

# One fixed-rate run; prints "p50 p99 p99.9 (ms), 200s, other answers and errors, the
# instance's CPU time per request (µs)".
ticks() { awk '{print $14 + $15}' "/proc/${PIDS[$1]}/stat"; }
run() { # instance rate path [auth]
    local key=$1 out="$WORK/oha.json"
    local auth=()
    [ "${4:-}" = auth ] && auth=(-H "Authorization: Bearer ${TOKENS[$key]}")
    local t0; t0=$(ticks "$key")
    "${NICE[@]}" "$OHA" --no-tui --output-format json -z "${DURATION}s" -q "$2" --latency-correction \
        -c "$CONNS" "${auth[@]}" "http://${ADDRS[$key]}$3" >"$out"
    local t1; t1=$(ticks "$key")
    python3 - "$out" "$((t1 - t0))" "$(getconf CLK_TCK)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
cpu_us = int(sys.argv[2]) / int(sys.argv[3]) * 1e6
p = d["latencyPercentiles"]; s = d["summary"]
codes = d.get("statusCodeDistribution", {})
ok = codes.get("200", 0)
errors = {k: v for k, v in d.get("errorDistribution", {}).items() if "deadline" not in k}
bad = sum(codes.values()) - ok + sum(errors.values())
if errors:
    print(errors, file=sys.stderr)
print(f'{p["p50"]*1e3:.2f} {p["p99"]*1e3:.2f} {p["p99.9"]*1e3:.2f} {ok} {bad} {cpu_us / max(ok, 1):.0f}')
PY
}

median() { python3 -c "import statistics,sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.2f}')" "$@"; }

# Warm each instance (connections, SQLite page cache, the IdP's keys).
for key in "${INSTANCES[@]}"; do
    "$OHA" --no-tui --output-format quiet -n 2000 -c "$CONNS" \
        -H "Authorization: Bearer ${TOKENS[$key]}" "http://${ADDRS[$key]}/profile/api/userinfo"
done

# The rows: "instance path"; with BASE, /userinfo of the base binary's instance too.
ROWS=("tis /health/live" "tis /profile/api/userinfo")
[ -n "${BASE:-}" ] && ROWS+=("base /profile/api/userinfo")
label() { # instance path
    if [ "$1" = base ]; then echo "\`$2\` (BASE)"; else echo "\`$2\`"; fi
}

echo "### Profile \`/userinfo\` — $(date -u +%Y-%m-%d), $(nproc) cores, SQLite, ${DURATION}s per run, $RUNS runs per row"
echo
echo "Load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine competes for the same cores)."
echo
echo "Command: \`bench/profile.sh\` (RATES=\"$RATES\" DURATION=$DURATION RUNS=$RUNS CONNS=$CONNS${BASE:+ BASE=$BASE}); each run is"
echo "\`oha --no-tui -z ${DURATION}s -q RATE --latency-correction -c $CONNS [-H 'Authorization: Bearer …'] http://PROFILE/PATH\`"
echo "against one Profile instance of \`tis up\` (release build: $TIS), caller \`admin\`${PRIORITY:+; the instances and oha at nice $PRIORITY}."
echo
echo "| path | rate (req/s) | p50 ms (median of runs) | p99 ms (median) | p99.9 ms (median) | 200s / other | CPU µs per request (median) | p99 ms of each run |"
echo "|---|---|---|---|---|---|---|---|"
# Runs interleaved (run 1 of every row, then run 2…), so that noise from other work on the
# machine spreads over the rows instead of landing on one.
declare -A P50 P99 P999 OK BAD CPU
for n in $(seq 1 "$RUNS"); do
    for rate in $RATES; do
        for row in "${ROWS[@]}"; do
            read -r key what <<<"$row"
            bench_progress "run $n of $RUNS: $rate req/s, $row (${DURATION} s)"
            if [ "$what" = /health/live ]; then r=$(run "$key" "$rate" "$what"); else r=$(run "$key" "$rate" "$what" auth); fi
            read -r p50 p99 p999 ok bad cpu <<<"$r"
            k="$row@$rate"
            P50[$k]+="$p50 "; P99[$k]+="$p99 "; P999[$k]+="$p999 "; CPU[$k]+="$cpu "
            OK[$k]=$(( ${OK[$k]:-0} + ok )); BAD[$k]=$(( ${BAD[$k]:-0} + bad ))
        done
    done
done
bench_progress_done
for rate in $RATES; do
    for row in "${ROWS[@]}"; do
        read -r key what <<<"$row"
        k="$row@$rate"
        # shellcheck disable=SC2086
        echo "| $(label "$key" "$what") | $rate | $(median ${P50[$k]}) | $(median ${P99[$k]}) | $(median ${P999[$k]}) | ${OK[$k]} / ${BAD[$k]} | $(median ${CPU[$k]}) | ${P99[$k]% } |"
        target=$what; [ "$key" = base ] && target="$what (BASE)"
        # shellcheck disable=SC2086
        {
            bench_data "$target" "p50_ms_at_$rate" "$(median ${P50[$k]})" ms
            bench_data "$target" "p99_ms_at_$rate" "$(median ${P99[$k]})" ms
            bench_data "$target" "p999_ms_at_$rate" "$(median ${P999[$k]})" ms
            bench_data "$target" "cpu_us_per_req_at_$rate" "$(median ${CPU[$k]})" "µs"
        }
    done
done
echo
echo "Load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "Profile instance RSS after the runs: $(( $(awk '/^VmRSS/ {print $2}' "/proc/$PID/status") / 1024 )) MB."
