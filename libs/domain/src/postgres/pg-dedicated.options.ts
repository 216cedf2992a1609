/** Dedicated-plan PostgreSQL settings the apps pass in from configuration. */
export abstract class PgDedicatedOptions {
  /** Where the local driver keeps each cluster's directory. */
  abstract readonly rootDir: string;
  /** The ports clusters listen on. */
  abstract readonly portMin: number;
  abstract readonly portMax: number;
  /** How often running clusters are checked (and restarted when dead). */
  abstract readonly superviseIntervalMs: number;
  /** How often each cluster gets a new base backup. */
  abstract readonly baseBackupIntervalMs: number;
  /** How long the last base backups and WAL of a destroyed add-on are kept. */
  abstract readonly archiveRetentionMs: number;
}
