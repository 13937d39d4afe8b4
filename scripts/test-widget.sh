#!/usr/bin/env bash
# The chat widget's checks: `npm ci`, the typed build (esbuild; the client SDK first, its types
# generated from docs/openapi.json), the sizes against their budgets (loader <= 6 KB, whole widget
# <= 40 KB gzipped: the build fails over them), the Vitest unit tests and the browser tests
# (playwright-core driving Debian's Chromium: the demo shop page on its own origin embedding the
# widget from a local gateway, an agent answering from the dashboard's console).
# scripts/test.sh runs it after scripts/test-dashboard.sh, whose dashboard build and harness the
# browser tests use; it also runs on its own (it builds the dashboard when it is missing):
#
#   scripts/test-widget.sh
#
# The gateway binary is $SWITCHBOARD_LOCAL_BIN, else the workspace's debug build (built when
# missing). Screenshots land in widget/artifacts/ (git-ignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '==> %s\n' "$*"; }
die() { printf 'test-widget.sh: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null || die "Node.js 20 or later and npm are needed"
export CHROMIUM_PATH="${CHROMIUM_PATH:-$(command -v chromium || true)}"
[[ -n "$CHROMIUM_PATH" ]] || die "chromium is needed by the browser tests (scripts/test-dashboard.sh installs it), or set CHROMIUM_PATH"

if [[ -z "${SWITCHBOARD_LOCAL_BIN:-}" ]]; then
  SWITCHBOARD_LOCAL_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/switchboard-local"
  if [[ ! -x "$SWITCHBOARD_LOCAL_BIN" ]]; then
    log "cargo build -p switchboard-local"
    cargo build -p switchboard-local
  fi
fi
export SWITCHBOARD_LOCAL_BIN

if [[ ! -f dashboard/dist/index.html || ! -d dashboard/node_modules ]]; then
  log "dashboard build (the browser tests sign an agent in to its console)"
  (cd dashboard && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
fi

cd widget
log "npm ci (widget)"
npm ci --no-audit --no-fund --loglevel=error
log "widget build (typecheck against docs/openapi.json, sizes)"
npm run build --silent
log "widget unit tests (vitest)"
npm test --silent
log "widget browser tests (chromium)"
npm run e2e --silent
