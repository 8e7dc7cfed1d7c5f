#!/usr/bin/env bash
# Install Debian's PostgreSQL server for the cluster stack (orchestrator/devstack/cluster),
# which keeps Temporal's persistence and visibility in it. The stack runs the server's own
# initdb/pg_ctl/postgres from /usr/lib/postgresql/<N>/bin on a data directory of its own;
# the package's system-wide cluster is not used.
#
#   tools/postgres/install.sh     install when missing; prints where the binaries are
#
# As root it runs apt-get non-interactively; otherwise it fails with one line naming the
# package to install.
set -euo pipefail

fail() { echo "postgres: $*" >&2; exit 1; }

bindir() { # the newest installed server's bin directory, or nothing
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

found="$(bindir)"
if [ -n "$found" ] && [ -x "$found/initdb" ] && [ -x "$found/pg_ctl" ] && [ -x "$found/postgres" ]; then
  echo "postgres: $found (initdb, pg_ctl, postgres)"
  exit 0
fi

packages="postgresql"
if [ "$(id -u)" -ne 0 ]; then
  fail "the PostgreSQL server is missing: run \`sudo apt-get install -y $packages\` and re-run."
fi
command -v apt-get >/dev/null 2>&1 ||
  fail "the PostgreSQL server is missing and apt-get is not available: install $packages with this system's package manager."

echo "postgres: installing $packages (first time only)..." >&2
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# An old or empty package list finds nothing: refresh it once, then install.
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  fail "apt-get could not install $packages (see the lines above)."
fi
# The package starts a system-wide cluster where a service manager runs; the stack
# does not use it, so leave it alone (stopping it is the system owner's business).
found="$(bindir)"
[ -n "$found" ] && [ -x "$found/initdb" ] ||
  fail "installed $packages but no /usr/lib/postgresql/<N>/bin/initdb was found."
echo "postgres: $found (initdb, pg_ctl, postgres)"
