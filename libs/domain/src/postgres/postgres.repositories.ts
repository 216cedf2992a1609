import { Page, RangeSpec } from '@app/common';
import { PostgresBackend, PostgresBackup, PostgresCredential, PostgresDatabase, PostgresRestore } from './postgres.models';

export interface PostgresBackendRepository {
  /** Registers a backend, or updates the one with that name (its id stays). */
  upsertByName(backend: PostgresBackend): Promise<PostgresBackend>;
  list(): Promise<PostgresBackend[]>;
  findById(id: string): Promise<PostgresBackend | null>;
  findByName(name: string): Promise<PostgresBackend | null>;
  /** Active tenant databases per backend id (backends without any are absent). */
  countActiveDatabases(): Promise<Map<string, number>>;
  /**
   * The active backend with the lowest share of its capacity in use and room for one more,
   * locked for the rest of the transaction so concurrent placements count each other; null if full.
   */
  lockLeastLoaded(): Promise<PostgresBackend | null>;
}

/** What `PostgresDatabaseRepository.place` found or did. */
export type TenantPlacement =
  /** Recorded now, with its owner credential, on this backend. */
  | { kind: 'placed'; backend: PostgresBackend }
  /** The add-on had its database already (a retry): as recorded, with the owner credential's sealed password if it is active. */
  | { kind: 'existing'; state: PostgresDatabase['state']; backend: PostgresBackend | null; ownerPasswordSealed: string | null }
  /** No active backend has room for another database. */
  | { kind: 'full' };

export interface PostgresDatabaseRepository {
  create(database: PostgresDatabase): Promise<void>;
  /**
   * Records the add-on's database and its owner credential on the active backend with the lowest
   * share of its capacity in use (ties: fewer databases, then name), unless the add-on has a
   * database already. The backends are locked before the databases are counted, so concurrent
   * placements take turns and count each other. One transaction of its own (joining the caller's
   * inside one), committed when this returns: the records are durable before the cluster changes.
   * Places nothing (`full`) while the add-on has no row, so a pipelined insert of it that was
   * refused leaves the transaction usable.
   */
  place(database: Omit<PostgresDatabase, 'backendId'>, owner: PostgresCredential): Promise<TenantPlacement>;
  /** The add-on's placement as `place` reports an existing one, in one plain read; null if it has no database yet. */
  findPlacement(addonId: string, ownerName: string): Promise<Extract<TenantPlacement, { kind: 'existing' }> | null>;
  findByAddon(addonId: string): Promise<PostgresDatabase | null>;
  update(addonId: string, patch: Partial<PostgresDatabase>): Promise<void>;
  listActive(): Promise<PostgresDatabase[]>;
}

export interface PostgresCredentialRepository {
  create(credential: PostgresCredential): Promise<void>;
  /** The active credential of that name. */
  findActive(addonId: string, name: string): Promise<PostgresCredential | null>;
  listActive(addonId: string): Promise<PostgresCredential[]>;
  /** Every credential of the add-on, destroyed ones included (deprovision drops all their roles). */
  listAll(addonId: string): Promise<PostgresCredential[]>;
  update(id: string, patch: Partial<PostgresCredential>): Promise<void>;
  /** Credentials whose change has been pending since before `olderThan`: interrupted by a crash, to be finished. */
  listPendingRotation(olderThan: Date, limit: number): Promise<PostgresCredential[]>;
  /** Destroyed before `olderThan` and their role not yet dropped from the cluster (a crash or a cluster error in between). */
  listDropPending(olderThan: Date, limit: number): Promise<PostgresCredential[]>;
}

export interface PostgresBackupRepository {
  /** Inserts the backup with the add-on's next number; returns it as stored. */
  create(backup: Omit<PostgresBackup, 'number'>): Promise<PostgresBackup>;
  /** Like `create` for a scheduled backup, unless the add-on already has one for that day: then null. */
  createScheduledIfAbsent(backup: Omit<PostgresBackup, 'number'>): Promise<PostgresBackup | null>;
  findById(id: string): Promise<PostgresBackup | null>;
  findByAddonAndNumber(addonId: string, kind: PostgresBackup['kind'], number: number): Promise<PostgresBackup | null>;
  /** In the range's order (`created_at` or `id`). */
  listForAddon(addonId: string, range: RangeSpec): Promise<Page<PostgresBackup>>;
  /** Completed backups of the kind beyond the newest `keep`, oldest first (for pruning). */
  listExpired(addonId: string, kind: PostgresBackup['kind'], keep: number): Promise<PostgresBackup[]>;
  update(id: string, patch: Partial<PostgresBackup>): Promise<void>;
  /** Pending or running backups created before `olderThan` (their job may have been lost). */
  listUnfinished(olderThan: Date, limit: number): Promise<PostgresBackup[]>;
  delete(id: string): Promise<void>;
  deleteAllForAddon(addonId: string): Promise<PostgresBackup[]>;
}

export interface PostgresRestoreRepository {
  create(restore: PostgresRestore): Promise<void>;
  findById(id: string): Promise<PostgresRestore | null>;
  listForAddon(addonId: string, range: RangeSpec): Promise<Page<PostgresRestore>>;
  update(id: string, patch: Partial<PostgresRestore>): Promise<void>;
  /** Pending or running restores created before `olderThan` (their job may have been lost). */
  listUnfinished(olderThan: Date, limit: number): Promise<PostgresRestore[]>;
  /** Whether a pending or running restore reads this backup (it must not be pruned meanwhile). */
  isBackupInUse(backupId: string): Promise<boolean>;
}

/** The first-party PostgreSQL tables, grouped under `Store.postgres`. */
export interface PostgresStore {
  readonly backends: PostgresBackendRepository;
  readonly databases: PostgresDatabaseRepository;
  readonly credentials: PostgresCredentialRepository;
  readonly backups: PostgresBackupRepository;
  readonly restores: PostgresRestoreRepository;
}
