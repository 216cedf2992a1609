import { MigrationInterface, QueryRunner } from 'typeorm';

/** First-party PostgreSQL on shared clusters: backends, tenant databases, credentials, backups, restores. */
export class PostgresShared1764100000000 implements MigrationInterface {
  name = 'PostgresShared1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE addons ADD COLUMN namespace_config_sealed text;

      CREATE TABLE postgres_backends (
        id uuid PRIMARY KEY,
        name text NOT NULL UNIQUE,
        host text NOT NULL,
        port integer NOT NULL,
        admin_user text NOT NULL,
        admin_password_sealed text NOT NULL,
        maintenance_database text NOT NULL,
        capacity integer NOT NULL CHECK (capacity >= 0),
        state text NOT NULL CHECK (state IN ('active', 'draining')),
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );

      CREATE TABLE postgres_databases (
        addon_id uuid PRIMARY KEY REFERENCES addons(id),
        backend_id uuid NOT NULL REFERENCES postgres_backends(id),
        database_name text NOT NULL,
        group_role text NOT NULL,
        state text NOT NULL CHECK (state IN ('active', 'dropped')),
        storage_bytes bigint,
        measured_at timestamptz,
        over_limit_since timestamptz,
        restricted_at timestamptz,
        backup_hour_utc smallint CHECK (backup_hour_utc BETWEEN 0 AND 23),
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        dropped_at timestamptz
      );
      CREATE INDEX postgres_databases_backend_idx ON postgres_databases (backend_id) WHERE state = 'active';
      CREATE UNIQUE INDEX postgres_databases_name_key ON postgres_databases (backend_id, database_name) WHERE state = 'active';

      CREATE TABLE postgres_credentials (
        id uuid PRIMARY KEY,
        addon_id uuid NOT NULL REFERENCES addons(id),
        name text NOT NULL,
        role_name text NOT NULL,
        password_sealed text NOT NULL,
        pending_password_sealed text,
        pending_since timestamptz,
        state text NOT NULL CHECK (state IN ('active', 'destroyed')),
        created_at timestamptz NOT NULL,
        rotated_at timestamptz,
        destroyed_at timestamptz,
        role_dropped_at timestamptz
      );
      CREATE INDEX postgres_credentials_drop_pending_idx ON postgres_credentials (destroyed_at) WHERE state = 'destroyed' AND role_dropped_at IS NULL;
      CREATE UNIQUE INDEX postgres_credentials_active_name_key ON postgres_credentials (addon_id, name) WHERE state = 'active';
      CREATE INDEX postgres_credentials_addon_idx ON postgres_credentials (addon_id);
      CREATE INDEX postgres_credentials_pending_idx ON postgres_credentials (pending_since) WHERE pending_password_sealed IS NOT NULL;

      CREATE TABLE postgres_backups (
        id uuid PRIMARY KEY,
        addon_id uuid NOT NULL REFERENCES addons(id),
        number integer NOT NULL,
        kind text NOT NULL CHECK (kind IN ('manual', 'scheduled')),
        state text NOT NULL CHECK (state IN ('pending', 'running', 'completed', 'failed')),
        scheduled_for date,
        size_bytes bigint,
        error text,
        created_at timestamptz NOT NULL,
        started_at timestamptz,
        finished_at timestamptz,
        UNIQUE (addon_id, kind, number),
        CHECK ((kind = 'scheduled') = (scheduled_for IS NOT NULL))
      );
      CREATE UNIQUE INDEX postgres_backups_scheduled_day_key ON postgres_backups (addon_id, scheduled_for) WHERE kind = 'scheduled';

      CREATE TABLE postgres_restores (
        id uuid PRIMARY KEY,
        addon_id uuid NOT NULL REFERENCES addons(id),
        backup_id uuid NOT NULL REFERENCES postgres_backups(id) ON DELETE CASCADE,
        state text NOT NULL CHECK (state IN ('pending', 'running', 'completed', 'failed')),
        error text,
        created_at timestamptz NOT NULL,
        started_at timestamptz,
        finished_at timestamptz
      );
      CREATE INDEX postgres_restores_addon_idx ON postgres_restores (addon_id, created_at);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE postgres_restores;
      DROP TABLE postgres_backups;
      DROP TABLE postgres_credentials;
      DROP TABLE postgres_databases;
      DROP TABLE postgres_backends;
      ALTER TABLE addons DROP COLUMN namespace_config_sealed;
    `);
  }
}
