#!/usr/bin/env bash
# The web application's numbers (issue 14): the server time of each page, through the gateway,
# on the demo data of `tis up`, and what a page weighs with its assets.
#
#   bench/web.sh                          # RATE=20 DURATION=15 RUNS=3
#   TIS=/path/to/tis bench/web.sh         # this binary instead of target/release/tis
#   PAGES="home record" bench/web.sh      # some pages only
#
# `tis up` (free ports, SQLite, the demo data); sessions made by signing `admin` in on the
# real login page (python's urllib with a cookie jar, following every redirect); then for each
# page, bench/rate.py (open model: request i is due at start + i/RATE, latency from then)
# over CONNS keep-alive connections with the session's cookie, a 3 s warm-up, then RUNS runs of
# DURATION s: the medians of p50 and p99 (ms). The page time is what a browser waits for the
# HTML: the web instance's own calls through the gateway (session, userinfo, status, the APIs)
# included.
#
# Weight: each page's HTML plus every asset it links (stylesheets, scripts, and the module
# init.js imports), fetched as a browser does with `Accept-Encoding: gzip, deflate, br`:
# bytes on the wire (curl's size_download), and the same uncompressed, in KB.
#
# Pages: home /, search /people?q=smith, record /people/{id} (with placements, timeline and
# history), contact /people/{id}/contact, posts /posts, post /posts/{id}, placement
# /placements/{id}, programmes /programmes, reference /admin/reference/grades, grade
# /admin/reference/grades/{id}.
#
# Each page gets a session of its own, signed in just before it is measured: a session lives
# on one access token (5 minutes in the demo realm) until its refresh, and the refresh is not
# measured here (several connections refreshing one session at once also race for its
# single-use refresh token).
#
# Data: BENCH_DATA=FILE appends each page's medians and weights as JSON lines (bench/lib.sh;
# target "web <page>", metrics p50_ms, p99_ms, sent_kb, raw_kb); the warm-up and the single
# runs are not written. Progress shows on a terminal only.
#
# Needs: python3, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-20}
DURATION=${DURATION:-15}
RUNS=${RUNS:-3}
CONNS=${CONNS:-4}
PAGES=${PAGES:-home search record contact posts post placement programmes reference grade}
BENCH_NAME=web BENCH_COMMAND="RATE=$RATE DURATION=$DURATION RUNS=$RUNS CONNS=$CONNS bench/web.sh"
# shellcheck source=bench/lib.sh
. bench/lib.sh
TIS=${TIS:-$PWD/target/release/tis}
[ -x "$TIS" ] || cargo build --release -q -p tis
BENCH=$PWD/bench
WORK=$(mktemp -d /tmp/tis-bench-web.XXXXXX)
UP=
cleanup() {
    [ -n "$UP" ] && kill -INT "$UP" 2>/dev/null && wait "$UP" 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

(
    cd "$WORK"
    export TIS_IDP__LISTEN=127.0.0.1:0 TIS_LOG__LEVEL=warn \
        TIS_GATEWAY__LISTEN=127.0.0.1:0 TIS_GATEWAY__ADMIN_LISTEN=127.0.0.1:0
    exec "$TIS" up --data-dir .tis >up.log 2>&1
) &
UP=$!
STATE="$WORK/.tis/run/up.json"
deadline=$((SECONDS + 300))
ready() {
    [ -f "$STATE" ] || return 1
    for p in web-1 tcs-1 reference-1 profile-1 gateway; do grep -q "\"$p\"" "$STATE" || return 1; done
}
until ready; do
    if [ $SECONDS -ge $deadline ]; then
        echo "tis up was not ready within 300 s; its log:" >&2
        tail -n 30 "$WORK/up.log" >&2
        exit 1
    fi
    sleep 0.2
done
GW=$(python3 -c "import json; print(json.load(open('$STATE'))['processes']['gateway']['addr'])")
BASE="http://$GW"

# Signs `admin` in on the real login page (every redirect followed, as a browser does) and
# prints the session cookie; with `paths`, also the pages' paths (a trainee, a post with a
# placement, that placement) on a second line.
session() {
    python3 - "$BASE" "${1:-}" <<'PY'
import http.cookiejar, re, sys, urllib.error, urllib.parse, urllib.request
base, want = sys.argv[1], sys.argv[2]
def sign_in():
    jar = http.cookiejar.CookieJar()
    web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = web.open(base + "/")
    html = login.read().decode()
    action = re.search(r'action="([^"]+)"', html).group(1).replace("&amp;", "&")
    action = urllib.parse.urljoin(login.geturl(), action)
    home = web.open(action, urllib.parse.urlencode({"username": "admin", "password": "tis"}).encode()).read().decode()
    if "Signed in as" not in home:
        sys.exit("bench/web.sh: admin could not sign in")
    return jar, web
# A sign-in refused once is said and tried again (twice at most): it is not what is measured.
for attempt in range(3):
    try:
        jar, web = sign_in()
        break
    except urllib.error.HTTPError as e:
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", e.read().decode(errors="replace")))
        print(f"bench/web.sh: sign-in {attempt + 1}: {e.code} at {e.url}: {text[-400:]}", file=sys.stderr)
else:
    sys.exit("bench/web.sh: admin could not sign in")
print(next(c.value for c in jar if c.name == "TIS_SESSION"))
if want != "paths":
    sys.exit(0)
get = lambda p: web.open(base + p).read().decode()
person = re.search(r'href="/people/(\d+)"', get("/people?q=smith")).group(1)
post = placement = None
for p in re.findall(r'href="/posts/(\d+)"', get("/posts?status=CURRENT")):
    found = re.search(r'href="/placements/(\d+)"', get(f"/posts/{p}"))
    if found:
        post, placement = p, found.group(1)
        break
if placement is None:
    sys.exit("bench/web.sh: no current post with a placement")
grade = re.search(r'href="/admin/reference/grades/(\d+)"', get("/admin/reference/grades")).group(1)
print(f"home / search /people?q=smith record /people/{person} contact /people/{person}/contact "
      f"posts /posts post /posts/{post} placement /placements/{placement} programmes /programmes "
      f"reference /admin/reference/grades grade /admin/reference/grades/{grade}")
PY
}

declare -A PATHS
read -r -a pairs < <(session paths | sed -n 2p)
[ ${#pairs[@]} -gt 0 ] || { echo "bench/web.sh: no pages found" >&2; exit 1; }
for ((i = 0; i < ${#pairs[@]}; i += 2)); do PATHS[${pairs[i]}]=${pairs[i + 1]}; done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Weight: the page and what it links, compressed as sent, and uncompressed.
weigh() {
    local path=$1 html sent=0 raw=0 url s r
    html=$(curl -s -H "Cookie: TIS_SESSION=$SESSION" "$BASE$path")
    local assets
    assets=$(grep -oE '(href|src)="/assets/[^"]+"' <<<"$html" | sed -E 's/^(href|src)="//; s/"$//' | sort -u)
    # init.js imports nhsuk.min.js beside it.
    assets="$assets $(dirname "$(grep -m1 init.js <<<"$assets")")/nhsuk.min.js"
    for url in "$path" $assets; do
        read -r s r < <(curl -s -o /dev/null -H "Cookie: TIS_SESSION=$SESSION" \
            -H 'Accept-Encoding: gzip, deflate, br' -w '%{size_download} ' "$BASE$url";
            curl -s -H "Cookie: TIS_SESSION=$SESSION" "$BASE$url" | wc -c)
        sent=$((sent + s)); raw=$((raw + r))
    done
    echo "$((sent / 1024)) $((raw / 1024))"
}

printf '%s\n' "web pages through the gateway: RATE=$RATE/s CONNS=$CONNS DURATION=${DURATION}s RUNS=$RUNS, $(git rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-11s %-30s %8s %8s %14s %8s %8s\n' page path p50_ms p99_ms statuses sent_KB raw_KB
n=0
for page in $PAGES; do
    n=$((n + 1))
    path=${PATHS[$page]:-}
    [ -n "$path" ] || { echo "bench/web.sh: no page called $page" >&2; exit 1; }
    SESSION=$(session | sed -n 1p)
    echo "$path" > "$WORK/urls"
    bench_progress "page $n: $page, warm-up"
    BENCH_DATA= python3 "$BENCH/rate.py" --rate "$RATE" --duration 3 --conns "$CONNS" \
        --header "Cookie: TIS_SESSION=$SESSION" --urls "$WORK/urls" "$BASE" >/dev/null
    : > "$WORK/runs"
    for r in $(seq "$RUNS"); do
        bench_progress "page $n: $page, run $r of $RUNS (${DURATION} s)"
        BENCH_DATA= python3 "$BENCH/rate.py" --rate "$RATE" --duration "$DURATION" --conns "$CONNS" \
            --header "Cookie: TIS_SESSION=$SESSION" --urls "$WORK/urls" "$BASE" \
            | python3 -c 'import json,sys; d=json.load(sys.stdin); e=d["errors"]; u=d["unfinished"]; print(d["p50"], d["p99"], ",".join(f"{k}:{v}" for k,v in d["statuses"].items()) + (",errors:%d" % e if e else "") + (",unfinished:%d" % u if u else ""))' >> "$WORK/runs"
    done
    bench_progress_done
    p50=$(cut -d' ' -f1 "$WORK/runs" | median)
    p99=$(cut -d' ' -f2 "$WORK/runs" | median)
    statuses=$(cut -d' ' -f3 "$WORK/runs" | sort -u | paste -sd' ')
    read -r sent raw < <(weigh "$path")
    printf '%-11s %-30s %8s %8s %14s %8s %8s\n' "$page" "$path" "$p50" "$p99" "$statuses" "$sent" "$raw"
    bench_data "web $page" p50_ms "$p50" ms
    bench_data "web $page" p99_ms "$p99" ms
    bench_data "web $page" sent_kb "$sent" KB
    bench_data "web $page" raw_kb "$raw" KB
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
