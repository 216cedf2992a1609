import { MigrationInterface, QueryRunner } from 'typeorm';

/** First-party Kafka: clusters, the tenants placed on them and the samples of their topics. */
export class Kafka1764300000000 implements MigrationInterface {
  name = 'Kafka1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE kafka_clusters (
        id uuid PRIMARY KEY,
        name text NOT NULL UNIQUE,
        bootstrap_servers text NOT NULL,
        admin_user text NOT NULL,
        admin_password_sealed text NOT NULL,
        capacity integer NOT NULL CHECK (capacity >= 0),
        state text NOT NULL CHECK (state IN ('active', 'draining')),
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );

      CREATE TABLE kafka_tenants (
        addon_id uuid PRIMARY KEY REFERENCES addons(id),
        cluster_id uuid NOT NULL REFERENCES kafka_clusters(id),
        state text NOT NULL CHECK (state IN ('active', 'destroyed')),
        prefix text NOT NULL UNIQUE,
        username text NOT NULL UNIQUE,
        password_sealed text NOT NULL,
        pending_password_sealed text,
        pending_since timestamptz,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        destroyed_at timestamptz
      );
      CREATE INDEX kafka_tenants_cluster_idx ON kafka_tenants (cluster_id) WHERE state = 'active';
      CREATE INDEX kafka_tenants_pending_idx ON kafka_tenants (pending_since) WHERE pending_password_sealed IS NOT NULL;

      CREATE TABLE kafka_topic_samples (
        addon_id uuid NOT NULL REFERENCES addons(id),
        topic text NOT NULL,
        sampled_at timestamptz NOT NULL,
        end_offsets bigint NOT NULL,
        start_offsets bigint NOT NULL,
        size_bytes bigint NOT NULL,
        committed_offsets bigint NOT NULL,
        PRIMARY KEY (addon_id, topic, sampled_at)
      );
      CREATE INDEX kafka_topic_samples_sampled_at_idx ON kafka_topic_samples (sampled_at);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE kafka_topic_samples;
      DROP TABLE kafka_tenants;
      DROP TABLE kafka_clusters;
    `);
  }
}
