#!/usr/bin/env bash
# Runs both services on this machine against the local PostgreSQL and Redis, with the demo rows:
# user-service on :5000, data-service on :5001, and prints a token for writes. Ctrl-C stops both gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/local-services.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build

# Node 24 from the dev dependencies (the machine's own node may be older); no npm or shell in
# between, so the services themselves receive the signals.
node=node_modules/.bin/node
[ -x "$node" ] || node=node

# Writes need a token. A development signing key for this run, unless one is given; the token
# below is signed with it (npm run token, the same program the image carries).
export JWT_SECRET="${JWT_SECRET:-$("$node" -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64url'))")}"
token=$("$node" dist/services/user/src/token-cli.js --scope "users:write users:read" --ttl 12h --sub developer)
cat <<EOT

  Development token (users:write users:read, valid 12 hours), for the README's curl lines:

    export TOKEN=$token

  The key is new each run. To keep one and mint more tokens yourself:
    export JWT_SECRET=\$(openssl rand -base64 32)   # then make run, and in another shell:
    npm run -s token -- --scope users:write --ttl 1h
  Metrics: http://localhost:5000/metrics and http://localhost:5001/metrics (METRICS_PORT moves them).

EOT

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
