import { Injectable } from '@nestjs/common';
import { Clock, InvalidInputError, NotFoundError } from '@app/common';
import { Account } from '../shared/models';
import { Store } from '../shared/store.port';
import { BrowserSessionRepository } from './browser-session.repository';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, PasswordHasher } from './password-hasher';

/** Passwords for signing in to Attache's pages (API calls keep using API keys). */
@Injectable()
export class AccountPasswords {
  constructor(
    private readonly store: Store,
    private readonly sessions: BrowserSessionRepository,
    private readonly hasher: PasswordHasher,
    private readonly clock: Clock,
  ) {}

  /**
   * Sets the password of the account with `email` (the admin CLI) and signs out every browser of
   * the account, as a password reset should.
   */
  async setByEmail(email: string, password: string): Promise<Account> {
    const account = await this.store.accounts.findByEmail(email.trim().toLowerCase());
    if (!account) throw new NotFoundError('account', `No account with email ${email}.`);
    await this.set(account.id, password, null);
    return account;
  }

  /** Checks the password rules, hashes it and stores it, ending every session but `keepSessionIdHash`. */
  async set(accountId: string, password: string, keepSessionIdHash: string | null): Promise<void> {
    if (password.length < MIN_PASSWORD_LENGTH) throw new InvalidInputError(`A password has at least ${MIN_PASSWORD_LENGTH} characters.`);
    if (password.length > MAX_PASSWORD_LENGTH) throw new InvalidInputError(`A password has at most ${MAX_PASSWORD_LENGTH} characters.`);
    const hash = await this.hasher.hash(password);
    await this.sessions.changePassword(accountId, hash, this.clock.now(), keepSessionIdHash);
  }

  async hasPassword(accountId: string): Promise<boolean> {
    return (await this.sessions.findPasswordHash(accountId)) !== null;
  }

  /** Whether `password` is the account's; an account without a password never matches (after the same work). */
  async matches(accountId: string | null, password: string): Promise<boolean> {
    return (await this.check(accountId, password)) !== null;
  }

  /**
   * The account's stored hash when `password` is its password (after upgrading a hash made with
   * weaker parameters while the password is at hand), or null: a sign-in starts its session only
   * while that hash is still the account's. An account without a password never matches (after
   * the same work); neither does a password replaced while it was being checked.
   */
  async check(accountId: string | null, password: string): Promise<string | null> {
    const stored = accountId === null ? null : await this.sessions.findPasswordHash(accountId);
    if (stored === null || password.length > MAX_PASSWORD_LENGTH) {
      await this.hasher.burn(password.slice(0, MAX_PASSWORD_LENGTH));
      return null;
    }
    if (!(await this.hasher.verify(password, stored))) return null;
    if (accountId === null || !this.hasher.needsRehash(stored)) return stored;
    const upgraded = await this.hasher.hash(password);
    return (await this.sessions.upgradePasswordHash(accountId, upgraded, this.clock.now(), stored)) ? upgraded : null;
  }
}
