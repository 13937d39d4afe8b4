#!/usr/bin/env bash
# The cost benchmark: a build of `cost-bench` (crate switchboard-bench, feature `cost`), then a
# run of it: scripted support conversations (the main profile over the WebSocket, a REST-only
# client, a customer who gets 5 pushes while away) through the local gateway served in process,
# with metering ports that count what AWS bills (REST requests, WebSocket messages and connection
# minutes, Lambda invocations and time, DynamoDB units from the real item sizes, stream records,
# pushes, S3 and SES requests, CloudWatch Logs bytes), priced at the list prices in
# bench/src/cost/prices.rs. Prints Markdown on stdout; the last line is
# `usd_per_1000_conversations=X.XXXX` for the main profile. Figures and how to read them:
# docs/BENCHMARKS.md ("Cost per conversation").
#
#   scripts/bench-cost.sh [cost-bench arguments...]
#
#   scripts/bench-cost.sh                           # every profile, 5 conversations each
#   scripts/bench-cost.sh --profile websocket       # the main profile only
#   scripts/bench-cost.sh --conversations 20        # a larger sample
#   scripts/bench-cost.sh --help                    # every option of cost-bench
#
# The figures count units, not time (but for Lambda's estimated milliseconds), so a debug build
# serves. The build runs under `nice -n 10`. Honours CARGO_TARGET_DIR (default: target/ of the
# clone).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

die() { printf 'bench-cost.sh: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is needed (https://rustup.rs)"

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
[[ "$TARGET_DIR" = /* ]] || TARGET_DIR="$ROOT/$TARGET_DIR"

build=(cargo build -p switchboard-bench --features cost --bin cost-bench)
printf '==> %s\n' "${build[*]}" >&2
nice -n 10 "${build[@]}" >&2

exec "$TARGET_DIR/debug/cost-bench" "$@"
