import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** Tests use the machine's PostgreSQL (trust auth); override with ATTACHE_TEST_PG_URL. */
const BASE = process.env.ATTACHE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const TEMPLATE_DATABASE = 'attache_test_template';

export const databaseUrl = (name: string) => `${BASE}/${name}`;
export const adminUrl = () => databaseUrl('postgres');

/** A private database for one test file, cloned from the migrated template in milliseconds. */
export async function createTestDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `attache_t_${randomBytes(5).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    // Template cloning fails while another session is connected to the template; retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`);
        break;
      } catch (error) {
        if (attempt >= 20 || !/being accessed by other users/.test((error as Error).message)) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await admin.end();
  }
  return {
    name,
    url: databaseUrl(name),
    drop: async () => {
      const client = new Client({ connectionString: adminUrl() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
