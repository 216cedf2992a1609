import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Partner webhooks (reference §3.4): a vendor's subscriptions per add-on, the events they were
 * sent, each delivery and its attempts. `webhook_outbox` is filled by a trigger on
 * `lifecycle_events`, so every event a webhook may care about is queued in the very transaction
 * that recorded it, whoever wrote it; the worker's fan-out takes rows from it (SKIP LOCKED) and
 * deletes them in the transaction that writes the deliveries, so each is fanned out exactly once.
 */
export class AddonWebhooks1764760000000 implements MigrationInterface {
  name = 'AddonWebhooks1764760000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE addon_webhooks (
        id uuid PRIMARY KEY,
        addon_id uuid NOT NULL REFERENCES addons(id) ON DELETE CASCADE,
        include text[] NOT NULL CHECK (cardinality(include) > 0),
        level text NOT NULL CHECK (level IN ('notify', 'sync')),
        url text NOT NULL,
        authorization_sealed text,
        secret_sealed text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX addon_webhooks_addon_idx ON addon_webhooks (addon_id, created_at);

      CREATE TABLE addon_webhook_events (
        id uuid PRIMARY KEY,
        addon_id uuid NOT NULL REFERENCES addons(id) ON DELETE CASCADE,
        lifecycle_event_id bigint NOT NULL,
        include text NOT NULL,
        action text NOT NULL CHECK (action IN ('create', 'update', 'destroy')),
        resource text NOT NULL,
        data jsonb NOT NULL,
        previous_data jsonb,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        UNIQUE (lifecycle_event_id, addon_id)
      );
      CREATE INDEX addon_webhook_events_addon_idx ON addon_webhook_events (addon_id, created_at);

      CREATE TABLE addon_webhook_deliveries (
        id uuid PRIMARY KEY,
        addon_id uuid NOT NULL REFERENCES addons(id) ON DELETE CASCADE,
        event_id uuid NOT NULL REFERENCES addon_webhook_events(id) ON DELETE CASCADE,
        webhook_id uuid NOT NULL REFERENCES addon_webhooks(id) ON DELETE CASCADE,
        status text NOT NULL CHECK (status IN ('pending', 'scheduled', 'retrying', 'failed', 'succeeded')),
        num_attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        last_attempt_id uuid,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        UNIQUE (event_id, webhook_id)
      );
      CREATE INDEX addon_webhook_deliveries_addon_idx ON addon_webhook_deliveries (addon_id, created_at);
      -- The sweep that re-queues deliveries whose job was lost.
      CREATE INDEX addon_webhook_deliveries_due_idx ON addon_webhook_deliveries (next_attempt_at)
        WHERE status IN ('pending', 'scheduled', 'retrying');

      CREATE TABLE addon_webhook_attempts (
        id uuid PRIMARY KEY,
        delivery_id uuid NOT NULL REFERENCES addon_webhook_deliveries(id) ON DELETE CASCADE,
        status text NOT NULL CHECK (status IN ('scheduled', 'succeeded', 'failed')),
        code integer,
        error_class text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX addon_webhook_attempts_delivery_idx ON addon_webhook_attempts (delivery_id, created_at);

      CREATE TABLE webhook_outbox (
        lifecycle_event_id bigint PRIMARY KEY
      );

      -- Only while some webhook exists: a platform without subscriptions pays nothing per event.
      CREATE FUNCTION webhook_outbox_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM addon_webhooks) THEN
          INSERT INTO webhook_outbox (lifecycle_event_id) VALUES (NEW.id);
        END IF;
        RETURN NULL;
      END $$;

      CREATE TRIGGER lifecycle_events_webhook_outbox
        AFTER INSERT ON lifecycle_events
        FOR EACH ROW
        WHEN (NEW.type IN ('attachment.created', 'attachment.removed', 'app.renamed', 'app.deleted', 'addon.plan_changed'))
        EXECUTE FUNCTION webhook_outbox_enqueue();
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TRIGGER lifecycle_events_webhook_outbox ON lifecycle_events;
      DROP FUNCTION webhook_outbox_enqueue();
      DROP TABLE webhook_outbox;
      DROP TABLE addon_webhook_attempts;
      DROP TABLE addon_webhook_deliveries;
      DROP TABLE addon_webhook_events;
      DROP TABLE addon_webhooks;
    `);
  }
}
