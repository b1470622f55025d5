# Step: wait for what "up" means: the node Ready and CoreDNS answering.

node_ready() {
  [ "$(kubectl_admin get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

coredns_ready() {
  [ "$(kubectl_admin -n kube-system get deployment coredns -o jsonpath='{.status.readyReplicas}' 2>/dev/null)" -ge 1 ] 2>/dev/null
}

wait_for_node() {
  wait_until kubelet 120 node_ready
  wait_until kubelet 120 coredns_ready
}
