import { EntityManager } from 'typeorm';
import { PostgresBackend, PostgresBackendRepository } from '@app/domain';
import { PostgresBackendEntity } from '../entities';
import { isUuid, storable } from './query-helpers';
import { insertRow, query, selectList } from './sql';

/** Columns an upsert leaves alone: the backend keeps its identity and registration time. */
const KEPT_ON_UPSERT = new Set(['id', 'name', 'created_at']);

export class TypeOrmPostgresBackends implements PostgresBackendRepository {
  constructor(private readonly m: EntityManager) {}

  async upsertByName(backend: PostgresBackend): Promise<PostgresBackend> {
    const insert = insertRow(this.m, PostgresBackendEntity, backend);
    const updates = this.m.connection
      .getMetadata(PostgresBackendEntity)
      .columns.filter((c) => !KEPT_ON_UPSERT.has(c.databaseName))
      .map((c) => `${c.databaseName} = EXCLUDED.${c.databaseName}`)
      .join(', ');
    const [row] = await query<PostgresBackend[]>(
      this.m,
      `${insert.text} ON CONFLICT (name) DO UPDATE SET ${updates} RETURNING ${selectList(this.m, PostgresBackendEntity, 'postgres_backends')}`,
      insert.values,
    );
    return row;
  }

  list(): Promise<PostgresBackend[]> {
    return this.m.find(PostgresBackendEntity, { order: { name: 'ASC' } });
  }

  findById(id: string): Promise<PostgresBackend | null> {
    return isUuid(id) ? this.m.findOneBy(PostgresBackendEntity, { id }) : Promise.resolve(null);
  }

  findByName(name: string): Promise<PostgresBackend | null> {
    return storable(name) ? this.m.findOneBy(PostgresBackendEntity, { name }) : Promise.resolve(null);
  }

  async countActiveDatabases(): Promise<Map<string, number>> {
    const rows = await query<{ backendId: string; count: number }[]>(
      this.m,
      `SELECT backend_id AS "backendId", count(*)::int AS count FROM postgres_databases WHERE state = 'active' GROUP BY backend_id`,
      [],
    );
    return new Map(rows.map((r) => [r.backendId, r.count]));
  }

  async lockLeastLoaded(): Promise<PostgresBackend | null> {
    // Lock every active backend (in one order, so placements never deadlock), and only then
    // count, in a later statement: its snapshot sees the databases of any placement that held
    // the locks before us. Counting in the locking statement would use a snapshot taken before
    // the wait and miss them.
    // Both are sent at once (the connection pipelines); PostgreSQL still runs the count after the lock.
    const [, [row]] = await Promise.all([
      query<{ id: string }[]>(this.m, `SELECT id FROM postgres_backends WHERE state = 'active' ORDER BY name FOR UPDATE`, []),
      query<PostgresBackend[]>(
        this.m,
        `SELECT ${selectList(this.m, PostgresBackendEntity, 'b')}
           FROM postgres_backends b
          CROSS JOIN LATERAL (SELECT count(*) AS n FROM postgres_databases d WHERE d.backend_id = b.id AND d.state = 'active') c
          WHERE b.state = 'active' AND c.n < b.capacity
          ORDER BY c.n::numeric / b.capacity, c.n, b.name
          LIMIT 1`,
        [],
      ),
    ]);
    return row ?? null;
  }
}
