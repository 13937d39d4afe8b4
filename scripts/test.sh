#!/usr/bin/env bash
# The project's test command: formatting, clippy, every test of the workspace (with a moto
# server standing in for AWS), the template lint, the web dashboard's build, unit and browser
# tests (scripts/test-dashboard.sh: npm ci, Debian's chromium when missing), then the chat
# widget's (scripts/test-widget.sh: the same, with its size budgets). Runnable from any directory.
#
#   scripts/test.sh
#
# It installs the Python test tools of scripts/requirements-test.txt into .venv (again whenever
# that file changes), starts moto's server (`scripts/moto-server.py`) on a free port of 127.0.0.1 for the duration of the
# run and stops it on exit, and exports for the tests:
#   SWITCHBOARD_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:<port>
#   AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
# The tests record every AWS call each function makes into SWITCHBOARD_IAM_RECORDS (emptied
# first); after them the iam-check binary fails the run on a call the function's policy in
# infra/template.yaml does not grant, and lists the grants no test used (iam-not-performed.txt).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

started_at=$SECONDS
log() { printf '==> %s\n' "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is needed (for the moto server and the template lint)"
command -v cargo >/dev/null || die "cargo is needed (https://rustup.rs)"

# --- 1. Python test tools in .venv ---------------------------------------------------------------
VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/scripts/requirements-test.txt"
STAMP="$VENV/.requirements-test.sha256"
file_sha256() {
  python3 -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$1"
}
wanted="$(file_sha256 "$REQUIREMENTS")"
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating .venv"
  python3 -m venv "$VENV"
fi
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$wanted" ]]; then
  log "installing scripts/requirements-test.txt into .venv"
  rm -f "$STAMP"
  "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r "$REQUIREMENTS"
  printf '%s\n' "$wanted" > "$STAMP"
fi

# --- 1b. System packages the tests run: pdftotext (poppler-utils) reads the reports' PDFs back, --
# and Go runs the Go example of docs/IDENTITY.md (Python and Node.js are already needed)
missing=()
command -v pdftotext >/dev/null || missing+=(poppler-utils)
command -v go >/dev/null || missing+=(golang-go)
if (( ${#missing[@]} )); then
  log "installing ${missing[*]} for the tests"
  if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
    { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; } \
      || die "apt-get could not install ${missing[*]}; install them and run again"
  else
    die "the tests need ${missing[*]} (Debian/Ubuntu: sudo apt-get install ${missing[*]}; macOS: brew install poppler go)"
  fi
fi

# --- 2. Cargo target dir kept outside the clone, when there is one --------------------------------
if [[ -z "${CARGO_TARGET_DIR:-}" && -n "${HOME:-}" && -d "$HOME/.cache/switchboard/target" ]]; then
  export CARGO_TARGET_DIR="$HOME/.cache/switchboard/target"
fi
# No incremental caches unless asked for (CARGO_INCREMENTAL=1): a clean clone only writes them,
# and they were about a third of a fresh test build's disk, enough to fill a small CI disk
# (docs/BENCHMARKS.md, "Build size of the test run").
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# --- 3. moto server on a free port, stopped on exit ---------------------------------------------
moto_pid=""
moto_log="$VENV/moto-server.log"  # kept after the run, for a look when something failed
stop_moto() {
  if [[ -n "$moto_pid" ]] && kill -0 "$moto_pid" 2>/dev/null; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
  fi
  moto_pid=""
}
trap stop_moto EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

MOTO_PORT="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
MOTO_URL="http://127.0.0.1:$MOTO_PORT"
log "starting moto server on $MOTO_URL"
# The Management API test reads moto's request recorder; its file stays in the venv, not the clone.
# scripts/moto-server.py is moto's server taking one request at a time, so that its transactions
# stay atomic when tests run requests at once (see the script).
MOTO_RECORDER_FILEPATH="$VENV/moto-recording" "$VENV/bin/python" scripts/moto-server.py -H 127.0.0.1 -p "$MOTO_PORT" >"$moto_log" 2>&1 &
moto_pid=$!
"$VENV/bin/python" - "$MOTO_URL" "$moto_pid" <<'PY' || { cat "$moto_log" >&2; die "moto server did not come up on $MOTO_URL (log above)"; }
import os, sys, time, urllib.error, urllib.request

url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(url + "/moto-api/", timeout=2).close()
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)  # it answered HTTP: up
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("moto server exited")
    time.sleep(0.2)
sys.exit("timed out")
PY

export SWITCHBOARD_TEST_DYNAMODB_ENDPOINT="$MOTO_URL"
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
# moto's server takes one request at a time (see scripts/moto-server.py): while a test file's
# bursts queue behind each other, one call can wait longer than the production limits allow
# (a 2 s attempt, a 5 s call), which would turn a slow answer into 503 store_unavailable. The
# tests give the SDK clients the longest limits accepted (an attempt as long as the call, so a
# slow write is never sent twice); tests/tests/store_outage.rs holds the production defaults for
# its own store.
export SWITCHBOARD_AWS_ATTEMPT_TIMEOUT_MS=20000
export SWITCHBOARD_AWS_OPERATION_TIMEOUT_MS=20000

# --- 4. The checks --------------------------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
log "cargo test"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
export SWITCHBOARD_IAM_RECORDS="$TARGET/tmp/iam-records"
rm -rf "$SWITCHBOARD_IAM_RECORDS"
# The libraries' unit tests and every integration test, then the doc examples; not the unit-test
# harnesses of the function binaries, which hold no test (97 empty test binaries, 0.7 GB; clippy
# above checks those binaries).
cargo test --workspace --all-features --lib --test '*'
cargo test --workspace --all-features --doc
log "the token code as the widget functions build it (HS256 alone, no asymmetric-jwt feature)"
cargo test -p switchboard-shared --lib auth::
log "IAM policies against the calls the tests made"
cargo run --quiet --all-features -p switchboard-tests --bin iam-check
log "template lint"
"$VENV/bin/python" scripts/lint-template.py
# The gateway binary `cargo test` just built (the switchboard-local CLI tests need it).
SWITCHBOARD_LOCAL_BIN="$TARGET/debug/switchboard-local" scripts/test-dashboard.sh
SWITCHBOARD_LOCAL_BIN="$TARGET/debug/switchboard-local" scripts/test-widget.sh

# --- 5. Summary -----------------------------------------------------------------------------------
printf 'test.sh: OK: fmt, clippy, tests (moto on %s), IAM check, template lint, dashboard, widget in %ss\n' \
  "$MOTO_URL" "$((SECONDS - started_at))"
