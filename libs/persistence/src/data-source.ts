import { DataSource } from 'typeorm';
import { AppConfig } from '@app/config';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

/** The one way Attache connects to its database. Schema changes only through migrations. */
export function createDataSource(
  config: Pick<AppConfig, 'database'>,
  options: { applicationName?: string; boundedWaits?: boolean } = {},
): DataSource {
  const bounded = options.boundedWaits ?? true;
  return new DataSource({
    type: 'postgres',
    url: config.database.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    applicationName: options.applicationName ?? 'attache',
    // A hung query or lock wait would hold a job forever (its worker stays alive and keeps the
    // job's lock); bounded waits turn it into an error the queue retries.
    extra: {
      max: config.database.poolSize,
      // A connection sends a query without waiting for the answer to the one before; only the
      // store's transactions do (see pipelinedTransaction), everything else still waits its turn.
      pipeline: true,
      connectionTimeoutMillis: 10_000,
      ...(bounded ? { options: '-c statement_timeout=30000 -c lock_timeout=10000 -c idle_in_transaction_session_timeout=60000' } : {}),
    },
  });
}

/** Creates the database named in the URL if it does not exist (local development and tests). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const { Client } = await import('pg');
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (error) {
    // Two processes racing to create it: the loser sees a duplicate, which is fine.
    if ((error as { code?: string }).code !== '42P04' && (error as { code?: string }).code !== '23505') throw error;
  } finally {
    await client.end();
  }
}

export async function runMigrations(config: Pick<AppConfig, 'database'>): Promise<string[]> {
  const dataSource = createDataSource({ database: { ...config.database, poolSize: 2 } }, { applicationName: 'attache-migrate', boundedWaits: false });
  await dataSource.initialize();
  try {
    // Serialize concurrent migrators (api and worker starting together).
    await dataSource.query('SELECT pg_advisory_lock(727001)');
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    await dataSource.query('SELECT pg_advisory_unlock(727001)');
    return applied.map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}
