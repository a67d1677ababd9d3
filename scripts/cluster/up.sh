#!/usr/bin/env bash
# Starts the test cluster on loopback, with no container runtime: etcd, kube-apiserver (RBAC,
# PodSecurity admission), kube-controller-manager (with the hostPath provisioner, so StatefulSet
# PVCs bind), kube-scheduler and KWOK simulating one roomy node. Builds the binaries on first use.
# Ends by printing `export KUBECONFIG=<path>`.
#   MATHISON_CLUSTER_DIR  state directory (default: <cache>/cluster); one cluster per directory.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/versions.sh"
STATE="${MATHISON_CLUSTER_DIR:-$CLUSTER_CACHE_ROOT/cluster}"
start=$(date +%s%N)

bash "$here/build.sh" >&2
if [ -f "$STATE/pids" ]; then
  alive=1
  while read -r _ pid; do kill -0 "$pid" 2>/dev/null || alive=0; done < "$STATE/pids"
  # Running is not enough: a cluster that does not answer, or has no node, is started afresh.
  if [ $alive = 1 ] && [ -s "$STATE/pids" ] && "$CLUSTER_BIN_DIR/kubectl" --kubeconfig "$STATE/kubeconfig" --request-timeout=5s get node/kwok-node-0 >/dev/null 2>&1; then
    echo "cluster: one is already running in $STATE (npm run cluster:down stops it)" >&2
    echo "export KUBECONFIG=$STATE/kubeconfig"
    exit 0
  fi
  echo "cluster: the one in $STATE has stopped or does not answer; starting afresh" >&2
  bash "$here/down.sh" >/dev/null 2>&1 || true
fi
mkdir -p "$STATE/pki" "$STATE/logs" "$STATE/hostpath"
B="$CLUSTER_BIN_DIR"
failed() {
  echo "cluster: $1; last lines of its log ($STATE/logs/$2.log):" >&2
  tail -n 20 "$STATE/logs/$2.log" >&2 || true
  trap - INT TERM
  bash "$here/down.sh" >/dev/null 2>&1 || true
  echo "cluster: stopped everything this start had started" >&2
  exit 1
}
# A start stopped halfway (Ctrl-C, a killed CI step) leaves nothing running.
trap 'echo "cluster: start interrupted; stopping what it started" >&2; bash "$here/down.sh" >/dev/null 2>&1; exit 130' INT TERM

. "$here/ports.sh"
ETCD_PORT=$(free_port); ETCD_PEER_PORT=$(free_port); API_PORT=$(free_port); KWOK_PORT=$(free_port)

# --- PKI: a CA, the API server's serving cert, an admin client cert (system:masters) and the
# service-account signing key.
pki="$STATE/pki"
ossl() { openssl "$@" >/dev/null 2>&1; }
ossl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=mathison-test-ca" -keyout "$pki/ca.key" -out "$pki/ca.crt"
cat > "$pki/apiserver.ext" <<EXT
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth
EXT
printf 'extendedKeyUsage=clientAuth\n' > "$pki/client.ext"
ossl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr"
ossl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 30 -extfile "$pki/apiserver.ext" -out "$pki/apiserver.crt"
ossl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=admin" -keyout "$pki/admin.key" -out "$pki/admin.csr"
ossl x509 -req -in "$pki/admin.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 30 -extfile "$pki/client.ext" -out "$pki/admin.crt"
ossl genrsa -out "$pki/sa.key" 2048
ossl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
chmod 600 "$pki"/*.key

KUBECONFIG_PATH="$STATE/kubeconfig"
cat > "$KUBECONFIG_PATH" <<KC
apiVersion: v1
kind: Config
clusters:
- name: mathison-test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $pki/ca.crt
users:
- name: admin
  user:
    client-certificate: $pki/admin.crt
    client-key: $pki/admin.key
contexts:
- name: mathison-test
  context: {cluster: mathison-test, user: admin}
current-context: mathison-test
KC
chmod 600 "$KUBECONFIG_PATH"

launch() { # name, command...
  local name=$1; shift
  setsid "$@" >"$STATE/logs/$name.log" 2>&1 < /dev/null &
  echo "$name $!" >> "$STATE/pids"
}
: > "$STATE/pids"

launch etcd "$B/etcd" --name=test --data-dir="$STATE/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="test=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level=warn
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$ETCD_PORT/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$ETCD_PORT/health" >/dev/null || failed "etcd did not become healthy" etcd

launch kube-apiserver "$B/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --secure-port="$API_PORT" --advertise-address=127.0.0.1 \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 \
  --authorization-mode=Node,RBAC --allow-privileged=true \
  --kubelet-client-certificate="$pki/admin.crt" --kubelet-client-key="$pki/admin.key" \
  --kubelet-preferred-address-types=InternalIP \
  --enable-admission-plugins=NodeRestriction \
  --endpoint-reconciler-type=none \
  --profiling=false --v=0

K() { "$B/kubectl" --kubeconfig="$KUBECONFIG_PATH" "$@"; }
for _ in $(seq 1 300); do K get --raw /readyz >/dev/null 2>&1 && break; sleep 0.1; done
K get --raw /readyz >/dev/null 2>&1 || failed "kube-apiserver did not become ready" kube-apiserver

launch kube-controller-manager "$B/kube-controller-manager" \
  --kubeconfig="$KUBECONFIG_PATH" --leader-elect=false --secure-port=0 \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --use-service-account-credentials=true \
  --enable-hostpath-provisioner=true \
  --concurrent-deployment-syncs=10 --concurrent-replicaset-syncs=10 --concurrent-statefulset-syncs=10 --concurrent-job-syncs=10 \
  --v=1
launch kube-scheduler "$B/kube-scheduler" --kubeconfig="$KUBECONFIG_PATH" --leader-elect=false --secure-port=0 --v=1
# The servers an exec'd psql or redis-cli reaches (KWOK runs it on this host).
bash "$here/backing.sh" start "$STATE" || failed "PostgreSQL and Redis for the exec checks did not start" initdb
PGHOST=/nonexistent; PGPORT=1; REDIS_PORT=1; REDIS_DIR=/nonexistent
[ -f "$STATE/backing/env" ] && . "$STATE/backing/env"
# KWOK also serves the node's kubelet API (logs, exec) on 127.0.0.1, where the API server reaches it.
sed -e "s|@LOGS@|$here/logs|g" -e "s|@PGHOST@|$PGHOST|g" -e "s|@PGPORT@|$PGPORT|g" -e "s|@REDIS_DIR@|$REDIS_DIR|g" \
  "$here/kwok.yaml" > "$STATE/kwok.yaml"
PATH="$STATE/backing/bin:$PATH" launch kwok "$B/kwok" --kubeconfig="$KUBECONFIG_PATH" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --config="$STATE/kwok.yaml" --cidr=10.244.0.0/16 --node-ip=127.0.0.1 \
  --server-address="127.0.0.1:$KWOK_PORT" --node-port="$KWOK_PORT" --node-lease-duration-seconds=40

# --- What a cluster Mathison installs into has: a node with room, a default StorageClass that
# provisions, an IngressClass.
K apply -f - >/dev/null <<'OBJ'
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
status:
  allocatable: {cpu: "32", memory: 64Gi, pods: "110", ephemeral-storage: 500Gi}
  capacity: {cpu: "32", memory: 64Gi, pods: "110", ephemeral-storage: 500Gi}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
  annotations:
    ingressclass.kubernetes.io/is-default-class: "true"
spec:
  controller: k8s.io/ingress-nginx
OBJ
K wait --for=condition=Ready node/kwok-node-0 --timeout=30s >/dev/null || failed "the KWOK node did not become Ready" kwok
for _ in $(seq 1 100); do K -n default get serviceaccount default >/dev/null 2>&1 && break; sleep 0.1; done

for name in $(cut -d' ' -f1 "$STATE/pids"); do
  pid=$(grep "^$name " "$STATE/pids" | cut -d' ' -f2)
  kill -0 "$pid" 2>/dev/null || failed "$name exited" "$name"
done
echo "cluster: ready in $(( ($(date +%s%N) - start) / 1000000 )) ms (kube-apiserver https://127.0.0.1:$API_PORT, state $STATE)" >&2
echo "export KUBECONFIG=$KUBECONFIG_PATH"
