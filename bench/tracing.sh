#!/usr/bin/env bash
# What distributed traces cost the gateway (issue 16): the same release `tis gateway` twice,
# side by side in one run, with traces off and with traces exported at a sampling ratio
# (default 1 %) to an OTLP/HTTP endpoint that accepts everything (the upstream nginx answers
# 200 to the POSTs). Rounds alternate off/on with the same wrk settings; medians of req/s and
# their ratio are printed, with the load average (the machine is shared).
#
# Usage: bench/tracing.sh [DURATION_SECONDS] [ROUNDS]     (from the repository root)
# Needs: wrk, nginx (Debian), openssl, a release `tis` (TIS=/path/to/a/copy, default
#        target/release/tis). Env: RATIO=0.01 (the traced gateway's sample_ratio).
# Data: BENCH_DATA=FILE appends each round's req/s (targets "traces off", "traces on") and
#       the median ratio as JSON lines (bench/lib.sh); progress shows on a terminal only.
# The upstream and gateway set-up is bench/gateway.sh's, cut down to what this needs.
set -euo pipefail

DURATION=${1:-8}
ROUNDS=${2:-3}
RATIO=${RATIO:-0.01}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TIS=${TIS:-$ROOT/target/release/tis}
WORK=$(mktemp -d /tmp/tis-bench-tracing.XXXXXX)
BENCH_NAME=tracing BENCH_COMMAND="RATIO=$RATIO bench/tracing.sh $DURATION $ROUNDS"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_file() { for _ in $(seq 1 600); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "no $1" >&2; return 1; }

UP=$(free_port)
BODY=$(head -c 1024 /dev/zero | tr '\0' 'x')
mkdir -p "$WORK/up" "$WORK/idp"
cat > "$WORK/up/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/up/nginx.pid;
error_log $WORK/up/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_max_body_size 64m;
  server {
    listen 127.0.0.1:$UP;
    location = /v1/traces { return 200; }
    location / { default_type application/json; return 200 '$BODY'; }
  }
}
CONF
nginx -c "$WORK/up/nginx.conf" -p "$WORK/up" -g 'daemon off;' & PIDS+=($!)

(cd "$WORK/idp" && TIS_IDP__REALM_FILE="$WORK/idp/realm.toml" TIS_IDP__KEY_DIR="$WORK/idp/keys" \
   TIS_LOG__LEVEL=warn exec "$TIS" idp --listen 127.0.0.1:0 --demo --announce-to "$WORK/idp.addr") & PIDS+=($!)
wait_file "$WORK/idp.addr"
ISSUER="http://$(head -1 "$WORK/idp.addr")/realms/lin"
for _ in $(seq 1 300); do curl -fsS -o /dev/null "$ISSUER/.well-known/openid-configuration" && break; sleep 0.05; done
TOKEN=$("$TIS" token --client etl --issuer "$ISSUER")
PRINCIPAL_KEY=$(openssl genpkey -algorithm ED25519)

gateway() { # name [telemetry section]
  cat > "$WORK/$1.toml" <<CONF
[log]
level = "warn"
${2:-}
[gateway]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
[gateway.auth]
issuer = "$ISSUER"
audience = "tis"
keys_file = "$WORK/jwks-$1.json"
[gateway.principal]
signing_key_pem = """
$PRINCIPAL_KEY
"""
[gateway.profiles]
source = "role-catalogue"
[[gateway.routes]]
prefix = "/bench"
service = "bench"
[gateway.services.bench]
discovery = { kind = "static", addrs = ["127.0.0.1:$UP"] }
CONF
  (cd "$WORK" && exec "$TIS" --config "$WORK/$1.toml" gateway --announce-to "$WORK/$1.addr") > "$WORK/$1.log" 2>&1 &
  PIDS+=($!)
}
gateway off
gateway on "[telemetry.traces]
endpoint = \"http://127.0.0.1:$UP/v1/traces\"
sample_ratio = $RATIO"
wait_file "$WORK/off.addr"; wait_file "$WORK/on.addr"
OFF=$(head -1 "$WORK/off.addr"); ON=$(head -1 "$WORK/on.addr")

rps() { wrk -t2 -c32 -d"$1"s -H "Authorization: Bearer $TOKEN" "http://$2/bench" | awk '/Requests\/sec/ {print $2}'; }
bench_progress "warm-up (2 s each)"
rps 2 "$OFF" >/dev/null; rps 2 "$ON" >/dev/null   # warm-up
echo "# tracing cost — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# bench/tracing.sh $DURATION $ROUNDS (RATIO=$RATIO): wrk -t2 -c32 -d${DURATION}s, rounds alternate off/on"
OFFS=(); ONS=()
for r in $(seq 1 "$ROUNDS"); do
  bench_progress "round $r of $ROUNDS: traces off (${DURATION} s)"
  a=$(rps "$DURATION" "$OFF")
  bench_progress "round $r of $ROUNDS: traces on (${DURATION} s)"
  b=$(rps "$DURATION" "$ON")
  bench_progress_done
  OFFS+=("$a"); ONS+=("$b")
  bench_data "traces off" req_per_s "$a" "req/s"
  bench_data "traces on ($RATIO)" req_per_s "$b" "req/s"
  echo "round $r: traces off $a req/s, traces on ($RATIO) $b req/s"
done
ADMIN_ON=$(sed -n 2p "$WORK/on.addr" | awk '{print $NF}')
EXPORTED=$(curl -fsS "http://$ADMIN_ON/metrics" 2>/dev/null | grep -E '^traces_spans_(exported|dropped)_total' | tr '\n' ' ' || true)
RATIO_ON_OFF=$(python3 - "${OFFS[*]}" "${ONS[*]}" <<'PY'
import statistics, sys
off = [float(x) for x in sys.argv[1].split()]
on = [float(x) for x in sys.argv[2].split()]
mo, mn = statistics.median(off), statistics.median(on)
print(f"{mn/mo:.4f} median: traces off {mo:.0f} req/s, traces on {mn:.0f} req/s, on/off {mn/mo:.3f} ({(1-mn/mo)*100:+.1f} % cost)")
PY
)
bench_data "traces on ($RATIO) / off" ratio_median "${RATIO_ON_OFF%% *}" "×"
echo "${RATIO_ON_OFF#* }"
echo "traced gateway: ${EXPORTED:-(metrics not read)}"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
