import { DataSource } from 'typeorm';
import { BrowserSession, BrowserSessionRepository } from '@app/domain';

interface SessionRow {
  id_hash: string;
  account_id: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
}

const toSession = (row: SessionRow): BrowserSession => ({
  idHash: row.id_hash,
  accountId: row.account_id,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  expiresAt: row.expires_at,
});

/** `account_passwords` and `browser_sessions` (migration BrowserSessions1764710000000). */
export class TypeOrmBrowserSessions extends BrowserSessionRepository {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async findPasswordHash(accountId: string): Promise<string | null> {
    const rows: { password_hash: string }[] = await this.dataSource.query('SELECT password_hash FROM account_passwords WHERE account_id = $1', [accountId]);
    return rows[0]?.password_hash ?? null;
  }

  async changePassword(accountId: string, passwordHash: string, at: Date, keepIdHash: string | null): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      await m.query(
        `INSERT INTO account_passwords (account_id, password_hash, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (account_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, updated_at = EXCLUDED.updated_at`,
        [accountId, passwordHash, at],
      );
      await m.query('DELETE FROM browser_sessions WHERE account_id = $1 AND id_hash IS DISTINCT FROM $2', [accountId, keepIdHash]);
    });
  }

  async upgradePasswordHash(accountId: string, passwordHash: string, at: Date, checkedHash: string): Promise<boolean> {
    const rows: { updated: number }[] = await this.dataSource.query(
      `WITH done AS (UPDATE account_passwords SET password_hash = $2, updated_at = $3 WHERE account_id = $1 AND password_hash = $4 RETURNING 1)
       SELECT count(*)::int AS updated FROM done`,
      [accountId, passwordHash, at, checkedHash],
    );
    return rows[0].updated > 0;
  }

  async create(session: BrowserSession, checkedHash: string | null = null): Promise<boolean> {
    // FOR SHARE waits for a password change holding the row, then re-reads it: a replaced hash no longer matches.
    const rows: { created: number }[] = await this.dataSource.query(
      `WITH made AS (
         INSERT INTO browser_sessions (id_hash, account_id, created_at, last_seen_at, expires_at)
         SELECT $1::text, $2::uuid, $3::timestamptz, $4::timestamptz, $5::timestamptz
         WHERE $6::text IS NULL OR EXISTS (SELECT 1 FROM account_passwords WHERE account_id = $2::uuid AND password_hash = $6::text FOR SHARE)
         RETURNING 1)
       SELECT count(*)::int AS created FROM made`,
      [session.idHash, session.accountId, session.createdAt, session.lastSeenAt, session.expiresAt, checkedHash],
    );
    return rows[0].created > 0;
  }

  async find(idHash: string): Promise<BrowserSession | null> {
    const rows: SessionRow[] = await this.dataSource.query('SELECT * FROM browser_sessions WHERE id_hash = $1', [idHash]);
    return rows[0] ? toSession(rows[0]) : null;
  }

  async touch(idHash: string, at: Date): Promise<void> {
    await this.dataSource.query('UPDATE browser_sessions SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id_hash = $1', [idHash, at]);
  }

  async delete(idHash: string): Promise<boolean> {
    // A plain DELETE comes back from TypeORM as [rows, count]; as a SELECT over the deleted rows it is just rows.
    const rows: { deleted: number }[] = await this.dataSource.query('WITH gone AS (DELETE FROM browser_sessions WHERE id_hash = $1 RETURNING 1) SELECT count(*)::int AS deleted FROM gone', [idHash]);
    return rows[0].deleted > 0;
  }

  async deleteEnded(accountId: string, now: Date, idleBefore: Date): Promise<void> {
    await this.dataSource.query('DELETE FROM browser_sessions WHERE account_id = $1 AND (expires_at <= $2 OR last_seen_at <= $3)', [accountId, now, idleBefore]);
  }
}
