#!/usr/bin/env bash
# Takes the README's pictures (the wizard, the live progress screen) from the real program in an
# 80x24 tmux terminal against the local test cluster, and writes them into docs/pictures/ and the
# README. `bash scripts/pictures.sh --check` only checks that the README's pictures still match.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/node-env.sh
. scripts/cluster/versions.sh
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
export MATHISON_CLUSTER_DIR="${MATHISON_CLUSTER_DIR:-$HOME/.cache/mathison-install/cluster}"
bash scripts/cluster/up.sh >&2
KUBECTL="$CLUSTER_BIN_DIR/kubectl" node scripts/pictures.mjs "$MATHISON_CLUSTER_DIR/kubeconfig" "$@"
