#!/usr/bin/env bash
# npm run bench: builds, then measures the packed installer on the real test cluster against the
# seeds' kubectl procedure and Helm 4 (see bench/bench.ts). Helm is built from its Go module once
# and cached beside the cluster binaries.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/node-env.sh
. scripts/cluster/versions.sh
HELM_VERSION=v4.3.1
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
bash scripts/cluster/build.sh
helm_dir="$CLUSTER_CACHE_ROOT/helm-$HELM_VERSION"
if [ ! -x "$helm_dir/helm" ]; then
  echo "== building helm $HELM_VERSION from its Go module (once)"
  mkdir -p "$helm_dir"
  (cd "$(mktemp -d)" && GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 GOBIN="$helm_dir" go install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION")
fi
MATHISON_BENCH_HELM="$helm_dir/helm" node dist/bench/bench.js
