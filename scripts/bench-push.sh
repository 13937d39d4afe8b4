#!/usr/bin/env bash
# The push benchmark: a bulk send to 10,000 recipients (one Android device each) through the
# production SNS adapter against a moto server this script starts on a free port of 127.0.0.1 and
# stops. Prints Markdown on stdout. Figures: docs/BENCHMARKS.md, "Push".
#
#   scripts/bench-push.sh [push-bench arguments...]      e.g. --recipients 1000
#
# Needs the test virtualenv (`.venv`, made by scripts/test.sh). Honours CARGO_TARGET_DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[[ -x .venv/bin/moto_server ]] || { echo "bench-push.sh: run scripts/test.sh once first (it makes .venv with moto)" >&2; exit 1; }
nice -n 10 cargo build --release -p switchboard-bench --features realtime --bin push-bench >&2
port="$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
MOTO_RECORDER_FILEPATH=.venv/moto-recording .venv/bin/python scripts/moto-server.py -H 127.0.0.1 -p "$port" >.venv/moto-bench.log 2>&1 &
moto=$!
trap 'kill "$moto" 2>/dev/null || true; wait "$moto" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/moto-api/" && break
  sleep 0.2
done
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
  "${CARGO_TARGET_DIR:-target}/release/push-bench" --sns-endpoint "http://127.0.0.1:$port" "$@"
