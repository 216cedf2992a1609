import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Dedicated PostgreSQL with a standby (premium plans, docs/postgresql.md): the ports of the
 * pg_auto_failover monitor and of both nodes, and when the last failover was followed. `port`
 * stays the current primary's.
 */
export class PostgresPremium1764795000000 implements MigrationInterface {
  name = 'PostgresPremium1764795000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE postgres_dedicated_clusters
        ADD COLUMN premium_ports integer[] CHECK (premium_ports IS NULL OR cardinality(premium_ports) = 3),
        ADD COLUMN last_failover_at timestamptz;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE postgres_dedicated_clusters DROP COLUMN premium_ports, DROP COLUMN last_failover_at;');
  }
}
