import { EntityManager } from 'typeorm';
import { PostgresCredential, PostgresCredentialRepository } from '@app/domain';
import { PostgresCredentialEntity } from '../entities';
import { isUuid, storable } from './query-helpers';
import { insertRow, query, setClause } from './sql';

export class TypeOrmPostgresCredentials implements PostgresCredentialRepository {
  constructor(private readonly m: EntityManager) {}

  async create(credential: PostgresCredential): Promise<void> {
    const insert = insertRow(this.m, PostgresCredentialEntity, credential);
    await query(this.m, insert.text, insert.values);
  }

  findActive(addonId: string, name: string): Promise<PostgresCredential | null> {
    if (!isUuid(addonId) || !storable(name)) return Promise.resolve(null);
    return this.m.findOneBy(PostgresCredentialEntity, { addonId, name, state: 'active' });
  }

  listActive(addonId: string): Promise<PostgresCredential[]> {
    if (!isUuid(addonId)) return Promise.resolve([]);
    return this.m.find(PostgresCredentialEntity, { where: { addonId, state: 'active' }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  listAll(addonId: string): Promise<PostgresCredential[]> {
    if (!isUuid(addonId)) return Promise.resolve([]);
    return this.m.find(PostgresCredentialEntity, { where: { addonId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async update(id: string, patch: Partial<PostgresCredential>): Promise<void> {
    const { assignments, values } = setClause(this.m, PostgresCredentialEntity, patch, 2);
    if (assignments === '') return;
    await query(this.m, `UPDATE postgres_credentials SET ${assignments} WHERE id = $1`, [id, ...values]);
  }

  listDropPending(olderThan: Date, limit: number): Promise<PostgresCredential[]> {
    return this.m
      .createQueryBuilder(PostgresCredentialEntity, 'c')
      .where(`c.state = 'destroyed' AND c.role_dropped_at IS NULL AND c.destroyed_at < :olderThan`, { olderThan })
      .orderBy('c.destroyed_at')
      .take(limit)
      .getMany();
  }

  listPendingRotation(olderThan: Date, limit: number): Promise<PostgresCredential[]> {
    // Ordered by pending_since, the column of the partial index on pending changes.
    return this.m
      .createQueryBuilder(PostgresCredentialEntity, 'c')
      .where('c.pending_password_sealed IS NOT NULL AND c.pending_since < :olderThan', { olderThan })
      .orderBy('c.pending_since')
      .take(limit)
      .getMany();
  }
}
