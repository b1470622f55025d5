#!/usr/bin/env bash
# Stops with one hint when no Kubernetes cluster answers, instead of Helm's raw "cluster
# unreachable" or kubectl's discovery errors. `require-cluster.sh helm` asks through helm (make
# deploy needs no kubectl), `require-cluster.sh kubectl` through kubectl. Any other failure is left
# to the command that follows, which says more about it.
set -euo pipefail

case "${1:-kubectl}" in
  helm) probe=("${HELM:-helm}" list --namespace "${NAMESPACE:-default}" --max 1) ;;
  kubectl) probe=(kubectl get --raw /version --request-timeout=5s) ;;
  *) echo "usage: $0 helm|kubectl" >&2; exit 2 ;;
esac

if ! errors=$("${probe[@]}" 2>&1 >/dev/null); then
  if grep -qiE 'cluster unreachable|refused|no such host|i/o timeout|no route to host|dial tcp|deadline exceeded' <<<"$errors"; then
    echo "no cluster: make kind-up or make minikube-up" >&2
    exit 1
  fi
fi
exit 0
