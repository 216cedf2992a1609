/** First-party PostgreSQL records (shared "essential" plans). Persistence maps its rows onto these. */

export type PostgresBackendState = 'active' | 'draining';

/** A shared cluster Attache places tenant databases on. */
export interface PostgresBackend {
  id: string;
  name: string;
  host: string;
  port: number;
  /** A superuser Attache administers the cluster as. */
  adminUser: string;
  adminPasswordSealed: string;
  maintenanceDatabase: string;
  /** How many tenant databases it may hold. */
  capacity: number;
  state: PostgresBackendState;
  createdAt: Date;
  updatedAt: Date;
}

/** A backend with its superuser password opened: what the cluster adapter connects with. */
export interface BackendConnection {
  id: string;
  name: string;
  host: string;
  port: number;
  user: string;
  password: string;
  maintenanceDatabase: string;
}

export type PostgresDatabaseState = 'active' | 'dropped';

/** The tenant database behind one add-on. */
export interface PostgresDatabase {
  addonId: string;
  backendId: string;
  databaseName: string;
  /** NOLOGIN role that owns the database; login roles act through membership in it. */
  groupRole: string;
  state: PostgresDatabaseState;
  storageBytes: number | null;
  measuredAt: Date | null;
  /** When storage was first seen over the plan's limit (cleared once back under). */
  overLimitSince: Date | null;
  /** Set while writes are restricted for being over the storage limit. */
  restrictedAt: Date | null;
  /** Hour (UTC) of the daily backup; null when no schedule is set. */
  backupHourUtc: number | null;
  createdAt: Date;
  updatedAt: Date;
  droppedAt: Date | null;
}

export const OWNER_CREDENTIAL = 'default';

export type PostgresCredentialState = 'active' | 'destroyed';

/** A login role on a tenant database: the owner's (`default`) or a named one. */
export interface PostgresCredential {
  id: string;
  addonId: string;
  name: string;
  roleName: string;
  passwordSealed: string;
  /** A rotation in progress: set before the cluster changes, cleared once the new password is everywhere. */
  pendingPasswordSealed: string | null;
  pendingSince: Date | null;
  state: PostgresCredentialState;
  createdAt: Date;
  rotatedAt: Date | null;
  destroyedAt: Date | null;
  /** When its role was dropped from the cluster (destroyed credentials only). */
  roleDroppedAt: Date | null;
}

export type PostgresBackupKind = 'manual' | 'scheduled';
export type PostgresJobState = 'pending' | 'running' | 'completed' | 'failed';

/** A logical backup (pg_dump custom format) of a tenant database. */
export interface PostgresBackup {
  id: string;
  addonId: string;
  /** Per add-on sequence: shown as `b001` (manual) or `a001` (scheduled). */
  number: number;
  kind: PostgresBackupKind;
  state: PostgresJobState;
  /** The day a scheduled backup is for (YYYY-MM-DD, UTC); one per day. */
  scheduledFor: string | null;
  sizeBytes: number | null;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** A backup being loaded into an add-on's database. */
export interface PostgresRestore {
  id: string;
  addonId: string;
  backupId: string;
  state: PostgresJobState;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export const backupName = (backup: Pick<PostgresBackup, 'kind' | 'number'>): string =>
  `${backup.kind === 'scheduled' ? 'a' : 'b'}${String(backup.number).padStart(3, '0')}`;
