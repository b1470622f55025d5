#!/usr/bin/env bash
# Runs both services on this machine against the local PostgreSQL and Redis, with the demo rows:
# user-service on :5000, data-service on :5001. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/local-services.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build

SEED_DEMO_USERS="${SEED_DEMO_USERS:-true}" npm run --silent start:user &
user_pid=$!
npm run --silent start:data &
data_pid=$!
trap 'kill -TERM $user_pid $data_pid 2>/dev/null; wait' INT TERM
wait -n $user_pid $data_pid
kill -TERM $user_pid $data_pid 2>/dev/null || true
wait
