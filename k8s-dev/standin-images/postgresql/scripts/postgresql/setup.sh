#!/bin/bash
# Setup of the PostgreSQL stand-in, in the order of Bitnami's: validate the settings, write the
# configuration (each start, since the chart mounts an emptyDir on conf/), and on a volume without
# data run initdb, create the database and the users; then the init scripts, once per volume.
set -o errexit -o nounset -o pipefail
# shellcheck source=SCRIPTDIR/../postgresql-env.sh
. /opt/bitnami/scripts/postgresql-env.sh

validate() {
  local errors=0
  error() { log "ERROR ==> $*"; errors=1; }
  if ! is_yes "$ALLOW_EMPTY_PASSWORD"; then
    [[ -n "$POSTGRESQL_PASSWORD" ]] || error "The POSTGRESQL_PASSWORD environment variable is empty or not set." \
      "Set ALLOW_EMPTY_PASSWORD=yes to allow blank passwords (development only)."
    ((${#POSTGRESQL_PASSWORD} <= 100)) || error "The password cannot be longer than 100 characters."
  fi
  # What the stand-in does not implement stops it, rather than running without it.
  [[ "$POSTGRESQL_REPLICATION_MODE" == master && -z "$POSTGRESQL_REPLICATION_USER" ]] ||
    error "replication (architecture: replication) is not implemented by this stand-in"
  is_yes "$POSTGRESQL_ENABLE_TLS" && error "TLS (tls.enabled) is not implemented by this stand-in"
  is_yes "$POSTGRESQL_ENABLE_LDAP" && error "LDAP (ldap.enabled) is not implemented by this stand-in"
  ((errors == 0)) || exit 1
}

# Sets a postgresql.conf parameter where the sample has it (so conf.d/, included further down,
# still overrides it), or appends it.
set_property() {
  local -r file="${3:-$POSTGRESQL_CONF_FILE}"
  NAME="$1" LINE="$1 = '${2//\'/\'\'}'" awk '
    BEGIN { name = ENVIRON["NAME"]; line = ENVIRON["LINE"] }
    !done && $0 ~ "^#?[[:space:]]*" name "[[:space:]]*=" { print line; done = 1; next }
    { print }
    END { if (!done) print line }' "$file" >"$file.new"
  mv "$file.new" "$file"
}

write_configuration() {
  # Files mounted under the volume's conf/ (the chart's configuration ConfigMaps) win.
  if [[ -d "$POSTGRESQL_MOUNTED_CONF_DIR" ]] && compgen -G "$POSTGRESQL_MOUNTED_CONF_DIR/*" >/dev/null; then
    cp -fr "$POSTGRESQL_MOUNTED_CONF_DIR"/. "$POSTGRESQL_CONF_DIR"
  fi
  if [[ ! -f "$POSTGRESQL_MOUNTED_CONF_DIR/pg_hba.conf" ]]; then
    cat >"$POSTGRESQL_PGHBA_FILE" <<'HBA'
host     all             all             0.0.0.0/0               trust
host     all             all             ::/0                    trust
local    all             all                                     trust
host     all             all        127.0.0.1/32                 trust
host     all             all        ::1/128                      trust
HBA
  fi
  [[ -f "$POSTGRESQL_MOUNTED_CONF_DIR/postgresql.conf" ]] && return
  set_property port "$POSTGRESQL_PORT_NUMBER"
  set_property unix_socket_directories /tmp
  set_property max_wal_size 400MB
  set_property max_wal_senders 16
  set_property wal_keep_size 128MB
  set_property hot_standby on
  set_property fsync "$POSTGRESQL_FSYNC"
  [[ -z "$POSTGRESQL_SHARED_PRELOAD_LIBRARIES" ]] || set_property shared_preload_libraries "$POSTGRESQL_SHARED_PRELOAD_LIBRARIES"
  local setting parameter
  for setting in PGAUDIT_LOG:pgaudit.log PGAUDIT_LOG_CATALOG:pgaudit.log_catalog PGAUDIT_LOG_PARAMETER:pgaudit.log_parameter \
    LOG_CONNECTIONS:log_connections LOG_DISCONNECTIONS:log_disconnections LOG_HOSTNAME:log_hostname \
    CLIENT_MIN_MESSAGES:client_min_messages LOG_LINE_PREFIX:log_line_prefix LOG_TIMEZONE:log_timezone \
    MAX_CONNECTIONS:max_connections STATEMENT_TIMEOUT:statement_timeout TIMEZONE:timezone; do
    parameter="POSTGRESQL_${setting%%:*}"
    [[ -z "${!parameter}" ]] || set_property "${setting#*:}" "${!parameter}"
  done
}

# With a password set, every client (local ones too) must give it, as in Bitnami's image.
require_passwords() {
  [[ -z "$POSTGRESQL_PASSWORD" || -f "$POSTGRESQL_MOUNTED_CONF_DIR/pg_hba.conf" ]] && return
  sed -i 's/trust$/md5/' "$POSTGRESQL_PGHBA_FILE"
}

start_in_background() {
  pg_ctl start -W -D "$POSTGRESQL_DATA_DIR" -l "$POSTGRESQL_LOG_FILE" \
    -o "--config-file=$POSTGRESQL_CONF_FILE --external_pid_file=$POSTGRESQL_PID_FILE --hba_file=$POSTGRESQL_PGHBA_FILE" >/dev/null
  local tries=60
  until pg_isready -U postgres -h 127.0.0.1 -p "$POSTGRESQL_PORT_NUMBER" >/dev/null 2>&1; do
    ((--tries > 0)) || fail "PostgreSQL did not accept connections within 60 s"
    sleep 1
  done
}

stop() {
  [[ -f "$POSTGRESQL_PID_FILE" ]] || return 0
  pg_ctl stop -w -D "$POSTGRESQL_DATA_DIR" -m fast -t 60 >/dev/null
  rm -f "$POSTGRESQL_PID_FILE"
}

# psql over TCP on the loopback, as Bitnami's scripts do. $1 database ("": the user's default),
# $2 user, $3 password; further arguments go to psql.
execute() {
  local -r db="$1" user="$2" password="$3"
  shift 3
  PGPASSWORD="$password" psql -X -q -U "$user" -h 127.0.0.1 -p "$POSTGRESQL_PORT_NUMBER" ${db:+"--dbname=$db"} "$@"
}
# Our own statements stop at the first error; the user's init scripts run as Bitnami runs them,
# statement by statement (psql's default), so a script that works there works here.
execute_strict() { execute "$@" -v ON_ERROR_STOP=1; }

quote_identifier() { printf '"%s"' "${1//\"/\"\"}"; }
quote_literal() { printf "'%s'" "${1//\'/\'\'}"; }

initialize_data() {
  local args=()
  [[ -z "$POSTGRESQL_INITDB_ARGS" ]] || read -r -a args <<<"$POSTGRESQL_INITDB_ARGS"
  [[ -z "$POSTGRESQL_INITDB_WAL_DIR" ]] || { mkdir -p "$POSTGRESQL_INITDB_WAL_DIR"; args+=(--waldir "$POSTGRESQL_INITDB_WAL_DIR"); }
  log "initializing a new database cluster in $POSTGRESQL_DATA_DIR"
  initdb -E UTF8 -D "$POSTGRESQL_DATA_DIR" -U postgres "${args[@]}" >/dev/null
  rm -f "$POSTGRESQL_DATA_DIR/postgresql.conf" "$POSTGRESQL_DATA_DIR/pg_hba.conf"
  start_in_background
  local -r db="$(quote_identifier "$POSTGRESQL_DATABASE")" user="$(quote_identifier "$POSTGRESQL_USERNAME")"
  [[ "$POSTGRESQL_DATABASE" == postgres ]] || echo "CREATE DATABASE $db;" | execute_strict "" postgres ""
  if [[ "$POSTGRESQL_USERNAME" == postgres ]]; then
    echo "ALTER ROLE postgres WITH PASSWORD $(quote_literal "$POSTGRESQL_PASSWORD");" | execute_strict "" postgres ""
  else
    [[ -z "$POSTGRESQL_POSTGRES_PASSWORD" ]] ||
      echo "ALTER ROLE postgres WITH PASSWORD $(quote_literal "$POSTGRESQL_POSTGRES_PASSWORD");" | execute_strict "" postgres ""
    log "creating user $POSTGRESQL_USERNAME, owner of database $POSTGRESQL_DATABASE"
    execute_strict "" postgres "" <<SQL
CREATE ROLE $user WITH LOGIN CREATEDB PASSWORD $(quote_literal "$POSTGRESQL_PASSWORD");
GRANT ALL PRIVILEGES ON DATABASE $db TO $user;
ALTER DATABASE $db OWNER TO $user;
SQL
    echo "ALTER SCHEMA public OWNER TO $user;" | execute_strict "$POSTGRESQL_DATABASE" postgres ""
  fi
  stop
}

run_scripts_in() {
  local -r dir="$1" pattern="$2"
  local f
  find "$dir/" -type f -regex "$pattern" | sort | while read -r f; do
    log "running $f"
    case "$f" in
      *.sh)
        if [[ -x "$f" ]]; then
          "$f"
        else
          # shellcheck disable=SC1090 # the user's own script, sourced as Bitnami sources it
          . "$f"
        fi
        ;;
      *.sql) execute "$POSTGRESQL_DATABASE" "$POSTGRESQL_INITSCRIPTS_USERNAME" "$POSTGRESQL_INITSCRIPTS_PASSWORD" <"$f" ;;
      *.sql.gz) gunzip -c "$f" | execute "$POSTGRESQL_DATABASE" "$POSTGRESQL_INITSCRIPTS_USERNAME" "$POSTGRESQL_INITSCRIPTS_PASSWORD" ;;
    esac
  done
}

# /docker-entrypoint-initdb.d runs once per volume: the marker lives beside the data.
run_init_scripts() {
  local -r marker="$POSTGRESQL_VOLUME_DIR/.user_scripts_initialized"
  [[ -d "$POSTGRESQL_INITSCRIPTS_DIR" && ! -f "$marker" ]] || return 0
  [[ -n "$(find "$POSTGRESQL_INITSCRIPTS_DIR/" -type f -regex '.*\.\(sh\|sql\|sql\.gz\)')" ]] || return 0
  start_in_background
  run_scripts_in "$POSTGRESQL_INITSCRIPTS_DIR" '.*\.\(sh\|sql\|sql\.gz\)'
  touch "$marker"
}

validate
trap stop EXIT
rm -f "$POSTGRESQL_DATA_DIR/postmaster.pid" "$POSTGRESQL_PID_FILE"
[[ ! -d "$POSTGRESQL_PREINITSCRIPTS_DIR" ]] || run_scripts_in "$POSTGRESQL_PREINITSCRIPTS_DIR" '.*\.sh'
write_configuration
mkdir -p "$POSTGRESQL_DATA_DIR"
chmod 0700 "$POSTGRESQL_DATA_DIR"
if [[ -n "$(ls -A "$POSTGRESQL_DATA_DIR")" ]]; then
  log "deploying PostgreSQL with persisted data (the users and passwords of its first start stay)"
else
  initialize_data
fi
require_passwords
run_init_scripts
# Clients beyond the pod only once the setup is done: its temporary server listened on localhost.
[[ -f "$POSTGRESQL_MOUNTED_CONF_DIR/postgresql.conf" ]] || set_property listen_addresses '*'
