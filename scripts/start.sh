#!/usr/bin/env bash
# `npm start`: Attache on this machine's PostgreSQL and Redis — api, worker and the example
# vendor, with the catalog seeded. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STATE="${ATTACHE_LOCAL_DIR:-$ROOT/.local}"
export ATTACHE_LOCAL_DIR="$STATE"
export PORT="${PORT:-5000}"
export ATTACHE_PUBLIC_URL="${ATTACHE_PUBLIC_URL:-http://127.0.0.1:$PORT}"
VENDOR_PORT="${EXAMPLE_VENDOR_PORT:-5100}"

[ -x node_modules/.bin/tsc ] || npm ci --no-audit --no-fund
npm run --silent build
bash scripts/services.sh

node bin/attache.js db:migrate
node bin/attache.js catalog:seed
node bin/attache.js postgres:backends:add-local
node bin/attache.js redis:hosts:add-local
# `local`, the dedicated PostgreSQL host, over ATTACHE_PG_DEDICATED_PORTS (registered again on every start).
node bin/attache.js postgres:hosts:add-local
node bin/attache.js kafka:clusters:add-local

# The example vendor onboards as any vendor would: secrets and manifest, then the first push.
VENDOR_DIR="$STATE/example-vendor"
node bin/run.js example-vendor-manifest "$VENDOR_DIR" "http://127.0.0.1:$VENDOR_PORT" >/dev/null
node bin/attache.js catalog:seed-vendor --manifest "$VENDOR_DIR/manifest.json" --owner vendor@sudo-notes.example \
  --publish --client-secret-file "$VENDOR_DIR/client-secret"

for port in "$PORT" "${WORKER_PORT:-5001}" "$VENDOR_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "Port $port is already in use (is Attache already running?). Stop it, or choose PORT, WORKER_PORT and EXAMPLE_VENDOR_PORT." >&2
    exit 1
  fi
done

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

EXAMPLE_VENDOR_PORT="$VENDOR_PORT" \
EXAMPLE_VENDOR_PASSWORD="$(node -p "require('$VENDOR_DIR/secrets.json').password")" \
EXAMPLE_VENDOR_SSO_SALT="$(node -p "require('$VENDOR_DIR/secrets.json').ssoSalt")" \
EXAMPLE_VENDOR_CLIENT_SECRET="$(cat "$VENDOR_DIR/client-secret")" \
ATTACHE_URL="$ATTACHE_PUBLIC_URL" \
  node bin/run.js example-vendor & pids+=($!)
node bin/run.js worker & pids+=($!)
node bin/run.js api & pids+=($!)

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.2
done
cat <<EOM

Attache is running: API on $ATTACHE_PUBLIC_URL, worker, and the example vendor "sudo-notes" on 127.0.0.1:$VENDOR_PORT.
  Create an account:   npx attache accounts:create you@example.com     (the last line is your API key)
  Use the Heroku CLI:  see README.md, "Pointing the Heroku CLI at Attache"
  Health: $ATTACHE_PUBLIC_URL/health   Metrics: $ATTACHE_PUBLIC_URL/metrics   API docs: $ATTACHE_PUBLIC_URL/docs
Press Ctrl-C to stop.
EOM
wait -n "${pids[@]}"
