#!/usr/bin/env bash
# The scale simulator: a build of `scale-sim` (crate switchboard-bench, feature `scale`), then a
# run of it: the target load (2,000 agents, 20,000 conversations open, 2,000 messages a second,
# 100 dashboards, 200,000 conversations a day) through the real operations on a SQLite store in
# simulated time, each partition key's DynamoDB capacity units metered. By default it runs 1/10 of
# the load and scales the figures up (per-entity partitions as measured, shared ones ×10 for
# writes and ×100 for reads). Prints Markdown on stdout, progress on stderr; the last line is
# `max_partition_utilization=X`. Figures and how to read them: docs/BENCHMARKS.md
# ("Scale").
#
#   scripts/bench-scale.sh [scale-sim arguments...]
#
#   scripts/bench-scale.sh                        # the target load at 1/10, 60 simulated seconds
#   scripts/bench-scale.sh --seconds 120          # a longer sample
#   scripts/bench-scale.sh --scale 1              # the full load itself (hours of CPU)
#   scripts/bench-scale.sh --help                 # every option of scale-sim
#
# The figures count units, not time, so a debug build serves (and builds in a fraction of a
# release build's time). The build runs under `nice -n 10`. Honours CARGO_TARGET_DIR (default:
# target/ of the clone).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

die() { printf 'bench-scale.sh: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is needed (https://rustup.rs)"

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
[[ "$TARGET_DIR" = /* ]] || TARGET_DIR="$ROOT/$TARGET_DIR"

build=(cargo build -p switchboard-bench --features scale --bin scale-sim)
printf '==> %s\n' "${build[*]}" >&2
nice -n 10 "${build[@]}" >&2

exec "$TARGET_DIR/debug/scale-sim" "$@"
