# Pinned versions of the test cluster's components. The binary cache is keyed by all three,
# so changing any of them builds a fresh set.
K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.8   # the etcd release k8s.io/kubernetes v1.36.3 itself requires
KWOK_VERSION=v0.8.0

CLUSTER_CACHE_ROOT="${MATHISON_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mathison-install}"
CLUSTER_BIN_DIR="$CLUSTER_CACHE_ROOT/cluster-bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
