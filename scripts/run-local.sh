#!/usr/bin/env bash
# Runs both services on this machine against the local PostgreSQL and Redis, with the demo rows:
# user-service on :5000, data-service on :5001. Ctrl-C stops both gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/local-services.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build

# Node 24 from the dev dependencies (the machine's own node may be older); no npm or shell in
# between, so the services themselves receive the signals.
node=node_modules/.bin/node
[ -x "$node" ] || node=node

SEED_DEMO_USERS="${SEED_DEMO_USERS:-true}" "$node" dist/services/user/src/main.js &
user_pid=$!
"$node" dist/services/data/src/main.js &
data_pid=$!

stop() { kill -TERM "$user_pid" "$data_pid" 2>/dev/null || true; }
trap stop INT TERM
# Until either exits (or a signal arrives), then stop the other and wait for both to drain.
wait -n "$user_pid" "$data_pid" || true
stop
wait
