import { DedicatedCluster } from './pg-dedicated.models';

/** Dedicated clusters, one row per add-on. */
export abstract class DedicatedClusterRepository {
  abstract findByAddon(addonId: string): Promise<DedicatedCluster | null>;

  /**
   * Records the cluster on `port` unless another live cluster of the host holds it, as its own
   * port or one of a premium cluster's (or the add-on has a cluster already): then false.
   * Serialised per host with `reservePremiumPorts`, so concurrent placements never share a port.
   */
  abstract createIfPortFree(cluster: DedicatedCluster): Promise<boolean>;

  /**
   * Records the first two of `candidates` that no live cluster of the host holds as the premium
   * cluster's monitor and second node ports (`[monitor, first node, second node]`), and returns
   * them; null when fewer than two are free. Serialised per host with `createIfPortFree`.
   */
  abstract reservePremiumPorts(addonId: string, host: string, firstNodePort: number, candidates: number[]): Promise<number[] | null>;

  /** Ports held by the host's live clusters. */
  abstract portsInUse(host: string): Promise<number[]>;

  abstract update(addonId: string, patch: Partial<DedicatedCluster>): Promise<void>;

  abstract listActive(): Promise<DedicatedCluster[]>;

  /** Active clusters following the add-on's. */
  abstract listFollowers(sourceAddonId: string): Promise<DedicatedCluster[]>;

  /** Active clusters made from the add-on's (forks, rollbacks, followers), finished or still being made. */
  abstract listDependents(sourceAddonId: string): Promise<DedicatedCluster[]>;

  /** Removed clusters whose archive is past its retention. */
  abstract listArchivesDue(now: Date): Promise<DedicatedCluster[]>;
}
