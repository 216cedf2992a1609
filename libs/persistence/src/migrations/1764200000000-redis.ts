import { MigrationInterface, QueryRunner } from 'typeorm';

/** First-party Redis: hosts, instances and the ports they hold. */
export class Redis1764200000000 implements MigrationInterface {
  name = 'Redis1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE redis_hosts (
        id uuid PRIMARY KEY,
        name text NOT NULL UNIQUE,
        driver text NOT NULL CHECK (driver IN ('local')),
        address text NOT NULL,
        port_min integer NOT NULL,
        port_max integer NOT NULL,
        data_dir text NOT NULL,
        capacity integer NOT NULL CHECK (capacity >= 0),
        state text NOT NULL CHECK (state IN ('active', 'draining')),
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CHECK (port_min BETWEEN 1024 AND port_max AND port_max <= 65535)
      );

      CREATE TABLE redis_instances (
        addon_id uuid PRIMARY KEY REFERENCES addons(id),
        host_id uuid NOT NULL REFERENCES redis_hosts(id),
        state text NOT NULL CHECK (state IN ('active', 'destroyed')),
        node_ports integer[] NOT NULL,
        primary_index smallint NOT NULL,
        sentinel_port integer,
        password_sealed text NOT NULL,
        pending_password_sealed text,
        pending_since timestamptz,
        internal_password_sealed text NOT NULL,
        maxmemory_bytes bigint NOT NULL,
        maxclients integer NOT NULL,
        persistence boolean NOT NULL,
        high_availability boolean NOT NULL,
        maxmemory_policy text NOT NULL CHECK (maxmemory_policy IN
          ('noeviction', 'allkeys-lru', 'volatile-lru', 'allkeys-lfu', 'volatile-lfu', 'allkeys-random', 'volatile-random', 'volatile-ttl')),
        timeout_seconds integer NOT NULL,
        last_failover_at timestamptz,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        destroyed_at timestamptz,
        CHECK (cardinality(node_ports) BETWEEN 1 AND 2 AND primary_index >= 0 AND primary_index < cardinality(node_ports))
      );
      CREATE INDEX redis_instances_host_idx ON redis_instances (host_id) WHERE state = 'active';
      CREATE INDEX redis_instances_pending_idx ON redis_instances (pending_since) WHERE pending_password_sealed IS NOT NULL;

      CREATE TABLE redis_ports (
        host_id uuid NOT NULL REFERENCES redis_hosts(id),
        port integer NOT NULL CHECK (port BETWEEN 1024 AND 65535),
        addon_id uuid NOT NULL REFERENCES addons(id),
        PRIMARY KEY (host_id, port)
      );
      CREATE INDEX redis_ports_addon_idx ON redis_ports (addon_id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE redis_ports;
      DROP TABLE redis_instances;
      DROP TABLE redis_hosts;
    `);
  }
}
