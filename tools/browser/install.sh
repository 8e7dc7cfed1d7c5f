#!/usr/bin/env bash
# Install Debian's Chromium and its ChromeDriver for the console's browser tests
# (tests/console/browser). Selenium is told both paths, so nothing is ever downloaded
# by Selenium Manager: the browser must come from the system's packages.
#
#   tools/browser/install.sh     install what is missing; silent when both are there
#
# `make setup` calls it. As root it runs apt-get non-interactively; otherwise it
# fails with one line naming the packages to install.
set -euo pipefail

fail() { echo "browser: $*" >&2; exit 1; }

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi

packages="chromium chromium-driver"
if [ "$(id -u)" -ne 0 ]; then
  fail "chromium or chromedriver is missing: run \`sudo apt-get install -y $packages\` and re-run."
fi
command -v apt-get >/dev/null 2>&1 ||
  fail "chromium or chromedriver is missing and apt-get is not available: install $packages with this system's package manager."

echo "browser: installing $packages (first time only)..." >&2
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# An old or empty package list finds nothing: refresh it once, then install.
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  fail "apt-get could not install $packages (see the lines above)."
fi

command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 ||
  fail "installed $packages but chromium or chromedriver is still not on PATH."
echo "browser: installed $(chromium --version 2>/dev/null | head -n 1)" >&2
