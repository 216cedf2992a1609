import { DedicatedCluster } from './pg-dedicated.models';

/** Dedicated clusters, one row per add-on. */
export abstract class DedicatedClusterRepository {
  abstract findByAddon(addonId: string): Promise<DedicatedCluster | null>;

  /**
   * Records the cluster on `port` unless another live cluster of the host holds it (or the add-on
   * has a cluster already): then false. A unique index decides, so concurrent placements never
   * share a port.
   */
  abstract createIfPortFree(cluster: DedicatedCluster): Promise<boolean>;

  /** Ports held by the host's live clusters. */
  abstract portsInUse(host: string): Promise<number[]>;

  abstract update(addonId: string, patch: Partial<DedicatedCluster>): Promise<void>;

  abstract listActive(): Promise<DedicatedCluster[]>;

  /** Active clusters following the add-on's. */
  abstract listFollowers(sourceAddonId: string): Promise<DedicatedCluster[]>;

  /** Removed clusters whose archive is past its retention. */
  abstract listArchivesDue(now: Date): Promise<DedicatedCluster[]>;
}
