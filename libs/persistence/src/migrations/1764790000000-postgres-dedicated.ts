import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Dedicated-plan PostgreSQL (docs/postgresql.md): one cluster per add-on with its port on a
 * host, where its data came from (a fork, a rollback to a moment, or following another add-on),
 * the owner's sealed password, and, once removed, how long its archive is kept. Live clusters of
 * a host never share a port.
 */
export class PostgresDedicated1764790000000 implements MigrationInterface {
  name = 'PostgresDedicated1764790000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE postgres_dedicated_clusters (
        addon_id uuid PRIMARY KEY REFERENCES addons(id) ON DELETE CASCADE,
        host text NOT NULL,
        key text NOT NULL UNIQUE,
        port integer CHECK (port BETWEEN 1 AND 65535),
        state text NOT NULL CHECK (state IN ('active', 'removed', 'purged')),
        origin text NOT NULL CHECK (origin IN ('new', 'fork', 'rollback', 'follow')),
        source_addon_id uuid REFERENCES addons(id) ON DELETE SET NULL,
        following boolean NOT NULL DEFAULT false,
        recovery_target_at timestamptz,
        database_name text NOT NULL,
        owner_role text NOT NULL,
        owner_password_sealed text NOT NULL,
        last_base_backup_at timestamptz,
        archive_keep_until timestamptz,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        removed_at timestamptz,
        CHECK (state <> 'active' OR port IS NOT NULL),
        CHECK (origin <> 'rollback' OR recovery_target_at IS NOT NULL)
      );
      CREATE UNIQUE INDEX postgres_dedicated_clusters_port_idx ON postgres_dedicated_clusters (host, port) WHERE port IS NOT NULL;
      CREATE INDEX postgres_dedicated_clusters_source_idx ON postgres_dedicated_clusters (source_addon_id) WHERE following;
      CREATE INDEX postgres_dedicated_clusters_archive_idx ON postgres_dedicated_clusters (archive_keep_until) WHERE state = 'removed';
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE postgres_dedicated_clusters;');
  }
}
