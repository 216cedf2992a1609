import { EntityManager } from 'typeorm';
import { PostgresDatabase, PostgresDatabaseRepository } from '@app/domain';
import { PostgresDatabaseEntity } from '../entities';
import { isUuid } from './query-helpers';
import { insertRow, query, setClause } from './sql';

export class TypeOrmPostgresDatabases implements PostgresDatabaseRepository {
  constructor(private readonly m: EntityManager) {}

  async create(database: PostgresDatabase): Promise<void> {
    const insert = insertRow(this.m, PostgresDatabaseEntity, database);
    await query(this.m, insert.text, insert.values);
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
}
