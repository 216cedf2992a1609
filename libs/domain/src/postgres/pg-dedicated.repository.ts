import { DedicatedCluster, DedicatedHost, DedicatedHostState } from './pg-dedicated.models';

/** Dedicated clusters, one row per add-on, and the registered hosts they are placed on. */
export abstract class DedicatedClusterRepository {
  abstract findByAddon(addonId: string): Promise<DedicatedCluster | null>;

  /**
   * Records the cluster on `port` unless another live cluster of the host holds it, as its own
   * port or one of a premium cluster's, the host is draining or full (or the add-on has a
   * cluster already): then false. Serialised per host with `place` and `reservePremiumPorts`,
   * so concurrent placements never share a port nor over-commit the host.
   */
  abstract createIfPortFree(cluster: DedicatedCluster): Promise<boolean>;

  /**
   * Records the add-on's cluster on the active host with the lowest share of its capacity in use
   * and room for one more, on the lowest port of that host's range no live cluster holds and
   * `isPortFree` accepts (another program may listen there); a host without such a port is
   * passed over. Serialised with every other placement, so concurrent ones count each other.
   * Returns the add-on's cluster as it is when it has one already; null when no host has room.
   */
  abstract place(record: Omit<DedicatedCluster, 'host' | 'port'>, isPortFree: (host: DedicatedHost, port: number) => Promise<boolean>): Promise<DedicatedCluster | null>;

  /**
   * Records the first two of `candidates` that no live cluster of the host holds as the premium
   * cluster's monitor and second node ports (`[monitor, first node, second node]`), and returns
   * them; null when fewer than two are free. Serialised per host with `createIfPortFree`.
   */
  abstract reservePremiumPorts(addonId: string, host: string, firstNodePort: number, candidates: number[]): Promise<number[] | null>;

  /** Ports held by the host's live clusters. */
  abstract portsInUse(host: string): Promise<number[]>;

  abstract update(addonId: string, patch: Partial<DedicatedCluster>): Promise<void>;

  /**
   * Deletes the record of the add-on's cluster once it is purged (stopped, its data and archive
   * gone), so the add-on has none: a move from a shared plan that gave up leaves nothing, and a
   * later move makes a cluster anew. False when the cluster is not purged (or there is none).
   */
  abstract forget(addonId: string): Promise<boolean>;

  abstract listActive(): Promise<DedicatedCluster[]>;

  /** Active clusters following the add-on's. */
  abstract listFollowers(sourceAddonId: string): Promise<DedicatedCluster[]>;

  /** Active clusters made from the add-on's (forks, rollbacks, followers), finished or still being made. */
  abstract listDependents(sourceAddonId: string): Promise<DedicatedCluster[]>;

  /** Removed clusters whose archive is past its retention. */
  abstract listArchivesDue(now: Date): Promise<DedicatedCluster[]>;

  /** Registers a host, or updates the one of that name (its registration time stays). */
  abstract upsertHost(host: DedicatedHost): Promise<DedicatedHost>;

  abstract findHost(name: string): Promise<DedicatedHost | null>;

  /** Every registered host by name, with its live clusters. */
  abstract listHostsWithLoad(): Promise<{ host: DedicatedHost; clusters: number }[]>;

  /** Null when no host has that name. */
  abstract setHostState(name: string, state: DedicatedHostState, at: Date): Promise<DedicatedHost | null>;
}
