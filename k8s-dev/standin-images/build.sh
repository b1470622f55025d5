#!/usr/bin/env bash
# Builds the stand-ins for the Bitnami PostgreSQL and Redis images, for a cluster that reaches no
# container registry: each is made from Debian packages and tagged with the exact image reference
# that the pinned subcharts render with this chart's values, so the chart runs unchanged. On a
# cluster with registry access none of this is needed: the real images are pulled and nothing in
# the chart changes. README.md beside this file says what part of the images' contract they keep.
#
#   k8s-dev/standin-images/build.sh [OUT_DIR]     (default: k8s-dev/standin-images/out)
#
# Writes OUT_DIR/postgresql.tar and OUT_DIR/redis.tar (docker-archive), for
#   ctr -n k8s.io images import OUT_DIR/postgresql.tar
# Tools come from PATH (override with HELM=…, DOCKER=…). The Debian base image is made once with
# debootstrap (needs root) and kept in the local image store; STANDIN_REBUILD_BASE=1 makes it anew.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$here/out}"
helm="${HELM:-helm}"
docker="${DOCKER:-docker}"
# Debian 13: the release whose packages carry the subcharts' major versions (PostgreSQL 17, Redis 8).
suite="trixie"
base="localhost/users-standin-base:debian-13-minbase"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

fail() { echo "standin-images: $*" >&2; exit 1; }

require_tools() {
  command -v "$helm" >/dev/null || fail "helm not found (set HELM=…)"
  command -v "$docker" >/dev/null || fail "docker not found (set DOCKER=…, e.g. DOCKER=podman)"
  [[ -f "$repo/helm/charts/postgresql/Chart.yaml" && -f "$repo/helm/charts/redis/Chart.yaml" ]] \
    || fail "the subcharts are missing from helm/charts/ (make deps): the references are read from them"
}

# The image references the subcharts render, with the default, development and production values
# (they agree today; if a values file ever pins another tag, that reference is built as well).
rendered_references() {
  local name="$1" values
  for values in "" "$repo/k8s-dev/values-dev.yaml" "$repo/helm/values-prod.yaml"; do
    "$helm" template standin-refs "$repo/helm" ${values:+--values "$values"} \
      | sed -nE "s#^ *image: *\"?([^\" ]+/${name}(:[^\" ]+|@sha256:[0-9a-f]+))\"? *\$#\\1#p"
  done | sort -u
}

make_base() {
  if [[ -z "${STANDIN_REBUILD_BASE:-}" ]] && "$docker" image inspect "$base" >/dev/null 2>&1; then return; fi
  command -v debootstrap >/dev/null || fail "debootstrap not found (apt-get install debootstrap)"
  [[ $(id -u) == 0 ]] || fail "debootstrap needs root to make $base"
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  echo "standin-images: making $base (debootstrap --variant=minbase $suite)" >&2
  debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }
  # No daemons start while packages install inside an image build.
  printf '#!/bin/sh\nexit 101\n' >"$work/rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$work/rootfs/usr/sbin/policy-rc.d"
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
  tar -C "$work/rootfs" -c . | "$docker" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' - "$base" >/dev/null
}

# Builds one stand-in, tags it with every reference the subchart renders, and saves the archive.
build_one() {
  local name="$1" refs ref tags=()
  mapfile -t refs < <(rendered_references "$name")
  [[ ${#refs[@]} -gt 0 ]] || fail "helm template rendered no $name image"
  for ref in "${refs[@]}"; do
    [[ $ref != *@sha256:* ]] || fail "$name is pinned by digest ($ref): a local build cannot wear that reference; pin a tag"
    tags+=(--tag "$ref")
  done
  echo "standin-images: building ${refs[*]}" >&2
  "$docker" build --build-arg "BASE=$base" --build-arg "IMAGE_REFERENCE=${refs[0]}" "${tags[@]}" \
    --file "$here/$name/Dockerfile" "$here/$name" >&2
  mkdir -p "$out"
  rm -f "$out/$name.tar"
  "$docker" save --output "$out/$name.tar" "${refs[@]}"
  for ref in "${refs[@]}"; do
    printf '%s\t%s\t%s\n' "$ref" "$("$docker" image inspect --format '{{.Size}}' "$ref")" "$out/$name.tar"
  done
}

require_tools
make_base
printf 'reference\timage bytes\tarchive\n'
build_one postgresql
build_one redis
