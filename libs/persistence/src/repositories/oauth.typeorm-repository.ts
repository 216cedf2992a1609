import { EntityManager } from 'typeorm';
import { OAuthGrantRecord, OAuthRepository, OAuthTokenRecord } from '@app/domain';
import { OAuthGrantEntity, OAuthTokenEntity } from '../entities';
import { insertRow, query } from './sql';

export class TypeOrmOAuth implements OAuthRepository {
  constructor(private readonly m: EntityManager) {}
  async createGrant(grant: OAuthGrantRecord): Promise<void> {
    const insert = insertRow(this.m, OAuthGrantEntity, grant);
    await query(this.m, insert.text, insert.values);
  }
  findGrantByCodeHashForUpdate(codeHash: string) {
    return this.m.createQueryBuilder(OAuthGrantEntity, 'g').setLock('pessimistic_write').where('g.code_hash = :codeHash', { codeHash }).getOne();
  }
  async markGrantExchanged(id: string, at: Date): Promise<void> {
    await this.m.update(OAuthGrantEntity, { id }, { exchangedAt: at });
  }
  async createToken(token: OAuthTokenRecord): Promise<void> {
    await this.m.insert(OAuthTokenEntity, token);
  }
  findTokenByAccessHash(accessHash: string) {
    return this.m.findOneBy(OAuthTokenEntity, { accessHash });
  }
  findTokenByRefreshHashForUpdate(refreshHash: string) {
    return this.m.createQueryBuilder(OAuthTokenEntity, 't').setLock('pessimistic_write').where('t.refresh_hash = :refreshHash', { refreshHash }).getOne();
  }
  async revokeToken(id: string, at: Date): Promise<void> {
    await this.m.update(OAuthTokenEntity, { id }, { revokedAt: at });
  }
  async revokeAllForAddon(addonId: string, at: Date): Promise<void> {
    await this.m.createQueryBuilder().update(OAuthTokenEntity).set({ revokedAt: at }).where('addon_id = :addonId AND revoked_at IS NULL', { addonId }).execute();
  }
}
