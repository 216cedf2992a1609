import { EntityManager } from 'typeorm';
import { Page, RangeNotSatisfiableError, RangeSpec, nextRangeAfter } from '@app/common';
import {
  AddonWebhook,
  OutboxEvent,
  WebhookAttempt,
  WebhookDelivery,
  WebhookDeliveryView,
  WebhookEvent,
  WebhookEventType,
  WebhookLevel,
  WebhookRepository,
} from '@app/domain';
import { isUuid } from './query-helpers';
import { query } from './sql';

const WEBHOOK_COLUMNS = `w.id, w.addon_id AS "addonId", w.include, w.level, w.url, w.authorization_sealed AS "authorizationSealed",
  w.secret_sealed AS "secretSealed", w.created_at AS "createdAt", w.updated_at AS "updatedAt"`;
const EVENT_COLUMNS = `e.id, e.addon_id AS "addonId", e.lifecycle_event_id::text AS "lifecycleEventId", e.include, e.action, e.resource, e.data,
  e.previous_data AS "previousData", e.created_at AS "createdAt", e.updated_at AS "updatedAt"`;
const DELIVERY_COLUMNS = `d.id, d.addon_id AS "addonId", d.event_id AS "eventId", d.webhook_id AS "webhookId", d.status, d.num_attempts AS "numAttempts",
  d.next_attempt_at AS "nextAttemptAt", d.last_attempt_id AS "lastAttemptId", d.created_at AS "createdAt", d.updated_at AS "updatedAt"`;
/** First key of the advisory locks that serialise creating an add-on's webhooks (the second is the add-on's). */
const WEBHOOK_COUNT_LOCK = 727201;

/** A delivery with its last attempt (`a_*`), its event's type and its webhook's level, in one row. */
const DELIVERY_VIEW = `SELECT ${DELIVERY_COLUMNS},
    a.id AS "a_id", a.status AS "a_status", a.code AS "a_code", a.error_class AS "a_errorClass", a.created_at AS "a_createdAt", a.updated_at AS "a_updatedAt",
    e.include AS "eventInclude", w.level AS "webhookLevel"
  FROM addon_webhook_deliveries d
  JOIN addon_webhook_events e ON e.id = d.event_id
  JOIN addon_webhooks w ON w.id = d.webhook_id
  LEFT JOIN addon_webhook_attempts a ON a.id = d.last_attempt_id`;

const PATCH_COLUMNS: Record<string, string> = {
  include: 'include',
  level: 'level',
  url: 'url',
  authorizationSealed: 'authorization_sealed',
  secretSealed: 'secret_sealed',
  updatedAt: 'updated_at',
  status: 'status',
  numAttempts: 'num_attempts',
  nextAttemptAt: 'next_attempt_at',
  lastAttemptId: 'last_attempt_id',
};

type DeliveryRow = WebhookDelivery & {
  a_id: string | null;
  a_status: WebhookAttempt['status'];
  a_code: number | null;
  a_errorClass: string | null;
  a_createdAt: Date;
  a_updatedAt: Date;
  eventInclude: WebhookEventType;
  webhookLevel: WebhookLevel;
};

const toView = (row: DeliveryRow): WebhookDeliveryView => ({
  delivery: {
    id: row.id,
    addonId: row.addonId,
    eventId: row.eventId,
    webhookId: row.webhookId,
    status: row.status,
    numAttempts: row.numAttempts,
    nextAttemptAt: row.nextAttemptAt,
    lastAttemptId: row.lastAttemptId,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  },
  lastAttempt: row.a_id
    ? { id: row.a_id, deliveryId: row.id, status: row.a_status, code: row.a_code, errorClass: row.a_errorClass, createdAt: row.a_createdAt, updatedAt: row.a_updatedAt }
    : null,
  event: { id: row.eventId, include: row.eventInclude },
  webhook: { id: row.webhookId, level: row.webhookLevel },
});

/** Webhooks and their delivery log in hand-written SQL; the outbox is filled by a trigger (see the migration). */
export class TypeOrmWebhooks extends WebhookRepository {
  constructor(private readonly m: EntityManager) {
    super();
  }

  transaction<T>(work: (tx: WebhookRepository) => Promise<T>): Promise<T> {
    if (this.m.queryRunner?.isTransactionActive) return work(this);
    return this.m.transaction((manager) => work(new TypeOrmWebhooks(manager)));
  }

  async countForAddon(addonId: string): Promise<number> {
    await query(this.m, 'SELECT pg_advisory_xact_lock($1, hashtext($2))', [WEBHOOK_COUNT_LOCK, addonId]);
    const rows = await query<{ n: number }[]>(this.m, 'SELECT count(*)::int AS n FROM addon_webhooks WHERE addon_id = $1', [addonId]);
    return rows[0].n;
  }

  async create(w: AddonWebhook): Promise<void> {
    await query(
      this.m,
      `INSERT INTO addon_webhooks (id, addon_id, include, level, url, authorization_sealed, secret_sealed, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [w.id, w.addonId, w.include, w.level, w.url, w.authorizationSealed, w.secretSealed, w.createdAt, w.updatedAt],
    );
  }

  list(addonId: string, range: RangeSpec): Promise<Page<AddonWebhook>> {
    return this.page<AddonWebhook>(`SELECT ${WEBHOOK_COLUMNS} FROM addon_webhooks w WHERE w.addon_id = $1`, 'w', [addonId], range, (r) => r);
  }

  async find(addonId: string, id: string): Promise<AddonWebhook | null> {
    if (!isUuid(id)) return null;
    const rows = await query<AddonWebhook[]>(this.m, `SELECT ${WEBHOOK_COLUMNS} FROM addon_webhooks w WHERE w.addon_id = $1 AND w.id = $2`, [addonId, id]);
    return rows[0] ?? null;
  }

  async findById(id: string): Promise<AddonWebhook | null> {
    const rows = await query<AddonWebhook[]>(this.m, `SELECT ${WEBHOOK_COLUMNS} FROM addon_webhooks w WHERE w.id = $1`, [id]);
    return rows[0] ?? null;
  }

  async update(id: string, patch: Partial<AddonWebhook>): Promise<void> {
    await this.patch('addon_webhooks', id, patch);
  }

  async delete(addonId: string, id: string): Promise<boolean> {
    const rows = await query<{ id: string }[]>(this.m, 'DELETE FROM addon_webhooks WHERE addon_id = $1 AND id = $2 RETURNING id', [addonId, id]);
    return rows.length > 0;
  }

  async subscribed(addonIds: string[], type: WebhookEventType, at: Date): Promise<AddonWebhook[]> {
    if (addonIds.length === 0) return [];
    return query<AddonWebhook[]>(
      this.m,
      `SELECT ${WEBHOOK_COLUMNS} FROM addon_webhooks w
        WHERE w.addon_id = ANY($1::uuid[]) AND $2 = ANY(w.include) AND w.created_at <= $3
        ORDER BY w.created_at, w.id`,
      [addonIds, type, at],
    );
  }

  listEvents(addonId: string, range: RangeSpec): Promise<Page<WebhookEvent>> {
    return this.page<WebhookEvent>(`SELECT ${EVENT_COLUMNS} FROM addon_webhook_events e WHERE e.addon_id = $1`, 'e', [addonId], range, (r) => r);
  }

  async findEvent(addonId: string, id: string): Promise<WebhookEvent | null> {
    const rows = await query<WebhookEvent[]>(this.m, `SELECT ${EVENT_COLUMNS} FROM addon_webhook_events e WHERE e.addon_id = $1 AND e.id = $2`, [addonId, id]);
    return rows[0] ?? null;
  }

  async findEventById(id: string): Promise<WebhookEvent | null> {
    const rows = await query<WebhookEvent[]>(this.m, `SELECT ${EVENT_COLUMNS} FROM addon_webhook_events e WHERE e.id = $1`, [id]);
    return rows[0] ?? null;
  }

  listDeliveries(addonId: string, range: RangeSpec): Promise<Page<WebhookDeliveryView>> {
    return this.page<DeliveryRow, WebhookDeliveryView>(`${DELIVERY_VIEW} WHERE d.addon_id = $1`, 'd', [addonId], range, toView);
  }

  async findDelivery(addonId: string, id: string): Promise<WebhookDeliveryView | null> {
    const rows = await query<DeliveryRow[]>(this.m, `${DELIVERY_VIEW} WHERE d.addon_id = $1 AND d.id = $2`, [addonId, id]);
    return rows[0] ? toView(rows[0]) : null;
  }

  async findDeliveryForUpdate(id: string): Promise<WebhookDelivery | null> {
    const rows = await query<WebhookDelivery[]>(this.m, `SELECT ${DELIVERY_COLUMNS} FROM addon_webhook_deliveries d WHERE d.id = $1 FOR UPDATE`, [id]);
    return rows[0] ?? null;
  }

  async updateDelivery(id: string, patch: Partial<WebhookDelivery>): Promise<void> {
    await this.patch('addon_webhook_deliveries', id, patch);
  }

  findOverdue(before: Date, limit: number): Promise<WebhookDelivery[]> {
    return query<WebhookDelivery[]>(
      this.m,
      `SELECT ${DELIVERY_COLUMNS} FROM addon_webhook_deliveries d
        WHERE d.status IN ('pending', 'scheduled', 'retrying') AND d.next_attempt_at < $1
        ORDER BY d.next_attempt_at LIMIT $2`,
      [before, limit],
    );
  }

  async insertAttempt(a: WebhookAttempt): Promise<void> {
    await query(
      this.m,
      `INSERT INTO addon_webhook_attempts (id, delivery_id, status, code, error_class, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [a.id, a.deliveryId, a.status, a.code, a.errorClass, a.createdAt, a.updatedAt],
    );
  }

  async updateAttempt(id: string, patch: Pick<WebhookAttempt, 'status' | 'code' | 'errorClass' | 'updatedAt'>): Promise<void> {
    await query(this.m, 'UPDATE addon_webhook_attempts SET status = $2, code = $3, error_class = $4, updated_at = $5 WHERE id = $1', [
      id,
      patch.status,
      patch.code,
      patch.errorClass,
      patch.updatedAt,
    ]);
  }

  async failUnfinishedAttempts(deliveryId: string, errorClass: string, at: Date): Promise<void> {
    await query(
      this.m,
      `UPDATE addon_webhook_attempts SET status = 'failed', error_class = $2, updated_at = $3 WHERE delivery_id = $1 AND status = 'scheduled'`,
      [deliveryId, errorClass, at],
    );
  }

  claimOutbox(limit: number): Promise<OutboxEvent[]> {
    return query<OutboxEvent[]>(
      this.m,
      `WITH claimed AS (
         SELECT lifecycle_event_id FROM webhook_outbox ORDER BY lifecycle_event_id LIMIT $1 FOR UPDATE SKIP LOCKED
       )
       SELECT l.id::text AS id, l.type, l.addon_id AS "addonId", l.app_id AS "appId", l.occurred_at AS "occurredAt", l.data
         FROM claimed c JOIN lifecycle_events l ON l.id = c.lifecycle_event_id
        ORDER BY l.id`,
      [limit],
    );
  }

  async recordEvent(e: WebhookEvent, deliveries: WebhookDelivery[]): Promise<void> {
    const inserted = await query<{ id: string }[]>(
      this.m,
      `INSERT INTO addon_webhook_events (id, addon_id, lifecycle_event_id, include, action, resource, data, previous_data, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (lifecycle_event_id, addon_id) DO NOTHING RETURNING id`,
      [e.id, e.addonId, e.lifecycleEventId, e.include, e.action, e.resource, JSON.stringify(e.data), e.previousData === null ? null : JSON.stringify(e.previousData), e.createdAt, e.updatedAt],
    );
    if (inserted.length === 0 || deliveries.length === 0) return;
    await query(
      this.m,
      `INSERT INTO addon_webhook_deliveries (id, addon_id, event_id, webhook_id, status, num_attempts, next_attempt_at, created_at, updated_at)
       SELECT d.id, d.addon_id, d.event_id, d.webhook_id, 'pending', 0, d.at, d.at, d.at
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::timestamptz[]) AS d (id, addon_id, event_id, webhook_id, at)
       ON CONFLICT (event_id, webhook_id) DO NOTHING`,
      [deliveries.map((d) => d.id), deliveries.map((d) => d.addonId), deliveries.map((d) => d.eventId), deliveries.map((d) => d.webhookId), deliveries.map((d) => d.createdAt)],
    );
  }

  async removeFromOutbox(lifecycleEventIds: string[]): Promise<void> {
    if (lifecycleEventIds.length === 0) return;
    await query(this.m, 'DELETE FROM webhook_outbox WHERE lifecycle_event_id = ANY($1::bigint[])', [lifecycleEventIds]);
  }

  async attachedAddonIds(appId: string, eventId: string): Promise<string[]> {
    // An attachment deleted without a logged removal (a failed provision, an alias taken over)
    // counts only while it still exists.
    const rows = await query<{ addonId: string }[]>(
      this.m,
      `SELECT DISTINCT c.addon_id AS "addonId"
         FROM lifecycle_events c
        WHERE c.app_id = $1 AND c.type = 'attachment.created' AND c.id < $2 AND c.addon_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM lifecycle_events r
                           WHERE r.app_id = $1 AND r.type = 'attachment.removed' AND r.id < $2 AND r.data->>'attachment_id' = c.data->>'attachment_id')
          AND (EXISTS (SELECT 1 FROM addon_attachments t WHERE t.app_id = $1 AND t.id::text = c.data->>'attachment_id')
               OR EXISTS (SELECT 1 FROM lifecycle_events r
                           WHERE r.app_id = $1 AND r.type = 'attachment.removed' AND r.id > $2 AND r.data->>'attachment_id' = c.data->>'attachment_id'))
        ORDER BY 1`,
      [appId, eventId],
    );
    return rows.map((r) => r.addonId);
  }

  async nameAfter(kind: 'app' | 'addon', id: string, eventId: string): Promise<string | null> {
    const rows = await query<{ name: string }[]>(
      this.m,
      kind === 'app'
        ? `SELECT data->>'from' AS name FROM lifecycle_events WHERE app_id = $1 AND type = 'app.renamed' AND id > $2 ORDER BY id LIMIT 1`
        : `SELECT data->>'from' AS name FROM lifecycle_events WHERE addon_id = $1 AND type = 'addon.renamed' AND id > $2 ORDER BY id LIMIT 1`,
      [id, eventId],
    );
    return rows[0]?.name ?? null;
  }

  private async patch(table: string, id: string, patch: object): Promise<void> {
    const assignments: string[] = [];
    const values: unknown[] = [id];
    for (const [property, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      const column = PATCH_COLUMNS[property];
      if (!column) throw new Error(`${table} has no column for ${property}`);
      values.push(value);
      assignments.push(`${column} = $${values.length}`);
    }
    if (assignments.length === 0) return;
    await this.m.query(`UPDATE ${table} SET ${assignments.join(', ')} WHERE id = $1`, values);
  }

  /** A Range over `id` (time-ordered ids: creation order); `alias` names the listed table in `select`. */
  private async page<R extends { id: string }, T = R>(select: string, alias: string, values: unknown[], range: RangeSpec, map: (row: R) => T): Promise<Page<T>> {
    const column = `${alias}.id`;
    const desc = range.order === 'desc';
    const params = [...values];
    const where: string[] = [];
    const bound = (value: string) => {
      if (!isUuid(value)) throw new RangeNotSatisfiableError(`Invalid Range bound for id: ${value}`);
      params.push(value);
      return `$${params.length}`;
    };
    if (range.start !== undefined) where.push(`${column} ${desc ? (range.startExclusive ? '<' : '<=') : range.startExclusive ? '>' : '>='} ${bound(range.start)}`);
    if (range.end !== undefined) where.push(`${column} ${desc ? (range.endExclusive ? '>' : '>=') : range.endExclusive ? '<' : '<='} ${bound(range.end)}`);
    params.push(range.max + 1);
    const rows = await query<R[]>(this.m, `${select}${where.map((w) => ` AND ${w}`).join('')} ORDER BY ${column} ${desc ? 'DESC' : 'ASC'} LIMIT $${params.length}`, params);
    const items = rows.slice(0, range.max);
    if (rows.length <= range.max) return { items: items.map(map) };
    return { items: items.map(map), nextRange: nextRangeAfter(range, items[items.length - 1].id) };
  }
}
