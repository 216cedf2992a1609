#!/usr/bin/env bash
# Installs the pinned Heroku CLI (package-lock.json) into ./node_modules, or reuses it.
# Idempotent and safe to call from any cwd. stdout is exactly one line; npm's output goes to stderr.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$dir/node_modules/.bin/heroku"
stamp="$dir/node_modules/.package-lock.json"

# Parallel test workers may call this at once: serialise, so two `npm ci` never share node_modules.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/attache-heroku-cli-install.lock"
  flock 9
fi

if [[ -x "$bin" && -f "$stamp" && ! "$dir/package-lock.json" -nt "$stamp" ]]; then
  echo "heroku-cli: reused $dir/node_modules (heroku $(node -p 'require(process.argv[1]).version' "$dir/node_modules/heroku/package.json"))"
  exit 0
fi

start=$SECONDS
(cd "$dir" && npm ci --no-audit --no-fund >&2)
[[ -x "$bin" ]] || { echo "heroku-cli: npm ci finished but $bin is missing" >&2; exit 1; }
echo "heroku-cli: installed into $dir/node_modules in $((SECONDS - start))s"
