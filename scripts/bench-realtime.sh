#!/usr/bin/env bash
# The real-time benchmark: a release build of `realtime-bench` (crate switchboard-bench, feature
# `realtime`), then a run of it against the local gateway served in process. Prints Markdown on
# stdout (progress on stderr). Figures and how to read them: docs/BENCHMARKS.md, "Real time".
#
#   scripts/bench-realtime.sh [realtime-bench arguments...]
#
#   scripts/bench-realtime.sh                              # everything, default sizes
#   scripts/bench-realtime.sh --only fanout --post-via sdk  # one measurement, posting as in AWS
#   scripts/bench-realtime.sh --help                       # every option of realtime-bench
#
# The build runs under `nice -n 10`; the benchmark at normal priority. It opens up to about
# 2 × 1,000 sockets, so it raises the soft limit on open files to 8192 when it is lower.
# Honours CARGO_TARGET_DIR (default: target/ of the clone). Linux only (it reads /proc).
# Nothing leaves 127.0.0.1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

die() { printf 'bench-realtime.sh: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is needed (https://rustup.rs)"
[[ -d /proc/self ]] || die "the benchmark needs Linux (/proc)"

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
[[ "$TARGET_DIR" = /* ]] || TARGET_DIR="$ROOT/$TARGET_DIR"

build=(cargo build --release -p switchboard-bench --features realtime --bin realtime-bench)
printf '==> %s\n' "${build[*]}" >&2
nice -n 10 "${build[@]}" >&2

if [[ "$(ulimit -n)" != unlimited && "$(ulimit -n)" -lt 8192 ]]; then
  ulimit -n 8192 2>/dev/null || die "the limit on open files is $(ulimit -n) and cannot be raised to 8192"
fi

exec "$TARGET_DIR/release/realtime-bench" "$@"
