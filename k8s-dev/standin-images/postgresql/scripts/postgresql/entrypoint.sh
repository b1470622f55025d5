#!/bin/bash
# Entrypoint of the PostgreSQL stand-in: as Bitnami's does, it fills the (emptyDir) conf directory
# from the defaults, gives an arbitrary uid a passwd entry, runs the setup before the server's own
# start script, marks the setup finished for the readiness probe, then runs the command.
set -o errexit -o nounset -o pipefail
# shellcheck source=SCRIPTDIR/../postgresql-env.sh
. /opt/bitnami/scripts/postgresql-env.sh

log "stand-in for the Bitnami PostgreSQL image: Debian's $(postgres --version | sed 's/^postgres //')," \
  "not Bitnami's build (a registry-less cluster; elsewhere the real image is pulled)"

cp -nr "$POSTGRESQL_DEFAULT_CONF_DIR"/. "$POSTGRESQL_CONF_DIR"

if ! getent passwd "$(id -u)" >/dev/null && [[ -e "$NSS_WRAPPER_LIB" ]]; then
  NSS_WRAPPER_PASSWD="$(mktemp)" NSS_WRAPPER_GROUP="$(mktemp)"
  echo "postgres:x:$(id -u):$(id -g):PostgreSQL:$POSTGRESQL_DATA_DIR:/bin/false" >"$NSS_WRAPPER_PASSWD"
  echo "postgres:x:$(id -g):" >"$NSS_WRAPPER_GROUP"
  export LD_PRELOAD="$NSS_WRAPPER_LIB" NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
fi

if [[ "$*" == *"/opt/bitnami/scripts/postgresql/run.sh"* ]]; then
  /opt/bitnami/scripts/postgresql/setup.sh
  touch "$POSTGRESQL_TMP_DIR/.initialized"
  log "setup finished"
fi
exec "$@"
