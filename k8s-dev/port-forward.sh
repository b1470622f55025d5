#!/usr/bin/env bash
# Forwards user-service to localhost:5000 and data-service to localhost:5001 until Ctrl-C.
# Targets the Deployments, so kubectl picks a running pod; restart it after a redeploy.
set -euo pipefail

release="${RELEASE:-users}"
namespace="${NAMESPACE:-default}"

# Without a cluster, one hint instead of kubectl's discovery errors.
"$(dirname "$0")/require-cluster.sh" kubectl

kubectl --namespace "$namespace" port-forward "deployment/$release-user-service" "${USER_PORT:-5000}:8080" &
kubectl --namespace "$namespace" port-forward "deployment/$release-data-service" "${DATA_PORT:-5001}:8080" &
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
# When either forward dies (pod replaced, cluster gone) stop both, so the failure is visible.
wait -n
