# Step: a kubectl context of its own (local-node) in the user's kubeconfig, with kubeadm's admin
# credentials embedded, made current. cluster-down removes the three entries again.

kubectl_context() {
  local kubectl="$KUBE_BIN/kubectl" admin="$KUBECONFIGS/admin.conf" work
  work="$(mktemp -d)"
  "$kubectl" --kubeconfig "$admin" config view --raw -o jsonpath='{.users[0].user.client-certificate-data}' | base64 -d >"$work/cert"
  "$kubectl" --kubeconfig "$admin" config view --raw -o jsonpath='{.users[0].user.client-key-data}' | base64 -d >"$work/key"
  "$kubectl" config set-cluster "$KUBE_CONTEXT" --server="https://$NODE_IP:$APISERVER_PORT" \
    --certificate-authority="$PKI/ca.crt" --embed-certs=true >/dev/null
  "$kubectl" config set-credentials "$KUBE_CONTEXT-admin" --client-certificate="$work/cert" \
    --client-key="$work/key" --embed-certs=true >/dev/null
  rm -rf "$work"
  "$kubectl" config set-context "$KUBE_CONTEXT" --cluster="$KUBE_CONTEXT" --user="$KUBE_CONTEXT-admin" >/dev/null
  "$kubectl" config use-context "$KUBE_CONTEXT" >/dev/null
}
