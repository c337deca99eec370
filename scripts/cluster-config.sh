# The Temporal cluster's certificates and server configuration files, for scripts/cluster (which
# sets CDIR, TLS, PROCESSES, the ports and SERVER_NAME before sourcing this).
# shellcheck shell=bash

# --- certificates ----------------------------------------------------------------------------------
make_certificates() {
  [[ -s "$TLS/client.crt" ]] && return
  log "making the cluster's CA and certificates in $TLS"
  mkdir -p "$TLS"
  (
    umask 077
    cd "$TLS"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=mailgate-temporal-ca \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
      -keyout ca.key -out ca.crt 2>/dev/null
    # The services' own certificate: the frontend shows it to clients, and every service shows it to
    # the others and presents it as their client certificate (internode mutual TLS).
    printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' "$SERVER_NAME" >node.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$SERVER_NAME" -keyout node.key -out node.csr 2>/dev/null
    openssl x509 -req -in node.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -extfile node.ext -out node.crt 2>/dev/null
    # Mailgate's client certificate (the worker, API, MX, CLI and benchmarks).
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl req -newkey rsa:2048 -nodes -subj /CN=mailgate -keyout client.key -out client.csr 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -extfile client.ext -out client.crt 2>/dev/null
    rm -f ./*.csr ./*.ext
    chmod 644 ca.crt node.crt client.crt
  ) || die "cannot make the cluster's certificates (openssl)"
}

# --- configuration ---------------------------------------------------------------------------------
write_config() { # write_config NAME GRPC MEMBERSHIP
  local name="$1" grpc="$2" membership="$3" password
  password="$(cat "$CDIR/secrets/pg-password")"
  local store
  mkdir -p "$CDIR/config"
  (umask 077; cat >"$CDIR/config/$name.yaml") <<YAML
log:
  stdout: true
  level: ${CLUSTER_LOG_LEVEL:-warn}
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: ${CLUSTER_HISTORY_SHARDS:-16}
  datastores:
$(for store in default:temporal:20 visibility:temporal_visibility:10; do IFS=: read -r id db conns <<<"$store"; cat <<STORE
    $id:
      sql:
        pluginName: postgres12
        databaseName: $db
        connectAddr: "127.0.0.1:$PG_CLUSTER_PORT"
        connectProtocol: tcp
        user: temporal
        password: "$password"
        maxConns: $conns
        maxIdleConns: $conns
        maxConnLifetime: 1h
STORE
done)
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  tls:
    internode:
      server: &node
        certFile: $TLS/node.crt
        keyFile: $TLS/node.key
        requireClientAuth: true
        clientCaFiles: [$TLS/ca.crt]
      client: &trust
        serverName: $SERVER_NAME
        rootCaFiles: [$TLS/ca.crt]
    frontend:
      server: *node
      client: *trust
    systemWorker:
      certFile: $TLS/node.crt
      keyFile: $TLS/node.key
      client: *trust
services:
$(services_section "$name" "$grpc" "$membership")
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "$FRONTEND"
      httpAddress: "127.0.0.1:$FRONTEND_HTTP_PORT"
dcRedirectionPolicy:
  policy: noop
publicClient:
  hostPort: "$FRONTEND"
YAML
}
svc_of() { case "$1" in history-*) echo history ;; *) echo "$1" ;; esac; }
# Every process names all four services: its membership monitor resolves the others by these names.
# Its own entry carries its own ports; a second history process differs from the first only there.
services_section() { # services_section NAME GRPC MEMBERSHIP
  local own p name service grpc membership
  own="$(svc_of "$1")"
  for p in "${PROCESSES[@]}"; do
    read -r name service grpc membership <<<"$p"
    [[ "$name" == history-2 ]] && continue
    [[ "$service" == "$own" ]] && { grpc="$2"; membership="$3"; }
    printf '  %s:\n    rpc:\n      grpcPort: %s\n      membershipPort: %s\n      bindOnLocalHost: true\n' "$service" "$grpc" "$membership"
    [[ "$service" == frontend ]] && printf '      httpPort: %s\n' "$FRONTEND_HTTP_PORT"
  done
}
