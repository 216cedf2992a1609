import { DataSource } from 'typeorm';
import { AppConfig } from '@app/config';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

/** The one way Attache connects to its database. Schema changes only through migrations. */
export function createDataSource(config: Pick<AppConfig, 'database'>, options: { applicationName?: string } = {}): DataSource {
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
    extra: { max: config.database.poolSize },
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
  const dataSource = createDataSource({ database: { ...config.database, poolSize: 2 } }, { applicationName: 'attache-migrate' });
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
