# Step: etcd, on loopback, with the TLS certificates kubeadm made (client certificates required).

etcd_health() {
  curl -fsS --cacert "$PKI/etcd/ca.crt" --cert "$PKI/apiserver-etcd-client.crt" --key "$PKI/apiserver-etcd-client.key" \
    "https://127.0.0.1:$ETCD_CLIENT_PORT/health" | grep -q '"health":"true"'
}

etcd_start() {
  mkdir -p "$LOCAL_NODE_STATE/etcd" && chmod 700 "$LOCAL_NODE_STATE/etcd"
  start_daemon etcd "$ETCD_BIN/etcd" \
    --name "$NODE_NAME" --data-dir "$LOCAL_NODE_STATE/etcd" \
    --listen-client-urls "https://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "https://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "https://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "https://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "$NODE_NAME=https://127.0.0.1:$ETCD_PEER_PORT" \
    --listen-metrics-urls "http://127.0.0.1:$((ETCD_CLIENT_PORT + 1))" \
    --cert-file "$PKI/etcd/server.crt" --key-file "$PKI/etcd/server.key" \
    --client-cert-auth --trusted-ca-file "$PKI/etcd/ca.crt" \
    --peer-cert-file "$PKI/etcd/peer.crt" --peer-key-file "$PKI/etcd/peer.key" \
    --peer-client-cert-auth --peer-trusted-ca-file "$PKI/etcd/ca.crt" \
    --snapshot-count 10000
  wait_until etcd 60 etcd_health
}
