#!/usr/bin/env bash
# Build the Temporal server and its SQL schema tool from the Go module proxy at the
# version pinned in temporal/go.mod and go.sum beside this script, into the cache that
# tools/servers/build.sh fills with OPA and Jaeger, and copy the server module's SQL
# schemas and configuration template beside them (the cluster stack uses both). Prints nothing
# but one line per binary (and one for the module's files) when all is cached.
#
#   tools/servers/build-temporal.sh    build what is missing, link into .bin/
#
# For the cluster stack on PostgreSQL (`make cluster-up`, orchestrator/devstack/cluster);
# the single-process dev server (`make up`) does not need it.
#
# Environment: ORCH_CACHE_DIR (default ~/.cache/policy-orchestrator).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${ORCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/policy-orchestrator}/bin"
links="$repo/.bin"
module=go.temporal.io/server

fail() { echo "build-temporal: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 ||
  fail "Go is missing: install Go >= 1.26.8 (the Temporal server module asks for it) and re-run."

# As in build.sh: go.sum, committed beside go.mod, pins every module's hash, and
# -mod=readonly refuses any module that is not in it, so the checksum database is
# not needed.
export GOSUMDB=off GOFLAGS=-mod=readonly CGO_ENABLED=0

version="$(cd "$here/temporal" && go list -m -f '{{.Version}}' "$module")" ||
  fail "cannot resolve $module from tools/servers/temporal/go.mod (is the Go module proxy reachable?)"

build() { # name package
  local name="$1" pkg="$2" target started
  target="$cache/$name-$version"
  if [ ! -x "$target" ]; then
    mkdir -p "$cache"
    echo "build-temporal: building $name $version (first time only, several minutes)..." >&2
    started=$(date +%s)
    (cd "$here/temporal" && go build -trimpath -ldflags="-s -w" -o "$target.tmp" "$pkg") ||
      fail "building $name $version failed (see the Go output above)."
    mv "$target.tmp" "$target"
    echo "build-temporal: built $name in $(( $(date +%s) - started ))s" >&2
  fi
  mkdir -p "$links"
  ln -sfn "$target" "$links/$name"
  echo "$name $version $target"
}

# The module's own files the cluster stack needs: the PostgreSQL schemas
# (schema/postgresql/v12/{temporal,visibility}/versioned/...) that temporal-sql-tool
# applies, and config/docker.yaml, the configuration template the temporalio/server image
# renders (the cluster stack renders the same one). The module cache keeps them read-only
# and may be cleaned (`go clean -modcache`), so a copy lives in the cache beside the binaries.
module_files() {
  local target="$cache/temporal-files-$version" source
  if [ ! -f "$target/config/docker.yaml" ] || [ ! -d "$target/schema/postgresql/v12/temporal/versioned" ]; then
    source="$(cd "$here/temporal" && go mod download -json "$module@$version" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')" ||
      fail "cannot download $module $version to copy its SQL schemas and config template."
    [ -d "$source/schema/postgresql/v12" ] && [ -f "$source/config/docker.yaml" ] ||
      fail "$module $version has no schema/postgresql/v12 or config/docker.yaml in the module cache ($source)."
    rm -rf "$target.tmp"
    mkdir -p "$target.tmp/schema" "$target.tmp/config"
    cp -R "$source/schema/postgresql" "$target.tmp/schema/"
    cp "$source/config/docker.yaml" "$target.tmp/config/"
    chmod -R u+w,a+rX "$target.tmp"
    rm -rf "$target"
    mv "$target.tmp" "$target"
  fi
  mkdir -p "$links"
  ln -sfn "$target" "$links/temporal-files"
  echo "temporal-files $version $target"
}

build temporal-server "$module/cmd/server"
build temporal-sql-tool "$module/cmd/tools/sql"
module_files
