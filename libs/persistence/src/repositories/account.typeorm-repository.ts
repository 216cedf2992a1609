import { EntityManager } from 'typeorm';
import { newId } from '@app/common';
import { Account, AccountRepository } from '@app/domain';
import { AccountEntity, ApiKeyEntity } from '../entities';
import { isUuid, storable } from './query-helpers';

export class TypeOrmAccounts implements AccountRepository {
  constructor(private readonly m: EntityManager) {}
  async create(input: { email: string; name?: string | null; isOperator?: boolean }): Promise<Account> {
    const now = new Date();
    const account: Account = { id: newId(), email: input.email, name: input.name ?? null, isOperator: input.isOperator ?? false, createdAt: now, updatedAt: now };
    await this.m.insert(AccountEntity, account);
    return account;
  }
  findById(id: string) {
    return isUuid(id) ? this.m.findOneBy(AccountEntity, { id }) : Promise.resolve(null);
  }
  findByEmail(email: string) {
    if (!storable(email)) return Promise.resolve(null);
    return this.m.createQueryBuilder(AccountEntity, 'a').where('lower(a.email) = lower(:email)', { email }).getOne();
  }
  async addApiKey(accountId: string, tokenHash: string, label: string): Promise<void> {
    await this.m.insert(ApiKeyEntity, { id: newId(), accountId, tokenHash, label, createdAt: new Date() });
  }
  findByApiKeyHash(tokenHash: string) {
    return this.m
      .createQueryBuilder(AccountEntity, 'a')
      .innerJoin(ApiKeyEntity, 'k', 'k.account_id = a.id')
      .where('k.token_hash = :tokenHash', { tokenHash })
      .getOne();
  }
}
