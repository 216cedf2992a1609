import { EntityManager } from 'typeorm';
import { AppTransfer, BillingEntity, EventRepository, LifecycleEvent, LifecycleEventType } from '@app/domain';
import { Statement, query } from './sql';

/**
 * Appends to the lifecycle log. Inside a transaction the events are held and written in one
 * statement sent with the commit (`takePending`), so a state change costs one insert however
 * many events it records; outside one they are written at once.
 */
export class TypeOrmEvents implements EventRepository {
  private readonly pending: LifecycleEvent[] = [];

  constructor(
    private readonly m: EntityManager,
    private readonly buffered = false,
  ) {}

  async append(event: LifecycleEvent): Promise<void> {
    if (this.buffered) this.pending.push(event);
    else {
      const insert = insertEvents([event]);
      await query(this.m, insert.text, insert.values);
    }
  }

  async listForAddons(addonIds: string[], types: LifecycleEventType[]): Promise<Map<string, LifecycleEvent[]>> {
    const byAddon = new Map<string, LifecycleEvent[]>();
    if (!addonIds.length || !types.length) return byAddon;
    const rows = await query<(LifecycleEvent & { addonId: string })[]>(
      this.m,
      `SELECT type, addon_id AS "addonId", app_id AS "appId", occurred_at AS "occurredAt", data
         FROM lifecycle_events
        WHERE addon_id = ANY($1::uuid[]) AND type = ANY($2::text[])
        ORDER BY addon_id, id`,
      [addonIds, types],
    );
    for (const row of rows) {
      const list = byAddon.get(row.addonId) ?? [];
      list.push(row);
      byAddon.set(row.addonId, list);
    }
    return byAddon;
  }

  async listTransfers(filter: { appIds: string[] } | { entity: BillingEntity } | { entities: BillingEntity[] }): Promise<AppTransfer[]> {
    let where: string;
    let value: string[];
    if ('appIds' in filter) {
      where = 'app_id = ANY($1::uuid[])';
      value = filter.appIds;
    } else {
      // Either side of the transfer, as `kind:id`.
      where = `ARRAY[(data->'from'->>'kind') || ':' || (data->'from'->>'id'), (data->'to'->>'kind') || ':' || (data->'to'->>'id')] && $1::text[]`;
      value = ('entity' in filter ? [filter.entity] : filter.entities).map((e) => `${e.kind}:${e.id}`);
    }
    if (!value.length) return [];
    const rows = await query<{ appId: string; at: Date; data: { from: BillingEntity; to: BillingEntity } }[]>(
      this.m,
      `SELECT app_id AS "appId", occurred_at AS at, data FROM lifecycle_events WHERE type = 'app.transferred' AND ${where} ORDER BY id`,
      [value],
    );
    return rows.map((r) => ({ appId: r.appId, at: r.at, from: r.data.from, to: r.data.to }));
  }

  /** The insert of the events held so far, which are no longer held; null if there are none. */
  takePending(): Statement | null {
    return this.pending.length === 0 ? null : insertEvents(this.pending.splice(0));
  }
}

function insertEvents(events: LifecycleEvent[]): Statement {
  const values: unknown[] = [];
  const rows = events.map((event, i) => {
    values.push(event.type, event.addonId ?? null, event.appId ?? null, event.occurredAt, JSON.stringify(event.data));
    const n = i * 5;
    return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5})`;
  });
  return { text: `INSERT INTO lifecycle_events (type, addon_id, app_id, occurred_at, data) VALUES ${rows.join(', ')}`, values };
}
