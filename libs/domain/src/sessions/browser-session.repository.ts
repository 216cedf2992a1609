/** A signed-in browser. The id itself lives only in the browser's cookie; the store knows its SHA-256. */
export interface BrowserSession {
  idHash: string;
  accountId: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
}

/** Where passwords and browser sessions are kept (a table each, libs/persistence). */
export abstract class BrowserSessionRepository {
  /** The account's password hash, or null when it has none (API keys only). */
  abstract findPasswordHash(accountId: string): Promise<string | null>;
  /** Sets (or replaces) the password and ends every session of the account but `keepIdHash`, in one transaction. */
  abstract changePassword(accountId: string, passwordHash: string, at: Date, keepIdHash: string | null): Promise<void>;
  /**
   * The same password hashed with stronger parameters, only while the stored hash is still
   * `checkedHash` (the one the password was checked against); false when it changed meanwhile.
   */
  abstract upgradePasswordHash(accountId: string, passwordHash: string, at: Date, checkedHash: string): Promise<boolean>;
  /**
   * Stores a new session. With `checkedHash` (a password sign-in), only while the account's password
   * is still that hash, waiting for a password change in flight: a sign-in checked against a
   * password that has just been replaced starts nothing (false).
   */
  abstract create(session: BrowserSession, checkedHash?: string | null): Promise<boolean>;
  abstract find(idHash: string): Promise<BrowserSession | null>;
  abstract touch(idHash: string, at: Date): Promise<void>;
  /** Whether there was such a session. */
  abstract delete(idHash: string): Promise<boolean>;
  /** Removes the account's sessions that have ended (absolute expiry or idle since `idleBefore`). */
  abstract deleteEnded(accountId: string, now: Date, idleBefore: Date): Promise<void>;
}
