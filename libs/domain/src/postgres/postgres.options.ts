/** First-party PostgreSQL settings the worker and api pass in from configuration. */
export abstract class PostgresOptions {
  /** Multiplies every plan's storage limit: 1 in production; tests use a small fraction. */
  abstract readonly storageScale: number;
  /** How long storage may stay over the limit before writes are restricted. */
  abstract readonly storageGraceMs: number;
  /** Where backup files are kept. */
  abstract readonly backupDir: string;
  /** How long a backup download link works. */
  abstract readonly downloadTtlMs: number;
  /** Completed backups kept per add-on, per kind; older ones are deleted. */
  abstract readonly manualBackupsKept: number;
  abstract readonly scheduledBackupsKept: number;
}
