#!/bin/bash
# Settings of the PostgreSQL stand-in, read the way Bitnami's image reads them: each POSTGRESQL_X
# may also be given as POSTGRES_X (and a few under older names), and any of them as X_FILE naming a
# file that holds the value (the chart mounts the passwords so). Sourced by the other scripts.

log() { printf 'postgresql %s %s\n' "$(date -u +%H:%M:%S.%2N)" "$*" >&2; }
fail() { log "ERROR ==> $*"; exit 1; }

# $1: the canonical name; the rest: its aliases, first found wins. *_FILE beats the plain value.
resolve_setting() {
  local name value="" alias file
  for name in "$@"; do
    file="${name}_FILE"
    if [[ -n "${!file:-}" ]]; then
      if [[ -r "${!file}" ]]; then value="$(<"${!file}")"; break; fi
      log "WARN  ==> skipping $file: ${!file} is not readable"
    fi
    if [[ -n "${!name:-}" ]]; then value="${!name}"; break; fi
  done
  export "$1=$value"
  for alias in "$@"; do unset "${alias}_FILE"; done
}

resolve_setting POSTGRESQL_USERNAME POSTGRES_USERNAME POSTGRES_USER POSTGRESQL_USER
resolve_setting POSTGRESQL_PASSWORD POSTGRES_PASSWORD
resolve_setting POSTGRESQL_POSTGRES_PASSWORD POSTGRES_POSTGRES_PASSWORD
resolve_setting POSTGRESQL_DATABASE POSTGRES_DATABASE POSTGRES_DB
resolve_setting POSTGRESQL_PORT_NUMBER POSTGRES_PORT_NUMBER
resolve_setting POSTGRESQL_DATA_DIR POSTGRES_DATA_DIR PGDATA
resolve_setting POSTGRESQL_INITDB_ARGS POSTGRES_INITDB_ARGS
resolve_setting POSTGRESQL_INITDB_WAL_DIR POSTGRES_INITDB_WAL_DIR POSTGRES_INITDB_WALDIR
resolve_setting POSTGRESQL_INITSCRIPTS_USERNAME POSTGRES_INITSCRIPTS_USERNAME
resolve_setting POSTGRESQL_INITSCRIPTS_PASSWORD POSTGRES_INITSCRIPTS_PASSWORD
resolve_setting POSTGRESQL_REPLICATION_MODE POSTGRES_REPLICATION_MODE
resolve_setting POSTGRESQL_REPLICATION_USER POSTGRES_REPLICATION_USER
resolve_setting POSTGRESQL_SHARED_PRELOAD_LIBRARIES POSTGRES_SHARED_PRELOAD_LIBRARIES
resolve_setting POSTGRESQL_EXTRA_FLAGS
resolve_setting ALLOW_EMPTY_PASSWORD
for setting in ENABLE_LDAP ENABLE_TLS PGAUDIT_LOG PGAUDIT_LOG_CATALOG PGAUDIT_LOG_PARAMETER LOG_CONNECTIONS \
  LOG_DISCONNECTIONS LOG_HOSTNAME LOG_LINE_PREFIX LOG_TIMEZONE CLIENT_MIN_MESSAGES MAX_CONNECTIONS TIMEZONE \
  STATEMENT_TIMEOUT FSYNC; do
  resolve_setting "POSTGRESQL_$setting" "POSTGRES_$setting"
done
unset setting

export POSTGRESQL_USERNAME="${POSTGRESQL_USERNAME:-postgres}"
export POSTGRESQL_DATABASE="${POSTGRESQL_DATABASE:-postgres}"
export POSTGRESQL_PORT_NUMBER="${POSTGRESQL_PORT_NUMBER:-5432}"
export POSTGRESQL_REPLICATION_MODE="${POSTGRESQL_REPLICATION_MODE:-master}"
export POSTGRESQL_INITSCRIPTS_USERNAME="${POSTGRESQL_INITSCRIPTS_USERNAME:-$POSTGRESQL_USERNAME}"
export POSTGRESQL_INITSCRIPTS_PASSWORD="${POSTGRESQL_INITSCRIPTS_PASSWORD:-$POSTGRESQL_PASSWORD}"
# Bitnami's defaults: pgaudit preloaded, remote clients allowed, errors only to clients.
export POSTGRESQL_SHARED_PRELOAD_LIBRARIES="${POSTGRESQL_SHARED_PRELOAD_LIBRARIES:-pgaudit}"
export POSTGRESQL_CLIENT_MIN_MESSAGES="${POSTGRESQL_CLIENT_MIN_MESSAGES:-error}"
export POSTGRESQL_FSYNC="${POSTGRESQL_FSYNC:-on}"
export ALLOW_EMPTY_PASSWORD="${ALLOW_EMPTY_PASSWORD:-no}"
export POSTGRESQL_ENABLE_LDAP="${POSTGRESQL_ENABLE_LDAP:-no}"
export POSTGRESQL_ENABLE_TLS="${POSTGRESQL_ENABLE_TLS:-no}"

# Paths (Bitnami's, over Debian's binaries).
export POSTGRESQL_VOLUME_DIR="${POSTGRESQL_VOLUME_DIR:-/bitnami/postgresql}"
export POSTGRESQL_DATA_DIR="${POSTGRESQL_DATA_DIR:-$POSTGRESQL_VOLUME_DIR/data}"
export POSTGRESQL_BASE_DIR="/opt/bitnami/postgresql"
export POSTGRESQL_BIN_DIR="$POSTGRESQL_BASE_DIR/bin"
export POSTGRESQL_CONF_DIR="$POSTGRESQL_BASE_DIR/conf"
export POSTGRESQL_DEFAULT_CONF_DIR="$POSTGRESQL_BASE_DIR/conf.default"
export POSTGRESQL_MOUNTED_CONF_DIR="$POSTGRESQL_VOLUME_DIR/conf"
export POSTGRESQL_CONF_FILE="$POSTGRESQL_CONF_DIR/postgresql.conf"
export POSTGRESQL_PGHBA_FILE="$POSTGRESQL_CONF_DIR/pg_hba.conf"
export POSTGRESQL_TMP_DIR="$POSTGRESQL_BASE_DIR/tmp"
export POSTGRESQL_PID_FILE="$POSTGRESQL_TMP_DIR/postgresql.pid"
export POSTGRESQL_LOG_FILE="$POSTGRESQL_BASE_DIR/logs/postgresql.log"
export POSTGRESQL_INITSCRIPTS_DIR="/docker-entrypoint-initdb.d"
export POSTGRESQL_PREINITSCRIPTS_DIR="/docker-entrypoint-preinitdb.d"
export PATH="$POSTGRESQL_BIN_DIR:$PATH"

is_yes() { [[ "${1,,}" =~ ^(yes|true|1)$ ]]; }
