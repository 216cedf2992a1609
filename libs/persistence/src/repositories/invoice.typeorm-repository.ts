import { EntityManager } from 'typeorm';
import { Page, RangeSpec } from '@app/common';
import { BillingEntity, BillingMonth, Invoice, InvoiceLine, InvoiceRepository, InvoicedQuantity, monthBounds } from '@app/domain';
import { InvoiceEntity } from '../entities';
import { paginate } from './paginate';
import { query } from './sql';

interface InvoiceRow {
  id: string;
  number: string;
  entityKind: 'account' | 'team';
  entityId: string;
  month: BillingMonth;
  usageCutoff: Date;
  totalCents: string;
  finalizedAt: Date;
}

interface LineRow {
  invoiceId: string;
  position: number;
  kind: InvoiceLine['kind'];
  addonId: string;
  addonName: string;
  appId: string;
  appName: string;
  serviceId: string;
  planId: string;
  planName: string;
  usageMonth: BillingMonth;
  periodStart: Date | null;
  periodEnd: Date | null;
  seconds: string | null;
  dimension: string | null;
  quantity: string | null;
  unitPriceCents: string;
  cents: string;
}

const INVOICE_COLUMNS = `i.id, i.number, i.entity_kind AS "entityKind", i.entity_id AS "entityId", i.month, i.usage_cutoff AS "usageCutoff",
  i.total_cents AS "totalCents", i.finalized_at AS "finalizedAt"`;
const LINE_COLUMNS = `l.invoice_id AS "invoiceId", l.position, l.kind, l.addon_id AS "addonId", l.addon_name AS "addonName", l.app_id AS "appId",
  l.app_name AS "appName", l.service_id AS "serviceId", l.plan_id AS "planId", l.plan_name AS "planName", l.usage_month AS "usageMonth",
  l.period_start AS "periodStart", l.period_end AS "periodEnd", l.seconds, l.dimension, l.quantity, l.unit_price_cents AS "unitPriceCents", l.cents`;

const toInvoice = (r: InvoiceRow): Invoice => ({
  id: r.id,
  number: r.number,
  entity: { kind: r.entityKind, id: r.entityId },
  month: r.month,
  usageCutoff: r.usageCutoff,
  totalCents: Number(r.totalCents),
  finalizedAt: r.finalizedAt,
});

const toLine = (r: LineRow): InvoiceLine => ({
  position: r.position,
  kind: r.kind,
  addonId: r.addonId,
  addonName: r.addonName,
  appId: r.appId,
  appName: r.appName,
  serviceId: r.serviceId,
  planId: r.planId,
  planName: r.planName,
  usageMonth: r.usageMonth,
  periodStart: r.periodStart,
  periodEnd: r.periodEnd,
  seconds: r.seconds === null ? null : Number(r.seconds),
  dimension: r.dimension,
  quantity: r.quantity === null ? null : BigInt(r.quantity),
  unitPriceCents: Number(r.unitPriceCents),
  cents: Number(r.cents),
});

/** Invoices are only ever inserted: a trigger refuses updates and deletes. */
export class TypeOrmInvoices implements InvoiceRepository {
  constructor(private readonly m: EntityManager) {}

  async runCompleted(month: BillingMonth): Promise<boolean> {
    return (await query<unknown[]>(this.m, 'SELECT 1 FROM billing_runs WHERE month = $1', [month])).length > 0;
  }

  async markRunCompleted(month: BillingMonth, at: Date): Promise<void> {
    await query(this.m, 'INSERT INTO billing_runs (month, completed_at) VALUES ($1, $2) ON CONFLICT (month) DO NOTHING', [month, at]);
  }

  async insertIfAbsent(invoice: Invoice, lines: InvoiceLine[]): Promise<boolean> {
    const inserted = await query<{ id: string }[]>(
      this.m,
      `INSERT INTO invoices (id, number, entity_kind, entity_id, month, usage_cutoff, total_cents, finalized_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (entity_kind, entity_id, month) DO NOTHING RETURNING id`,
      [invoice.id, invoice.number, invoice.entity.kind, invoice.entity.id, invoice.month, invoice.usageCutoff, invoice.totalCents, invoice.finalizedAt],
    );
    if (!inserted.length) return false;
    if (lines.length) {
      const column = <T>(pick: (l: InvoiceLine) => T) => lines.map(pick);
      await query(
        this.m,
        `INSERT INTO invoice_lines (invoice_id, position, kind, addon_id, addon_name, app_id, app_name, service_id, plan_id, plan_name, usage_month,
                                    period_start, period_end, seconds, dimension, quantity, unit_price_cents, cents)
         SELECT $1, * FROM unnest($2::int[], $3::text[], $4::uuid[], $5::text[], $6::uuid[], $7::text[], $8::uuid[], $9::uuid[], $10::text[], $11::text[],
                                  $12::timestamptz[], $13::timestamptz[], $14::bigint[], $15::text[], $16::numeric[], $17::bigint[], $18::bigint[])`,
        [
          invoice.id,
          column((l) => l.position),
          column((l) => l.kind),
          column((l) => l.addonId),
          column((l) => l.addonName),
          column((l) => l.appId),
          column((l) => l.appName),
          column((l) => l.serviceId),
          column((l) => l.planId),
          column((l) => l.planName),
          column((l) => l.usageMonth),
          column((l) => l.periodStart),
          column((l) => l.periodEnd),
          column((l) => l.seconds),
          column((l) => l.dimension),
          column((l) => (l.quantity === null ? null : l.quantity.toString())),
          column((l) => l.unitPriceCents),
          column((l) => l.cents),
        ],
      );
    }
    return true;
  }

  async invoicedEntities(entities: BillingEntity[], month: BillingMonth): Promise<Set<string>> {
    if (!entities.length) return new Set();
    const rows = await query<{ key: string }[]>(
      this.m,
      `SELECT entity_kind || ':' || entity_id AS key FROM invoices
        WHERE month = $1 AND (entity_kind, entity_id) IN (SELECT * FROM unnest($2::text[], $3::uuid[]))`,
      [month, entities.map((e) => e.kind), entities.map((e) => e.id)],
    );
    return new Set(rows.map((r) => r.key));
  }

  async candidates(month: BillingMonth, usageSince: Date, after: string | null, limit: number): Promise<BillingEntity[]> {
    const { start, end } = monthBounds(month);
    const rows = await query<{ kind: 'account' | 'team'; id: string }[]>(
      this.m,
      `WITH apps_in AS (
         SELECT DISTINCT a.app_id FROM addons a
          WHERE a.created_at < $2 AND (a.deprovision_requested_at IS NULL OR a.deprovision_requested_at >= $1)
         UNION
         -- Add-ons the first part missed (gone before the month) with late usage of the month before.
         SELECT DISTINCT a.app_id FROM addons a
          WHERE NOT (a.created_at < $2 AND (a.deprovision_requested_at IS NULL OR a.deprovision_requested_at >= $1))
            AND EXISTS (SELECT 1 FROM usage_records u WHERE u.addon_id = a.id AND u.occurred_at < $2 AND u.received_at >= $3)
       ), owners AS (
         SELECT CASE WHEN p.owner_team_id IS NULL THEN 'account' ELSE 'team' END AS kind, COALESCE(p.owner_team_id, p.owner_account_id) AS id
           FROM apps p JOIN apps_in ON apps_in.app_id = p.id
         UNION
         SELECT e.data->'from'->>'kind', (e.data->'from'->>'id')::uuid FROM lifecycle_events e JOIN apps_in ON apps_in.app_id = e.app_id
          WHERE e.type = 'app.transferred'
         UNION
         SELECT e.data->'to'->>'kind', (e.data->'to'->>'id')::uuid FROM lifecycle_events e JOIN apps_in ON apps_in.app_id = e.app_id
          WHERE e.type = 'app.transferred'
       )
       SELECT kind, id FROM owners WHERE ($4::text IS NULL OR kind || ':' || id > $4) ORDER BY kind || ':' || id LIMIT $5`,
      [start, end, usageSince, after, limit],
    );
    return rows;
  }

  async invoicedQuantities(addonIds: string[], usageMonth: BillingMonth): Promise<InvoicedQuantity[]> {
    if (!addonIds.length) return [];
    const rows = await query<{ addonId: string; dimension: string; usageMonth: BillingMonth; quantity: string }[]>(
      this.m,
      `SELECT addon_id AS "addonId", dimension, usage_month AS "usageMonth", sum(quantity)::text AS quantity
         FROM invoice_lines WHERE addon_id = ANY($1::uuid[]) AND usage_month = $2 AND dimension IS NOT NULL
        GROUP BY addon_id, dimension, usage_month`,
      [addonIds, usageMonth],
    );
    return rows.map((r) => ({ ...r, quantity: BigInt(r.quantity) }));
  }

  async listFor(entity: BillingEntity, range: RangeSpec): Promise<Page<Invoice>> {
    const qb = this.m.createQueryBuilder(InvoiceEntity, 'i').where('i.entity_kind = :kind AND i.entity_id = :id', { kind: entity.kind, id: entity.id });
    const page = await paginate(qb, range, { month: 'i.month', number: 'i.number' }, (i) => (range.field === 'number' ? i.number : i.month));
    return {
      items: page.items.map((i) => ({ ...toInvoice({ ...i, totalCents: String(i.totalCents) }) })),
      nextRange: page.nextRange,
    };
  }

  async findByNumber(number: string): Promise<{ invoice: Invoice; lines: InvoiceLine[] } | null> {
    const [row] = await query<InvoiceRow[]>(this.m, `SELECT ${INVOICE_COLUMNS} FROM invoices i WHERE i.number = $1`, [number]);
    if (!row) return null;
    const lines = await query<LineRow[]>(this.m, `SELECT ${LINE_COLUMNS} FROM invoice_lines l WHERE l.invoice_id = $1 ORDER BY l.position`, [row.id]);
    return { invoice: toInvoice(row), lines: lines.map(toLine) };
  }

  async listMonth(month: BillingMonth, afterNumber: string | null, limit: number): Promise<{ invoice: Invoice; lines: InvoiceLine[] }[]> {
    const rows = await query<InvoiceRow[]>(
      this.m,
      `SELECT ${INVOICE_COLUMNS} FROM invoices i WHERE i.month = $1 AND ($2::text IS NULL OR i.number > $2) ORDER BY i.number LIMIT $3`,
      [month, afterNumber, limit],
    );
    if (!rows.length) return [];
    const lines = await query<LineRow[]>(
      this.m,
      `SELECT ${LINE_COLUMNS} FROM invoice_lines l WHERE l.invoice_id = ANY($1::uuid[]) ORDER BY l.invoice_id, l.position`,
      [rows.map((r) => r.id)],
    );
    const byInvoice = new Map<string, InvoiceLine[]>();
    for (const line of lines) byInvoice.set(line.invoiceId, [...(byInvoice.get(line.invoiceId) ?? []), toLine(line)]);
    return rows.map((r) => ({ invoice: toInvoice(r), lines: byInvoice.get(r.id) ?? [] }));
  }

  async totalsByPlan(month: BillingMonth, serviceIds: string[]): Promise<{ serviceId: string; planId: string; planName: string; cents: number }[]> {
    if (!serviceIds.length) return [];
    const rows = await query<{ serviceId: string; planId: string; planName: string; cents: string }[]>(
      this.m,
      `SELECT l.service_id AS "serviceId", l.plan_id AS "planId", min(l.plan_name) AS "planName", sum(l.cents)::text AS cents
         FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
        WHERE i.month = $1 AND l.service_id = ANY($2::uuid[])
        GROUP BY l.service_id, l.plan_id ORDER BY min(l.plan_name)`,
      [month, serviceIds],
    );
    return rows.map((r) => ({ ...r, cents: Number(r.cents) }));
  }
}
