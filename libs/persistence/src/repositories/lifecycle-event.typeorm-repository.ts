import { EntityManager } from 'typeorm';
import { EventRepository, LifecycleEvent } from '@app/domain';

/**
 * Appends to the lifecycle log. Inside a transaction the events are held and written in one
 * statement just before commit (`flush`), so a state change costs one insert however many
 * events it records; outside one they are written at once.
 */
export class TypeOrmEvents implements EventRepository {
  private readonly pending: LifecycleEvent[] = [];

  constructor(
    private readonly m: EntityManager,
    private readonly buffered = false,
  ) {}

  async append(event: LifecycleEvent): Promise<void> {
    if (this.buffered) this.pending.push(event);
    else await this.write([event]);
  }

  async flush(): Promise<void> {
    await this.write(this.pending.splice(0));
  }

  private async write(events: LifecycleEvent[]): Promise<void> {
    if (events.length === 0) return;
    const values: unknown[] = [];
    const rows = events.map((event, i) => {
      values.push(event.type, event.addonId ?? null, event.appId ?? null, event.occurredAt, JSON.stringify(event.data));
      const n = i * 5;
      return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5})`;
    });
    await this.m.query(`INSERT INTO lifecycle_events (type, addon_id, app_id, occurred_at, data) VALUES ${rows.join(', ')}`, values);
  }
}
