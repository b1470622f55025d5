# Step: kube-apiserver, kube-controller-manager and kube-scheduler as processes on the host, with
# the flags kubeadm's static-pod manifests give them (one node: no leader election).

apiserver_start() {
  start_daemon kube-apiserver "$KUBE_BIN/kube-apiserver" \
    --advertise-address="$NODE_IP" --bind-address="$NODE_IP" --secure-port="$APISERVER_PORT" \
    --allow-privileged=true \
    --authorization-mode=Node,RBAC \
    --client-ca-file="$PKI/ca.crt" \
    --enable-admission-plugins=NodeRestriction \
    --etcd-servers="https://127.0.0.1:$ETCD_CLIENT_PORT" --etcd-cafile="$PKI/etcd/ca.crt" \
    --etcd-certfile="$PKI/apiserver-etcd-client.crt" --etcd-keyfile="$PKI/apiserver-etcd-client.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --requestheader-allowed-names=front-proxy-client --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
    --requestheader-extra-headers-prefix=X-Remote-Extra- --requestheader-group-headers=X-Remote-Group \
    --requestheader-username-headers=X-Remote-User \
    --service-account-issuer="https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key"
  wait_until kube-apiserver 120 "$KUBE_BIN/kubectl" --kubeconfig "$KUBECONFIGS/super-admin.conf" get --raw /readyz
  # kubeadm's admin.conf is in the group kubeadm:cluster-admins, which kubeadm init binds to
  # cluster-admin; without kubeadm init, that binding is made here (super-admin.conf is system:masters).
  "$KUBE_BIN/kubectl" --kubeconfig "$KUBECONFIGS/super-admin.conf" create clusterrolebinding kubeadm:cluster-admins \
    --clusterrole=cluster-admin --group=kubeadm:cluster-admins --dry-run=client -o yaml |
    "$KUBE_BIN/kubectl" --kubeconfig "$KUBECONFIGS/super-admin.conf" apply -f - >>"$LOGS/kube-apiserver.log" 2>&1 ||
    fail kube-apiserver "refused the admin binding"
}

controller_manager_start() {
  local conf="$KUBECONFIGS/controller-manager.conf"
  start_daemon kube-controller-manager "$KUBE_BIN/kube-controller-manager" \
    --kubeconfig="$conf" --authentication-kubeconfig="$conf" --authorization-kubeconfig="$conf" \
    --bind-address=127.0.0.1 --leader-elect=false --cluster-name="$NODE_NAME" \
    --client-ca-file="$PKI/ca.crt" --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --controllers='*,bootstrapsigner,tokencleaner' \
    --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --use-service-account-credentials=true
  wait_until kube-controller-manager 60 curl -fsSk https://127.0.0.1:10257/healthz
}

scheduler_start() {
  local conf="$KUBECONFIGS/scheduler.conf"
  start_daemon kube-scheduler "$KUBE_BIN/kube-scheduler" \
    --kubeconfig="$conf" --authentication-kubeconfig="$conf" --authorization-kubeconfig="$conf" \
    --bind-address=127.0.0.1 --leader-elect=false
  wait_until kube-scheduler 60 curl -fsSk https://127.0.0.1:10259/healthz
}
