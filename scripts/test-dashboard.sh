#!/usr/bin/env bash
# The web dashboard's checks: `npm ci`, the typed build (first the client SDK in clients/js, whose
# types are generated from docs/openapi.json, so an API change the app does not follow fails
# here), the Vitest unit tests of the SDK and of the dashboard, and the browser
# tests (playwright-core driving Debian's Chromium against a local gateway on a free port).
# scripts/test.sh runs it after the Rust tests; it also runs on its own:
#
#   scripts/test-dashboard.sh
#
# The gateway binary is $SWITCHBOARD_LOCAL_BIN, else the workspace's debug build (built when
# missing). Screenshots and figures land in dashboard/artifacts/ (git-ignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '==> %s\n' "$*"; }
die() { printf 'test-dashboard.sh: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null || die "Node.js 20 or later and npm are needed"

if ! command -v chromium >/dev/null; then
  log "installing Debian's chromium for the browser tests"
  if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
    { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
      || die "apt-get could not install chromium; install it and run again"
  else
    die "chromium is needed by the browser tests (Debian/Ubuntu: sudo apt-get install chromium), or set CHROMIUM_PATH"
  fi
fi
export CHROMIUM_PATH="${CHROMIUM_PATH:-$(command -v chromium)}"

if [[ -z "${SWITCHBOARD_LOCAL_BIN:-}" ]]; then
  SWITCHBOARD_LOCAL_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/switchboard-local"
  if [[ ! -x "$SWITCHBOARD_LOCAL_BIN" ]]; then
    log "cargo build -p switchboard-local"
    cargo build -p switchboard-local
  fi
fi
export SWITCHBOARD_LOCAL_BIN

cd dashboard
log "npm ci (dashboard)"
npm ci --no-audit --no-fund --loglevel=error
log "dashboard build (typecheck against docs/openapi.json)"
npm run build --silent
log "client SDK unit tests (vitest: reconnect, resync, outbox)"
npm --prefix ../clients/js test --silent
log "dashboard unit tests (vitest)"
npm test --silent
log "dashboard browser tests (chromium)"
npm run e2e --silent
