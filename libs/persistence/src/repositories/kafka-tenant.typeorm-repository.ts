import { EntityManager } from 'typeorm';
import { KafkaTenant, KafkaTenantRepository } from '@app/domain';
import { KafkaTenantEntity } from '../entities';
import { isUuid, storable } from './query-helpers';
import { insertRow, query, setClause } from './sql';

export class TypeOrmKafkaTenants implements KafkaTenantRepository {
  constructor(private readonly m: EntityManager) {}

  async create(tenant: KafkaTenant): Promise<void> {
    // No ON CONFLICT: a prefix or username already used must fail the transaction, not be skipped.
    const insert = insertRow(this.m, KafkaTenantEntity, tenant);
    await query(this.m, insert.text, insert.values);
  }

  findByAddon(addonId: string): Promise<KafkaTenant | null> {
    return isUuid(addonId) ? this.m.findOneBy(KafkaTenantEntity, { addonId }) : Promise.resolve(null);
  }

  findByAddonForUpdate(addonId: string): Promise<KafkaTenant | null> {
    if (!isUuid(addonId)) return Promise.resolve(null);
    return this.m.createQueryBuilder(KafkaTenantEntity, 't').setLock('pessimistic_write').where('t.addon_id = :addonId', { addonId }).getOne();
  }

  async nameTaken(prefix: string, username: string): Promise<boolean> {
    // A name with NUL can be in no row (text cannot hold it); the other may still be.
    const [row] = await query<{ taken: boolean }[]>(
      this.m,
      `SELECT EXISTS (SELECT 1 FROM kafka_tenants WHERE prefix = $1 OR username = $2) AS taken`,
      [storable(prefix) ? prefix : null, storable(username) ? username : null],
    );
    return row.taken;
  }

  async update(addonId: string, patch: Partial<KafkaTenant>): Promise<void> {
    const { assignments, values } = setClause(this.m, KafkaTenantEntity, patch, 2);
    if (assignments === '' || !isUuid(addonId)) return;
    await query(this.m, `UPDATE kafka_tenants SET ${assignments} WHERE addon_id = $1`, [addonId, ...values]);
  }

  listActive(): Promise<KafkaTenant[]> {
    return this.m.find(KafkaTenantEntity, { where: { state: 'active' }, order: { createdAt: 'ASC', addonId: 'ASC' } });
  }

  listPendingRotation(olderThan: Date, limit: number): Promise<KafkaTenant[]> {
    // Ordered by pending_since, the column of the partial index on pending rotations.
    return this.m
      .createQueryBuilder(KafkaTenantEntity, 't')
      .where("t.state = 'active' AND t.pending_password_sealed IS NOT NULL AND t.pending_since < :olderThan", { olderThan })
      .orderBy('t.pending_since')
      .addOrderBy('t.addon_id')
      .take(limit)
      .getMany();
  }
}
