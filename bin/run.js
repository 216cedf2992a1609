#!/usr/bin/env node
'use strict';
// Runs one of Attache's programs from the compiled output, resolving the @app/* path aliases.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const PROGRAMS = {
  api: 'apps/api/src/main.js',
  worker: 'apps/worker/src/main.js',
  cli: 'apps/cli/src/main.js',
  'example-vendor': 'apps/example-vendor/src/main.js',
  'example-vendor-manifest': 'apps/example-vendor/src/write-manifest.js',
  'bench-provision': 'bench/provision.js',
  'bench-postgres-provision': 'bench/postgres-provision.js',
  'bench-redis-provision': 'bench/redis-provision.js',
  'bench-kafka-provision': 'bench/kafka-provision.js',
  'bench-billing': 'bench/billing.js',
  'bench-postgres-dedicated': 'bench/postgres-dedicated.js',
};

function run(name) {
  const target = PROGRAMS[name];
  if (!target) {
    process.stderr.write(`usage: run.js <${Object.keys(PROGRAMS).join('|')}> [args…]\n`);
    process.exit(2);
  }
  const file = path.join(dist, target);
  if (!fs.existsSync(file)) {
    process.stderr.write(`${path.relative(process.cwd(), file)} is missing: build first with "npm run build".\n`);
    process.exit(1);
  }
  const { paths } = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8')).compilerOptions;
  require('tsconfig-paths').register({ baseUrl: dist, paths });
  require(file);
}

module.exports = { run };
if (require.main === module) {
  const name = process.argv[2];
  process.argv.splice(2, 1);
  run(name);
}
