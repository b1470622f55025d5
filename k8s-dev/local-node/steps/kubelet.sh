# Step: the kubelet, on this machine's cgroups as they are.

kubelet_config() {
  cat <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Kubernetes 1.35's kubelet refuses cgroup v1 unless told otherwise; many CI machines are still v1
# or hybrid. On v2 this setting does nothing.
failCgroupV1: false
# cgroupfs, not systemd: the node must not depend on systemd being PID 1. Every cgroup the kubelet
# makes is under its own root, so the machine's other cgroups are left as they are (no
# kubeletCgroups or systemCgroups: nothing of ours moves other processes).
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_ROOT
# Nothing assumed about swap: the kubelet starts whether or not the machine has it, and pods get none.
failSwapOn: false
memorySwap:
  swapBehavior: NoSwap
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $PKI/ca.crt
authorization:
  mode: Webhook
clusterDNS:
  - $CLUSTER_DNS
clusterDomain: $CLUSTER_DOMAIN
containerRuntimeEndpoint: unix://$CONTAINERD_SOCKET
# Pods with dnsPolicy Default (CoreDNS itself) get no upstream: nothing resolves beyond the cluster.
resolvConf: ""
# A CI node's disk is shared with everything else on the machine: no disk-pressure eviction and no
# image garbage collection, which would evict the databases or delete imported images.
evictionHard:
  memory.available: 100Mi
  nodefs.available: "0%"
  nodefs.inodesFree: "0%"
  imagefs.available: "0%"
  imagefs.inodesFree: "0%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
YAML
}

kubelet_healthy() { curl -fsS http://127.0.0.1:10248/healthz; }

# The kubelet wants its cgroup root to exist in every hierarchy. On v1 a new cpuset cgroup has no
# CPUs or memory nodes until given its parent's.
kubelet_cgroup_root() {
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
    mkdir -p "/sys/fs/cgroup/$CGROUP_ROOT"
    return 0
  fi
  local hierarchy
  for hierarchy in /sys/fs/cgroup/*/; do
    hierarchy="${hierarchy%/}"
    [ "$(stat -fc %T "$hierarchy")" = cgroupfs ] || continue
    mkdir -p "$hierarchy/$CGROUP_ROOT"
  done
  local cpuset=/sys/fs/cgroup/cpuset
  if [ -d "$cpuset/$CGROUP_ROOT" ]; then
    [ -n "$(cat "$cpuset/$CGROUP_ROOT/cpuset.cpus")" ] || cat "$cpuset/cpuset.cpus" >"$cpuset/$CGROUP_ROOT/cpuset.cpus"
    [ -n "$(cat "$cpuset/$CGROUP_ROOT/cpuset.mems")" ] || cat "$cpuset/cpuset.mems" >"$cpuset/$CGROUP_ROOT/cpuset.mems"
  fi
}

kubelet_start() {
  kubelet_cgroup_root
  mkdir -p "$LOCAL_NODE_STATE/kubelet"
  kubelet_config | write_config "$LOCAL_NODE_STATE/kubelet/config.yaml"
  start_daemon kubelet "$KUBE_BIN/kubelet" \
    --config="$LOCAL_NODE_STATE/kubelet/config.yaml" \
    --kubeconfig="$KUBECONFIGS/kubelet.conf" \
    --root-dir="$LOCAL_NODE_STATE/kubelet" --cert-dir="$LOCAL_NODE_STATE/kubelet/pki" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP"
  wait_until kubelet 90 kubelet_healthy
}
