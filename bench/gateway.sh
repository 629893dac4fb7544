#!/usr/bin/env bash
# Gateway benchmark: the same trivial upstream (nginx returning ~1 KB) reached
#   1. directly,
#   2. through `tis gateway` (release build, JWT verification on every request),
#   3. through nginx as a reverse proxy (keep-alive to the upstream),
#   4. through HAProxy (keep-alive to the upstream),
# in one run, with the same wrk settings for all; then added latency at a fixed 2,000 req/s
# (oha -q) for the gateway against direct, and the gateway's RSS.
#
# Usage: bench/gateway.sh [DURATION_SECONDS]      (from the repository root)
# Needs: wrk, nginx, haproxy (Debian), oha (cargo install oha), target/release/tis
#        (cargo build --release -p tis; it also runs `tis idp` and `tis token`).
# Optional: target/release/examples/bare_proxy (cargo build --release -p tis-gateway
#        --example bare_proxy): a hyper-only proxy, and the same with a tis-mesh client,
#        measured as the floor of a Rust data path on this machine.
# Env: GATEWAY_BIN=/path/to/a/copy/of/examples/gateway, BARE_BIN=…/bare_proxy, TIS=…/tis: run
#        copies (so that a build during the run cannot replace a binary under it);
#      GATEWAY_BEFORE=/path/to/an/older/examples/gateway (or an older `tis`) adds that binary
#        as a second gateway target ("gateway (before)") in the same run, for before/after;
#      ALTERNATE=n adds n rounds of gateway, before, floor and HAProxy one after the other
#        (same processes), with each round's ratios and their medians: what to quote on a
#        shared machine, where one run's µs move with the others' builds;
#      PROFILE=0 skips the issue-5 comparison. Otherwise (the default) the script runs
#        `tis up --instances 1` for a real IdP and Profile instance, and a second gateway with
#        [gateway.profiles] source = "profile" (warm cache) next to the first one
#        (source = "role-catalogue": no call to anyone for authorisation), and reports the
#        ratio of their CPU per request;
#      GATEWAY_BIN=example runs target/release/examples/gateway (the same App and config
#        without the rest of `tis`; cargo build --release -p tis-gateway --example gateway);
#      PERF=/tmp/name records perf profiles (/tmp/name.data, /tmp/name.mesh.data);
#      GATEWAY_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 runs the gateway on jemalloc;
#      OHA=/path/to/oha;
#      STRACE=/tmp/name counts the gateway's system calls (`strace -c -f`) during a wrk run of
#        its own before the others (/tmp/name: strace's table; /tmp/name.wrk: the request count
#        to divide by).
# Progress (which target runs now) is shown on stderr when it is a terminal, nothing otherwise.
# Every target gets the same requests, bearer token included (about 1 KB, as a client of TIS
# sends): the gateway verifies it and does not forward it; the others forward it.
# Everything listens on free loopback ports and is stopped on exit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DURATION=${1:-10}
THREADS=2
CONNS=32
RATE=2000
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TIS=${TIS:-$ROOT/target/release/tis}
OHA=${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}
WORK=$(mktemp -d /tmp/tis-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # url [header]
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null ${2:+-H "$2"} "$1" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "timed out waiting for $1" >&2; return 1
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
rss_split() { # anonymous (heap, stacks) and file-backed (the executable's pages) parts of RSS
  awk '/RssAnon/ {a=$2} /RssFile/ {f=$2} END {printf "anonymous %d MB, file-backed %d MB", a/1024, f/1024}' "/proc/$1/status"
}
cpu_ticks() { # pid and its children
  local t=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo $t
}
threads_snap() { # pid > file: per thread "tid name utime+stime minflt voluntary nonvoluntary"
  local t
  for t in /proc/"$1"/task/*; do
    python3 - "$t" <<'PY' 2>/dev/null || true
import sys
t = sys.argv[1]
st = open(f"{t}/stat").read()
name = st[st.index("(") + 1:st.rindex(")")]
f = st[st.rindex(")") + 2:].split()
status = dict(l.split(":", 1) for l in open(f"{t}/status") if ":" in l)
print(t.rsplit("/", 1)[1], name.replace(" ", "_"), int(f[11]) + int(f[12]), f[7],
      status["voluntary_ctxt_switches"].strip(), status["nonvoluntary_ctxt_switches"].strip())
PY
  done
}
threads_report() { # label before after requests: where the process's CPU went, by thread
  python3 - "$@" "$(getconf CLK_TCK)" <<'PY'
import sys
label, before, after, reqs, hz = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
def load(p):
    return {l.split()[0]: l.split() for l in open(p) if l.strip()}
b, a = load(before), load(after)
groups = {}
for tid, row in a.items():
    old = b.get(tid, [tid, row[1], "0", "0", "0", "0"])
    name = row[1] if row[1].startswith(("gateway-", "bare")) else row[1].split("-")[0] + "…"
    d = [int(x) - int(y) for x, y in zip(row[2:], old[2:])]
    g = groups.setdefault(name, [0, 0, 0, 0, 0])
    g[0] += 1
    for i in range(4):
        g[i + 1] += d[i]
total = sum(g[1] for g in groups.values()) or 1
parts = []
for name, (n, ticks, flt, vol, nonvol) in sorted(groups.items(), key=lambda kv: -kv[1][1]):
    if ticks == 0 and flt == 0:
        continue
    parts.append(f"{name}{'×%d' % n if n > 1 else ''} {ticks / hz / reqs * 1e6:.1f} µs ({100 * ticks / total:.0f} %, "
                 f"{flt / reqs * 1000:.1f} faults, {vol / reqs * 1000:.0f}+{nonvol / reqs * 1000:.0f} switches per 1k req)")
print(f"# {label}, CPU by thread: " + "; ".join(parts))
PY
}
cpu_per_req() { # ticks_before ticks_after rps
  python3 -c "t=($2-$1)/$(getconf CLK_TCK); print(f'{t/$DURATION*100:.0f}% of one core, {t/($DURATION*float(\"$3\"))*1e6:.1f} µs CPU per request')"
}

# The figures as data too: with BENCH_DATA=FILE, one JSON line per figure, appended (the
# format of bench/rate.py's, drawn by scripts/bench-charts.py into docs/benchmarks/*.svg).
RUN_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
data() { # target metric value unit
  [ -n "${BENCH_DATA:-}" ] || return 0
  printf '{"bench":"gateway","run":"%s","load":"%s","command":"bench/gateway.sh %s","target":"%s","metric":"%s","value":%s,"unit":"%s"}\n' \
    "$RUN_AT" "$(cut -d' ' -f1-3 /proc/loadavg)" "$DURATION" "$1" "$2" "$3" "$4" >> "$BENCH_DATA"
}
cpu_data() { # target "<cpu_per_req's sentence>"
  data "$1" cpu_us_per_req "$(echo "$2" | sed -E 's/.* ([0-9.]+) µs CPU per request/\1/')" "µs"
}

UP=$(free_port); NGX=$(free_port); HAP=$(free_port); GW_ADMIN=$(free_port)

# --- the upstream: nginx, one worker, answering 1 KB -------------------------------------
BODY=$(head -c 1024 /dev/zero | tr '\0' 'x')
mkdir -p "$WORK/up" "$WORK/ngx"
cat > "$WORK/up/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/up/nginx.pid;
error_log $WORK/up/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$UP;
    location = /health/ready { return 200 "ready"; }
    location / { default_type application/json; return 200 '$BODY'; }
  }
}
CONF
nginx -c "$WORK/up/nginx.conf" -p "$WORK/up" -g 'daemon off;' & PIDS+=($!)

# --- nginx as a reverse proxy ------------------------------------------------------------
cat > "$WORK/ngx/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/ngx/nginx.pid;
error_log $WORK/ngx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream up { server 127.0.0.1:$UP; keepalive 64; }
  server {
    listen 127.0.0.1:$NGX;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
nginx -c "$WORK/ngx/nginx.conf" -p "$WORK/ngx" -g 'daemon off;' & NGX_PID=$!; PIDS+=($NGX_PID)

# --- HAProxy -----------------------------------------------------------------------------
cat > "$WORK/haproxy.cfg" <<CONF
global
  nbthread 2
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 1s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:$HAP
  default_backend be
backend be
  server up 127.0.0.1:$UP maxconn 256
CONF
haproxy -f "$WORK/haproxy.cfg" -db & HAP_PID=$!; PIDS+=($HAP_PID)

# --- optional: the floor — hyper server + hyper-util client and nothing else ---------------
BARE_BIN=${BARE_BIN:-$ROOT/target/release/examples/bare_proxy}
if [ -x "$BARE_BIN" ]; then
  "$BARE_BIN" 127.0.0.1:0 "127.0.0.1:$UP" > "$WORK/bare.addr" & BARE_PID=$!; PIDS+=($BARE_PID)
  "$BARE_BIN" 127.0.0.1:0 "127.0.0.1:$UP" mesh > "$WORK/mesh.addr" & MESH_PID=$!; PIDS+=($MESH_PID)
fi

# --- the identity provider and a token ---------------------------------------------------
# With PROFILE (default), `tis up` provides the IdP and a real Profile instance (demo data);
# otherwise a bare `tis idp`.
PROFILE=${PROFILE:-1}
if [ "$PROFILE" = 1 ]; then
  mkdir -p "$WORK/up"
  (cd "$WORK/up" && TIS_IDP__LISTEN=127.0.0.1:0 TIS_GATEWAY__LISTEN=127.0.0.1:0 \
     TIS_GATEWAY__ADMIN_LISTEN=127.0.0.1:0 TIS_UP__INSTANCES=1 TIS_LOG__LEVEL=warn \
     exec "$TIS" up --data-dir .tis > "$WORK/up/up.log" 2>&1) & UP_PID=$!; PIDS+=($UP_PID)
  STATE="$WORK/up/.tis/run/up.json"
  for _ in $(seq 1 1200); do
    [ -f "$STATE" ] && grep -q '"profile-1"' "$STATE" && grep -q '"idp"' "$STATE" && break
    sleep 0.1
  done
  ISSUER=$(python3 -c "import json; print(json.load(open('$STATE'))['issuer'])")
  PROFILE_ADDR=$(python3 -c "import json; print(json.load(open('$STATE'))['processes']['profile-1']['addr'])")
else
  mkdir -p "$WORK/idp"
  (cd "$WORK/idp" && TIS_IDP__REALM_FILE="$WORK/idp/realm.toml" TIS_IDP__KEY_DIR="$WORK/idp/keys" \
     TIS_LOG__LEVEL=warn "$TIS" idp --listen 127.0.0.1:0 --demo --announce-to "$WORK/idp.addr") & PIDS+=($!)
  for _ in $(seq 1 300); do [ -s "$WORK/idp.addr" ] && break; sleep 0.05; done
  ISSUER="http://$(cat "$WORK/idp.addr")/realms/lin"
fi
wait_http "$ISSUER/.well-known/openid-configuration"
TOKEN=$("$TIS" token --client etl --issuer "$ISSUER")

# --- the gateway -------------------------------------------------------------------------
gateway_config() { # listen admin_listen [profiles section]
cat <<CONF
[log]
level = "warn"
[gateway]
listen = "$1"
admin_listen = "$2"
[gateway.auth]
issuer = "$ISSUER"
audience = "tis"
keys_file = "$WORK/jwks-$RANDOM.json"
[gateway.principal]
signing_key_pem = """
$PRINCIPAL_KEY
"""
${3:-}
[[gateway.routes]]
prefix = "/bench"
service = "bench"
[gateway.services.bench]
discovery = { kind = "static", addrs = ["127.0.0.1:$UP"] }
CONF
}
PRINCIPAL_KEY=$(openssl genpkey -algorithm ED25519)
# The main gateway: authorisation context from tis-auth's static role catalogue (no call to
# anyone), as before issue 5; the binary before that issue had no [gateway.profiles] at all.
gateway_config 127.0.0.1:0 "127.0.0.1:$GW_ADMIN" '[gateway.profiles]
source = "role-catalogue"' > "$WORK/gateway.toml"
start_gateway() { # bin config announce  (prints the pid)
  if [ "$1" = tis ]; then
    (cd "$WORK" && LD_PRELOAD="${GATEWAY_PRELOAD:-}" exec "$TIS" --config "$2" gateway --announce-to "$3") > "$3.log" 2>&1 &
  elif "$1" --help 2>/dev/null | grep -q '^  gateway '; then   # a copy of another `tis`
    (cd "$WORK" && LD_PRELOAD="${GATEWAY_PRELOAD:-}" exec "$1" --config "$2" gateway --announce-to "$3") > "$3.log" 2>&1 &
  else
    (cd "$WORK" && LD_PRELOAD="${GATEWAY_PRELOAD:-}" exec "$1" "$2" "$3") > "$3.log" 2>&1 &
  fi
  echo $!
}
# GATEWAY_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 runs the gateway on another
# malloc (an experiment: the binary itself uses the system allocator).
# GATEWAY_BIN=example runs target/release/examples/gateway (the same App and configuration
# without the rest of `tis`: cargo build --release -p tis-gateway --example gateway).
case "${GATEWAY_BIN:-tis}" in
  example) GW_EXE=$ROOT/target/release/examples/gateway ;;
  tis) GW_EXE=tis ;;
  *) GW_EXE=$GATEWAY_BIN ;;   # a path to a copy of examples/gateway
esac
GW_PID=$(start_gateway "$GW_EXE" "$WORK/gateway.toml" "$WORK/gw.addr"); PIDS+=($GW_PID)
if [ -n "${GATEWAY_BEFORE:-}" ]; then
  gateway_config 127.0.0.1:0 127.0.0.1:0 '[gateway.profiles]
source = "role-catalogue"' > "$WORK/before.toml"
  BEFORE_PID=$(start_gateway "$GATEWAY_BEFORE" "$WORK/before.toml" "$WORK/before.addr"); PIDS+=($BEFORE_PID)
fi
if [ "$PROFILE" = 1 ]; then
  # Profile's instance reaches this gateway as under `tis up`: through its local registry.
  PROF_ADMIN=$(free_port)
  gateway_config 127.0.0.1:0 "127.0.0.1:$PROF_ADMIN" '[gateway.profiles]
source = "profile"' > "$WORK/profile.toml"
  PROF_PID=$(start_gateway "$GW_EXE" "$WORK/profile.toml" "$WORK/prof.addr"); PIDS+=($PROF_PID)
fi
for _ in $(seq 1 300); do [ -s "$WORK/gw.addr" ] && break; sleep 0.05; done
GW=$(head -1 "$WORK/gw.addr")
wait_http "http://127.0.0.1:$UP/bench"
wait_http "http://127.0.0.1:$NGX/bench"
wait_http "http://127.0.0.1:$HAP/bench"
wait_http "http://$GW/bench" "Authorization: Bearer $TOKEN"
GW_REAL=$GW_PID   # the subshells exec the gateway
if [ -n "${BEFORE_PID:-}" ]; then
  for _ in $(seq 1 300); do [ -s "$WORK/before.addr" ] && break; sleep 0.05; done
  BEFORE=$(head -1 "$WORK/before.addr")
  wait_http "http://$BEFORE/bench" "Authorization: Bearer $TOKEN"
fi
if [ -n "${PROF_PID:-}" ]; then
  for _ in $(seq 1 300); do [ -s "$WORK/prof.addr" ] && break; sleep 0.05; done
  PROF=$(head -1 "$WORK/prof.addr")
  curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/json' -d "{\"addr\":\"$PROFILE_ADDR\"}" \
    "http://127.0.0.1:$PROF_ADMIN/admin/registry/profile/profile-1"
  wait_http "http://$PROF/bench" "Authorization: Bearer $TOKEN"
fi

echo "# tis gateway benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), wrk -t$THREADS -c$CONNS -d${DURATION}s --latency"
echo "# gateway binary: ${GATEWAY_BIN:-tis} ${GATEWAY_PRELOAD:+(LD_PRELOAD $GATEWAY_PRELOAD)}${GATEWAY_BEFORE:+; before: $GATEWAY_BEFORE}"
echo "# upstream: nginx (1 worker) returning $(curl -s "http://127.0.0.1:$UP/bench" | wc -c) bytes"
printf "%-28s %10s %10s %10s %8s\n" "target" "req/s" "p50" "p99" "ratio"

declare -A RPS
run_wrk() { # name url [header]
  local out
  bench_progress "wrk ${DURATION}s: $1"
  if [ -n "${3:-}" ]; then
    out=$(wrk -t$THREADS -c$CONNS -d${DURATION}s --latency -H "$3" "$2")
  else
    out=$(wrk -t$THREADS -c$CONNS -d${DURATION}s --latency "$2")
  fi
  local rps p50 p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $4}')
  RPS[$1]=$rps
  bench_progress_done
  data "$1" req_per_s "$rps" "req/s"
  local ratio
  ratio=$(python3 -c "print(f'{float(\"$rps\")/float(\"${RPS[direct]:-$rps}\"):.2f}')")
  printf "%-28s %10s %10s %10s %8s %s\n" "$1" "$rps" "$p50" "$p99" "$ratio" "${non2xx:+(non-2xx: $non2xx)}"
}

bench_progress "warm-up"
wrk -t$THREADS -c$CONNS -d2s "http://$GW/bench" -H "Authorization: Bearer $TOKEN" >/dev/null   # warm-up
bench_progress_done
if [ -n "${STRACE:-}" ]; then
  bench_progress "strace -c -f on the gateway during wrk ${DURATION}s"
  strace -c -f -p "$GW_PID" -o "$STRACE" & STRACE_PID=$!
  for _ in $(seq 1 200); do   # attached: the gateway has a tracer
    [ "$(awk '/TracerPid/ {print $2}' "/proc/$GW_PID/status")" != 0 ] && break; sleep 0.05
  done
  wrk -t$THREADS -c$CONNS -d${DURATION}s "http://$GW/bench" -H "Authorization: Bearer $TOKEN" > "$STRACE.wrk"
  kill -INT $STRACE_PID; wait $STRACE_PID || true
  bench_progress_done
  echo "# strace -c -f: $(awk '/requests in/ {print $1}' "$STRACE.wrk") requests; $(awk '$NF=="total" {print $4}' "$STRACE") system calls ($STRACE)"
fi
run_wrk direct "http://127.0.0.1:$UP/bench" "Authorization: Bearer $TOKEN"
if [ -n "${PERF:-}" ]; then
  perf record -F 299 ${PERF_CALLGRAPH:--g} -p "$GW_REAL" -o "$WORK/perf.data" -- sleep "$DURATION" >/dev/null 2>&1 &
  PERF_PID=$!
fi
threads_snap "$GW_REAL" > "$WORK/gw.threads0"
T0=$(cpu_ticks "$GW_REAL")
run_wrk "tis gateway (JWT)" "http://$GW/bench" "Authorization: Bearer $TOKEN"
T1=$(cpu_ticks "$GW_REAL")
threads_snap "$GW_REAL" > "$WORK/gw.threads1"
GW_CPU=$(cpu_per_req "$T0" "$T1" "${RPS[tis gateway (JWT)]}")
cpu_data "tis gateway (JWT)" "$GW_CPU"
if [ -n "${PERF:-}" ]; then
  wait $PERF_PID || true
  cp "$WORK/perf.data" "${PERF}.data"
  (perf report -i "$WORK/perf.data" --stdio --no-children --sort symbol -g none 2>/dev/null | grep -v "^#" | grep "%" | head -60 > "${PERF}") || true
fi
GW_RSS_WRK=$(rss_kb "$GW_REAL")
BEFORE_CPU=""
if [ -n "${BEFORE:-}" ]; then
  wrk -t$THREADS -c$CONNS -d2s "http://$BEFORE/bench" -H "Authorization: Bearer $TOKEN" >/dev/null
  T0=$(cpu_ticks "$BEFORE_PID")
  run_wrk "gateway (before)" "http://$BEFORE/bench" "Authorization: Bearer $TOKEN"
  T1=$(cpu_ticks "$BEFORE_PID")
  BEFORE_CPU="; gateway (before) $(cpu_per_req "$T0" "$T1" "${RPS[gateway (before)]}")"
fi
PROF_CPU=""
if [ -n "${PROF:-}" ]; then
  wrk -t$THREADS -c$CONNS -d2s "http://$PROF/bench" -H "Authorization: Bearer $TOKEN" >/dev/null   # warm the cache
  T0=$(cpu_ticks "$PROF_PID")
  run_wrk "gateway, Profile (cached)" "http://$PROF/bench" "Authorization: Bearer $TOKEN"
  T1=$(cpu_ticks "$PROF_PID")
  PROF_CPU="; gateway with Profile $(cpu_per_req "$T0" "$T1" "${RPS[gateway, Profile (cached)]}")"
  PROF_US=$(python3 -c "t=($T1-$T0)/$(getconf CLK_TCK); print(t/($DURATION*float('${RPS[gateway, Profile (cached)]}'))*1e6)")
fi
T0=$(cpu_ticks "$NGX_PID")
run_wrk "nginx proxy" "http://127.0.0.1:$NGX/bench" "Authorization: Bearer $TOKEN"
T1=$(cpu_ticks "$NGX_PID")
NGX_CPU=$(cpu_per_req "$T0" "$T1" "${RPS[nginx proxy]}")
cpu_data "nginx proxy" "$NGX_CPU"
T0=$(cpu_ticks "$HAP_PID")
run_wrk "haproxy" "http://127.0.0.1:$HAP/bench" "Authorization: Bearer $TOKEN"
T1=$(cpu_ticks "$HAP_PID")
HAP_CPU=$(cpu_per_req "$T0" "$T1" "${RPS[haproxy]}")
cpu_data "haproxy" "$HAP_CPU"
BARE_CPU=""
if [ -n "${BARE_PID:-}" ]; then
  for _ in $(seq 1 100); do [ -s "$WORK/bare.addr" ] && break; sleep 0.05; done
  threads_snap "$BARE_PID" > "$WORK/bare.threads0"
  T0=$(cpu_ticks "$BARE_PID")
  run_wrk "bare hyper proxy (floor)" "http://$(head -1 "$WORK/bare.addr")/bench" "Authorization: Bearer $TOKEN"
  T1=$(cpu_ticks "$BARE_PID")
  threads_snap "$BARE_PID" > "$WORK/bare.threads1"
  BARE_CPU="; bare hyper $(cpu_per_req "$T0" "$T1" "${RPS[bare hyper proxy (floor)]}")"
  cpu_data "bare hyper proxy (floor)" "$BARE_CPU"
  for _ in $(seq 1 100); do [ -s "$WORK/mesh.addr" ] && break; sleep 0.05; done
  T0=$(cpu_ticks "$MESH_PID")
  if [ -n "${PERF:-}" ]; then
    perf record -F 299 -g -p "$MESH_PID" -o "${PERF}.mesh.data" -- sleep "$DURATION" >/dev/null 2>&1 &
    PERF_PID=$!
  fi
  run_wrk "hyper + tis-mesh only" "http://$(head -1 "$WORK/mesh.addr")/bench" "Authorization: Bearer $TOKEN"
  [ -n "${PERF:-}" ] && { wait $PERF_PID || true; }
  T1=$(cpu_ticks "$MESH_PID")
  MESH_CPU="$(cpu_per_req "$T0" "$T1" "${RPS[hyper + tis-mesh only]}")"
  cpu_data "hyper + tis-mesh only" "$MESH_CPU"
  BARE_CPU="$BARE_CPU; hyper + tis-mesh $MESH_CPU"
fi
echo "CPU of the proxy during its own run: gateway $GW_CPU$BEFORE_CPU$PROF_CPU; nginx $NGX_CPU; haproxy $HAP_CPU$BARE_CPU"
if [ -n "${PROF:-}" ]; then
  python3 - "$GW_CPU" "$PROF_US" "${RPS[tis gateway (JWT)]}" "${RPS[gateway, Profile (cached)]}" <<'PY'
import re, sys
base = float(re.search(r"([0-9.]+) µs CPU per request", sys.argv[1]).group(1))
prof = float(sys.argv[2])
print(f"issue 5: a request with a cached profile costs {prof:.1f} µs CPU vs {base:.1f} µs without "
      f"authorisation (role catalogue): ratio {prof/base:.2f} (target ≤ 1.10); "
      f"req/s ratio {float(sys.argv[4])/float(sys.argv[3]):.2f}")
PY
fi
# Where each one's CPU went, thread by thread (the split between the two workers is
# SO_REUSEPORT's hash of the 32 connections; the rest is the main runtime's background tasks).
threads_report "tis gateway (JWT)" "$WORK/gw.threads0" "$WORK/gw.threads1" "$(python3 -c "print(float('${RPS[tis gateway (JWT)]}') * $DURATION)")"
if [ -n "${BARE_PID:-}" ]; then
  threads_report "bare hyper proxy (floor)" "$WORK/bare.threads0" "$WORK/bare.threads1" "$(python3 -c "print(float('${RPS[bare hyper proxy (floor)]}') * $DURATION)")"
fi
echo "gateway RSS after the wrk run: $((GW_RSS_WRK / 1024)) MB"
curl -s "http://127.0.0.1:$GW_ADMIN/metrics" > "$WORK/metrics.txt" || true
echo "gateway metrics: $(grep -E '^(gateway_principal_mints_total|tis_auth_verifications_total|gateway_requests_total)' "$WORK/metrics.txt" | tr '\n' ' ')"

echo
echo "# fixed rate: oha -q $RATE -z ${DURATION}s -c 16 (latency in ms)"
run_oha() { # name url [header]
  local json
  bench_progress "oha -q $RATE ${DURATION}s: $1"
  json=$("$OHA" --no-tui --output-format json -q $RATE -z ${DURATION}s -c 16 ${3:+-H "$3"} "$2")
  bench_progress_done
  echo "$json" | python3 -c "
import json,sys
d=json.load(sys.stdin); p=d['latencyPercentiles']; s=d['summary']
print(f\"{'$1':<28} rps {s['requestsPerSec']:.0f}  p50 {p['p50']*1000:.3f}  p99 {p['p99']*1000:.3f}  success {s['successRate']:.4f}\")
print(f\"{p['p50']*1000} {p['p99']*1000}\", file=open('$WORK/$1.lat','w'))
"
  read -r p50 p99 < "$WORK/$1.lat"
  data "$1" p50_ms_at_2000 "$p50" ms
  data "$1" p99_ms_at_2000 "$p99" ms
}
run_oha direct "http://127.0.0.1:$UP/bench" "Authorization: Bearer $TOKEN"
run_oha gateway "http://$GW/bench" "Authorization: Bearer $TOKEN" &
OHA_PID=$!
sleep $((DURATION / 2))
GW_RSS_RATE=$(rss_kb "$GW_REAL")
wait $OHA_PID
python3 - "$WORK" <<'PY'
import sys
w=sys.argv[1]
d=[float(x) for x in open(f"{w}/direct.lat").read().split()]
g=[float(x) for x in open(f"{w}/gateway.lat").read().split()]
print(f"added latency by the gateway at 2000 req/s: p50 {g[0]-d[0]:.3f} ms, p99 {g[1]-d[1]:.3f} ms")
PY
echo "gateway RSS under the 2000 req/s load (after the wrk runs): $((GW_RSS_RATE / 1024)) MB ($(rss_split "$GW_REAL"))"

# The RSS target is for a gateway serving 2,000 req/s; the one above also carries what the
# wrk runs at full speed left in its allocator. A fresh gateway, same binary and
# configuration, under only the fixed rate:
gateway_config 127.0.0.1:0 127.0.0.1:0 '[gateway.profiles]
source = "role-catalogue"' > "$WORK/fresh.toml"
FRESH_PID=$(start_gateway "$GW_EXE" "$WORK/fresh.toml" "$WORK/fresh.addr"); PIDS+=($FRESH_PID)
for _ in $(seq 1 300); do [ -s "$WORK/fresh.addr" ] && break; sleep 0.05; done
FRESH=$(head -1 "$WORK/fresh.addr")
wait_http "http://$FRESH/bench" "Authorization: Bearer $TOKEN"
FRESH_IDLE=$(rss_kb "$FRESH_PID")
run_oha "gateway (fresh)" "http://$FRESH/bench" "Authorization: Bearer $TOKEN" &
OHA_PID=$!
sleep $((DURATION / 2))
FRESH_RSS=$(rss_kb "$FRESH_PID")
FRESH_SPLIT=$(rss_split "$FRESH_PID")
wait $OHA_PID
echo "fresh gateway RSS: idle $((FRESH_IDLE / 1024)) MB, under the 2000 req/s load $((FRESH_RSS / 1024)) MB ($FRESH_SPLIT)"

# ALTERNATE=n: n more rounds of the proxies that matter for issue 17 (the gateway, the gateway
# before if given, the bare-hyper floor, HAProxy), one after the other in each round, in the
# same processes as above. One run's µs move with whatever else the machine does at that
# moment; the ratio of neighbours in one round moves much less, and n rounds show how far
# each process's own figure drifts (a fresh process's first run, a heap that grows).
if [ "${ALTERNATE:-0}" -gt 0 ]; then
  echo
  echo "# alternated rounds, wrk -t$THREADS -c$CONNS -d${DURATION}s each: CPU µs per request (req/s)"
  alt_run() { # pid url  -> "µs req/s"
    local t0 t1 rps
    t0=$(cpu_ticks "$1")
    rps=$(wrk -t$THREADS -c$CONNS -d${DURATION}s -H "Authorization: Bearer $TOKEN" "$2" | awk '/Requests\/sec/ {print $2}')
    t1=$(cpu_ticks "$1")
    python3 -c "print(f'{($t1-$t0)/$(getconf CLK_TCK)/($DURATION*float(\"$rps\"))*1e6:.1f} {float(\"$rps\"):.0f}')"
  }
  : > "$WORK/alt"
  for i in $(seq 1 "$ALTERNATE"); do
    bench_progress "alternated round $i of $ALTERNATE"
    load=$(cut -d' ' -f1 /proc/loadavg)
    read -r g gr < <(alt_run "$GW_REAL" "http://$GW/bench")
    b=- br=-
    [ -n "${BEFORE:-}" ] && read -r b br < <(alt_run "$BEFORE_PID" "http://$BEFORE/bench")
    f=- fr=-
    [ -n "${BARE_PID:-}" ] && read -r f fr < <(alt_run "$BARE_PID" "http://$(head -1 "$WORK/bare.addr")/bench")
    read -r h hr < <(alt_run "$HAP_PID" "http://127.0.0.1:$HAP/bench")
    echo "$i $load $g $gr $b $br $f $fr $h $hr" >> "$WORK/alt"
    bench_progress_done
  done
  python3 - "$WORK/alt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
num = lambda x: None if x == "-" else float(x)
print(f"{'round':>5} {'load':>5} {'gateway':>16} {'before':>16} {'floor':>16} {'haproxy':>16} {'gw/floor':>8} {'gw/before':>9} {'gw/hap':>6} {'rps gw/hap':>10}")
ratios = {"gw/floor": [], "gw/before": [], "gw/hap": [], "rps gw/hap": []}
for i, load, g, gr, b, br, f, fr, h, hr in rows:
    g, gr, b, br, f, fr, h, hr = map(num, (g, gr, b, br, f, fr, h, hr))
    r = {"gw/floor": f and g / f, "gw/before": b and g / b, "gw/hap": g / h, "rps gw/hap": gr / hr}
    for k, v in r.items():
        if v:
            ratios[k].append(v)
    cell = lambda us, rps: "-" if us is None else f"{us:.1f} ({rps:.0f})"
    fmt = lambda v: "-" if not v else f"{v:.2f}"
    print(f"{i:>5} {load:>5} {cell(g, gr):>16} {cell(b, br):>16} {cell(f, fr):>16} {cell(h, hr):>16} "
          f"{fmt(r['gw/floor']):>8} {fmt(r['gw/before']):>9} {fmt(r['gw/hap']):>6} {fmt(r['rps gw/hap']):>10}")
med = {k: (f"{statistics.median(v):.2f} ({min(v):.2f}–{max(v):.2f})" if v else "-") for k, v in ratios.items()}
print("medians (range): " + "; ".join(f"{k} {v}" for k, v in med.items()))
PY
fi
