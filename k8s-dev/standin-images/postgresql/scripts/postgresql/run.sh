#!/bin/bash
# Runs the server in the foreground as the container's main process, on the configuration the
# setup wrote (Bitnami's flags: config and hba files outside the data directory, pid file in tmp/).
set -o errexit -o nounset -o pipefail
# shellcheck source=SCRIPTDIR/../postgresql-env.sh
. /opt/bitnami/scripts/postgresql-env.sh

flags=("-D" "$POSTGRESQL_DATA_DIR" "--config-file=$POSTGRESQL_CONF_FILE"
  "--external_pid_file=$POSTGRESQL_PID_FILE" "--hba_file=$POSTGRESQL_PGHBA_FILE")
if [[ -n "$POSTGRESQL_EXTRA_FLAGS" ]]; then
  read -r -a extra_flags <<<"$POSTGRESQL_EXTRA_FLAGS"
  flags+=("${extra_flags[@]}")
fi
log "starting PostgreSQL"
exec postgres "${flags[@]}" "$@"
