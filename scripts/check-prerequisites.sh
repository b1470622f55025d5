#!/usr/bin/env bash
# Checks the tools `make test` needs before anything starts, and stops with one line per missing
# tool saying how to get it. Node 24 itself comes with the dev dependencies (npm ci), so only an
# npm to install them is needed. A `docker` command (Docker, or Podman's docker alias) is optional:
# without one the chart's contract test runs the services as node processes instead of images.
set -uo pipefail

missing=0
need() {
  echo "missing: $1" >&2
  missing=1
}

if ! command -v npm >/dev/null; then
  need "npm (any Node.js with npm; Node 24 comes with the dev dependencies): apt-get install npm, or https://nodejs.org/en/download"
fi

helm_version=$(helm version --template '{{.Version}}' 2>/dev/null || true)
case "$helm_version" in
  v4.*) ;;
  "") need "helm 4 (the chart's tests render the chart): https://helm.sh/docs/intro/install/" ;;
  *) need "helm 4 (found $helm_version; the chart needs Helm 4): https://helm.sh/docs/intro/install/" ;;
esac

if ! command -v docker >/dev/null; then
  echo "note: no docker command (Docker, or Podman's podman-docker): the chart's contract test runs the services as node processes, and make test-images needs one" >&2
fi

exit "$missing"
