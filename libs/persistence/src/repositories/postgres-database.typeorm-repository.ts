import { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import { PostgresBackend, PostgresCredential, PostgresDatabase, PostgresDatabaseRepository, TenantPlacement } from '@app/domain';
import { PostgresBackendEntity, PostgresCredentialEntity, PostgresDatabaseEntity } from '../entities';
import { isUuid } from './query-helpers';
import { transactionInOneRoundTrip } from './pipelined-transaction';
import { Statement, insertRow, query, selectList, setClause, unprefixed } from './sql';

/**
 * Every active backend, locked in one order (so placements never deadlock), unless the add-on ($1)
 * has its database already: then nothing is locked, and the transaction of a placement that finds
 * its records writes nothing (no WAL to flush at its commit).
 */
const LOCK_ACTIVE_BACKENDS = `SELECT id FROM postgres_backends
  WHERE state = 'active' AND NOT EXISTS (SELECT 1 FROM postgres_databases WHERE addon_id = $1)
  ORDER BY name FOR UPDATE`;

export class TypeOrmPostgresDatabases implements PostgresDatabaseRepository {
  constructor(private readonly m: EntityManager) {}

  async create(database: PostgresDatabase): Promise<void> {
    const insert = insertRow(this.m, PostgresDatabaseEntity, database);
    await query(this.m, insert.text, insert.values);
  }

  async place(database: Omit<PostgresDatabase, 'backendId'>, owner: PostgresCredential): Promise<TenantPlacement> {
    // Two statements, sent with BEGIN and COMMIT in one round trip. The lock comes first and the
    // count in a later statement: PostgreSQL takes that statement's snapshot once the locks are
    // held, so it sees the databases of any placement that held them before (a count in the
    // locking statement would use a snapshot from before the wait and miss them). The add-on's own
    // record is looked for after the lock too, so two placements of one add-on make one record.
    const [, [row]] = await transactionInOneRoundTrip(this.m, this.placementStatements(database, owner));
    switch (row.kind) {
      case 'placed':
        return { kind: 'placed', backend: unprefixed<PostgresBackend>(row, 'b.') };
      case 'existing':
        return existingPlacement(row);
      default:
        return { kind: 'full' };
    }
  }

  async findPlacement(addonId: string, ownerName: string): Promise<Extract<TenantPlacement, { kind: 'existing' }> | null> {
    if (!isUuid(addonId)) return null;
    const [row] = await query<Record<string, unknown>[]>(
      this.m,
      `SELECT d.state AS "existingState",
              (SELECT o.password_sealed FROM postgres_credentials o WHERE o.addon_id = d.addon_id AND o.name = $2 AND o.state = 'active' LIMIT 1) AS "ownerPasswordSealed",
              ${selectList(this.m, PostgresBackendEntity, 'b', 'b.')}
         FROM postgres_databases d LEFT JOIN postgres_backends b ON b.id = d.backend_id
        WHERE d.addon_id = $1`,
      [addonId, ownerName],
    );
    return row ? existingPlacement(row) : null;
  }

  findByAddon(addonId: string): Promise<PostgresDatabase | null> {
    return isUuid(addonId) ? this.m.findOneBy(PostgresDatabaseEntity, { addonId }) : Promise.resolve(null);
  }

  async update(addonId: string, patch: Partial<PostgresDatabase>): Promise<void> {
    const { assignments, values } = setClause(this.m, PostgresDatabaseEntity, patch, 2);
    if (assignments === '') return;
    await query(this.m, `UPDATE postgres_databases SET ${assignments} WHERE addon_id = $1`, [addonId, ...values]);
  }

  listActive(): Promise<PostgresDatabase[]> {
    return this.m.find(PostgresDatabaseEntity, { where: { state: 'active' }, order: { createdAt: 'ASC', addonId: 'ASC' } });
  }

  private placementStatements(database: Omit<PostgresDatabase, 'backendId'>, owner: PostgresCredential): Statement[] {
    return [{ text: LOCK_ACTIVE_BACKENDS, values: [database.addonId] }, this.placement(database, owner)];
  }

  /**
   * Unless the add-on has a database: the least loaded active backend with room, the database on
   * it and the owner credential, in one statement. One row back: `kind` (placed, existing or
   * full), the backend's columns (`b.…`), and for an existing database its state and the active
   * owner credential's sealed password.
   */
  private placement(database: Omit<PostgresDatabase, 'backendId'>, owner: PostgresCredential): Statement {
    const values: unknown[] = [database.addonId, owner.name];
    const databaseInsert = this.insertFromSelect(PostgresDatabaseEntity, { ...database, backendId: null }, values, { backend_id: 'chosen.id' });
    const ownerInsert = this.insertFromSelect(PostgresCredentialEntity, owner, values, {});
    return {
      text: `WITH existing AS (
               SELECT backend_id, state FROM postgres_databases WHERE addon_id = $1
             ), chosen AS (
               SELECT b.id FROM postgres_backends b
                CROSS JOIN LATERAL (SELECT count(*) AS n FROM postgres_databases d WHERE d.backend_id = b.id AND d.state = 'active') c
                WHERE b.state = 'active' AND c.n < b.capacity AND NOT EXISTS (SELECT 1 FROM existing)
                  -- An add-on whose insert, pipelined ahead, was refused (its name taken) gets
                  -- nothing, rather than a foreign-key error that would abort the transaction.
                  AND EXISTS (SELECT 1 FROM addons WHERE id = $1)
                ORDER BY c.n::numeric / b.capacity, c.n, b.name
                LIMIT 1
             ), placed AS (
               ${databaseInsert} FROM chosen RETURNING backend_id
             ), owner AS (
               ${ownerInsert} FROM placed
             )
             SELECT p.kind, e.state AS "existingState",
                    CASE WHEN p.kind = 'existing' THEN
                      (SELECT o.password_sealed FROM postgres_credentials o WHERE o.addon_id = $1 AND o.name = $2 AND o.state = 'active' LIMIT 1)
                    END AS "ownerPasswordSealed",
                    ${selectList(this.m, PostgresBackendEntity, 'b', 'b.')}
               FROM (SELECT 'placed' AS kind, backend_id FROM placed
                     UNION ALL SELECT 'existing', backend_id FROM existing
                     UNION ALL SELECT 'full', NULL::uuid WHERE NOT EXISTS (SELECT 1 FROM placed) AND NOT EXISTS (SELECT 1 FROM existing)) p
               LEFT JOIN existing e ON p.kind = 'existing'
               LEFT JOIN postgres_backends b ON b.id = p.backend_id`,
      values,
    };
  }

  /**
   * `INSERT INTO table (columns) SELECT …` for a record in the domain's shape, its values added to
   * `values` as typed parameters, except the columns given as SQL in `fromSelect`.
   */
  private insertFromSelect(entity: EntityTarget<ObjectLiteral>, record: object, values: unknown[], fromSelect: Record<string, string>): string {
    const insert = insertRow(this.m, entity, record);
    const metadata = this.m.connection.getMetadata(entity);
    const columns = metadata.columns.filter((c) => !c.isGenerated);
    const selected = columns.map((column, i) => {
      if (column.databaseName in fromSelect) return fromSelect[column.databaseName];
      values.push(insert.values[i]);
      return `$${values.length}::${String(column.type)}`;
    });
    return `INSERT INTO ${metadata.tableName} (${columns.map((c) => c.databaseName).join(', ')}) SELECT ${selected.join(', ')}`;
  }
}

/** An existing placement from a row with its database's state, owner password and backend columns (`b.…`). */
function existingPlacement(row: Record<string, unknown>): Extract<TenantPlacement, { kind: 'existing' }> {
  return {
    kind: 'existing',
    state: row.existingState as PostgresDatabase['state'],
    backend: row['b.id'] === null ? null : unprefixed<PostgresBackend>(row, 'b.'),
    ownerPasswordSealed: (row.ownerPasswordSealed as string | null) ?? null,
  };
}
