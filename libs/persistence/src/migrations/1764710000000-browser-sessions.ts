import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sign-in for Attache's own pages (docs/sso.md): an account's password (a scrypt hash with its
 * parameters) and browser sessions. A session is found by the SHA-256 of its random id, so the
 * table alone never lets anyone sign in; it ends at `expires_at` or after a quiet spell since
 * `last_seen_at`, and sign-out deletes it.
 */
export class BrowserSessions1764710000000 implements MigrationInterface {
  name = 'BrowserSessions1764710000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE account_passwords (
        account_id uuid PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        password_hash text NOT NULL,
        updated_at timestamptz NOT NULL
      );

      CREATE TABLE browser_sessions (
        id_hash text PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        CHECK (expires_at > created_at)
      );
      CREATE INDEX browser_sessions_account_idx ON browser_sessions (account_id);
      CREATE INDEX browser_sessions_expires_idx ON browser_sessions (expires_at);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE browser_sessions; DROP TABLE account_passwords;');
  }
}
