import 'tsconfig-paths/register';
import { execFileSync } from 'node:child_process';
import { Client } from 'pg';
import { loadConfig } from '@app/config';
import { runMigrations } from '@app/persistence';
import { TEMPLATE_DATABASE, adminUrl, databaseUrl } from './support/test-database';

/**
 * Runs once per `npm test`: Attache's shared PostgreSQL clusters, a freshly migrated template
 * database that every end-to-end file clones, and the compiled output that child-process tests
 * (crash test, CLI) run.
 */
export default async function globalSetup(): Promise<void> {
  // `npx jest` alone (without scripts/services.sh) also gets the shared PostgreSQL clusters.
  execFileSync('bash', [`${__dirname}/../scripts/postgres-clusters.sh`], { stdio: 'inherit' });
  execFileSync('bash', [`${__dirname}/../scripts/kafka.sh`], { stdio: 'inherit' });
  execFileSync('bash', [`${__dirname}/../scripts/pg-auto-failover.sh`], { stdio: 'inherit' });
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    // Two runs on one machine must not rebuild the template under each other.
    await admin.query('SELECT pg_advisory_lock(727002)');
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
    await runMigrations(loadConfig({ ...process.env, NODE_ENV: 'test', DATABASE_URL: databaseUrl(TEMPLATE_DATABASE) }));
  } finally {
    await admin.query('SELECT pg_advisory_unlock(727002)').catch(() => undefined);
    await admin.end();
  }
  if (!process.env.ATTACHE_TEST_SKIP_BUILD) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: `${__dirname}/..`, stdio: 'inherit' });
  }
}
