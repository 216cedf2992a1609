import { EntityManager } from 'typeorm';
import { RedisInstance, RedisInstanceRepository } from '@app/domain';
import { RedisInstanceEntity } from '../entities';
import { isUuid } from './query-helpers';
import { insertRow, query, setClause } from './sql';

// Reads go through TypeORM rather than `query`: raw rows would skip the bigint transformer.
export class TypeOrmRedisInstances implements RedisInstanceRepository {
  constructor(private readonly m: EntityManager) {}

  async create(instance: RedisInstance): Promise<void> {
    const insert = insertRow(this.m, RedisInstanceEntity, instance);
    await query(this.m, insert.text, insert.values);
  }

  findByAddon(addonId: string): Promise<RedisInstance | null> {
    return isUuid(addonId) ? this.m.findOneBy(RedisInstanceEntity, { addonId }) : Promise.resolve(null);
  }

  findByAddonForUpdate(addonId: string): Promise<RedisInstance | null> {
    if (!isUuid(addonId)) return Promise.resolve(null);
    return this.m.createQueryBuilder(RedisInstanceEntity, 'i').setLock('pessimistic_write').where('i.addon_id = :addonId', { addonId }).getOne();
  }

  async update(addonId: string, patch: Partial<RedisInstance>): Promise<void> {
    const { assignments, values } = setClause(this.m, RedisInstanceEntity, patch, 2);
    if (assignments === '') return;
    await query(this.m, `UPDATE redis_instances SET ${assignments} WHERE addon_id = $1`, [addonId, ...values]);
  }

  listActive(): Promise<RedisInstance[]> {
    return this.m.find(RedisInstanceEntity, { where: { state: 'active' }, order: { createdAt: 'ASC', addonId: 'ASC' } });
  }

  listPendingRotation(olderThan: Date, limit: number): Promise<RedisInstance[]> {
    // Ordered by pending_since, the column of the partial index on pending rotations.
    return this.m
      .createQueryBuilder(RedisInstanceEntity, 'i')
      .where('i.pending_password_sealed IS NOT NULL AND i.pending_since < :olderThan', { olderThan })
      .orderBy('i.pending_since')
      .addOrderBy('i.addon_id')
      .take(limit)
      .getMany();
  }
}
