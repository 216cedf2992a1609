import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Spare Redis nodes: mini-shaped servers started ahead on each host, which a mini placement
 * claims. An instance's key (its directory) is now stored, since one that runs on a claimed spare
 * keeps the spare's; ports are held by an add-on or by a spare.
 */
export class RedisSpares1764780000000 implements MigrationInterface {
  name = 'RedisSpares1764780000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE redis_instances ADD COLUMN key text;
      UPDATE redis_instances SET key = 'r_' || replace(addon_id::text, '-', '');
      ALTER TABLE redis_instances ALTER COLUMN key SET NOT NULL;
      CREATE UNIQUE INDEX redis_instances_host_key_idx ON redis_instances (host_id, key);

      CREATE TABLE redis_spares (
        id uuid PRIMARY KEY,
        host_id uuid NOT NULL REFERENCES redis_hosts(id),
        key text NOT NULL,
        port integer NOT NULL CHECK (port BETWEEN 1024 AND 65535),
        internal_password_sealed text NOT NULL,
        state text NOT NULL CHECK (state IN ('starting', 'ready', 'claimed', 'discarding')),
        addon_id uuid UNIQUE REFERENCES addons(id),
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        UNIQUE (host_id, key),
        CHECK ((state = 'claimed') = (addon_id IS NOT NULL))
      );
      CREATE INDEX redis_spares_ready_idx ON redis_spares (host_id, created_at, id) WHERE state = 'ready';

      ALTER TABLE redis_ports ALTER COLUMN addon_id DROP NOT NULL;
      ALTER TABLE redis_ports ADD COLUMN spare_id uuid REFERENCES redis_spares(id);
      ALTER TABLE redis_ports ADD CONSTRAINT redis_ports_holder_check CHECK ((addon_id IS NULL) <> (spare_id IS NULL));
      CREATE INDEX redis_ports_spare_idx ON redis_ports (spare_id) WHERE spare_id IS NOT NULL;
    `);
  }

  /**
   * Refused while spare nodes exist or an instance runs under a spare's key: before this
   * migration an instance's key was derived from its add-on, so those processes would be
   * left running with nothing that records them. Set ATTACHE_REDIS_SPARES=0 and let the
   * upkeep stop the pool first.
   */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$
      BEGIN
        IF EXISTS (SELECT 1 FROM redis_spares)
           OR EXISTS (SELECT 1 FROM redis_instances WHERE state = 'active' AND key <> 'r_' || replace(addon_id::text, '-', '')) THEN
          RAISE EXCEPTION 'redis spare nodes are in use: set ATTACHE_REDIS_SPARES=0, wait for the upkeep to stop them, and move instances off spare keys before reverting';
        END IF;
      END $$;
      DELETE FROM redis_ports WHERE spare_id IS NOT NULL;
      ALTER TABLE redis_ports DROP CONSTRAINT redis_ports_holder_check;
      ALTER TABLE redis_ports DROP COLUMN spare_id;
      ALTER TABLE redis_ports ALTER COLUMN addon_id SET NOT NULL;
      DROP TABLE redis_spares;
      DROP INDEX redis_instances_host_key_idx;
      ALTER TABLE redis_instances DROP COLUMN key;
    `);
  }
}
