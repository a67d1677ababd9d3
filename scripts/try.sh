#!/usr/bin/env bash
# Try the whole flow without a cluster of your own: brings up the local test cluster (built from
# Go modules on first use: several minutes, then cached), runs the installer's wizard into it,
# and says how to stop it. `bash scripts/try.sh down` stops the cluster.
#
# The test cluster is a real kube-apiserver, controller-manager and scheduler; its pods are
# simulated by KWOK (they become Ready, the migration Job completes), so nothing of Mathison
# really runs and its web UI cannot be opened.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export MATHISON_CLUSTER_DIR="${MATHISON_CLUSTER_DIR:-$HOME/.cache/mathison-install/cluster}"

if [ "${1:-}" = "down" ]; then
  exec bash scripts/cluster/down.sh
fi
if ! command -v go >/dev/null 2>&1; then
  echo "try.sh: the local test cluster is built with Go, which is not installed; install Go, or run the installer against your own cluster: npx mathison-install" >&2
  exit 1
fi

echo "== the local test cluster (the first start builds it: several minutes)"
bash scripts/cluster/up.sh
export KUBECONFIG="$MATHISON_CLUSTER_DIR/kubeconfig"
. scripts/cluster/versions.sh

cat >&2 <<'EOF'

== mathison-install, into the local test cluster
   A real Kubernetes API server with simulated pods (KWOK): everything is
   applied and waited for as on a real cluster, but no container runs.
   Its verification fails the Ingress checks here (the test cluster has no
   ingress controller): that is expected. The Anthropic API key is a
   placeholder unless ANTHROPIC_API_KEY is set.

EOF
export ANTHROPIC_API_KEY="${ANTHROPIC_API_KEY:-sk-ant-placeholder-for-the-test-cluster}"
code=0
bash scripts/mathison-install.sh install --namespace mathison-try "$@" || code=$?
# 10: installed, verification failed: what the test cluster's missing ingress controller causes.
[ "$code" = 10 ] && code=0

cat >&2 <<EOF

== what next
   export KUBECONFIG=$KUBECONFIG
   export PATH=$CLUSTER_BIN_DIR:\$PATH     # the test cluster's kubectl
   kubectl -n mathison-try get pods
   bash scripts/mathison-install.sh status --namespace mathison-try
   bash scripts/try.sh         again: an upgrade that changes nothing
   bash scripts/try.sh down    stop the test cluster, remove its state
EOF
exit "$code"
