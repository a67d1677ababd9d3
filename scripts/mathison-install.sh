#!/usr/bin/env bash
# Runs the installer from a checkout: brings Node >= 22, installs dependencies and builds when
# needed, then runs the CLI with the arguments given (stdin, stdout and stderr are the caller's).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/node-env.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
if [ ! -f dist/src/cli/main.js ] || [ -n "$(find src manifests tsconfig.json -newer dist/src/cli/main.js -print -quit)" ]; then
  npm run --silent build >&2
fi
cd "$OLDPWD"
# Hints name the command as it was typed: this script, not an installed bin.
export MATHISON_INVOKED_AS="${MATHISON_INVOKED_AS:-bash $0}"
exec node "$root/bin/mathison-install.js" "$@"
