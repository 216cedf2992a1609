import { Injectable } from '@nestjs/common';
import { ConflictError, InvalidInputError, NotFoundError, hashSecret, randomToken } from '@app/common';
import { Account } from '../shared/models';
import { Store } from '../shared/store.port';

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** Developer API keys; the prefix tells them apart from partner OAuth tokens at a glance. */
export const API_KEY_PREFIX = 'atk_';

const KEY_CACHE_MS = 10_000;
const KEY_CACHE_SIZE = 10_000;

@Injectable()
export class AccountsService {
  private readonly recentKeys = new Map<string, { account: Account; until: number }>();

  constructor(private readonly store: Store) {}

  async createAccount(email: string, name?: string): Promise<{ account: Account; apiKey: string }> {
    const normalized = email.trim().toLowerCase();
    if (!EMAIL_RE.test(normalized)) throw new InvalidInputError(`"${email}" is not a valid email address.`);
    return this.store.transaction(async (tx) => {
      if (await tx.accounts.findByEmail(normalized)) {
        throw new ConflictError('account_exists', `An account with email ${normalized} already exists.`);
      }
      const account = await tx.accounts.create({ email: normalized, name: name ?? null });
      const apiKey = await this.issueKey(tx, account.id, 'initial');
      return { account, apiKey };
    });
  }

  async createApiKey(email: string, label = 'cli'): Promise<string> {
    const account = await this.store.accounts.findByEmail(email.trim().toLowerCase());
    if (!account) throw new NotFoundError('account', `No account with email ${email}.`);
    return this.issueKey(this.store, account.id, label);
  }

  /**
   * Every request authenticates, so a found key is remembered for a few seconds per process;
   * unknown keys are never cached (a new key works at once).
   */
  async authenticate(apiKey: string): Promise<Account | null> {
    if (!apiKey.startsWith(API_KEY_PREFIX)) return null;
    const hash = hashSecret(apiKey);
    const cached = this.recentKeys.get(hash);
    if (cached && cached.until > Date.now()) return cached.account;
    const account = await this.store.accounts.findByApiKeyHash(hash);
    if (account) {
      if (this.recentKeys.size >= KEY_CACHE_SIZE) this.recentKeys.delete(this.recentKeys.keys().next().value!);
      this.recentKeys.set(hash, { account, until: Date.now() + KEY_CACHE_MS });
    }
    return account;
  }

  private async issueKey(store: Store, accountId: string, label: string): Promise<string> {
    const key = randomToken(40, API_KEY_PREFIX);
    await store.accounts.addApiKey(accountId, hashSecret(key), label);
    return key;
  }
}
