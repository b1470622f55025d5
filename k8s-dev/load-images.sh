#!/usr/bin/env bash
# Loads the locally built images into the cluster of the current kubectl context, for `make deploy`
# without a registry: kind, minikube, or the local node. (`skaffold dev` does this by itself.)
set -euo pipefail

tag="${TAG:-dev}"
images=("user-service:$tag" "data-service:$tag")
context="$(kubectl config current-context)"

load_into_kind() {
  local cluster="$1" image="$2" platform workdir status=0
  if kind load docker-image --name "$cluster" "$image"; then return 0; fi
  # Docker's containerd image store saves an index naming blobs it does not have, and the node's
  # import fails ("content digest ... not found"). A single-platform archive avoids that.
  echo "load-images: retrying $image as a single-platform archive (see k8s-dev/TROUBLESHOOTING.md)" >&2
  platform="$(docker image inspect --format '{{.Os}}/{{.Architecture}}' "$image")"
  workdir="$(mktemp -d)"
  docker image save --platform "$platform" --output "$workdir/image.tar" "$image" &&
    kind load image-archive --name "$cluster" "$workdir/image.tar" || status=$?
  rm -rf "$workdir"
  return "$status"
}

# The local node's containerd imports an image archive straight into the namespace the kubelet uses.
load_into_local_node() {
  local image="$1" workdir status=0
  source "$(dirname "${BASH_SOURCE[0]}")/local-node/config.sh"
  workdir="$(mktemp -d)"
  local ctr=("$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCKET" --namespace k8s.io)
  docker image save --output "$workdir/image.tar" "$image" >/dev/null &&
    "${ctr[@]}" images import "$workdir/image.tar" >/dev/null || status=$?
  rm -rf "$workdir"
  # Podman names a local image localhost/NAME; the chart's NAME means docker.io/library/NAME.
  if [ "$status" -eq 0 ] && "${ctr[@]}" images ls -q | grep -qx "localhost/$image"; then
    "${ctr[@]}" images tag --force "localhost/$image" "docker.io/library/$image" >/dev/null || status=$?
  fi
  return "$status"
}

case "$context" in
  local-node)
    for image in "${images[@]}"; do load_into_local_node "$image"; done
    ;;
  kind-*)
    for image in "${images[@]}"; do load_into_kind "${context#kind-}" "$image"; done
    ;;
  *)
    if command -v minikube >/dev/null && minikube status --profile "$context" >/dev/null 2>&1; then
      for image in "${images[@]}"; do minikube image load --profile "$context" "$image"; done
    else
      echo "load-images: context \"$context\" is neither kind (kind-*), the local node (local-node) nor a running minikube profile; push the images to a registry the cluster pulls from" >&2
      exit 1
    fi
    ;;
esac
