#!/usr/bin/env bash
# The project's benchmark command: a timed release build of every Lambda binary, their stripped
# sizes, and the cold-start harness (init time against a hello-world reference, warm peak RSS).
# Runnable from any directory of a fresh clone; prints Markdown. Figures: docs/BENCHMARKS.md.
#
#   scripts/bench.sh [--clean] [--runs N] [--config KEY=VALUE]...
#
#   --clean            `cargo clean --release` first, so the build time is a clean build's
#   --runs N           measured starts per binary (default 20), after one warm-up start each
#   --config KEY=VAL   passed to `cargo build`, for profile variants without editing Cargo.toml:
#                      --config 'profile.release.lto="fat"'   --config 'profile.release.opt-level=3'
#
# The build runs under `nice -n 10` (a shared machine stays usable; on an idle one it costs nothing);
# the harness runs at normal priority. Honours CARGO_TARGET_DIR (default: target/ of the clone).
# Linux only (the harness reads /proc).
# Nothing here touches the network: the harness's Runtime API and AWS endpoint are on 127.0.0.1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

die() { printf 'bench.sh: %s\n' "$*" >&2; exit 1; }

clean=false
runs=20
cargo_config=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --clean) clean=true; shift ;;
    --runs) [[ $# -ge 2 ]] || die "--runs needs a number"; runs="$2"; shift 2 ;;
    --config) [[ $# -ge 2 ]] || die "--config needs KEY=VALUE"; cargo_config+=(--config "$2"); shift 2 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive number, not $runs"
command -v cargo >/dev/null || die "cargo is needed (https://rustup.rs)"
[[ -d /proc/self ]] || die "the cold-start harness needs Linux (/proc)"

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
[[ "$TARGET_DIR" = /* ]] || TARGET_DIR="$ROOT/$TARGET_DIR"
RELEASE="$TARGET_DIR/release"

# Every function crate (functions/<crate>/Cargo.toml) and binary (functions/<crate>/src/bin/*.rs).
packages=()
for manifest in functions/*/Cargo.toml; do
  package="$(sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -n 1)"
  [[ -n "$package" ]] || die "no package name in $manifest"
  packages+=(-p "$package")
done
functions=()
for source in functions/*/src/bin/*.rs; do
  functions+=("$(basename "$source" .rs)")
done
[[ ${#functions[@]} -gt 0 ]] || die "no function binaries under functions/*/src/bin"

seconds_now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { s = b - a; printf "%dm%04.1fs (%.0f s)", s / 60, s - 60 * int(s / 60), s }'; }
file_size() { stat -c %s "$1" 2>/dev/null || stat -f %z "$1"; }

# --- 1. The machine ------------------------------------------------------------------------------
echo "## Machine"
echo
echo "- CPU: $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -m)"
echo "- Memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "- Toolchain: $(rustc -V)"
echo "- Load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
profile="$(sed -n '/^\[profile\.release\]/,/^\[/{/=/p}' Cargo.toml | paste -sd ';' - | sed 's/;/; /g')"
echo "- \`[profile.release]\` in Cargo.toml: ${profile:-none (cargo defaults)}"
if [[ ${#cargo_config[@]} -gt 0 ]]; then
  echo "- Overridden for this run: ${cargo_config[*]}"
fi
echo

# --- 2. Release build (timed) ---------------------------------------------------------------------
if $clean; then
  cargo clean --release >&2
fi
build=(cargo build --release "${packages[@]}" -p switchboard-bench --bins "${cargo_config[@]}")
printf '==> %s\n' "${build[*]}" >&2
started="$(seconds_now)"
nice -n 10 "${build[@]}" >&2
finished="$(seconds_now)"
echo "## Release build"
echo
echo "- \`${build[*]}\`"
echo "- Wall time: $(elapsed "$started" "$finished") ($($clean && echo clean || echo "not clean: incremental"))"
echo "- Load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# --- 3. Stripped sizes ----------------------------------------------------------------------------
budget_bytes=$((6 * 1024 * 1024))
echo "## Stripped size (budget ≤ 6 MiB)"
echo
echo "| binary | bytes | MiB | budget |"
echo "|---|---:|---:|---|"
binaries=()
for name in hello-lambda "${functions[@]}"; do
  path="$RELEASE/$name"
  [[ -x "$path" ]] || die "$path was not built"
  bytes="$(file_size "$path")"
  if [[ "$name" == hello-lambda ]]; then
    verdict="reference"
  elif ((bytes <= budget_bytes)); then
    verdict="ok"
  else
    verdict="**over**"
  fi
  printf '| `%s` | %s | %s | %s |\n' "$name" "$bytes" "$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')" "$verdict"
  [[ "$name" == hello-lambda ]] || binaries+=("$path")
done
echo

# --- 4. Cold start --------------------------------------------------------------------------------
echo "## Cold start"
echo
"$RELEASE/cold-start" --runs "$runs" --events "$ROOT/events" --reference "$RELEASE/hello-lambda" "${binaries[@]}"
echo
echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
