#!/usr/bin/env bash
# npm run bench: builds, then measures the installer on the real test cluster (see bench/bench.ts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/node-env.sh
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
bash scripts/cluster/build.sh
node dist/bench/bench.js
