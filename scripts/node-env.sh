# Sourced by the project's scripts: puts a Node >= 22 first on PATH. Where the machine's Node is
# older, Node 24 comes from the npm registry's `node@24` package (it ships the binary), installed
# once into a per-user cache outside the work tree.
NODE_CACHE_DIR="${MATHISON_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mathison-install}/node24"
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 22 ]; then
  if [ ! -x "$NODE_CACHE_DIR/node_modules/node/bin/node" ]; then
    echo "node: $(node --version 2>/dev/null || echo none) is older than 22; installing node@24 from the npm registry into $NODE_CACHE_DIR" >&2
    mkdir -p "$NODE_CACHE_DIR"
    npm install --prefix "$NODE_CACHE_DIR" --no-save --no-package-lock --loglevel=error node@24 >&2
  fi
  export PATH="$NODE_CACHE_DIR/node_modules/.bin:$PATH"
  if [ "$(node_major)" -lt 22 ]; then echo "node: could not provide Node >= 22" >&2; return 1 2>/dev/null || exit 1; fi
fi
