#!/usr/bin/env bash
# The rollup benchmark: a release build of `rollup-throughput` (crate switchboard-bench, feature
# `rollup`), then a run of it: for each size (default 100,000 and 1,000,000 events over 30 days) a
# generated event log in a SQLite store, and one rollup of its 30 days as a backfill runs it, each
# step in a fresh process. Prints Markdown on stdout (progress on stderr). Figures and how to read
# them: docs/BENCHMARKS.md, "Rollup".
#
#   scripts/bench-rollup.sh [rollup-throughput arguments...]
#
#   scripts/bench-rollup.sh                                # 100,000 and 1,000,000 events
#   scripts/bench-rollup.sh --runs 3 --dir /var/tmp/rollup # three rollups each; stores kept and reused
#   scripts/bench-rollup.sh --phases                       # and where the rollup's CPU goes, by phase
#   scripts/bench-rollup.sh --events 200000                # one size
#   scripts/bench-rollup.sh --help                         # every option of rollup-throughput
#
# The stores take about 1.2 KB of disk per event (1.1 GiB for 1,000,000), in a temporary directory
# unless --dir is given. The build runs under `nice -n 10`, the benchmark at normal priority.
# Honours CARGO_TARGET_DIR (default: target/ of the clone). Linux only (it reads /proc).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

die() { printf 'bench-rollup.sh: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is needed (https://rustup.rs)"
[[ -d /proc/self ]] || die "the benchmark needs Linux (/proc)"

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
[[ "$TARGET_DIR" = /* ]] || TARGET_DIR="$ROOT/$TARGET_DIR"

build=(cargo build --release -p switchboard-bench --features rollup --bin rollup-throughput)
printf '==> %s\n' "${build[*]}" >&2
nice -n 10 "${build[@]}" >&2

exec "$TARGET_DIR/release/rollup-throughput" "$@"
