import { EntityManager } from 'typeorm';
import { Page, RangeSpec } from '@app/common';
import { PostgresRestore, PostgresRestoreRepository } from '@app/domain';
import { PostgresRestoreEntity } from '../entities';
import { paginate } from './paginate';
import { isUuid } from './query-helpers';
import { insertRow, query, setClause } from './sql';

export class TypeOrmPostgresRestores implements PostgresRestoreRepository {
  constructor(private readonly m: EntityManager) {}

  async create(restore: PostgresRestore): Promise<void> {
    const insert = insertRow(this.m, PostgresRestoreEntity, restore);
    await query(this.m, insert.text, insert.values);
  }

  findById(id: string): Promise<PostgresRestore | null> {
    return isUuid(id) ? this.m.findOneBy(PostgresRestoreEntity, { id }) : Promise.resolve(null);
  }

  listForAddon(addonId: string, range: RangeSpec): Promise<Page<PostgresRestore>> {
    const qb = this.m.createQueryBuilder(PostgresRestoreEntity, 'x').where('x.addon_id = :addonId', { addonId });
    return paginate(qb, range, { id: 'x.id', created_at: 'x.created_at' }, (r) => (range.field === 'id' ? r.id : r.createdAt.toISOString()));
  }

  listUnfinished(olderThan: Date, limit: number): Promise<PostgresRestore[]> {
    return this.m
      .createQueryBuilder(PostgresRestoreEntity, 'x')
      .where(`x.state IN ('pending', 'running') AND x.created_at < :olderThan`, { olderThan })
      .orderBy('x.created_at')
      .take(limit)
      .getMany();
  }

  async isBackupInUse(backupId: string): Promise<boolean> {
    return this.m.exists(PostgresRestoreEntity, { where: [{ backupId, state: 'pending' }, { backupId, state: 'running' }] });
  }

  async update(id: string, patch: Partial<PostgresRestore>): Promise<void> {
    const { assignments, values } = setClause(this.m, PostgresRestoreEntity, patch, 2);
    if (assignments === '') return;
    await query(this.m, `UPDATE postgres_restores SET ${assignments} WHERE id = $1`, [id, ...values]);
  }
}
