#!/usr/bin/env bash
# Checks the Prometheus rules of TIS: syntax (`promtool check rules`) and behaviour on synthetic
# series (`promtool test rules`: a fast burn pages, a slow burn tickets, a blip does neither).
# Needs promtool (Debian package `prometheus`; .ci/run installs it). Run by CI.
set -euo pipefail
cd "$(dirname "$0")"
command -v promtool >/dev/null || { echo "check.sh: promtool not found (package prometheus)" >&2; exit 1; }
# Every rules file here (the test files are not rules).
rules=()
for f in *.yml; do
    case "$f" in *.test.yml) ;; *) rules+=("$f") ;; esac
done
promtool check rules "${rules[@]}"
promtool test rules ./*.test.yml
