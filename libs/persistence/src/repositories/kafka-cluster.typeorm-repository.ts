import { EntityManager } from 'typeorm';
import { KafkaCluster, KafkaClusterRepository } from '@app/domain';
import { KafkaClusterEntity } from '../entities';
import { isUuid, storable } from './query-helpers';
import { insertRow, query, selectList } from './sql';

/** Columns an upsert leaves alone: the cluster keeps its identity and registration time. */
const KEPT_ON_UPSERT = new Set(['id', 'name', 'created_at']);

export class TypeOrmKafkaClusters implements KafkaClusterRepository {
  constructor(private readonly m: EntityManager) {}

  async upsertByName(cluster: KafkaCluster): Promise<KafkaCluster> {
    const insert = insertRow(this.m, KafkaClusterEntity, cluster);
    const updates = this.m.connection
      .getMetadata(KafkaClusterEntity)
      .columns.filter((c) => !KEPT_ON_UPSERT.has(c.databaseName))
      .map((c) => `${c.databaseName} = EXCLUDED.${c.databaseName}`)
      .join(', ');
    const [row] = await query<KafkaCluster[]>(
      this.m,
      `${insert.text} ON CONFLICT (name) DO UPDATE SET ${updates} RETURNING ${selectList(this.m, KafkaClusterEntity, 'kafka_clusters')}`,
      insert.values,
    );
    return row;
  }

  list(): Promise<KafkaCluster[]> {
    return this.m.find(KafkaClusterEntity, { order: { name: 'ASC' } });
  }

  findById(id: string): Promise<KafkaCluster | null> {
    return isUuid(id) ? this.m.findOneBy(KafkaClusterEntity, { id }) : Promise.resolve(null);
  }

  findByName(name: string): Promise<KafkaCluster | null> {
    return storable(name) ? this.m.findOneBy(KafkaClusterEntity, { name }) : Promise.resolve(null);
  }

  async countActiveTenants(): Promise<Map<string, number>> {
    const rows = await query<{ clusterId: string; count: number }[]>(
      this.m,
      `SELECT cluster_id AS "clusterId", count(*)::int AS count FROM kafka_tenants WHERE state = 'active' GROUP BY cluster_id`,
      [],
    );
    return new Map(rows.map((r) => [r.clusterId, r.count]));
  }

  async lockLeastLoaded(): Promise<KafkaCluster | null> {
    // Lock every active cluster (in one order, so placements never deadlock), and only then count,
    // in a later statement: its snapshot sees the tenants of any placement that held the locks
    // before us. Counting in the locking statement would use a snapshot taken before the wait
    // and miss them.
    // Both are sent at once (the connection pipelines); PostgreSQL still runs the count after the lock.
    const [, [row]] = await Promise.all([
      query<{ id: string }[]>(this.m, `SELECT id FROM kafka_clusters WHERE state = 'active' ORDER BY name FOR UPDATE`, []),
      query<KafkaCluster[]>(
        this.m,
        `SELECT ${selectList(this.m, KafkaClusterEntity, 'k')}
           FROM kafka_clusters k
          CROSS JOIN LATERAL (SELECT count(*) AS n FROM kafka_tenants t WHERE t.cluster_id = k.id AND t.state = 'active') c
          WHERE k.state = 'active' AND c.n < k.capacity
          ORDER BY c.n::numeric / k.capacity, c.n, k.name
          LIMIT 1`,
        [],
      ),
    ]);
    return row ?? null;
  }
}
