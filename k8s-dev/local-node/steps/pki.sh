# Step: certificates and kubeconfigs, made by kubeadm's own phases from one configuration, as a
# kubeadm cluster has them. Made once; cluster-down removes them with the state folder.

kubeadm_config() {
  cat <<YAML
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: $NODE_IP
  bindPort: $APISERVER_PORT
nodeRegistration:
  name: $NODE_NAME
  criSocket: unix://$CONTAINERD_SOCKET
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: $KUBERNETES_VERSION
clusterName: $NODE_NAME
certificatesDir: $PKI
controlPlaneEndpoint: $NODE_IP:$APISERVER_PORT
imageRepository: localhost
networking:
  serviceSubnet: $SERVICE_CIDR
  podSubnet: $POD_CIDR
  dnsDomain: $CLUSTER_DOMAIN
dns:
  imageRepository: localhost
  imageTag: $COREDNS_VERSION
YAML
}

pki() {
  mkdir -p "$PKI" "$KUBECONFIGS"
  kubeadm_config >"$LOCAL_NODE_STATE/kubeadm.yaml"
  [ -e "$KUBECONFIGS/kube-proxy.conf" ] && return 0
  local kubeadm="$KUBE_BIN/kubeadm" config="$LOCAL_NODE_STATE/kubeadm.yaml"
  "$kubeadm" init phase certs all --config "$config" >"$LOGS/kubeadm.log" 2>&1 || fail kubeadm
  "$kubeadm" init phase kubeconfig all --config "$config" --kubeconfig-dir "$KUBECONFIGS" >>"$LOGS/kubeadm.log" 2>&1 || fail kubeadm
  # kube-proxy runs on the host, not as kubeadm's DaemonSet, so it gets a client certificate in the
  # group that the default RBAC policy binds to system:node-proxier.
  "$kubeadm" kubeconfig user --config "$config" --client-name system:kube-proxy \
    >"$KUBECONFIGS/kube-proxy.conf.partial" 2>>"$LOGS/kubeadm.log" || fail kubeadm
  mv "$KUBECONFIGS/kube-proxy.conf.partial" "$KUBECONFIGS/kube-proxy.conf"
  chmod 600 "$KUBECONFIGS"/*.conf
}
