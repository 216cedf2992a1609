import { DomainError, hashSecret } from '@app/common';
import { FixedClock } from '../../../../test/support/fixed-clock';
import { AccountsService } from '../accounts/accounts.service';
import { Account } from '../shared/models';
import { Store } from '../shared/store.port';
import { AccountPasswords } from './account-passwords.service';
import { BrowserSession, BrowserSessionRepository } from './browser-session.repository';
import { BrowserSessions, SESSION_IDLE_MS, SESSION_TTL_MS, SIGN_IN_FAILED } from './browser-sessions.service';
import { PasswordHasher } from './password-hasher';
import { SignInAttempt, SignInThrottle } from './sign-in-throttle.port';

const ACCOUNT: Account = { id: 'acc-1', email: 'ada@example.test', name: null, isOperator: false, createdAt: new Date(0), updatedAt: new Date(0) };

class MemorySessions extends BrowserSessionRepository {
  readonly rows = new Map<string, BrowserSession>();
  readonly passwords = new Map<string, string>();
  touches = 0;
  async findPasswordHash(accountId: string) {
    return this.passwords.get(accountId) ?? null;
  }
  async changePassword(accountId: string, hash: string, _at: Date, keep: string | null) {
    this.passwords.set(accountId, hash);
    for (const [id, row] of this.rows) if (row.accountId === accountId && id !== keep) this.rows.delete(id);
  }
  async upgradePasswordHash(accountId: string, hash: string, _at: Date, checked: string) {
    if (this.passwords.get(accountId) !== checked) return false;
    this.passwords.set(accountId, hash);
    return true;
  }
  async create(session: BrowserSession, checked: string | null = null) {
    if (checked !== null && this.passwords.get(session.accountId) !== checked) return false;
    this.rows.set(session.idHash, { ...session });
    return true;
  }
  async find(idHash: string) {
    return this.rows.get(idHash) ?? null;
  }
  async touch(idHash: string, at: Date) {
    this.touches++;
    this.rows.get(idHash)!.lastSeenAt = at;
  }
  async delete(idHash: string) {
    return this.rows.delete(idHash);
  }
  async deleteEnded() {}
}

class CountingThrottle extends SignInThrottle {
  readonly started: SignInAttempt[] = [];
  readonly givenBack: SignInAttempt[] = [];
  blockedFor = 0;
  async begin(attempt: SignInAttempt) {
    if (this.blockedFor > 0) return this.blockedFor;
    this.started.push(attempt);
    return 0;
  }
  async succeeded(attempt: SignInAttempt) {
    this.givenBack.push(attempt);
  }
}

/** Fast stand-in for scrypt: the rules around it are what is under test here. */
class PlainHasher extends PasswordHasher {
  verifications = 0;
  /** Runs while a password is being checked (something else happening meanwhile). */
  duringVerify: (() => Promise<void>) | null = null;
  override async hash(password: string) {
    return `scrypt$17$8$1$plain$${password}`;
  }
  override async verify(password: string, stored: string) {
    this.verifications++;
    await this.duringVerify?.();
    return /^scrypt\$\d+\$8\$1\$plain\$/.test(stored) && stored.endsWith(`$plain$${password}`);
  }
  override async burn() {
    this.verifications++;
  }
}

describe('BrowserSessions', () => {
  let clock: FixedClock;
  let repo: MemorySessions;
  let throttle: CountingThrottle;
  let hasher: PlainHasher;
  let sessions: BrowserSessions;
  let passwords: AccountPasswords;

  beforeEach(async () => {
    clock = new FixedClock(new Date('2026-11-26T10:00:00Z'));
    repo = new MemorySessions();
    throttle = new CountingThrottle();
    hasher = new PlainHasher();
    const store = {
      accounts: { findByEmail: async (email: string) => (email === ACCOUNT.email ? ACCOUNT : null), findById: async (id: string) => (id === ACCOUNT.id ? ACCOUNT : null) },
    } as unknown as Store;
    const accounts = { authenticate: async (key: string) => (key === 'atk_good' ? ACCOUNT : null) } as unknown as AccountsService;
    passwords = new AccountPasswords(store, repo, hasher, clock);
    sessions = new BrowserSessions(store, repo, passwords, accounts, throttle, clock);
    await passwords.set(ACCOUNT.id, 'the right password', null);
  });

  const failure = (promise: Promise<unknown>) => promise.then(() => null, (error: DomainError) => ({ kind: error.kind, code: error.code, message: error.message }));

  it('signs in with the password (email in any case) into a new session stored by its hash, expiring after the TTL', async () => {
    const signedIn = await sessions.signInWithPassword('  ADA@example.test ', 'the right password', '10.0.0.1');
    expect(signedIn.account).toBe(ACCOUNT);
    expect(signedIn.sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect([...repo.rows.keys()]).toEqual([hashSecret(signedIn.sessionId)]);
    expect(signedIn.expiresAt.getTime() - clock.now().getTime()).toBe(SESSION_TTL_MS);
    expect(throttle.started).toEqual([{ email: ACCOUNT.email, ip: '10.0.0.1' }]);
    expect(throttle.givenBack).toEqual(throttle.started);
    const again = await sessions.signInWithPassword(ACCOUNT.email, 'the right password', '10.0.0.1');
    expect(again.sessionId).not.toBe(signedIn.sessionId);
  });

  it('answers every failure the same way and counts it; a throttled attempt is refused before any password check', async () => {
    const wrong = await failure(sessions.signInWithPassword(ACCOUNT.email, 'wrong', '10.0.0.1'));
    const unknown = await failure(sessions.signInWithPassword('nobody@example.test', 'the right password', '10.0.0.1'));
    const badKey = await failure(sessions.signInWithApiKey('atk_bad', '10.0.0.1'));
    for (const result of [wrong, unknown, badKey]) expect(result).toEqual({ kind: 'unauthorized', code: 'invalid_credentials', message: SIGN_IN_FAILED });
    // Each was counted before its check, and none was given back.
    expect(throttle.started).toEqual([{ email: ACCOUNT.email, ip: '10.0.0.1' }, { email: 'nobody@example.test', ip: '10.0.0.1' }, { ip: '10.0.0.1' }]);
    expect(throttle.givenBack).toEqual([]);
    // The unknown email cost the same work as the wrong password.
    expect(hasher.verifications).toBe(2);

    throttle.blockedFor = 120;
    const checked = hasher.verifications;
    expect(await failure(sessions.signInWithPassword(ACCOUNT.email, 'the right password', '10.0.0.1'))).toMatchObject({ kind: 'rate_limited', code: 'too_many_sign_in_attempts' });
    expect(hasher.verifications).toBe(checked);
    expect(repo.rows.size).toBe(0);
  });

  it('finds a live session, touching last-seen at most once a minute, and ends it after the TTL or the idle time', async () => {
    const { sessionId } = await sessions.signInWithApiKey('atk_good', '10.0.0.1');
    expect(await sessions.current(undefined)).toBeNull();
    expect(await sessions.current('forged')).toBeNull();
    const current = (await sessions.current(sessionId))!;
    expect(current.account).toBe(ACCOUNT);
    clock.at = new Date(clock.at.getTime() + 30_000);
    await sessions.current(sessionId);
    expect(repo.touches).toBe(0);
    clock.at = new Date(clock.at.getTime() + 60_000);
    await sessions.current(sessionId);
    expect(repo.touches).toBe(1);

    clock.at = new Date(clock.at.getTime() + SESSION_IDLE_MS);
    expect(await sessions.current(sessionId)).toBeNull();
    expect(repo.rows.size).toBe(0);

    const busy = await sessions.signInWithApiKey('atk_good', '10.0.0.1');
    for (let spent = 0; spent < SESSION_TTL_MS; spent += SESSION_IDLE_MS / 2) {
      expect(await sessions.current(busy.sessionId)).not.toBeNull();
      clock.at = new Date(clock.at.getTime() + SESSION_IDLE_MS / 2);
    }
    expect(await sessions.current(busy.sessionId)).toBeNull();
  });

  it('gives each session its own CSRF token, unrelated to the stored hash, checked exactly', async () => {
    const a = (await sessions.current((await sessions.signInWithApiKey('atk_good', '10.0.0.1')).sessionId))!;
    const b = (await sessions.current((await sessions.signInWithApiKey('atk_good', '10.0.0.1')).sessionId))!;
    expect(a.csrfToken).not.toBe(b.csrfToken);
    expect(a.csrfToken).not.toBe(a.idHash);
    expect(sessions.csrfTokenMatches(a, a.csrfToken)).toBe(true);
    expect(sessions.csrfTokenMatches(a, b.csrfToken)).toBe(false);
    expect(sessions.csrfTokenMatches(a, undefined)).toBe(false);
    expect(sessions.csrfTokenMatches(a, [a.csrfToken])).toBe(false);
  });

  it('changes the password only with the current one, keeping this session and ending the others', async () => {
    const mine = (await sessions.current((await sessions.signInWithApiKey('atk_good', '10.0.0.1')).sessionId))!;
    const other = await sessions.signInWithApiKey('atk_good', '10.0.0.2');
    throttle.started.length = 0;
    throttle.givenBack.length = 0;
    expect(await failure(sessions.changePassword(mine, 'wrong', 'a brand new password', '10.0.0.1'))).toMatchObject({ kind: 'forbidden', code: 'invalid_current_password' });
    expect(throttle.started).toEqual([{ email: ACCOUNT.email, ip: '10.0.0.1' }]);
    expect(throttle.givenBack).toEqual([]);
    throttle.blockedFor = 60;
    expect(await failure(sessions.changePassword(mine, 'the right password', 'a brand new password', '10.0.0.1'))).toMatchObject({ kind: 'rate_limited' });
    throttle.blockedFor = 0;
    expect(await failure(sessions.changePassword(mine, 'the right password', 'short', '10.0.0.1'))).toMatchObject({ kind: 'invalid' });
    expect(throttle.givenBack).toHaveLength(1);
    await sessions.changePassword(mine, 'the right password', 'a brand new password', '10.0.0.1');
    expect(await sessions.current(other.sessionId)).toBeNull();
    expect([...repo.rows.keys()]).toEqual([mine.idHash]);
    expect((await sessions.signInWithPassword(ACCOUNT.email, 'a brand new password', '10.0.0.1')).account).toBe(ACCOUNT);
  });

  it('starts no session for a password replaced while it was being checked, and never brings the old one back', async () => {
    hasher.duringVerify = () => passwords.set(ACCOUNT.id, 'a replacement password', null);
    expect(await failure(sessions.signInWithPassword(ACCOUNT.email, 'the right password', '10.0.0.1'))).toMatchObject({ kind: 'unauthorized', message: SIGN_IN_FAILED });
    expect(repo.rows.size).toBe(0);
    expect(throttle.givenBack).toEqual([]);

    // A weak hash is upgraded at sign-in, but not over a password set meanwhile.
    repo.passwords.set(ACCOUNT.id, 'scrypt$10$8$1$plain$an old weak password');
    hasher.duringVerify = () => passwords.set(ACCOUNT.id, 'the newest password', null);
    expect(await failure(sessions.signInWithPassword(ACCOUNT.email, 'an old weak password', '10.0.0.1'))).toMatchObject({ kind: 'unauthorized' });
    expect(repo.passwords.get(ACCOUNT.id)).toBe('scrypt$17$8$1$plain$the newest password');
    expect(repo.rows.size).toBe(0);

    hasher.duringVerify = null;
    repo.passwords.set(ACCOUNT.id, 'scrypt$10$8$1$plain$an old weak password');
    expect((await sessions.signInWithPassword(ACCOUNT.email, 'an old weak password', '10.0.0.1')).account).toBe(ACCOUNT);
    expect(repo.passwords.get(ACCOUNT.id)).toBe('scrypt$17$8$1$plain$an old weak password');
    expect(repo.rows.size).toBe(1);
  });
});
