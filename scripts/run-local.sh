#!/usr/bin/env bash
# Runs both services on this machine against the local PostgreSQL and Redis, with the demo rows:
# user-service on :USER_PORT (5000), data-service on :DATA_PORT (5001), with their tables in a
# database of their own (PGDATABASE, default users_local, created when missing). Ctrl-C stops both
# gracefully; when either cannot start or stops by itself, the other is stopped too and the script
# fails, naming the service. It prints a token for writes.
set -euo pipefail
cd "$(dirname "$0")/.."

user_port="${USER_PORT:-5000}"
data_port="${DATA_PORT:-5001}"
if [ "$user_port" = "$data_port" ]; then
  echo "run: USER_PORT and DATA_PORT are both $user_port; give each service a port of its own" >&2
  exit 2
fi
# PORT would give both services the same port; each gets its own below.
if [ -n "${PORT:-}" ]; then echo "run: PORT is ignored here; USER_PORT and DATA_PORT choose the ports" >&2; fi
unset PORT
export PGDATABASE="${PGDATABASE:-users_local}"

scripts/local-services.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build

# Node 24 from the dev dependencies (the machine's own node may be older); no npm or shell in
# between, so the services themselves receive the signals.
node=node_modules/.bin/node
[ -x "$node" ] || node=node

# DATABASE_URL, when set, names a database the user manages.
[ -n "${DATABASE_URL:-}" ] || "$node" scripts/ensure-database.ts "$PGDATABASE"

# Writes need a token. A development signing key for this run, unless one is given; the token
# below is signed with it (npm run token, the same program the image carries).
export JWT_SECRET="${JWT_SECRET:-$("$node" -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64url'))")}"
token=$("$node" dist/services/user/src/token-cli.js --scope "users:write users:read" --ttl 12h --sub developer)
cat <<EOT

  Development token (users:write users:read, valid 12 hours), for the README's curl lines (in another terminal):

    export TOKEN=$token

  The key is new each run. To keep one and mint more tokens yourself:
    export JWT_SECRET=\$(openssl rand -base64 32)   # then make run, and in another shell:
    npm run -s token -- --scope users:write --ttl 1h
  Metrics: http://localhost:$user_port/metrics and http://localhost:$data_port/metrics (METRICS_PORT moves them).

EOT

SEED_DEMO_USERS="${SEED_DEMO_USERS:-true}" PORT="$user_port" "$node" dist/services/user/src/main.js &
user_pid=$!
PORT="$data_port" "$node" dist/services/data/src/main.js &
data_pid=$!

interrupted=no
stop() { kill -TERM "$user_pid" "$data_pid" 2>/dev/null || true; }
trap 'interrupted=yes; stop' INT TERM
# Until either exits (or a signal arrives), then stop the other and wait for both to drain.
status=0
wait -n -p exited "$user_pid" "$data_pid" || status=$?
stop
wait || true
[ "$interrupted" = no ] || exit 0

if [ "${exited:-}" = "$user_pid" ]; then
  echo "run: user-service (port $user_port) stopped with exit code $status; data-service was stopped too" >&2
else
  echo "run: data-service (port $data_port) stopped with exit code $status; user-service was stopped too" >&2
fi
exit $((status == 0 ? 1 : status))
