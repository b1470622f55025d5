#!/usr/bin/env bash
# make cluster-up: builds (the first time) and starts a real single-node Kubernetes on this
# machine, each component a process of its own with its log in LOCAL_NODE_STATE/logs, and makes
# `local-node` kubectl's current context. Run again, it starts what is not running. When a
# component fails, it exits non-zero with one line naming the component and its last error.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/config.sh"
source "$here/lib.sh"
for step in "$here"/steps/*.sh; do source "$step"; done

started=$SECONDS
host_check
host_packages
"$here/build.sh"
mkdir -p "$LOGS" "$PIDS"
host_prepare
pki
etcd_start
containerd_start
apiserver_start
controller_manager_start
scheduler_start
kubelet_start
kube_proxy_start
registry_start
coredns_deploy
kubectl_context
wait_for_node
say "node $NODE_NAME is Ready after $((SECONDS - started))s; kubectl context $KUBE_CONTEXT; kubectl is $KUBE_BIN/kubectl"
