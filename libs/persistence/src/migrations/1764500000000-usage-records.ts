import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Vendor-reported usage of metered plans. The vendor's record id is unique per service, which
 * makes reporting idempotent. `received_at` is the storing transaction's start (`now()`): invoices
 * use it as a watermark, and usage received after one is billed as an adjustment.
 */
export class UsageRecords1764500000000 implements MigrationInterface {
  name = 'UsageRecords1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE usage_records (
        service_id uuid NOT NULL,
        record_id text NOT NULL CHECK (char_length(record_id) BETWEEN 1 AND 128),
        addon_id uuid NOT NULL REFERENCES addons(id),
        dimension text NOT NULL,
        quantity bigint NOT NULL CHECK (quantity >= 0),
        occurred_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (service_id, record_id)
      );
      -- Covering: monthly sums per add-on are index-only scans.
      CREATE INDEX usage_records_addon_occurred_idx ON usage_records (addon_id, occurred_at) INCLUDE (dimension, quantity, received_at);
      CREATE INDEX usage_records_received_idx ON usage_records (received_at);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE usage_records;`);
  }
}
