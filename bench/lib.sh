# Shared by the bench scripts (sourced, not run): figures as data, progress on a terminal.
#
#   . "$(dirname "$0")/lib.sh"
#   BENCH_NAME=store                       # the "bench" field of every line
#   bench_data TARGET METRIC VALUE UNIT    # one JSON line appended to $BENCH_DATA, if set
#   bench_progress "round 2 of 3: sqlite"  # one line rewritten in place, on a terminal only
#   bench_progress_done                    # clears it
#
# The data format is bench/gateway.sh's and bench/rate.py's, read by scripts/bench-charts.py:
# {"bench": …, "run": "<RFC 3339 start of the run>", "load": "<load average>", "command":
# "<the command>", "target": …, "metric": …, "value": <number>, "unit": …}. Lines are appended,
# so several runs can share one file (the charts take the median over runs).

BENCH_RUN_AT=${BENCH_RUN_AT:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
BENCH_COMMAND=${BENCH_COMMAND:-$0${*:+ $*}}

bench_data() { # target metric value unit
  [ -n "${BENCH_DATA:-}" ] || return 0
  python3 - "$BENCH_DATA" "${BENCH_NAME:-$(basename "$0" .sh)}" "$BENCH_RUN_AT" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$BENCH_COMMAND" "$1" "$2" "$3" "$4" <<'PY'
import json, sys
path, bench, run, load, command, target, metric, value, unit = sys.argv[1:]
try:
    number = float(value)
except ValueError:
    sys.exit(f"bench_data: {target} {metric}: not a number: {value!r}")
line = {"bench": bench, "run": run, "load": load, "command": command, "target": target,
        "metric": metric, "value": number, "unit": unit}
with open(path, "a", encoding="utf-8") as f:
    f.write(json.dumps(line, ensure_ascii=False) + "\n")
PY
}

# Progress goes to stderr only when it is a terminal: CI logs and redirected runs stay clean.
bench_progress() {
  [ -t 2 ] || return 0
  printf '\r\033[K%s' "$*" >&2
}
bench_progress_done() {
  [ -t 2 ] || return 0
  printf '\r\033[K' >&2
}
