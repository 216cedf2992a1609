#!/usr/bin/env bash
# pg_auto_failover for PostgreSQL 15 (Debian's postgresql-15-auto-failover), which the dedicated
# premium plans run their monitor and keepers with: reused when installed, installed when missing.
#   bash scripts/pg-auto-failover.sh
set -euo pipefail

PG_AUTOCTL=/usr/bin/pg_autoctl

say() { echo "pg-auto-failover: $*"; }
die() { echo "pg-auto-failover: $*" >&2; exit 1; }

if [ -x "$PG_AUTOCTL" ] && [ -f /usr/lib/postgresql/15/lib/pgautofailover.so ]; then
  say "$($PG_AUTOCTL --version 2>/dev/null | head -n 1) (reused)"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "postgresql-15-auto-failover is missing; run this as root to install it"
command -v apt-get >/dev/null || die "postgresql-15-auto-failover is missing and apt-get is not available"
# One install at a time when several setups run at once.
exec 9>/var/lock/attache-pg-auto-failover.lock
flock -w 600 9 || die "timed out waiting for another install"
if [ ! -x "$PG_AUTOCTL" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends postgresql-15-auto-failover >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends postgresql-15-auto-failover >/dev/null; } ||
    die "could not install postgresql-15-auto-failover"
fi
[ -x "$PG_AUTOCTL" ] || die "$PG_AUTOCTL is missing after the install"
say "$($PG_AUTOCTL --version 2>/dev/null | head -n 1) (installed)"
