import { EntityManager } from 'typeorm';
import { RedisHost, RedisHostRepository } from '@app/domain';
import { RedisHostEntity } from '../entities';
import { isUuid, storable } from './query-helpers';
import { insertRow, query, selectList } from './sql';

/** Columns an upsert leaves alone: the host keeps its identity and registration time. */
const KEPT_ON_UPSERT = new Set(['id', 'name', 'created_at']);

export class TypeOrmRedisHosts implements RedisHostRepository {
  constructor(private readonly m: EntityManager) {}

  async upsertByName(host: RedisHost): Promise<RedisHost> {
    const insert = insertRow(this.m, RedisHostEntity, host);
    const updates = this.m.connection
      .getMetadata(RedisHostEntity)
      .columns.filter((c) => !KEPT_ON_UPSERT.has(c.databaseName))
      .map((c) => `${c.databaseName} = EXCLUDED.${c.databaseName}`)
      .join(', ');
    const [row] = await query<RedisHost[]>(
      this.m,
      `${insert.text} ON CONFLICT (name) DO UPDATE SET ${updates} RETURNING ${selectList(this.m, RedisHostEntity, 'redis_hosts')}`,
      insert.values,
    );
    return row;
  }

  list(): Promise<RedisHost[]> {
    return this.m.find(RedisHostEntity, { order: { name: 'ASC' } });
  }

  findById(id: string): Promise<RedisHost | null> {
    return isUuid(id) ? this.m.findOneBy(RedisHostEntity, { id }) : Promise.resolve(null);
  }

  findByName(name: string): Promise<RedisHost | null> {
    return storable(name) ? this.m.findOneBy(RedisHostEntity, { name }) : Promise.resolve(null);
  }

  async countActiveInstances(): Promise<Map<string, number>> {
    const rows = await query<{ hostId: string; count: number }[]>(
      this.m,
      `SELECT host_id AS "hostId", count(*)::int AS count FROM redis_instances WHERE state = 'active' GROUP BY host_id`,
      [],
    );
    return new Map(rows.map((r) => [r.hostId, r.count]));
  }

  async lockLeastLoaded(): Promise<RedisHost | null> {
    // Lock every active host (in one order, so placements never deadlock), and only then count,
    // in a later statement: its snapshot sees the instances of any placement that held the locks
    // before us. Counting in the locking statement would use a snapshot taken before the wait
    // and miss them.
    // Both are sent at once (the connection pipelines); PostgreSQL still runs the count after the lock.
    const [, [row]] = await Promise.all([
      query<{ id: string }[]>(this.m, `SELECT id FROM redis_hosts WHERE state = 'active' ORDER BY name FOR UPDATE`, []),
      query<RedisHost[]>(
        this.m,
        `SELECT ${selectList(this.m, RedisHostEntity, 'h')}
           FROM redis_hosts h
          CROSS JOIN LATERAL (SELECT count(*) AS n FROM redis_instances i WHERE i.host_id = h.id AND i.state = 'active') c
          WHERE h.state = 'active' AND c.n < h.capacity
          ORDER BY c.n::numeric / h.capacity, c.n, h.name
          LIMIT 1`,
        [],
      ),
    ]);
    return row ?? null;
  }

  async lock(id: string): Promise<void> {
    if (!isUuid(id)) return;
    await query(this.m, `SELECT 1 FROM redis_hosts WHERE id = $1 FOR UPDATE`, [id]);
  }
}
