#!/usr/bin/env bash
# Debian's Chromium for the browser end-to-end test (Playwright drives it; no browser download).
# Idempotent: reuses /usr/bin/chromium when present, otherwise installs the Debian package.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") is installed (reused)"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null || { echo "chromium: $CHROMIUM is missing; install the Debian package 'chromium' as root" >&2; exit 1; }
else
  SUDO=
fi

echo "chromium: installing the Debian package 'chromium' (apt-get)"
# Another apt run (an engineer's, a cron job) may hold the lock for a while; wait for it.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium >/dev/null
[ -x "$CHROMIUM" ] || { echo "chromium: the package installed but $CHROMIUM is missing" >&2; exit 1; }
echo "chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
