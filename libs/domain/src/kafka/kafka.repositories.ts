import { KafkaCluster, KafkaTenant, KafkaTopicSample } from './kafka.models';

export interface KafkaClusterRepository {
  /** Registers a cluster, or updates the one with that name (its id stays). */
  upsertByName(cluster: KafkaCluster): Promise<KafkaCluster>;
  list(): Promise<KafkaCluster[]>;
  findById(id: string): Promise<KafkaCluster | null>;
  findByName(name: string): Promise<KafkaCluster | null>;
  /** Active tenants per cluster id (clusters without any are absent). */
  countActiveTenants(): Promise<Map<string, number>>;
  /**
   * The active cluster with the lowest share of its capacity in use and room for one more, locked
   * for the rest of the transaction so concurrent placements count each other; null if all are full.
   */
  lockLeastLoaded(): Promise<KafkaCluster | null>;
}

export interface KafkaTenantRepository {
  create(tenant: KafkaTenant): Promise<void>;
  findByAddon(addonId: string): Promise<KafkaTenant | null>;
  /** Locks the tenant row for the rest of the transaction. */
  findByAddonForUpdate(addonId: string): Promise<KafkaTenant | null>;
  /** Whether any tenant, active or destroyed, on any cluster, has used this prefix or username. */
  nameTaken(prefix: string, username: string): Promise<boolean>;
  update(addonId: string, patch: Partial<KafkaTenant>): Promise<void>;
  listActive(): Promise<KafkaTenant[]>;
  /** Tenants with a password rotation pending since before `olderThan` (interrupted by a crash). */
  listPendingRotation(olderThan: Date, limit: number): Promise<KafkaTenant[]>;
}

export interface KafkaSampleRepository {
  add(samples: KafkaTopicSample[]): Promise<void>;
  /** Per topic, the earliest sample taken at or after `since`. */
  earliestSince(addonId: string, since: Date): Promise<KafkaTopicSample[]>;
  /** Deletes samples taken before `before`. */
  prune(before: Date): Promise<number>;
}

/** The first-party Kafka tables, grouped under `Store.kafka`. */
export interface KafkaStore {
  readonly clusters: KafkaClusterRepository;
  readonly tenants: KafkaTenantRepository;
  readonly samples: KafkaSampleRepository;
}
