# Settings of the local node, sourced by every script here. Everything it makes lives in three
# places, so that cluster-down can remove exactly that: the build cache (kept), the state folder
# and the run folder (both removed), plus the names below (interfaces, iptables chains, cgroups).

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Built binaries and images, one folder per component and version; survives cluster-down.
LOCAL_NODE_CACHE="${LOCAL_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/local-node}"
# Certificates, etcd's data, containerd's images, kubelet's pods, logs and pid files.
LOCAL_NODE_STATE="${LOCAL_NODE_STATE:-/var/lib/local-node}"
# Sockets and containerd's runtime state (tmpfs on most machines).
LOCAL_NODE_RUN="${LOCAL_NODE_RUN:-/run/local-node}"

NODE_NAME=local-node
KUBE_CONTEXT=local-node
# The API server needs an address that is not loopback, reachable from pods as well as from this
# machine: it gets a bridge of its own, with nothing else on it.
NODE_BRIDGE=lnode0
NODE_IP=10.217.0.1
NODE_PREFIX=24
# Pods sit on a second bridge that the CNI bridge plugin makes.
POD_BRIDGE=lnode-pods0
POD_CIDR=10.218.0.0/24
SERVICE_CIDR=10.219.0.0/16
# The tenth address of the service range, as kubeadm's CoreDNS manifest expects.
CLUSTER_DNS=10.219.0.10
CLUSTER_DOMAIN=cluster.local
APISERVER_PORT=6443
# etcd listens on loopback only, on ports of its own so that another etcd on this machine is untouched.
ETCD_CLIENT_PORT=23790
ETCD_PEER_PORT=23800
# The local registry that skaffold pushes to and containerd pulls from.
REGISTRY_HOST=127.0.0.1:5050
# Every cgroup the kubelet makes lives under this root, in each v1 hierarchy.
CGROUP_ROOT=local-node
# Our own iptables chain (pods may not reach beyond this machine).
EGRESS_CHAIN=LOCAL-NODE-EGRESS

CONTAINERD_SOCKET="$LOCAL_NODE_RUN/containerd/containerd.sock"
PKI="$LOCAL_NODE_STATE/pki"
KUBECONFIGS="$LOCAL_NODE_STATE/kubeconfig"
LOGS="$LOCAL_NODE_STATE/logs"
PIDS="$LOCAL_NODE_RUN/pids"

# The pinned version of a component is the one its go.mod requires.
module_version() { # <component folder under go/> <module path>
  awk -v m="$2" '$1 == "require" && $2 == m { print $3; exit } $1 == m { print $2; exit }' "$here/go/$1/go.mod"
}
KUBERNETES_VERSION="$(module_version kubernetes k8s.io/kubernetes)"
ETCD_VERSION="$(module_version etcd go.etcd.io/etcd/server/v3)"
CONTAINERD_VERSION="$(module_version containerd github.com/containerd/containerd)"
RUNC_VERSION="$(module_version runc github.com/opencontainers/runc)"
CNI_PLUGINS_VERSION="$(module_version cni-plugins github.com/containernetworking/plugins)"
COREDNS_VERSION="$(module_version coredns github.com/coredns/coredns)"
# The pause image's version is the one this Kubernetes release's kubeadm names.
PAUSE_VERSION=3.10.1

bin_dir() { echo "$LOCAL_NODE_CACHE/$1-$2/bin"; } # <component> <version>
KUBE_BIN="$(bin_dir kubernetes "$KUBERNETES_VERSION")"
ETCD_BIN="$(bin_dir etcd "$ETCD_VERSION")"
CONTAINERD_BIN="$(bin_dir containerd "$CONTAINERD_VERSION")"
RUNC_BIN="$(bin_dir runc "$RUNC_VERSION")"
CNI_BIN="$(bin_dir cni-plugins "$CNI_PLUGINS_VERSION")"
COREDNS_BIN="$(bin_dir coredns "$COREDNS_VERSION")"
IMAGES="$LOCAL_NODE_CACHE/images"
PAUSE_IMAGE="localhost/pause:$PAUSE_VERSION"
COREDNS_IMAGE="localhost/coredns:$COREDNS_VERSION"

say() { echo "local-node: $*" >&2; }
