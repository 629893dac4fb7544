#!/usr/bin/env bash
# The web application's numbers (issue 14): the server time of each page, through the gateway,
# on the demo data of `tis up`, and what a page weighs with its assets.
#
#   bench/web.sh                          # RATE=20 DURATION=15 RUNS=3
#   TIS=/path/to/tis bench/web.sh         # this binary instead of target/release/tis
#   PAGES="home record" bench/web.sh      # some pages only
#
# `tis up` (free ports, SQLite, the demo data); a session made by signing `admin` in on the
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
# Pages: home /, search /people?q=smith, record /people/{id}, posts /posts, post /posts/{id},
# placement /placements/{id}, programmes /programmes, reference /admin/reference/grades.
#
# Needs: python3, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-20}
DURATION=${DURATION:-15}
RUNS=${RUNS:-3}
CONNS=${CONNS:-4}
PAGES=${PAGES:-home search record posts post placement programmes reference}
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
until [ -f "$STATE" ] && grep -q '"web-1"' "$STATE" && grep -q '"tcs-1"' "$STATE" && grep -q '"gateway"' "$STATE"; do
    if [ $SECONDS -ge $deadline ]; then
        echo "tis up was not ready within 300 s; its log:" >&2
        tail -n 30 "$WORK/up.log" >&2
        exit 1
    fi
    sleep 0.2
done
GW=$(python3 -c "import json; print(json.load(open('$STATE'))['processes']['gateway']['addr'])")
BASE="http://$GW"

# Sign in on the real login page; print the session cookie and the pages' paths.
python3 - "$BASE" > "$WORK/session" <<'PY'
import http.cookiejar, re, sys, urllib.parse, urllib.request
base = sys.argv[1]
jar = http.cookiejar.CookieJar()
web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
login = web.open(base + "/")
html = login.read().decode()
action = re.search(r'action="([^"]+)"', html).group(1).replace("&amp;", "&")
action = urllib.parse.urljoin(login.geturl(), action)
web.open(action, urllib.parse.urlencode({"username": "admin", "password": "tis"}).encode()).read()
session = next(c.value for c in jar if c.name == "TIS_SESSION")
get = lambda p: web.open(base + p).read().decode()
person = re.search(r'href="/people/(\d+)"', get("/people?q=smith")).group(1)
post = placement = None
for p in re.findall(r'href="/posts/(\d+)"', get("/posts?status=CURRENT")):
    found = re.search(r'href="/placements/(\d+)"', get(f"/posts/{p}"))
    if found:
        post, placement = p, found.group(1)
        break
print(session)
print(f"home / search /people?q=smith record /people/{person} posts /posts post /posts/{post} "
      f"placement /placements/{placement} programmes /programmes reference /admin/reference/grades")
PY
SESSION=$(sed -n 1p "$WORK/session")
declare -A PATHS
read -r -a pairs < <(sed -n 2p "$WORK/session")
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
printf '%-11s %-28s %8s %8s %8s %10s %10s\n' page path p50_ms p99_ms statuses sent_KB raw_KB
for page in $PAGES; do
    path=${PATHS[$page]}
    echo "$path" > "$WORK/urls"
    python3 "$BENCH/rate.py" --rate "$RATE" --duration 3 --conns "$CONNS" \
        --header "Cookie: TIS_SESSION=$SESSION" --urls "$WORK/urls" "$BASE" >/dev/null
    : > "$WORK/runs"
    for _ in $(seq "$RUNS"); do
        python3 "$BENCH/rate.py" --rate "$RATE" --duration "$DURATION" --conns "$CONNS" \
            --header "Cookie: TIS_SESSION=$SESSION" --label "web $page" --urls "$WORK/urls" "$BASE" \
            | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["p50"], d["p99"], ",".join(f"{k}:{v}" for k,v in d["statuses"].items()))' >> "$WORK/runs"
    done
    p50=$(cut -d' ' -f1 "$WORK/runs" | median)
    p99=$(cut -d' ' -f2 "$WORK/runs" | median)
    statuses=$(cut -d' ' -f3 "$WORK/runs" | sort -u | paste -sd' ')
    read -r sent raw < <(weigh "$path")
    printf '%-11s %-28s %8s %8s %8s %10s %10s\n' "$page" "$path" "$p50" "$p99" "$statuses" "$sent" "$raw"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
