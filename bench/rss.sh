#!/usr/bin/env bash
# Idle memory of the service instances under `tis up` (issue 11: < 20 MB RSS), split into
# anonymous memory (heap, thread stacks) and file-backed pages (the executable's code and
# read-only data, libc), with PSS (shared pages counted once) and the thread count.
#
#   bench/rss.sh                                  # target/release/tis, ROUNDS=3 IDLE=10
#   bench/rss.sh "new:/tmp/tis-new" "old:/tmp/tis-old" "arena1:/tmp/tis-new:MALLOC_ARENA_MAX=1"
#
# Each argument is LABEL:BINARY[:ENV …] (ENV: space-separated NAME=VALUE, set for the whole
# `tis up`, which its children inherit). Variants run one after the other, ROUNDS times in
# rotating order; each run is a fresh `tis up` on SQLite (INSTANCES per service, default 2
# as `tis up`'s, free ports) whose instances have all reported ready, left idle IDLE seconds, then read from
# /proc/PID/status (VmRSS, RssAnon, RssFile, Threads) and /proc/PID/smaps_rollup (Pss) of
# every TIS process but the identity provider (SERVICES="reference profile" to narrow it). The
# table gives the median over rounds and instances.
# A second table: the first requests after the idle time (a 20-row page of sites through the
# gateway) and the Reference instances' RSS once they have served them.
# A third table with LOAD=SECONDS (default 0: none): then each run drives RATE requests/s
# (default 100) through the gateway for LOAD seconds with bench/rate.py, a mix of every
# service's typical reads (URLS: one path per line, default: a 20-row page of sites and of
# grades, the user's own profile, 20-row pages of people and posts, the web application's
# search and posts pages, signed in as `admin`), and gives per process the largest RSS sampled every 0.2 s during the load,
# VmHWM (the peak since start) after it, and the CPU it used (utime + stime over the load
# phase, in cores): what the pods' requests and limits are set from.
# Data: BENCH_DATA=FILE appends the medians (MB) as JSON lines, target "VARIANT SERVICE"
# (bench/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_NAME=rss BENCH_COMMAND="ROUNDS=${ROUNDS:-3} IDLE=${IDLE:-10} bench/rss.sh $*"
# shellcheck source=bench/lib.sh
. bench/lib.sh
ROUNDS=${ROUNDS:-3}
IDLE=${IDLE:-10}
INSTANCES=${INSTANCES:-2}
LOAD=${LOAD:-0}
RATE=${RATE:-100}
SERVICES=${SERVICES:-gateway reference profile tcs web}
VARIANTS=("$@")
if [ ${#VARIANTS[@]} -eq 0 ]; then
    [ -x target/release/tis ] || cargo build --release -q -p tis
    VARIANTS=("tis:$PWD/target/release/tis")
fi
WORK=$(mktemp -d /tmp/tis-bench-rss.XXXXXX)
UP=
cleanup() {
    [ -n "$UP" ] && { kill -INT "$UP" 2>/dev/null || true; wait "$UP" 2>/dev/null || true; }
    rm -rf "$WORK"
}
trap cleanup EXIT

# "label service rss anon file pss threads" (kB) for each instance of a fresh `tis up`.
measure() {
    local label=$1 bin=$2 envs=$3 dir="$WORK/$1.$RANDOM"
    mkdir -p "$dir"
    (
        cd "$dir"
        export TIS_IDP__LISTEN=127.0.0.1:0 TIS_LOG__LEVEL=warn TIS_UP__INSTANCES=$INSTANCES \
            TIS_GATEWAY__LISTEN=127.0.0.1:0 TIS_GATEWAY__ADMIN_LISTEN=127.0.0.1:0
        # shellcheck disable=SC2086
        [ -n "$envs" ] && export $envs
        exec "$bin" up --data-dir .tis >up.log 2>&1
    ) &
    UP=$!
    local state="$dir/.tis/run/up.json" deadline=$((SECONDS + 300))
    until [ -f "$state" ] && grep -q "\"profile-$INSTANCES\"" "$state" && grep -q "\"reference-$INSTANCES\"" "$state"; do
        [ $SECONDS -ge $deadline ] && { echo "tis up not ready in 300 s" >&2; tail -n 20 "$dir/up.log" >&2; exit 1; }
        sleep 0.2
    done
    sleep "$IDLE"
    python3 - "$state" "$label" "$SERVICES" <<'PY'
import json, sys
state, label, wanted = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3].split()
for name, p in sorted(state["processes"].items()):
    if p.get("service") not in wanted:
        continue
    pid = p["pid"]
    st = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status"))
    kb = lambda k: int(st[k].split()[0])
    pss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/smaps_rollup") if l.startswith("Pss:"))
    print(label, p["service"], kb("VmRSS"), kb("RssAnon"), kb("RssFile"), pss, int(st["Threads"]))
PY
    # Then the first requests after the idle time (through the gateway: a 20-row page of
    # sites, the admin user's token), the first two (one per instance) and the median of the
    # next 20, and the instances' RSS once they have served them: what the first requests pay
    # for pages given back, and what comes back.
    local gw issuer token t first=() next=()
    gw=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['processes']['gateway']['addr'])" "$state")
    issuer=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['issuer'])" "$state")
    token=$("$bin" token --user admin --issuer "$issuer")
    for i in $(seq 1 22); do
        t=$(curl -fsS -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" \
            "http://$gw/reference/api/sites?page=0&size=20&searchQuery=hosp")
        if [ "$i" -le 2 ]; then first+=("$t"); else next+=("$t"); fi
    done
    python3 - "$state" "$label" "${first[*]}" "${next[*]}" >> "$WORK/after" <<'PY'
import json, statistics, sys
state, label = json.load(open(sys.argv[1])), sys.argv[2]
first = [float(x) * 1000 for x in sys.argv[3].split()]
nxt = statistics.median(float(x) * 1000 for x in sys.argv[4].split())
rss = [int(next(l for l in open(f"/proc/{p['pid']}/status") if l.startswith("VmRSS:")).split()[1])
       for n, p in state["processes"].items() if n.startswith("reference-")]
print(label, max(first), nxt, statistics.median(rss))
PY
    [ "$LOAD" -gt 0 ] && load_phase "$label" "$state" "$gw" "$token" >> "$WORK/load"
    kill -INT "$UP"; wait "$UP" 2>/dev/null || true; UP=
}

# "label service peak_rss_kB hwm_kB cpu_cores" per process, after LOAD seconds at RATE
# requests/s through the gateway; the answers' statuses to stderr.
load_phase() {
    local label=$1 state=$2 gw=$3 token=$4
    if [ -n "${URLS:-}" ]; then
        cp "$URLS" "$WORK/urls"
    else
        printf '%s\n' "/reference/api/sites?page=0&size=20&searchQuery=hosp" \
            "/reference/api/grades?page=0&size=20" "/profile/api/userinfo" \
            "/tcs/api/people?page=0&size=20" "/tcs/api/posts?page=0&size=20" \
            "/people?q=smith" "/posts" > "$WORK/urls"
    fi
    # The web pages need a session: `admin` signs in on the real login page (as bench/web.sh).
    local session
    session=$(python3 - "http://$gw" <<'PY'
import http.cookiejar, re, sys, urllib.parse, urllib.request
jar = http.cookiejar.CookieJar()
web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
login = web.open(sys.argv[1] + "/")
action = re.search(r'action="([^"]+)"', login.read().decode()).group(1).replace("&amp;", "&")
form = urllib.parse.urlencode({"username": "admin", "password": "tis"}).encode()
web.open(urllib.parse.urljoin(login.geturl(), action), form).read()
print(next(c.value for c in jar if c.name == "TIS_SESSION"))
PY
    )
    python3 - "$state" "$SERVICES" "$label" "$LOAD" -- python3 bench/rate.py --rate "$RATE" \
        --duration "$LOAD" --conns 16 --label "rss load $label" --urls "$WORK/urls" \
        --header "Authorization: Bearer $token" --header "Cookie: TIS_SESSION=$session" \
        "http://$gw" <<'PY'
import json, os, subprocess, sys, time
state, wanted, label, seconds = json.load(open(sys.argv[1])), sys.argv[2].split(), sys.argv[3], float(sys.argv[4])
driver = sys.argv[sys.argv.index("--") + 1:]
procs = {n: p for n, p in state["processes"].items() if p.get("service") in wanted}
hz = os.sysconf("SC_CLK_TCK")
def ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime
def status(pid, key):
    return int(next(l for l in open(f"/proc/{pid}/status") if l.startswith(key + ":")).split()[1])
start = {n: ticks(p["pid"]) for n, p in procs.items()}
peak = {n: status(p["pid"], "VmRSS") for n, p in procs.items()}
began = time.monotonic()
run = subprocess.Popen(driver, stdout=subprocess.PIPE, text=True)
while run.poll() is None:
    for n, p in procs.items():
        peak[n] = max(peak[n], status(p["pid"], "VmRSS"))
    time.sleep(0.2)
elapsed = time.monotonic() - began
result = json.loads(run.stdout.read())
print(f"load {label}: {json.dumps({k: result.get(k) for k in ('answered_per_s', 'statuses', 'p50', 'p99')})}", file=sys.stderr)
for n, p in sorted(procs.items()):
    cores = (ticks(p["pid"]) - start[n]) / hz / elapsed
    print(label, p["service"], peak[n], status(p["pid"], "VmHWM"), f"{cores:.3f}")
PY
}

echo "## Idle RSS of the service instances — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds, ${IDLE} s idle"
echo
for v in "${VARIANTS[@]}"; do
    IFS=: read -r label bin envs <<<"$v"
    echo "- $label: \`$bin\`${envs:+ with \`$envs\`} ($(stat -c %s "$bin" | awk '{printf "%.1f MB", $1/1048576}') on disk)"
done
echo
for round in $(seq 1 "$ROUNDS"); do
    n=${#VARIANTS[@]}
    for i in $(seq 0 $((n - 1))); do
        v=${VARIANTS[$(((i + round - 1) % n))]}
        IFS=: read -r label bin envs <<<"$v"
        bench_progress "round $round of $ROUNDS: $label (tis up, ${IDLE} s idle)"
        measure "$label" "$bin" "${envs:-}" >> "$WORK/samples"
    done
done
bench_progress_done
python3 - "$WORK/samples" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
order = []
for r in rows:
    if (r[0], r[1]) not in order:
        order.append((r[0], r[1]))
print("| variant | service | RSS | anonymous | file-backed | PSS | threads | samples |")
print("|---|---|---|---|---|---|---|---|")
for label, svc in order:
    s = [list(map(int, r[2:])) for r in rows if (r[0], r[1]) == (label, svc)]
    med = lambda i: statistics.median(x[i] for x in s)
    mb = lambda i: f"{med(i) / 1024:.1f} MB"
    print(f"| {label} | {svc} | **{mb(0)}** | {mb(1)} | {mb(2)} | {mb(3)} | {med(4):.0f} | {len(s)} |")
PY
echo
python3 - "$WORK/after" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
order = list(dict.fromkeys(r[0] for r in rows))
print("| variant | first 2 requests after the idle time (slowest) | next 20 (median) | reference RSS after them |")
print("|---|---|---|---|")
for label in order:
    s = [list(map(float, r[1:])) for r in rows if r[0] == label]
    med = lambda i: statistics.median(x[i] for x in s)
    print(f"| {label} | {med(0):.1f} ms | {med(1):.1f} ms | {med(2) / 1024:.1f} MB |")
PY
if [ "$LOAD" -gt 0 ]; then
    echo
    python3 - "$WORK/load" "$RATE" "$LOAD" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print(f"Under load: {sys.argv[2]} requests/s through the gateway for {sys.argv[3]} s (the mix of URLS)")
print()
print("| variant | service | largest RSS under load (median, max) | VmHWM (median, max) | CPU, cores (median, max) | samples |")
print("|---|---|---|---|---|---|")
for key in dict.fromkeys((r[0], r[1]) for r in rows):
    s = [list(map(float, r[2:])) for r in rows if (r[0], r[1]) == key]
    col = lambda i: [x[i] for x in s]
    mb = lambda i: f"{statistics.median(col(i)) / 1024:.1f} MB, {max(col(i)) / 1024:.1f} MB"
    cpu = f"{statistics.median(col(2)):.2f}, {max(col(2)):.2f}"
    print(f"| {key[0]} | {key[1]} | **{mb(0)}** | {mb(1)} | {cpu} | {len(s)} |")
PY
fi
# The medians as data (BENCH_DATA; bench/lib.sh).
if [ -n "${BENCH_DATA:-}" ]; then
    python3 - "$WORK/samples" <<'PY' | while IFS=$'\t' read -r target metric value; do bench_data "$target" "$metric" "$value" MB; done
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for key in dict.fromkeys((r[0], r[1]) for r in rows):
    s = [list(map(int, r[2:])) for r in rows if (r[0], r[1]) == key]
    for i, metric in ((0, "rss_mb_idle"), (1, "anon_mb_idle"), (3, "pss_mb_idle")):
        print(f"{key[0]} {key[1]}\t{metric}\t{statistics.median(x[i] for x in s) / 1024:.1f}")
PY
fi
