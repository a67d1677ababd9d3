#!/usr/bin/env bash
# The CustomResourceDefinitions of Argo CD's Application and Flux's GitRepository and
# Kustomization, as their projects publish them, for the tests that validate the GitOps export
# against their schemas. Fetched through the Go module proxy (the projects' modules carry their
# CRD files), cached beside the cluster binaries; prints the directory that holds them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/versions.sh"
ARGOCD_VERSION=v3.5.0
FLUX_KUSTOMIZE_VERSION=v1.9.6
FLUX_SOURCE_VERSION=v1.9.6
dir="$CLUSTER_CACHE_ROOT/gitops-crds/argocd-$ARGOCD_VERSION-kustomize-$FLUX_KUSTOMIZE_VERSION-source-$FLUX_SOURCE_VERSION"
if [ ! -f "$dir/complete" ]; then
  mkdir -p "$dir"
  module_dir() {
    (cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  }
  argo="$(module_dir "github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION")"
  kustomize="$(module_dir "github.com/fluxcd/kustomize-controller@$FLUX_KUSTOMIZE_VERSION")"
  source="$(module_dir "github.com/fluxcd/source-controller@$FLUX_SOURCE_VERSION")"
  cp "$argo/manifests/crds/application-crd.yaml" "$dir/argocd-application.yaml"
  cp "$kustomize/config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml" "$dir/flux-kustomization.yaml"
  cp "$source/config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml" "$dir/flux-gitrepository.yaml"
  touch "$dir/complete"
fi
echo "$dir"
