import { RedisHost, RedisInstance } from './redis.models';

export interface RedisHostRepository {
  /** Registers a host, or updates the one with that name (its id stays). */
  upsertByName(host: RedisHost): Promise<RedisHost>;
  list(): Promise<RedisHost[]>;
  findById(id: string): Promise<RedisHost | null>;
  findByName(name: string): Promise<RedisHost | null>;
  /** Active instances per host id (hosts without any are absent). */
  countActiveInstances(): Promise<Map<string, number>>;
  /**
   * The active host with the lowest share of its capacity in use and room for one more, locked
   * for the rest of the transaction so concurrent placements count each other; null if full.
   */
  lockLeastLoaded(): Promise<RedisHost | null>;
  /** Locks the host row for the rest of the transaction (port allocation). */
  lock(id: string): Promise<void>;
}

export interface RedisInstanceRepository {
  create(instance: RedisInstance): Promise<void>;
  findByAddon(addonId: string): Promise<RedisInstance | null>;
  /** Locks the instance row for the rest of the transaction. */
  findByAddonForUpdate(addonId: string): Promise<RedisInstance | null>;
  update(addonId: string, patch: Partial<RedisInstance>): Promise<void>;
  listActive(): Promise<RedisInstance[]>;
  /** Instances with a password rotation pending since before `olderThan` (interrupted by a crash). */
  listPendingRotation(olderThan: Date, limit: number): Promise<RedisInstance[]>;
}

export interface RedisPortRepository {
  /** Ports of the host held by any add-on. */
  taken(hostId: string): Promise<Set<number>>;
  /** Records the ports as the add-on's; the (host, port) key refuses a port held by another. */
  hold(hostId: string, addonId: string, ports: number[]): Promise<void>;
  /** The ports the add-on holds. */
  heldBy(addonId: string): Promise<number[]>;
  /** Frees the given ports of the add-on (all of them when `ports` is omitted). */
  release(addonId: string, ports?: number[]): Promise<void>;
}

/** The first-party Redis tables, grouped under `Store.redis`. */
export interface RedisStore {
  readonly hosts: RedisHostRepository;
  readonly instances: RedisInstanceRepository;
  readonly ports: RedisPortRepository;
}
