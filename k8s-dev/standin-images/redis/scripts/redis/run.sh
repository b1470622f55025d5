#!/bin/bash
# Runs redis-server in the foreground with settings from the environment, as Bitnami's run.sh
# does for a plain `docker run` (the chart's StatefulSet starts the server its own way).
set -o errexit -o nounset -o pipefail

if [[ -n "${REDIS_PASSWORD_FILE:-}" ]]; then
  [[ -r "$REDIS_PASSWORD_FILE" ]] || { echo "redis: REDIS_PASSWORD_FILE $REDIS_PASSWORD_FILE is not readable" >&2; exit 1; }
  REDIS_PASSWORD="$(<"$REDIS_PASSWORD_FILE")"
fi
password="${REDIS_PASSWORD:-}"
args=(--port "${REDIS_PORT_NUMBER:-6379}" --dir "${REDIS_DATA_DIR:-/bitnami/redis/data}"
  --appendonly "${REDIS_AOF_ENABLED:-yes}" --save "" --daemonize no --logfile "")
if [[ -n "$password" ]]; then
  args+=(--requirepass "$password" --masterauth "$password")
elif [[ "${ALLOW_EMPTY_PASSWORD:-no}" =~ ^(yes|true|1)$ ]]; then
  echo "redis: WARN ALLOW_EMPTY_PASSWORD=${ALLOW_EMPTY_PASSWORD}: anyone who reaches the port may use this server" >&2
  args+=(--protected-mode no)
else
  echo "redis: ERROR the REDIS_PASSWORD environment variable is empty or not set." \
    "Set ALLOW_EMPTY_PASSWORD=yes to allow the container to start with a blank password (development only)." >&2
  exit 1
fi
[[ -z "${REDIS_EXTRA_FLAGS:-}" ]] || { read -r -a extra <<<"$REDIS_EXTRA_FLAGS"; args+=("${extra[@]}"); }
exec redis-server "${args[@]}" "$@"
