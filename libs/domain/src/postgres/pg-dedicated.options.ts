/** Dedicated-plan PostgreSQL settings the apps pass in from configuration. */
export abstract class PgDedicatedOptions {
  /** Where the local driver keeps each cluster's directory. */
  abstract readonly rootDir: string;
  /**
   * The port range `postgres:hosts:add-local` registers for the host `local`; clusters are placed
   * on the registered hosts' ranges (PgDedicatedHosts).
   */
  abstract readonly portMin: number;
  abstract readonly portMax: number;
  /**
   * New clusters get a private key and certificate and accept tenants over TLS only
   * (ATTACHE_PG_DEDICATED_TLS); off when absent. Existing clusters keep what they were made with.
   */
  abstract readonly tls?: boolean;
  /** How often running clusters are checked (and restarted when dead). */
  abstract readonly superviseIntervalMs: number;
  /** How often each cluster gets a new base backup. */
  abstract readonly baseBackupIntervalMs: number;
  /** How long the last base backups and WAL of a destroyed add-on are kept. */
  abstract readonly archiveRetentionMs: number;
}
