import { RedisHost, RedisInstance, RedisSpare } from './redis.models';

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

export interface RedisSpareRepository {
  /** Records a spare (`starting`) and holds its port for it; the (host, port) key refuses a port held by anyone else. */
  create(spare: RedisSpare): Promise<void>;
  /** Every spare, oldest first. */
  list(): Promise<RedisSpare[]>;
  /** Unclaimed spares (`starting` or `ready`) per host id. */
  countUnclaimed(): Promise<Map<string, { starting: number; ready: number }>>;
  /**
   * Call outside a transaction: it is one of its own, sent in one round trip with its COMMIT. For
   * an add-on with no instance yet, claims the oldest ready spare of the host `lockLeastLoaded`
   * would pick (the hosts locked as it locks them, so placements count each other) and records the
   * instance on it: the spare is marked `claimed` with the add-on's id, its port passes to the
   * add-on, and the instance takes the spare's host, key, port and internal password (`instance`'s
   * own are ignored). Spares another transaction has locked are skipped, so two claims never take
   * the same one. `claimed` is null (and nothing written) when that host has no ready spare, or the
   * add-on had an instance already (`hadInstance`).
   */
  claimForNewInstance(instance: RedisInstance): Promise<{ claimed: { instance: RedisInstance; host: RedisHost } | null; hadInstance: boolean }>;
  /** The spare an add-on claimed, while its row is kept (until the add-on's provision has finished). */
  findClaimedBy(addonId: string): Promise<RedisSpare | null>;
  /**
   * Locks an unclaimed spare for the rest of the transaction, skipping it (null) when another
   * transaction holds it (a claim, or another worker's upkeep) or it is no longer unclaimed.
   */
  lockUnclaimed(id: string): Promise<RedisSpare | null>;
  markReady(id: string, now: Date): Promise<boolean>;
  /** Marks an unclaimed spare `discarding` (false if it was claimed meanwhile). */
  markDiscarding(id: string, now: Date): Promise<boolean>;
  /** Deletes the spare's row and frees the ports it holds (a claimed one's passed to its add-on already). */
  remove(id: string): Promise<void>;
}

/** The first-party Redis tables, grouped under `Store.redis`. */
export interface RedisStore {
  readonly hosts: RedisHostRepository;
  readonly instances: RedisInstanceRepository;
  readonly ports: RedisPortRepository;
  readonly spares: RedisSpareRepository;
}
