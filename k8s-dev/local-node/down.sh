#!/usr/bin/env bash
# make cluster-down: ends every process of the local node (by pid), and removes its mounts,
# interfaces, iptables rules, cgroups, kubectl context, state and run folders. The build cache stays.
# Whatever was on this machine before cluster-up is left as it was.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/config.sh"

# SIGTERM, then SIGKILL after a grace period.
end_pids() { # <pid>…
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null
  local waited=0
  while [ $waited -lt 20 ] && kill -0 "$@" 2>/dev/null; do sleep 0.5; waited=$((waited + 1)); done
  kill -KILL "$@" 2>/dev/null
  return 0
}

end_component() { # <component>
  local file="$PIDS/$1.pid"
  [ -s "$file" ] && end_pids "$(cat "$file")"
  rm -f "$file"
}

cgroup_dirs() { find /sys/fs/cgroup/*/"$CGROUP_ROOT" /sys/fs/cgroup/"$CGROUP_ROOT" -depth -type d 2>/dev/null; }

# Containers: every process in a cgroup under the kubelet's root, then the shims of our containerd.
end_containers() {
  local pids
  pids="$(cgroup_dirs | while read -r dir; do cat "$dir/cgroup.procs" 2>/dev/null; done | sort -u)"
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null
  # shellcheck disable=SC2046
  end_pids $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCKET" || true)
}

unmount_ours() {
  local target
  findmnt -rno TARGET | grep -E "^($LOCAL_NODE_STATE|$LOCAL_NODE_RUN)(/|$)" | sort -r | while read -r target; do
    umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null
  done
}

remove_interfaces() {
  local link
  for link in $(ip -o link show master "$POD_BRIDGE" 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
    ip link del "$link" 2>/dev/null
  done
  ip link del "$POD_BRIDGE" 2>/dev/null
  ip link del "$NODE_BRIDGE" 2>/dev/null
  return 0
}

# kube-proxy removes its own rules; then every chain that the kubelet, kube-proxy, the CNI plugins
# or we made (those not there before cluster-up), with the rules that jump to them.
remove_iptables() {
  [ -x "$KUBE_BIN/kube-proxy" ] && "$KUBE_BIN/kube-proxy" --cleanup >/dev/null 2>&1
  local tool table chain before="$LOCAL_NODE_STATE/host/iptables-chains"
  for tool in iptables ip6tables; do
    command -v "$tool" >/dev/null || continue
    for table in filter nat mangle; do
      "$tool" -w -t "$table" -S >/dev/null 2>&1 || continue
      local ours
      ours="$("$tool" -w -t "$table" -S | awk '$1 == "-N" { print $2 }' | grep -E '^(KUBE-|CNI-|LOCAL-NODE-)' |
        grep -vxF -f <(grep "^$tool $table " "$before" 2>/dev/null | awk '{ print $3 }') || true)"
      [ -n "$ours" ] || continue
      # Rules in any chain that jump to one of ours: deleted by their own spec.
      "$tool" -w -t "$table" -S | grep -E -- "-j ($(paste -sd'|' <<<"$ours"))( |$)" | sed 's/^-A/-D/' |
        while read -r rule; do eval "$tool -w -t $table $rule" 2>/dev/null; done
      for chain in $ours; do "$tool" -w -t "$table" -F "$chain" 2>/dev/null; done
      for chain in $ours; do "$tool" -w -t "$table" -X "$chain" 2>/dev/null; done
    done
  done
}

restore_host() {
  local saved="$LOCAL_NODE_STATE/host" line target
  if [ -e "$saved/sysctl" ]; then
    while IFS='=' read -r key value; do echo "$value" >"/proc/sys/${key//.//}"; done <"$saved/sysctl"
  fi
  if [ -e "$saved/private-mounts" ]; then
    while read -r target; do mount --make-private "$target" 2>/dev/null; done <"$saved/private-mounts"
  fi
  return 0
}

remove_run_containerd() {
  [ -e "$LOCAL_NODE_STATE/host/made-run-containerd" ] && rm -rf /run/containerd
  return 0
}

remove_cgroups() {
  local dir
  for _ in 1 2 3 4 5; do
    cgroup_dirs | while read -r dir; do rmdir "$dir" 2>/dev/null; done
    [ -z "$(cgroup_dirs)" ] && return 0
    sleep 1
  done
  say "cgroups left behind: $(cgroup_dirs | head -n 3 | tr '\n' ' ')"
}

remove_context() {
  local kubectl="$KUBE_BIN/kubectl"
  [ -x "$kubectl" ] || kubectl="kubectl"
  command -v "$kubectl" >/dev/null || return 0
  if [ "$("$kubectl" config current-context 2>/dev/null)" = "$KUBE_CONTEXT" ]; then "$kubectl" config unset current-context >/dev/null; fi
  "$kubectl" config delete-context "$KUBE_CONTEXT" >/dev/null 2>&1
  "$kubectl" config delete-cluster "$KUBE_CONTEXT" >/dev/null 2>&1
  "$kubectl" config delete-user "$KUBE_CONTEXT-admin" >/dev/null 2>&1
  return 0
}

end_component kubelet
end_containers
for component in kube-proxy registry containerd kube-scheduler kube-controller-manager kube-apiserver etcd; do
  end_component "$component"
done
end_containers
unmount_ours
remove_interfaces
remove_iptables
restore_host
remove_run_containerd
remove_cgroups
remove_context
rm -rf "$LOCAL_NODE_STATE" "$LOCAL_NODE_RUN"
say "removed"
