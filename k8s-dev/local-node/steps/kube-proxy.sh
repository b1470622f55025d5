# Step: kube-proxy in iptables mode, on the host.

kube_proxy_config() {
  cat <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: $KUBECONFIGS/kube-proxy.conf
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# NodePorts only on the node's own bridge, not on every address of this machine.
nodePortAddresses:
  - $NODE_IP/32
# Zero leaves the machine's conntrack settings as they are.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
YAML
}

kube_proxy_start() {
  mkdir -p "$LOCAL_NODE_STATE/kube-proxy"
  kube_proxy_config | write_config "$LOCAL_NODE_STATE/kube-proxy/config.yaml"
  start_daemon kube-proxy "$KUBE_BIN/kube-proxy" --config="$LOCAL_NODE_STATE/kube-proxy/config.yaml"
  wait_until kube-proxy 60 iptables -w -t nat -n -L KUBE-SERVICES
}
