#!/usr/bin/env bash
# Build OPA and the Jaeger v2 all-in-one from the Go module proxy at the
# versions pinned in the go.mod/go.sum of opa/ and jaeger/ beside this script, into a cache reused across
# clones and runs. Prints nothing but one line per binary when all is cached.
#
#   tools/servers/build.sh            build what is missing, link into .bin/
#
# Environment: ORCH_CACHE_DIR (default ~/.cache/policy-orchestrator).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${ORCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/policy-orchestrator}/bin"
links="$repo/.bin"

fail() { echo "build-servers: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 ||
  fail "Go is missing: install Go >= 1.26 (it builds OPA and Jaeger from source) and re-run."

# The checksum database is not reachable from every machine; go.sum, committed
# beside go.mod, still pins every module's hash, and -mod=readonly refuses any
# module that is not in it.
export GOSUMDB=off GOFLAGS=-mod=readonly CGO_ENABLED=0

module_version() { # dir module
  (cd "$here/$1" && go list -m -f '{{.Version}}' "$2") ||
    fail "cannot resolve $2 from tools/servers/$1/go.mod (is the Go module proxy reachable?)"
}

build() { # name package module
  local name="$1" pkg="$2" module="$3" version target started
  version="$(module_version "$name" "$module")"
  target="$cache/$name-$version"
  if [ ! -x "$target" ]; then
    mkdir -p "$cache"
    echo "build-servers: building $name $version (first time only, about a minute or more)..." >&2
    started=$(date +%s)
    (cd "$here/$name" && go build -trimpath -ldflags="-s -w" -o "$target.tmp" "$pkg") ||
      fail "building $name $version failed (see the Go output above)."
    mv "$target.tmp" "$target"
    echo "build-servers: built $name in $(( $(date +%s) - started ))s" >&2
  fi
  mkdir -p "$links"
  ln -sfn "$target" "$links/$name"
  echo "$name $version $target"
}

build opa github.com/open-policy-agent/opa github.com/open-policy-agent/opa
build jaeger github.com/jaegertracing/jaeger/cmd/jaeger github.com/jaegertracing/jaeger
