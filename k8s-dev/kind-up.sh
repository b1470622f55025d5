#!/usr/bin/env bash
# Creates the dev kind cluster unless it exists, and makes it kubectl's current context.
set -euo pipefail

cluster="${KIND_CLUSTER:-users-dev}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! command -v kind >/dev/null; then
  echo "kind-up: kind is not installed (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)" >&2
  exit 127
fi

if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  echo "kind-up: cluster \"$cluster\" already exists"
  # Restores the context if it was deleted or renamed: skaffold needs the "kind-" name.
  kind export kubeconfig --name "$cluster"
else
  kind create cluster --name "$cluster" --config "$here/kind-cluster.yaml" --wait 120s
fi
kubectl config use-context "kind-$cluster"
