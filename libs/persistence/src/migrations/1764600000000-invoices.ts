import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Invoices per billing entity and calendar month, written once, finalized (DESIGN §6). An
 * invoice's `usage_cutoff` is its watermark: it holds the vendor usage received before it, and
 * usage received later for its month lands on a later invoice as an adjustment.
 */
export class Invoices1764600000000 implements MigrationInterface {
  name = 'Invoices1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE invoices (
        id uuid PRIMARY KEY,
        number text NOT NULL UNIQUE,
        entity_kind text NOT NULL CHECK (entity_kind IN ('account', 'team')),
        entity_id uuid NOT NULL,
        month text NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
        usage_cutoff timestamptz NOT NULL,
        total_cents bigint NOT NULL,
        finalized_at timestamptz NOT NULL,
        UNIQUE (entity_kind, entity_id, month)
      );
      CREATE INDEX invoices_month_idx ON invoices (month);

      CREATE TABLE invoice_lines (
        invoice_id uuid NOT NULL REFERENCES invoices(id),
        position integer NOT NULL,
        kind text NOT NULL CHECK (kind IN ('time', 'metered', 'adjustment')),
        addon_id uuid NOT NULL,
        addon_name text NOT NULL,
        app_id uuid NOT NULL,
        app_name text NOT NULL,
        service_id uuid NOT NULL,
        plan_id uuid NOT NULL,
        plan_name text NOT NULL,
        usage_month text NOT NULL,
        period_start timestamptz,
        period_end timestamptz,
        seconds bigint,
        dimension text,
        quantity numeric,
        unit_price_cents bigint NOT NULL,
        cents bigint NOT NULL,
        PRIMARY KEY (invoice_id, position)
      );
      CREATE INDEX invoice_lines_service_idx ON invoice_lines (service_id);
      CREATE INDEX invoice_lines_addon_idx ON invoice_lines (addon_id, usage_month) WHERE dimension IS NOT NULL;

      -- A month every entity of which has been invoiced.
      CREATE TABLE billing_runs (
        month text PRIMARY KEY,
        completed_at timestamptz NOT NULL
      );

      -- An invoice is final: its rows never change.
      CREATE FUNCTION invoices_are_final() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'invoices are final: % on % is not allowed', TG_OP, TG_TABLE_NAME;
      END $$;
      CREATE TRIGGER invoices_final BEFORE UPDATE OR DELETE ON invoices FOR EACH ROW EXECUTE FUNCTION invoices_are_final();
      CREATE TRIGGER invoice_lines_final BEFORE UPDATE OR DELETE ON invoice_lines FOR EACH ROW EXECUTE FUNCTION invoices_are_final();
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE billing_runs;
      DROP TABLE invoice_lines;
      DROP TABLE invoices;
      DROP FUNCTION invoices_are_final();
    `);
  }
}
