#!/usr/bin/env bash
# The whole test suite from a fresh clone: brings Node >= 22, installs dependencies, checks
# formatting and lint, builds,
# runs the unit tests, builds (or reuses) the test cluster's binaries, runs the end-to-end tests
# against a real cluster, and checks the npm pack tarball.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/node-env.sh
echo "== node $(node --version), npm $(npm --version)"
npm ci --no-audit --no-fund --loglevel=error

echo "== format and lint (Biome: formatting at 120 columns, the recommended rules)"
npm run --silent lint
npm run --silent build

echo "== unit tests"
npm run --silent test:unit

echo "== docs/testing.md's recipes, followed in a scratch copy"
node scripts/recipes.mjs

echo "== test cluster binaries"
if command -v go >/dev/null 2>&1; then
  bash scripts/cluster/build.sh
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true but Go is not installed: the end-to-end tests cannot run" >&2
  exit 1
else
  export MATHISON_E2E_SKIP="Go is not installed, so the test cluster cannot be built"
fi

# The interactive tests drive the installer in a real terminal through tmux; the lock's test runs
# a second installer under a clock 10 minutes ahead with libfaketime.
for tool in tmux faketime; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "== installing $tool (Debian package) for the end-to-end tests"
      apt-get update -qq >/dev/null && apt-get install -y -qq "$tool" >/dev/null
    fi
    if ! command -v "$tool" >/dev/null 2>&1 && [ "${CI:-}" = "true" ]; then
      echo "CI=true but $tool is not installed and could not be: the end-to-end tests cannot run" >&2
      exit 1
    fi
  fi
done

# The exec checks reach real PostgreSQL (with pgvector) and Redis servers on this host.
if [ -z "${MATHISON_E2E_SKIP:-}" ]; then
  bash scripts/cluster/backing.sh ensure
fi

echo "== end-to-end tests (real kube-apiserver, controller-manager, scheduler, KWOK; tmux for the terminal)"
npm run --silent test:e2e

echo "== npm pack tarball"
npm run --silent test:pack
