import { createHmac, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock, DomainError, constantTimeEqual, hashSecret } from '@app/common';
import { AccountsService } from '../accounts/accounts.service';
import { Account } from '../shared/models';
import { Store } from '../shared/store.port';
import { AccountPasswords } from './account-passwords.service';
import { BrowserSessionRepository } from './browser-session.repository';
import { SignInAttempt, SignInThrottle } from './sign-in-throttle.port';

/** A session lasts at most this long after sign-in… */
export const SESSION_TTL_MS = 12 * 3600_000;
/** …and ends sooner after this long without a request. */
export const SESSION_IDLE_MS = 2 * 3600_000;
/** `last_seen_at` is written at most this often per session. */
const TOUCH_EVERY_MS = 60_000;

/** The one answer to every failed sign-in, so it never tells which part was wrong or whether the email exists. */
export const SIGN_IN_FAILED = 'Those credentials are not valid.';

export interface SignedIn {
  /** The session's id: goes into the cookie and nowhere else. */
  sessionId: string;
  account: Account;
  expiresAt: Date;
}

export interface CurrentSession {
  account: Account;
  idHash: string;
  expiresAt: Date;
  /** The token that state-changing forms of this session carry. */
  csrfToken: string;
}

/**
 * Browser sessions for Attache's own pages (docs/sso.md): sign in with email and password or an
 * API key, look a session up from its cookie, sign out. Sessions are rows (they survive restarts
 * and are shared by every API process); the id is 256 random bits, stored as its SHA-256.
 */
@Injectable()
export class BrowserSessions {
  constructor(
    private readonly store: Store,
    private readonly sessions: BrowserSessionRepository,
    private readonly passwords: AccountPasswords,
    private readonly accounts: AccountsService,
    private readonly throttle: SignInThrottle,
    private readonly clock: Clock,
  ) {}

  async signInWithPassword(email: string, password: string, ip: string): Promise<SignedIn> {
    const normalized = email.trim().toLowerCase();
    const attempt = { email: normalized, ip };
    await this.begin(attempt);
    const account = normalized ? await this.store.accounts.findByEmail(normalized) : null;
    const checkedHash = await this.passwords.check(account?.id ?? null, password);
    // The session starts only while the password is still the one checked (not replaced meanwhile).
    const signedIn = account && checkedHash ? await this.start(account, checkedHash) : null;
    if (!signedIn) return this.failed();
    await this.throttle.succeeded(attempt);
    return signedIn;
  }

  async signInWithApiKey(apiKey: string, ip: string): Promise<SignedIn> {
    const attempt = { ip };
    await this.begin(attempt);
    const account = await this.accounts.authenticate(apiKey.trim());
    if (!account) return this.failed();
    const signedIn = (await this.start(account, null))!;
    await this.throttle.succeeded(attempt);
    return signedIn;
  }

  /** The session behind a cookie value, or null when it is unknown, expired or idle too long (then it is deleted). */
  async current(sessionId: string | undefined): Promise<CurrentSession | null> {
    if (!sessionId || sessionId.length > 200) return null;
    const idHash = hashSecret(sessionId);
    const session = await this.sessions.find(idHash);
    if (!session) return null;
    const now = this.clock.now();
    if (session.expiresAt <= now || session.lastSeenAt.getTime() + SESSION_IDLE_MS <= now.getTime()) {
      await this.sessions.delete(idHash);
      return null;
    }
    const account = await this.store.accounts.findById(session.accountId);
    if (!account) return null;
    if (now.getTime() - session.lastSeenAt.getTime() >= TOUCH_EVERY_MS) await this.sessions.touch(idHash, now);
    return { account, idHash, expiresAt: session.expiresAt, csrfToken: this.csrfTokenFor(sessionId) };
  }

  /**
   * A signed-in developer sets a new password: the current one is required when there is one
   * (each check counts against the sign-in throttle, as a sign-in would), and every other session
   * of the account ends.
   */
  async changePassword(session: CurrentSession, currentPassword: string, newPassword: string, ip: string): Promise<void> {
    if (await this.passwords.hasPassword(session.account.id)) {
      const attempt = { email: session.account.email, ip };
      await this.begin(attempt);
      if (!(await this.passwords.matches(session.account.id, currentPassword))) {
        throw new DomainError('forbidden', 'invalid_current_password', 'The current password is not right.');
      }
      await this.throttle.succeeded(attempt);
    }
    await this.passwords.set(session.account.id, newPassword, session.idHash);
  }

  async signOut(sessionId: string | undefined): Promise<void> {
    if (sessionId) await this.sessions.delete(hashSecret(sessionId));
  }

  /**
   * A keyed hash of the session id: unguessable without the cookie, nothing to store, and
   * different from the stored SHA-256, so the table does not reveal it either.
   */
  csrfTokenFor(sessionId: string): string {
    return createHmac('sha256', sessionId).update('attache-csrf').digest('base64url');
  }

  /** Constant-time check of a form's token against the session's. */
  csrfTokenMatches(session: CurrentSession, token: unknown): boolean {
    return typeof token === 'string' && constantTimeEqual(token, session.csrfToken);
  }

  /** A new session, or null when `checkedHash` (a password sign-in's) is no longer the account's password. */
  private async start(account: Account, checkedHash: string | null): Promise<SignedIn | null> {
    const now = this.clock.now();
    await this.sessions.deleteEnded(account.id, now, new Date(now.getTime() - SESSION_IDLE_MS));
    const sessionId = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
    const created = await this.sessions.create({ idHash: hashSecret(sessionId), accountId: account.id, createdAt: now, lastSeenAt: now, expiresAt }, checkedHash);
    return created ? { sessionId, account, expiresAt } : null;
  }

  /** Counts the attempt before any credential is checked (one step in the throttle), or refuses it. */
  private async begin(attempt: SignInAttempt): Promise<void> {
    const wait = await this.throttle.begin(attempt);
    if (wait > 0) {
      throw new DomainError('rate_limited', 'too_many_sign_in_attempts', `Too many failed sign-in attempts. Try again in ${Math.ceil(wait / 60)} minute(s).`);
    }
  }

  /** A failed attempt stays counted by the throttle. */
  private failed(): never {
    throw new DomainError('unauthorized', 'invalid_credentials', SIGN_IN_FAILED);
  }
}
