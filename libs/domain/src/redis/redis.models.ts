/** First-party Redis records. Persistence maps its rows onto these. */

export type RedisHostState = 'active' | 'draining';

/** A machine (or cluster) Redis instances run on, through a driver. */
export interface RedisHost {
  id: string;
  name: string;
  /** Which RedisDriver runs instances there: `local` runs processes on this machine. */
  driver: 'local';
  /** The address apps connect to. */
  address: string;
  portMin: number;
  portMax: number;
  /** Where instances keep their files on that host. */
  dataDir: string;
  /** How many instances it may run. */
  capacity: number;
  state: RedisHostState;
  createdAt: Date;
  updatedAt: Date;
}

export type RedisInstanceState = 'active' | 'destroyed';

/** The processes behind one Redis add-on: one node (mini) or a primary, a standby and a sentinel (premium). */
export interface RedisInstance {
  addonId: string;
  hostId: string;
  /** The instance's directory and its sentinel's master name on the host, chosen at placement (a spare's own, when it was one). */
  key: string;
  state: RedisInstanceState;
  /** Ports of the data nodes; `primaryIndex` says which one is the primary now. */
  nodePorts: number[];
  primaryIndex: number;
  sentinelPort: number | null;
  /** The `app` user's password (the one in REDIS_URL). */
  passwordSealed: string;
  /** A rotation in progress: set before the nodes change, cleared once the URL is everywhere. */
  pendingPasswordSealed: string | null;
  pendingSince: Date | null;
  /** Attache's own users on the nodes (admin, replication, sentinel). */
  internalPasswordSealed: string;
  maxmemoryBytes: number;
  maxclients: number;
  persistence: boolean;
  highAvailability: boolean;
  maxmemoryPolicy: RedisMaxmemoryPolicy;
  timeoutSeconds: number;
  lastFailoverAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  destroyedAt: Date | null;
}

/**
 * A spare's life: recorded with its port (`starting`), running and claimable (`ready`), taken by
 * an add-on whose instance now runs on it (`claimed`, until the add-on's provision has finished),
 * or being stopped for good (`discarding`).
 */
export type RedisSpareState = 'starting' | 'ready' | 'claimed' | 'discarding';

/**
 * A mini-shaped redis-server started ahead on a host, with Attache's own users and no tenant: a
 * mini placement claims one instead of starting a server while the user waits.
 */
export interface RedisSpare {
  id: string;
  hostId: string;
  /** Its directory on the host; the instance that claims it keeps it. */
  key: string;
  port: number;
  /** Attache's own users on the node; the instance that claims it takes it over. */
  internalPasswordSealed: string;
  state: RedisSpareState;
  /** The add-on that claimed it. */
  addonId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export const REDIS_MAXMEMORY_POLICIES = [
  'noeviction',
  'allkeys-lru',
  'volatile-lru',
  'allkeys-lfu',
  'volatile-lfu',
  'allkeys-random',
  'volatile-random',
  'volatile-ttl',
] as const;
export type RedisMaxmemoryPolicy = (typeof REDIS_MAXMEMORY_POLICIES)[number];

/** A host as a driver needs it. */
export interface RedisHostConnection {
  id: string;
  name: string;
  address: string;
  dataDir: string;
}

/** Everything a driver needs to run (or change) one instance. */
export interface RedisInstanceSpec {
  /** Stable and opaque: the instance's directory and its sentinel's master name. */
  key: string;
  host: RedisHostConnection;
  nodePorts: number[];
  primaryIndex: number;
  sentinelPort: number | null;
  password: string;
  internalPassword: string;
  maxmemoryBytes: number;
  maxclients: number;
  persistence: boolean;
  maxmemoryPolicy: RedisMaxmemoryPolicy;
  timeoutSeconds: number;
}

/** What a driver needs to run a spare node: mini-shaped, without the `app` user. */
export interface RedisSpareSpec {
  key: string;
  host: RedisHostConnection;
  port: number;
  internalPassword: string;
  maxmemoryBytes: number;
  maxclients: number;
}

/** What `redis:info` shows, read from the primary (and the standby for its lag). */
export interface RedisInfo {
  role: 'master' | 'replica';
  usedMemoryBytes: number;
  maxmemoryBytes: number;
  connectedClients: number;
  maxclients: number;
  opsPerSecond: number;
  keys: number;
  persistence: { aofEnabled: boolean; lastWriteStatus: string | null };
  replication: { replicas: number; lagBytes: number | null; linkUp: boolean | null };
  version: string;
}
