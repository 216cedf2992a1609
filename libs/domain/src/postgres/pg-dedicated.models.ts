/** Dedicated-plan PostgreSQL records and the shapes the cluster driver works with. */

export type DedicatedClusterState = 'active' | 'removed' | 'purged';

/** How the cluster's data began: empty, a fork or a rollback of another add-on's, or following one. */
export type DedicatedClusterOrigin = 'new' | 'fork' | 'rollback' | 'follow';

export type DedicatedHostState = 'active' | 'draining';

/** A registered host dedicated clusters are placed on, through a driver. */
export interface DedicatedHost {
  name: string;
  /** Which PgClusterDriver runs its clusters: `local` runs processes on this machine. */
  driver: 'local';
  /** The address apps connect to. */
  address: string;
  /** The ports its clusters may listen on. */
  portMin: number;
  portMax: number;
  /** How many live clusters it may run (a premium cluster counts once). */
  capacity: number;
  /** A draining host keeps its clusters but gets no new ones. */
  state: DedicatedHostState;
  createdAt: Date;
  updatedAt: Date;
}

/** One dedicated add-on's cluster: its own postmaster, port, data directory and WAL archive. */
export interface DedicatedCluster {
  addonId: string;
  /** The name of the registered host (DedicatedHost) it runs on. */
  host: string;
  /** Its directory (data, socket, archive) on the host. */
  key: string;
  /** Null once removed: the port is free for another cluster. */
  port: number | null;
  state: DedicatedClusterState;
  origin: DedicatedClusterOrigin;
  /** The add-on it was forked, rolled back or is following from. */
  sourceAddonId: string | null;
  /** True while it is a read-only streaming replica of `sourceAddonId`. */
  following: boolean;
  /** A rollback's target moment. */
  recoveryTargetAt: Date | null;
  databaseName: string;
  ownerRole: string;
  ownerPasswordSealed: string;
  lastBaseBackupAt: Date | null;
  /** After removal, when its last base backups and WAL are deleted. */
  archiveKeepUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
  removedAt: Date | null;
  /**
   * A premium cluster's ports: its pg_auto_failover monitor's, then its two nodes'; `port` is
   * whichever node is primary. Null (or absent) for a cluster without a standby.
   */
  premiumPorts?: number[] | null;
  /** When Attache last followed a failover to the standby. */
  lastFailoverAt?: Date | null;
}

/** What the driver needs to run a cluster. */
export interface PgClusterSpec {
  key: string;
  port: number;
  database: string;
  ownerRole: string;
  ownerPassword: string;
  /** The plan's connections for the owner role, set by `ensure` when given (a follower keeps its primary's). */
  connectionLimit?: number;
  /**
   * The address tenants connect to (its host's). The local driver listens there besides loopback;
   * `ensure` records it with the cluster, so a start without it keeps listening there.
   */
  address?: string;
}

/** How tenants must connect to a cluster, as decided when it was made. */
export interface PgClusterAccess {
  /** Only TLS connections are accepted from tenants: URLs carry `sslmode=require`. */
  tls: boolean;
}

/**
 * Where a new cluster's data comes from. `fork` and `follow` copy the running source (a follower
 * keeps streaming from it); `rollback` restores the source's newest base backup taken before
 * `target` and replays its archived WAL up to that moment.
 */
export type PgClusterOrigin =
  | { kind: 'new' }
  | { kind: 'fork'; source: PgClusterSpec }
  | { kind: 'follow'; source: PgClusterSpec }
  | { kind: 'rollback'; sourceKey: string; target: Date; source: PgClusterSpec | null };

/** What pruning a cluster's archive keeps besides the newest base backups. */
export interface PgArchiveKeep {
  /**
   * The earliest moment a rollback must still reach (the window's start, or an earlier target of
   * a rollback in progress): the newest base backup finished before it stays, with every later
   * one and the WAL from the oldest kept.
   */
  from: Date;
  /**
   * Keys of the clusters that replay this archive through their restore_command (followers, a
   * follower still being made): the WAL a restart of each would read, from its last restart
   * point on, stays too; all of it while one's cannot be told.
   */
  replayers: string[];
}

/** A completed base backup in a cluster's archive. */
export interface PgBaseBackup {
  id: string;
  /** The earliest moment a rollback from it can reach. */
  finishedAt: Date;
  bytes: number;
}

export interface PgClusterStatus {
  running: boolean;
  inRecovery: boolean;
  serverVersion: string;
  sizeBytes: number;
  connections: number;
  walArchiveBytes: number;
  baseBackups: PgBaseBackup[];
}

export interface PgReplicationLag {
  /** WAL the follower has not replayed yet. */
  bytes: number;
  /** Age of the last replayed transaction while behind; 0 when caught up. */
  seconds: number;
}
