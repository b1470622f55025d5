# Step: a registry on loopback (distribution, from Debian's docker-registry), that skaffold pushes
# to and containerd pulls from. No authentication: it answers on 127.0.0.1 only.

registry_config() {
  cat <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $LOCAL_NODE_STATE/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_HOST
YAML
}

registry_start() {
  mkdir -p "$LOCAL_NODE_STATE/registry"
  registry_config | write_config "$LOCAL_NODE_STATE/registry.yaml"
  start_daemon registry docker-registry serve "$LOCAL_NODE_STATE/registry.yaml"
  wait_until registry 30 curl -fsS "http://$REGISTRY_HOST/v2/"
}
