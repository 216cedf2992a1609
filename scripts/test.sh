#!/usr/bin/env bash
# `npm test`: static checks, then every suite (unit, integration, end-to-end) against real services.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x node_modules/.bin/jest ] || npm ci --no-audit --no-fund
bash scripts/services.sh
bash test/heroku-cli/install.sh
bash scripts/chromium.sh

echo "== lint, typecheck, dependency rules"
npm run --silent check

echo "== tests"
# Two cores: two jest workers; each end-to-end file boots its own Attache on its own database.
npx jest -c test/jest.config.js --maxWorkers=2 "$@"
