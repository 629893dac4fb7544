#!/usr/bin/env bash
# Fuzzes tis-auth's token front end for the given number of seconds (default 60):
#   fuzz/run.sh 60
# Installs cargo-fuzz when missing. Works on the stable toolchain through RUSTC_BOOTSTRAP=1.
# Exits non-zero when libFuzzer finds a crash (the input is left in fuzz/artifacts/).
set -euo pipefail

secs="${1:-60}"
cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

mkdir -p corpus/verify_token
cp -n seeds/verify_token/* corpus/verify_token/ 2>/dev/null || true

RUSTC_BOOTSTRAP=1 cargo fuzz run verify_token corpus/verify_token -- \
    -max_total_time="$secs" -max_len=20000 -timeout=10 -print_final_stats=1
