#!/usr/bin/env bash
# Builds the test cluster's binaries from Go modules with the machine's Go toolchain:
# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (k8s.io/kubernetes),
# etcd (go.etcd.io/etcd/server/v3), kwok (sigs.k8s.io/kwok). A warm cache builds nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/versions.sh"

export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok)

missing=()
for b in "${bins[@]}"; do [ -x "$CLUSTER_BIN_DIR/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "cluster binaries: cached in $CLUSTER_BIN_DIR"
  exit 0
fi
command -v go >/dev/null || { echo "cluster build: Go is not installed (needed to build the test cluster)" >&2; exit 3; }

start=$(date +%s)
src="$CLUSTER_CACHE_ROOT/cluster-src"
mkdir -p "$src" "$CLUSTER_BIN_DIR.partial"
out="$CLUSTER_BIN_DIR.partial"

# --- Kubernetes: a wrapper module that pins every staging module k8s.io/kubernetes lists at
# v0.0.0 (its in-repo replace directives do not apply to a dependency) to the published v0.<minor>.<patch>.
k8s_mod_dir="$src/kubernetes-$K8S_VERSION"
mkdir -p "$k8s_mod_dir"
k8s_gomod="$(cd "$k8s_mod_dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
staging_version="v0.${K8S_VERSION#v1.}"
{
  echo "module mathison.local/cluster-build/kubernetes"
  echo
  grep -E '^(go|godebug) ' "$k8s_gomod"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$k8s_gomod" | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
} > "$k8s_mod_dir/go.mod.new"
if ! cmp -s "$k8s_mod_dir/go.mod.new" "$k8s_mod_dir/go.mod"; then mv "$k8s_mod_dir/go.mod.new" "$k8s_mod_dir/go.mod"; rm -f "$k8s_mod_dir/go.sum"; else rm "$k8s_mod_dir/go.mod.new"; fi

minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
vpkg=k8s.io/component-base/version
cpkg=k8s.io/client-go/pkg/version
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
ldflags="-s -w"
for p in $vpkg $cpkg; do
  ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=$build_date"
done
echo "cluster build: kubernetes $K8S_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl)"
(cd "$k8s_mod_dir" && go build -ldflags "$ldflags" -o "$out/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)

# --- etcd: its own wrapper module, since etcd's go.mod carries replace directives that stop `go install`.
etcd_mod_dir="$src/etcd-$ETCD_VERSION"
mkdir -p "$etcd_mod_dir"
if [ ! -f "$etcd_mod_dir/go.mod" ]; then
  printf 'module mathison.local/cluster-build/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$etcd_mod_dir/go.mod"
fi
echo "cluster build: etcd $ETCD_VERSION"
(cd "$etcd_mod_dir" && go build -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)

# --- kwok
echo "cluster build: kwok $KWOK_VERSION"
GOBIN="$out" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"

rm -rf "$CLUSTER_BIN_DIR"
mv "$out" "$CLUSTER_BIN_DIR"
echo "cluster build: done in $(( $(date +%s) - start ))s -> $CLUSTER_BIN_DIR"
