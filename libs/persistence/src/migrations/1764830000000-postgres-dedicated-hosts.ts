import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Registered hosts for dedicated PostgreSQL clusters (docs/postgresql.md): each with its driver,
 * the address apps connect to, its port range, its capacity in clusters and whether it takes new
 * ones. Every cluster names its host. The implicit host of earlier releases becomes the host
 * `local`, with the default port range widened to every port its clusters hold, and every
 * existing cluster is assigned to it.
 */
export class PostgresDedicatedHosts1764830000000 implements MigrationInterface {
  name = 'PostgresDedicatedHosts1764830000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE postgres_dedicated_hosts (
        name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
        driver text NOT NULL CHECK (driver IN ('local')),
        address text NOT NULL CHECK (address <> ''),
        port_min integer NOT NULL CHECK (port_min BETWEEN 1024 AND 65535),
        port_max integer NOT NULL CHECK (port_max BETWEEN 1024 AND 65535),
        capacity integer NOT NULL CHECK (capacity >= 0),
        state text NOT NULL CHECK (state IN ('active', 'draining')),
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CHECK (port_min <= port_max)
      );
      INSERT INTO postgres_dedicated_hosts (name, driver, address, port_min, port_max, capacity, state, created_at, updated_at)
      SELECT 'local', 'local', '127.0.0.1', LEAST(15400, min(p.port)), GREATEST(15599, max(p.port)),
             GREATEST(200, (SELECT count(*) FROM postgres_dedicated_clusters WHERE port IS NOT NULL)), 'active', now(), now()
        FROM (SELECT unnest(array_append(COALESCE(premium_ports, '{}'), port)) AS port FROM postgres_dedicated_clusters WHERE port IS NOT NULL) p;
      UPDATE postgres_dedicated_clusters SET host = 'local' WHERE host <> 'local';
      ALTER TABLE postgres_dedicated_clusters ADD CONSTRAINT postgres_dedicated_clusters_host_fkey FOREIGN KEY (host) REFERENCES postgres_dedicated_hosts(name);
    `);
  }

  /** Refused while a live cluster runs on another host than `local`: earlier releases know of no other. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$
      BEGIN
        IF EXISTS (SELECT 1 FROM postgres_dedicated_clusters WHERE host <> 'local' AND port IS NOT NULL) THEN
          RAISE EXCEPTION 'Dedicated PostgreSQL clusters run on hosts other than local; destroy them before reverting this migration.';
        END IF;
      END $$;
      ALTER TABLE postgres_dedicated_clusters DROP CONSTRAINT postgres_dedicated_clusters_host_fkey;
      DROP TABLE postgres_dedicated_hosts;
    `);
  }
}
