#!/usr/bin/env bash
# Builds every component of the local node from its official Go module, once per version, into
# LOCAL_NODE_CACHE (outside the repository), and the two images it needs without a registry: pause
# and CoreDNS. A component whose folder is complete is not built again; a failed build leaves no
# folder behind.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/config.sh"

export CGO_ENABLED=0 GOFLAGS="-mod=readonly -trimpath -buildvcs=false"

# Builds into a temporary folder and renames it, so an interrupted build is never taken as done.
build_into() { # <bin folder> <go module folder> <function that builds into the folder it is given>
  local dest="$1" module="$2" builder="$3" out
  [ -e "$dest/.complete" ] && return 0
  say "building $module (first time only)…"
  out="$(dirname "$dest")/.building-$$"
  rm -rf "$out" && mkdir -p "$out"
  if ! (cd "$here/go/$module" && "$builder" "$out") >"$out.log" 2>&1; then
    say "build of $module failed: $(tail -n 1 "$out.log")"
    rm -rf "$out"
    return 1
  fi
  rm -f "$out.log"
  touch "$out/.complete"
  rm -rf "$dest" && mv "$out" "$dest"
}

# The version ldflags of Kubernetes' hack/lib/version.sh: without them every component reports
# v0.0.0, and Helm's kubeVersion checks refuse the cluster.
kubernetes() {
  local v="$KUBERNETES_VERSION" major minor flags="-s -w" pkg
  major="${v#v}"; major="${major%%.*}"
  minor="${v#v*.}"; minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  go build -ldflags "$flags" -o "$1/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet \
    k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes/cmd/kubeadm
}

etcd() {
  go build -ldflags "-s -w" -o "$1/etcd" go.etcd.io/etcd/server/v3
}

# Only the overlayfs and native snapshotters are wanted; the others need C libraries.
containerd() {
  go build -tags "no_aufs no_btrfs no_devmapper no_zfs" \
    -ldflags "-s -w -X github.com/containerd/containerd/version.Version=$CONTAINERD_VERSION" -o "$1/" \
    github.com/containerd/containerd/cmd/containerd github.com/containerd/containerd/cmd/ctr \
    github.com/containerd/containerd/cmd/containerd-shim-runc-v2
}

# runc needs cgo (its nsenter is C) and libseccomp, because pods ask for the RuntimeDefault profile.
runc() {
  CGO_ENABLED=1 go build -tags seccomp -ldflags "-s -w" -o "$1/runc" github.com/opencontainers/runc
}

cni_plugins() {
  go build -ldflags "-s -w" -o "$1/" \
    github.com/containernetworking/plugins/plugins/main/bridge \
    github.com/containernetworking/plugins/plugins/main/loopback \
    github.com/containernetworking/plugins/plugins/ipam/host-local \
    github.com/containernetworking/plugins/plugins/meta/portmap
}

coredns() {
  go build -ldflags "-s -w" -o "$1/coredns" github.com/coredns/coredns
}

# With no registry, both images are made here FROM scratch and saved as archives that
# `ctr images import` takes. pause is Kubernetes' own pause.c from the pinned module, linked statically.
images() {
  local work
  work="$(mktemp -d)"
  mkdir -p "$IMAGES"
  if [ ! -e "$IMAGES/pause-$PAUSE_VERSION.tar" ]; then
    say "building image $PAUSE_IMAGE (first time only)…"
    cp "$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBERNETES_VERSION/build/pause/linux/pause.c" "$work/"
    gcc -Os -static -DVERSION="$PAUSE_VERSION" -o "$work/pause" "$work/pause.c"
    printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$work/Dockerfile"
    save_image "$work" "$PAUSE_IMAGE" "$IMAGES/pause-$PAUSE_VERSION.tar"
  fi
  if [ ! -e "$IMAGES/coredns-$COREDNS_VERSION.tar" ]; then
    say "building image $COREDNS_IMAGE (first time only)…"
    cp "$COREDNS_BIN/coredns" "$work/coredns"
    # As in CoreDNS' own image: it runs as non-root and binds port 53 through this file capability.
    setcap cap_net_bind_service=+ep "$work/coredns"
    printf 'FROM scratch\nCOPY coredns /coredns\nUSER 65532:65532\nEXPOSE 53 53/udp\nENTRYPOINT ["/coredns"]\n' >"$work/Dockerfile"
    save_image "$work" "$COREDNS_IMAGE" "$IMAGES/coredns-$COREDNS_VERSION.tar"
  fi
  rm -rf "$work"
}

save_image() { # <context> <reference> <archive>
  local log="$1/docker.log"
  if ! { docker build --quiet --tag "$2" "$1" && docker save --output "$3.partial" "$2"; } >"$log" 2>&1; then
    say "could not build image $2: $(tail -n 1 "$log")"
    return 1
  fi
  mv "$3.partial" "$3"
}

(cd "$here/go/kubernetes" && go mod download k8s.io/kubernetes) # pause.c comes from the module
build_into "$KUBE_BIN" kubernetes kubernetes
build_into "$ETCD_BIN" etcd etcd
build_into "$CONTAINERD_BIN" containerd containerd
build_into "$RUNC_BIN" runc runc
build_into "$CNI_BIN" cni-plugins cni_plugins
build_into "$COREDNS_BIN" coredns coredns
images
