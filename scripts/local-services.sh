#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer for local runs and tests: on this machine (the default,
# 127.0.0.1) it starts them if installed and installs them from Debian/Ubuntu packages if not;
# when PGHOST or REDIS_HOST name another machine it only checks that the server there answers.
# Leaves running servers alone.
set -euo pipefail

PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
REDIS_HOST="${REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${REDIS_PORT:-6379}"

# A Unix socket directory (PGHOST=/var/run/postgresql) is this machine too.
on_this_machine() { case "$1" in 127.0.0.1 | localhost | ::1 | /*) return 0 ;; *) return 1 ;; esac; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=no
apt_install() {
  if [ "$apt_updated" = no ]; then as_root apt-get update -qq; apt_updated=yes; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Without the client tools (a remote server needs none here), a TCP connection is the check.
tcp_open() { timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }
postgres_up() {
  if command -v pg_isready >/dev/null; then pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; else tcp_open "$PGHOST" "$PGPORT"; fi
}
redis_up() {
  if command -v redis-cli >/dev/null; then redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; else tcp_open "$REDIS_HOST" "$REDIS_PORT"; fi
}

wait_for() {
  local what=$1 check=$2
  for _ in $(seq 1 60); do "$check" && return 0; sleep 0.5; done
  echo "$what did not come up on 127.0.0.1" >&2
  return 1
}

elsewhere() {
  echo "$1 at $2:$3 does not answer; $4 names another machine, so nothing is installed or started here" >&2
  exit 1
}

if ! postgres_up; then
  on_this_machine "$PGHOST" || elsewhere PostgreSQL "$PGHOST" "$PGPORT" PGHOST
  fresh=no
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "installing PostgreSQL…"
    apt_install postgresql
    fresh=yes
  fi
  version=$(ls /etc/postgresql | sort -V | tail -1)
  if [ "$fresh" = yes ]; then
    # A throw-away local server for development and tests: trust local TCP connections.
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  fi
  echo "starting PostgreSQL $version…"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL postgres_up
fi

if ! redis_up; then
  on_this_machine "$REDIS_HOST" || elsewhere Redis "$REDIS_HOST" "$REDIS_PORT" REDIS_HOST
  if ! command -v redis-server >/dev/null; then
    echo "installing Redis…"
    apt_install redis-server
  fi
  echo "starting Redis…"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/local.log
  wait_for Redis redis_up
fi

echo "PostgreSQL on $PGHOST:$PGPORT and Redis on $REDIS_HOST:$REDIS_PORT are up"
