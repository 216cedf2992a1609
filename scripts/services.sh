#!/usr/bin/env bash
# Makes sure the local services Attache needs are up: reuses running ones, starts stopped ones.
# PostgreSQL 15 (127.0.0.1:5432, trust auth) and Redis 7 (127.0.0.1:6379, no persistence).
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

if pg_up; then
  echo "services: PostgreSQL on 127.0.0.1:5432 is running (reused)"
else
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  for _ in $(seq 1 50); do pg_up && break; sleep 0.2; done
  pg_up || { echo "services: PostgreSQL did not come up" >&2; exit 1; }
fi

if redis_up; then
  echo "services: Redis on 127.0.0.1:6379 is running (reused)"
else
  echo "services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 50); do redis_up && break; sleep 0.2; done
  redis_up || { echo "services: Redis did not come up" >&2; exit 1; }
fi

# Attache's own PostgreSQL clusters (password auth) for the first-party "essential" plans.
bash "$(dirname "$0")/postgres-clusters.sh"
# pg_auto_failover, which runs the dedicated premium plans' monitor and keepers.
bash "$(dirname "$0")/pg-auto-failover.sh"

# The Kafka 4 broker first-party Kafka add-ons will use (fetched from Maven Central on first run).
bash "$(dirname "$0")/kafka.sh"
