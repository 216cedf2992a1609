import { EntityManager } from 'typeorm';
import { Page, RangeSpec } from '@app/common';
import { PostgresBackup, PostgresBackupRepository } from '@app/domain';
import { PostgresBackupEntity } from '../entities';
import { paginate } from './paginate';
import { isUuid, MAX_INTEGER } from './query-helpers';
import { query, selectList, setClause } from './sql';

/** First key of the advisory locks that serialise numbering an add-on's backups (the second is the add-on's). */
const NUMBERING_LOCK = 727101;

export class TypeOrmPostgresBackups implements PostgresBackupRepository {
  constructor(private readonly m: EntityManager) {}

  create(backup: Omit<PostgresBackup, 'number'>): Promise<PostgresBackup> {
    return this.insertNumbered(backup, '') as Promise<PostgresBackup>;
  }

  async createScheduledIfAbsent(backup: Omit<PostgresBackup, 'number'>): Promise<PostgresBackup | null> {
    if (backup.kind !== 'scheduled' || backup.scheduledFor === null) {
      throw new Error('createScheduledIfAbsent takes a scheduled backup with its day');
    }
    // The arbiter is the partial unique index on (addon_id, scheduled_for) of scheduled backups.
    return this.insertNumbered(backup, `ON CONFLICT (addon_id, scheduled_for) WHERE kind = 'scheduled' DO NOTHING`);
  }

  findById(id: string): Promise<PostgresBackup | null> {
    return isUuid(id) ? this.m.findOneBy(PostgresBackupEntity, { id }) : Promise.resolve(null);
  }

  findByAddonAndNumber(addonId: string, kind: PostgresBackup['kind'], number: number): Promise<PostgresBackup | null> {
    // Out of the column's range is simply not found.
    if (!isUuid(addonId) || !Number.isInteger(number) || Math.abs(number) > MAX_INTEGER) return Promise.resolve(null);
    return this.m.findOneBy(PostgresBackupEntity, { addonId, kind, number });
  }

  listForAddon(addonId: string, range: RangeSpec): Promise<Page<PostgresBackup>> {
    const qb = this.m.createQueryBuilder(PostgresBackupEntity, 'x').where('x.addon_id = :addonId', { addonId });
    return paginate(qb, range, { id: 'x.id', created_at: 'x.created_at' }, (b) => (range.field === 'id' ? b.id : b.createdAt.toISOString()));
  }

  async listExpired(addonId: string, kind: PostgresBackup['kind'], keep: number): Promise<PostgresBackup[]> {
    const beyond = await this.m.find(PostgresBackupEntity, {
      where: { addonId, kind, state: 'completed' },
      order: { number: 'DESC' },
      skip: Math.max(0, keep),
    });
    return beyond.reverse();
  }

  listUnfinished(olderThan: Date, limit: number): Promise<PostgresBackup[]> {
    return this.m
      .createQueryBuilder(PostgresBackupEntity, 'x')
      .where(`x.state IN ('pending', 'running') AND x.created_at < :olderThan`, { olderThan })
      .orderBy('x.created_at')
      .take(limit)
      .getMany();
  }

  async update(id: string, patch: Partial<PostgresBackup>): Promise<void> {
    const { assignments, values } = setClause(this.m, PostgresBackupEntity, patch, 2);
    if (assignments === '') return;
    await query(this.m, `UPDATE postgres_backups SET ${assignments} WHERE id = $1`, [id, ...values]);
  }

  async delete(id: string): Promise<void> {
    await query(this.m, 'DELETE FROM postgres_backups WHERE id = $1', [id]);
  }

  async deleteAllForAddon(addonId: string): Promise<PostgresBackup[]> {
    // TypeORM answers a DELETE with [rows, row count].
    const [rows] = await query<[Record<string, unknown>[], number]>(
      this.m,
      `DELETE FROM postgres_backups WHERE addon_id = $1 RETURNING ${selectList(this.m, PostgresBackupEntity, 'postgres_backups')}`,
      [addonId],
    );
    return rows.map((row) => this.hydrated(row));
  }

  /**
   * Inserts the backup numbered one past the add-on's highest of its kind. An advisory lock on
   * the add-on, held to the end of the transaction, makes concurrent creates take turns; the
   * INSERT runs as a later statement than the lock, so its snapshot sees the row of whoever held
   * the lock before (in the locking statement's snapshot it would not, and both would take the
   * same number). Outside a transaction it opens one, for the lock to cover the INSERT.
   */
  private insertNumbered(backup: Omit<PostgresBackup, 'number'>, onConflict: string): Promise<PostgresBackup | null> {
    return inTransaction(this.m, async (m) => {
      await query(m, 'SELECT pg_advisory_xact_lock($1, hashtext($2))', [NUMBERING_LOCK, backup.addonId]);
      const record = backup as Record<string, unknown>;
      const values: unknown[] = [];
      const columns = m.connection.getMetadata(PostgresBackupEntity).columns;
      const select = columns.map((c) => (c.propertyName === 'number' ? 'COALESCE(MAX(b.number), 0) + 1' : `$${values.push(record[c.propertyName] ?? null)}`));
      const addonParam = values.push(backup.addonId);
      const kindParam = values.push(backup.kind);
      const rows = await query<{ number: number }[]>(
        m,
        `INSERT INTO postgres_backups (${columns.map((c) => c.databaseName).join(', ')})
         SELECT ${select.join(', ')} FROM postgres_backups b WHERE b.addon_id = $${addonParam} AND b.kind = $${kindParam}
         ${onConflict} RETURNING number`,
        values,
      );
      return rows.length > 0 ? { ...backup, number: rows[0].number } : null;
    });
  }

  /** A row from hand-written SQL in the entity's shape: pg gives bigint as a string and `date` as a Date. */
  private hydrated(row: Record<string, unknown>): PostgresBackup {
    const { driver } = this.m.connection;
    const backup: Record<string, unknown> = {};
    for (const column of this.m.connection.getMetadata(PostgresBackupEntity).columns) {
      backup[column.propertyName] = driver.prepareHydratedValue(row[column.propertyName], column);
    }
    return backup as unknown as PostgresBackup;
  }
}

/** Runs `work` in the manager's transaction, or in a new one when the manager has none. */
function inTransaction<T>(m: EntityManager, work: (m: EntityManager) => Promise<T>): Promise<T> {
  return m.queryRunner?.isTransactionActive ? work(m) : m.connection.transaction(work);
}
