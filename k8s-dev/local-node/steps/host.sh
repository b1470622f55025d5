# Step: check this machine and prepare it. Every change is recorded in LOCAL_NODE_STATE/host so that
# cluster-down can put it back: sysctls, mount propagation, the node's bridge, our iptables chain.

host_check() {
  [ "$(id -u)" -eq 0 ] || { say "must run as root (it starts containerd and the kubelet)"; exit 1; }
  [ "$(uname -s)" = Linux ] || { say "needs Linux"; exit 1; }
  command -v go >/dev/null || { say "needs Go (https://go.dev/dl) to build the components"; exit 1; }
  local fs
  fs="$(stat -fc %T /sys/fs/cgroup)"
  if [ "$fs" != cgroup2fs ]; then
    # cgroup v1 (or hybrid: v1 controllers, v2 mounted beside them). Kubernetes 1.35 is the last
    # release whose kubelet starts on v1 at all, and only with failCgroupV1: false.
    local controller
    for controller in cpu cpuacct cpuset memory pids; do
      [ -d "/sys/fs/cgroup/$controller" ] || { say "cgroup v1 controller $controller is not mounted"; exit 1; }
    done
  fi
}

# Debian packages the node needs: iptables and conntrack for kube-proxy, libseccomp and pkg-config
# to build runc, libc's static archive for pause, setcap for CoreDNS' image, the registry. Installed only when missing; the registry's own service is never started.
host_packages() {
  local missing=()
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  [ -e /usr/include/seccomp.h ] || missing+=(libseccomp-dev)
  [ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || missing+=(libc6-dev)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v setcap >/dev/null || missing+=(libcap2-bin)
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || { say "missing ${missing[*]}; install them with your package manager"; exit 1; }
  say "installing ${missing[*]}…"
  local ours=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && ours=1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null || { [ -z "$ours" ] || rm -f /usr/sbin/policy-rc.d; exit 1; }
  [ -z "$ours" ] || rm -f /usr/sbin/policy-rc.d
}

# Sets a sysctl, remembering the old value the first time.
set_sysctl() { # <key> <value>
  local file="/proc/sys/${1//.//}" saved="$LOCAL_NODE_STATE/host/sysctl"
  [ -e "$file" ] || { say "sysctl $1 is missing (br_netfilter not loaded?)"; exit 1; }
  grep -q "^$1=" "$saved" 2>/dev/null || echo "$1=$(cat "$file")" >>"$saved"
  echo "$2" >"$file"
}

host_prepare() {
  mkdir -p "$LOCAL_NODE_STATE/host" "$LOCAL_NODE_RUN"
  # containerd 1.7 keeps its shims' sockets and ctr's fifos under /run/containerd whatever its
  # configuration says; removed at teardown only if it was not there before.
  [ -e /run/containerd ] || [ -e "$LOCAL_NODE_STATE/host/made-run-containerd" ] || touch "$LOCAL_NODE_STATE/host/made-run-containerd"
  # Pods reach each other and Services through the host's forwarding, and kube-proxy's rules must
  # see bridged traffic.
  [ -e /proc/sys/net/bridge ] || modprobe br_netfilter 2>/dev/null || true
  set_sysctl net.ipv4.ip_forward 1
  set_sysctl net.bridge.bridge-nf-call-iptables 1

  # Volume mounts made by the kubelet must propagate into containers: / must be shared. The mounts
  # that were private are listed, to be made private again.
  if [ ! -e "$LOCAL_NODE_STATE/host/private-mounts" ]; then
    findmnt -rno TARGET,PROPAGATION | awk '$2 == "private" { print $1 }' >"$LOCAL_NODE_STATE/host/private-mounts"
    mount --make-rshared /
  fi

  # The iptables chains that exist before the node adds its own: cluster-down removes only the others.
  if [ ! -e "$LOCAL_NODE_STATE/host/iptables-chains" ]; then
    local tool table
    for tool in iptables ip6tables; do
      for table in filter nat mangle; do
        "$tool" -w -t "$table" -S 2>/dev/null | awk -v t="$tool $table" '$1 == "-N" { print t, $2 }'
      done
    done >"$LOCAL_NODE_STATE/host/iptables-chains"
  fi

  if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    ip link add "$NODE_BRIDGE" type bridge
    ip addr add "$NODE_IP/$NODE_PREFIX" dev "$NODE_BRIDGE"
  fi
  ip link set "$NODE_BRIDGE" up

  # Pods may reach each other, Services and this machine, and nothing beyond it.
  if ! iptables -w -n -L "$EGRESS_CHAIN" >/dev/null 2>&1; then
    iptables -w -N "$EGRESS_CHAIN"
    iptables -w -A "$EGRESS_CHAIN" -o "$POD_BRIDGE" -j RETURN
    iptables -w -A "$EGRESS_CHAIN" -j REJECT --reject-with icmp-net-prohibited
    iptables -w -I FORWARD 1 -s "$POD_CIDR" -j "$EGRESS_CHAIN"
  fi
}
