import { PoolClient, QueryResult, QueryResultRow } from 'pg';
import { EntityManager } from 'typeorm';
import { RedisHost, RedisInstance, RedisSpare, RedisSpareRepository } from '@app/domain';
import { RedisHostEntity, RedisInstanceEntity, RedisSpareEntity } from '../entities';
import { isUuid } from './query-helpers';
import { insertRow, prepared, query, selectList, unprefixed } from './sql';

/** What an instance that claims a spare takes from it, by column. */
const FROM_SPARE: Record<string, string> = {
  host_id: 's.host_id',
  key: 's.key',
  node_ports: 'ARRAY[s.port]',
  internal_password_sealed: 's.internal_password_sealed',
};

const claimTexts = new Map<string, string>();

/**
 * The claim itself: the oldest ready spare of the host `lockLeastLoaded` would pick (the same
 * query), for an add-on without an instance; its port passes to the add-on. SKIP LOCKED passes
 * over a spare the upkeep holds.
 */
const CLAIM_TEXT = `WITH target AS (
        SELECT h.id FROM redis_hosts h
         CROSS JOIN LATERAL (SELECT count(*) AS n FROM redis_instances i WHERE i.host_id = h.id AND i.state = 'active') c
         WHERE h.state = 'active' AND c.n < h.capacity
         ORDER BY c.n::numeric / h.capacity, c.n, h.name
         LIMIT 1),
      s AS (SELECT sp.id FROM redis_spares sp JOIN target ON sp.host_id = target.id
             WHERE sp.state = 'ready' AND NOT EXISTS (SELECT 1 FROM redis_instances i WHERE i.addon_id = $1)
             ORDER BY sp.created_at, sp.id LIMIT 1 FOR UPDATE OF sp SKIP LOCKED),
      c AS (UPDATE redis_spares sp SET state = 'claimed', addon_id = $1, updated_at = $2 FROM s WHERE sp.id = s.id RETURNING sp.id)
 UPDATE redis_ports p SET addon_id = $1, spare_id = NULL FROM c WHERE p.spare_id = c.id`;

export class TypeOrmRedisSpares implements RedisSpareRepository {
  constructor(private readonly m: EntityManager) {}

  async create(spare: RedisSpare): Promise<void> {
    const insert = insertRow(this.m, RedisSpareEntity, spare);
    // One statement: the port's insert fails it if anyone holds the port.
    await query(this.m, `WITH s AS (${insert.text} RETURNING id, host_id, port) INSERT INTO redis_ports (host_id, port, spare_id) SELECT host_id, port, id FROM s`, insert.values);
  }

  list(): Promise<RedisSpare[]> {
    return query<RedisSpare[]>(this.m, `SELECT ${selectList(this.m, RedisSpareEntity, 's')} FROM redis_spares s ORDER BY s.created_at, s.id`, []);
  }

  async countUnclaimed(): Promise<Map<string, { starting: number; ready: number }>> {
    const rows = await query<{ hostId: string; starting: number; ready: number }[]>(
      this.m,
      `SELECT host_id AS "hostId", count(*) FILTER (WHERE state = 'starting')::int AS starting, count(*) FILTER (WHERE state = 'ready')::int AS ready
         FROM redis_spares WHERE state IN ('starting', 'ready') GROUP BY host_id`,
      [],
    );
    return new Map(rows.map((r) => [r.hostId, { starting: r.starting, ready: r.ready }]));
  }

  async claimForNewInstance(instance: RedisInstance): Promise<{ claimed: { instance: RedisInstance; host: RedisHost } | null; hadInstance: boolean }> {
    const { text, values } = this.claimStatement(instance);
    const runner = this.m.connection.createQueryRunner();
    try {
      const client = (await runner.connect()) as PoolClient;
      const send = <R extends QueryResultRow>(statement: string, params: unknown[] = []) => client.query<R>({ ...prepared(statement), values: params });
      // Everything at once, COMMIT included: the connection pipelines and PostgreSQL runs the
      // statements in order, each (READ COMMITTED) on a snapshot taken after the lock before it. No
      // statement depends on an answer here: the guards in SQL decide, so a failure aborts them all.
      const results = await Promise.allSettled([
        send('BEGIN'),
        send<{ n: number }>(`SELECT count(*)::int AS n FROM redis_instances WHERE addon_id = $1`, [instance.addonId]),
        send(`SELECT id FROM redis_hosts WHERE state = 'active' ORDER BY name FOR UPDATE`),
        send(CLAIM_TEXT, [instance.addonId, instance.updatedAt]),
        send<Record<string, unknown>>(text, values),
        send('COMMIT'),
      ]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw failed.reason;
      }
      const [, existing, , , inserted, commit] = results as PromiseFulfilledResult<QueryResult<QueryResultRow>>[];
      if (commit.value.command !== 'COMMIT') throw new Error(`the spare's claim ended with ${commit.value.command} instead of COMMIT`);
      const [row] = inserted.value.rows;
      const hadInstance = Number(existing.value.rows[0].n) > 0;
      if (!row) return { claimed: null, hadInstance };
      const host = unprefixed<RedisHost>(row, 'host.');
      return {
        claimed: {
          instance: { ...instance, hostId: host.id, key: row.key as string, nodePorts: [row.port as number], internalPasswordSealed: row.internalPasswordSealed as string },
          host,
        },
        hadInstance,
      };
    } finally {
      await runner.release();
    }
  }

  /** INSERT … SELECT of the instance from its claimed spare (every column from `instance` but those the spare gives), returning it with its host. */
  private claimStatement(instance: RedisInstance): { text: string; values: unknown[] } {
    const columns = this.m.connection.getMetadata(RedisInstanceEntity).columns;
    const values: unknown[] = [instance.addonId];
    const expressions: string[] = [];
    for (const column of columns) {
      if (FROM_SPARE[column.databaseName]) {
        expressions.push(FROM_SPARE[column.databaseName]);
        continue;
      }
      values.push((instance as unknown as Record<string, unknown>)[column.propertyName] ?? null);
      expressions.push(`$${values.length}::${String(column.type)}${column.isArray ? '[]' : ''}`);
    }
    let text = claimTexts.get('claim');
    if (text === undefined) {
      // A retry's add-on has its instance already (and maybe its claimed spare's row): nothing is inserted then.
      text = `WITH ins AS (
                INSERT INTO redis_instances (${columns.map((c) => c.databaseName).join(', ')})
                SELECT ${expressions.join(', ')} FROM redis_spares s
                 WHERE s.addon_id = $1 AND s.state = 'claimed' AND NOT EXISTS (SELECT 1 FROM redis_instances i WHERE i.addon_id = $1)
                RETURNING key, node_ports[1] AS port, internal_password_sealed, host_id)
              SELECT ins.key, ins.port, ins.internal_password_sealed AS "internalPasswordSealed", ${selectList(this.m, RedisHostEntity, 'h', 'host.')}
                FROM ins JOIN redis_hosts h ON h.id = ins.host_id`;
      claimTexts.set('claim', text);
    }
    return { text, values };
  }

  async findClaimedBy(addonId: string): Promise<RedisSpare | null> {
    if (!isUuid(addonId)) return null;
    const [row] = await query<RedisSpare[]>(this.m, `SELECT ${selectList(this.m, RedisSpareEntity, 's')} FROM redis_spares s WHERE s.addon_id = $1`, [addonId]);
    return row ?? null;
  }

  async lockUnclaimed(id: string): Promise<RedisSpare | null> {
    if (!isUuid(id)) return null;
    const [row] = await query<RedisSpare[]>(
      this.m,
      `SELECT ${selectList(this.m, RedisSpareEntity, 's')} FROM redis_spares s WHERE s.id = $1 AND s.state IN ('starting', 'ready') FOR UPDATE SKIP LOCKED`,
      [id],
    );
    return row ?? null;
  }

  async markReady(id: string, now: Date): Promise<boolean> {
    const rows = await query<unknown[]>(this.m, `UPDATE redis_spares SET state = 'ready', updated_at = $2 WHERE id = $1 AND state = 'starting' RETURNING id`, [id, now]);
    return rows.length > 0;
  }

  async markDiscarding(id: string, now: Date): Promise<boolean> {
    const rows = await query<unknown[]>(
      this.m,
      `UPDATE redis_spares SET state = 'discarding', updated_at = $2 WHERE id = $1 AND state IN ('starting', 'ready') RETURNING id`,
      [id, now],
    );
    return rows.length > 0;
  }

  async remove(id: string): Promise<void> {
    if (!isUuid(id)) return;
    // One statement (the foreign key is checked at its end), so it is whole outside a transaction too.
    await query(this.m, `WITH p AS (DELETE FROM redis_ports WHERE spare_id = $1) DELETE FROM redis_spares WHERE id = $1`, [id]);
  }
}
