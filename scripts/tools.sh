#!/usr/bin/env bash
# Deployment tools `make test` uses, built once from their Go modules into ~/.cache/kraken/tools (outside
# the repo, like FerretDB and LiveKit): helm (renders docker/helm/kraken), kubeconform (validates every
# rendered object against the Kubernetes schemas of the kubernetes-validate package, requirements-dev.txt)
# and SeaweedFS's weed (a real S3-compatible server for KRAKEN_STORAGE=s3).
#   scripts/tools.sh build   build what is missing
#   scripts/tools.sh path    print `name=path` of each tool
set -euo pipefail

HELM_VERSION="${KRAKEN_HELM_VERSION:-v4.3.2}"
KUBECONFORM_VERSION="${KRAKEN_KUBECONFORM_VERSION:-v0.8.0}"
TOOLS="${KRAKEN_CACHE:-$HOME/.cache/kraken}/tools"
HELM="$TOOLS/helm-$HELM_VERSION/helm"
KUBECONFORM="$TOOLS/kubeconform-$KUBECONFORM_VERSION/kubeconform"
# SeaweedFS's S3 gateway for the KRAKEN_STORAGE=s3 tests (tests/live.py SeaweedS3). Its module has replace
# directives, so `go install pkg@version` refuses it: it is built inside the downloaded module instead.
SEAWEEDFS_VERSION="${KRAKEN_SEAWEEDFS_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}"
WEED="$TOOLS/seaweedfs-${SEAWEEDFS_VERSION##*-}/weed"

say() { echo "tools: $*" >&2; }

build() {
  if [ ! -x "$HELM" ]; then
    say "building helm $HELM_VERSION (first run only, ~3 min) ..."
    GOBIN="$(dirname "$HELM")" go install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  fi
  if [ ! -x "$KUBECONFORM" ]; then
    say "building kubeconform $KUBECONFORM_VERSION (first run only) ..."
    GOBIN="$(dirname "$KUBECONFORM")" go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
  fi
  if [ ! -x "$WEED" ]; then
    say "building SeaweedFS (weed) $SEAWEEDFS_VERSION (first run only, ~6 min) ..."
    local dir
    dir="$(cd /tmp && go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
    mkdir -p "$(dirname "$WEED")"
    (cd "$dir" && go build -o "$WEED.tmp" ./weed) && mv "$WEED.tmp" "$WEED"
  fi
}

case "${1:-build}" in
  build) build;;
  path) echo "helm=$HELM"; echo "kubeconform=$KUBECONFORM"; echo "weed=$WEED";;
  *) echo "usage: $0 build|path" >&2; exit 2;;
esac
