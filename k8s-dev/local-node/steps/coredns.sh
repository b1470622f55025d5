# Step: CoreDNS, from kubeadm's own manifest for this release, with one change: no `forward`, so
# names outside the cluster are never sent beyond this machine (they answer SERVFAIL).

coredns_manifest() {
  "$KUBE_BIN/kubeadm" init phase addon coredns --config "$LOCAL_NODE_STATE/kubeadm.yaml" --print-manifest \
    --kubeconfig "$KUBECONFIGS/admin.conf" |
    awk '/^ *forward \. /{ skip = 1 } skip { if ($0 ~ /^ *}/) skip = 0; next } { print }' |
    sed -E 's/^(\s*)replicas: 2$/\1replicas: 1/'
}

coredns_deploy() {
  local manifest
  manifest="$(coredns_manifest 2>>"$LOGS/kubeadm.log")" || fail kubeadm "could not print the CoreDNS manifest"
  grep -q 'image: '"$COREDNS_IMAGE" <<<"$manifest" || { say "kubeadm's CoreDNS manifest does not name $COREDNS_IMAGE"; exit 1; }
  kubectl_admin apply -f - <<<"$manifest" >>"$LOGS/coredns.log" 2>&1 || { echo "$manifest" >/dev/null; fail coredns "manifest was refused"; }
}
