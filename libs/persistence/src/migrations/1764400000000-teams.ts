import { MigrationInterface, QueryRunner } from 'typeorm';

/** Teams own apps and receive their bills; an app's owner can change (a transfer), which the lifecycle log records. */
export class Teams1764400000000 implements MigrationInterface {
  name = 'Teams1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE teams (
        id uuid PRIMARY KEY,
        name text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );

      CREATE TABLE team_members (
        team_id uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        account_id uuid NOT NULL REFERENCES accounts(id),
        role text NOT NULL CHECK (role IN ('admin', 'member')),
        created_at timestamptz NOT NULL,
        PRIMARY KEY (team_id, account_id)
      );
      CREATE INDEX team_members_account_idx ON team_members (account_id);

      -- A team's app: the team is its billing entity and its members its users; owner_account_id
      -- stays the account that created or last held it.
      ALTER TABLE apps ADD COLUMN owner_team_id uuid REFERENCES teams(id);
      CREATE INDEX apps_team_idx ON apps (owner_team_id) WHERE owner_team_id IS NOT NULL;

      -- Transfers, for billing: who owned an app when.
      CREATE INDEX lifecycle_events_transfer_idx ON lifecycle_events (app_id, id) WHERE type = 'app.transferred';
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX lifecycle_events_transfer_idx;
      ALTER TABLE apps DROP COLUMN owner_team_id;
      DROP TABLE team_members;
      DROP TABLE teams;
    `);
  }
}
