import { PgArchiveKeep, PgBaseBackup, PgClusterAccess, PgClusterOrigin, PgClusterSpec, PgClusterStatus, PgReplicationLag } from './pg-dedicated.models';

/**
 * Runs dedicated PostgreSQL clusters on a host. Every method is idempotent: it looks at what
 * exists and runs, and finishes what an earlier, interrupted call began. `ensure`, `start`,
 * `promote`, `remove` and `purgeArchive` of one cluster run one at a time across every process
 * driving the host, and a cluster whose removal began is never created or started again, so
 * supervision racing a deprovision in another worker leaves nothing behind. The local driver runs
 * postmasters on this machine as the `postgres` OS user; a Kubernetes driver would map the same
 * calls onto an operator's resources (docs/postgresql.md).
 */
export abstract class PgClusterDriver {
  /**
   * Makes the host run the cluster: adopts a running postmaster, starts a stopped one, creates a
   * missing one from `origin` (then the tenant's owner role and database for a new cluster, or
   * the owner's new password for a fork or rollback). Resolves once it accepts connections and,
   * unless it follows another cluster, is out of recovery. Fails for a cluster whose removal began.
   * Whether tenants must use TLS is decided once, when the cluster is first made (the driver's
   * setting then), and kept: a cluster made without it stays without it.
   */
  abstract ensure(spec: PgClusterSpec, origin: PgClusterOrigin): Promise<PgClusterAccess>;

  /**
   * Adopts a running postmaster or starts a stopped one (supervision); never creates a cluster.
   * `removed` (nothing started) once the cluster's removal began.
   */
  abstract start(spec: PgClusterSpec): Promise<'running' | 'removed'>;

  /** A cheap look for supervision: the postmaster lives and answers on its port. */
  abstract isHealthy(spec: PgClusterSpec): Promise<boolean>;

  /** A new base backup into the cluster's archive (a fast checkpoint, then a copy of its data). */
  abstract takeBaseBackup(spec: PgClusterSpec): Promise<PgBaseBackup>;

  /** Completed base backups in the archive of the cluster with this key, oldest first. */
  abstract baseBackups(key: string): Promise<PgBaseBackup[]>;

  /**
   * Deletes base backups finished before `keep.from` except the newest of them (it covers
   * `keep.from` itself), and archived WAL older than both the oldest base backup kept and what
   * any of `keep.replayers` would read on a restart.
   */
  abstract pruneArchive(key: string, keep: PgArchiveKeep): Promise<void>;

  /** Makes the archive hold every transaction committed so far (a WAL switch, waited for). */
  abstract flushArchive(spec: PgClusterSpec): Promise<void>;

  abstract status(spec: PgClusterSpec): Promise<PgClusterStatus>;

  /** How far the follower is behind the primary. */
  abstract lag(follower: PgClusterSpec, primary: PgClusterSpec): Promise<PgReplicationLag>;

  /** The owner role's connection limit (a plan change), in place. */
  abstract setConnectionLimit(spec: PgClusterSpec, limit: number): Promise<void>;

  /** Ends recovery of a follower: writable and independent from now on. */
  abstract promote(spec: PgClusterSpec): Promise<void>;

  /**
   * Loads a pg_dump custom-format file into the tenant's database as the tenant (never as the
   * superuser: the dump's functions run during the load), in one transaction; skipped when the
   * database already holds tables (an earlier, committed load), unless `replace` asks for the
   * database to be made anew first.
   */
  abstract loadDump(spec: PgClusterSpec, file: string, options?: { replace?: boolean }): Promise<void>;

  /**
   * Stops the cluster and removes its data directory; its archive stays. The port is free
   * afterwards. From its first step on, the cluster is never created or started again.
   */
  abstract remove(spec: Pick<PgClusterSpec, 'key' | 'port'>): Promise<void>;

  /** Removes the archive (base backups and WAL) of a removed cluster. */
  abstract purgeArchive(key: string): Promise<void>;

  /** Nothing listens on the port now. */
  abstract isPortFree(port: number): Promise<boolean>;
}
