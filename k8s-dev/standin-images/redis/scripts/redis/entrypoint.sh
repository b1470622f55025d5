#!/bin/bash
# Entrypoint of the Redis stand-in. The chart does not use it (its StatefulSet runs its own
# start-master.sh through /bin/bash); it serves `docker run IMAGE`, reading the same variables as
# Bitnami's image: REDIS_PASSWORD (or REDIS_PASSWORD_FILE), ALLOW_EMPTY_PASSWORD, REDIS_PORT_NUMBER,
# REDIS_AOF_ENABLED, REDIS_DATA_DIR, REDIS_EXTRA_FLAGS.
set -o errexit -o nounset -o pipefail

echo "redis stand-in for the Bitnami Redis image: Debian's $(redis-server --version | awk '{print $1, $2, $3}')," \
  "not Bitnami's build (a registry-less cluster; elsewhere the real image is pulled)" >&2
exec "$@"
