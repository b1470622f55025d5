# Step: containerd with runc and the CNI plugins, on sockets and folders of its own (another
# containerd on this machine is untouched), then the images that no registry can serve.

# overlayfs where the state folder's file system takes it (not on every nested or network file
# system), else the native snapshotter, which copies layers but works everywhere.
containerd_snapshotter() {
  local probe="$LOCAL_NODE_STATE/overlay-probe" result=native
  mkdir -p "$probe"/{lower,upper,work,merged}
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
    umount "$probe/merged"
    result=overlayfs
  fi
  rm -rf "$probe"
  echo "$result"
}

containerd_config() {
  cat <<TOML
version = 2
root = "$LOCAL_NODE_STATE/containerd"
state = "$LOCAL_NODE_RUN/containerd/state"
disabled_plugins = ["io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$CONTAINERD_SOCKET"

[ttrpc]
  address = "$CONTAINERD_SOCKET.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$LOCAL_NODE_STATE/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Network namespaces live under our run folder, not /var/run/netns, so teardown finds them all.
  netns_mounts_under_state_dir = true
  # The kubelet gives pod sandboxes an OOM score below this process's own, which a process without
  # CAP_SYS_RESOURCE (in a container or a sandboxed CI machine) may not set: runc then fails with
  # "can't get final child's PID from pipe". Clamped to containerd's own score instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "$1"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$RUNC_BIN/runc"
        Root = "$LOCAL_NODE_RUN/runc"
        # The kubelet uses the cgroupfs driver; both must agree.
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$LOCAL_NODE_STATE/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$LOCAL_NODE_STATE/containerd/certs.d"
TOML
}

# The bridge plugin makes the pods' bridge and gives each pod an address from host-local; no
# masquerading, since pods are not meant to reach beyond this machine; portmap serves hostPort.
cni_config() {
  cat <<JSON
{
  "cniVersion": "1.0.0",
  "name": "local-node",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$POD_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$LOCAL_NODE_STATE/cni-ipam",
        "ranges": [[{ "subnet": "$POD_CIDR" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
}

# containerd pulls the images that skaffold pushes to the local registry, over plain HTTP.
registry_mirror_config() {
  cat <<TOML
server = "http://$REGISTRY_HOST"

[host."http://$REGISTRY_HOST"]
  capabilities = ["pull", "resolve"]
TOML
}

ctr_k8s() { "$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCKET" --namespace k8s.io "$@"; }

containerd_start() {
  mkdir -p "$LOCAL_NODE_STATE/containerd/certs.d/$REGISTRY_HOST" "$LOCAL_NODE_STATE/cni" "$LOCAL_NODE_RUN/containerd"
  [ -e "$LOCAL_NODE_STATE/containerd/config.toml" ] ||
    containerd_config "$(containerd_snapshotter)" | write_config "$LOCAL_NODE_STATE/containerd/config.toml"
  cni_config | write_config "$LOCAL_NODE_STATE/cni/10-local-node.conflist"
  registry_mirror_config | write_config "$LOCAL_NODE_STATE/containerd/certs.d/$REGISTRY_HOST/hosts.toml"
  # The shim is looked up on PATH.
  start_daemon containerd env PATH="$CONTAINERD_BIN:$PATH" \
    "$CONTAINERD_BIN/containerd" --config "$LOCAL_NODE_STATE/containerd/config.toml"
  wait_until containerd 60 "$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCKET" version
  local archive
  for archive in "$IMAGES/pause-$PAUSE_VERSION.tar" "$IMAGES/coredns-$COREDNS_VERSION.tar"; do
    ctr_k8s images import "$archive" >>"$LOGS/containerd.log" 2>&1 || fail containerd "could not import $archive"
  done
}
