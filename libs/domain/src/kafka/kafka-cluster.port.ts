/** A Kafka cluster as the admin adapter reaches it: bootstrap servers and Attache's super user. */
export interface KafkaClusterConnection {
  id: string;
  name: string;
  /** `host:port,host:port` */
  bootstrapServers: string;
  adminUser: string;
  adminPassword: string;
}

/** What a tenant may do on a shared cluster, per plan. */
export interface KafkaTenantLimits {
  producerByteRate: number;
  consumerByteRate: number;
}

export interface KafkaTopicSpec {
  /** Full name, the tenant's prefix included. */
  name: string;
  partitions: number;
  retentionMs: number;
  retentionBytes: number;
  compaction: boolean;
}

export interface KafkaTopicInfo {
  name: string;
  partitions: number;
  config: Record<string, string>;
  sizeBytes: number;
}

export interface KafkaGroupLag {
  group: string;
  state: string;
  partitions: { topic: string; partition: number; committedOffset: number; endOffset: number; lag: number }[];
}

/** Cumulative counters of one topic, summed over its partitions. */
export interface KafkaTopicCounters {
  name: string;
  partitions: number;
  startOffsets: number;
  endOffsets: number;
  sizeBytes: number;
  /** Committed offsets of the consumer groups under the same prefix (a group that never committed adds nothing). */
  committedOffsets: number;
}

/**
 * Administers a shared Kafka cluster as its super user. Every method is idempotent: creating
 * what exists or deleting what is gone succeeds.
 */
export abstract class KafkaClusterAdmin {
  /** The tenant's SCRAM-SHA-512 user (password set or replaced), PREFIXED ACLs on topics, groups and transactional ids under `prefix`, and its quotas. */
  abstract createTenant(cluster: KafkaClusterConnection, tenant: { username: string; password: string; prefix: string; limits: KafkaTenantLimits }): Promise<void>;
  /** Replaces the user's password; sessions made with the old one end at their next re-authentication. */
  abstract setPassword(cluster: KafkaClusterConnection, username: string, password: string): Promise<void>;
  abstract setLimits(cluster: KafkaClusterConnection, username: string, limits: KafkaTenantLimits): Promise<void>;
  /** Deletes the tenant's topics and consumer groups (by prefix), its ACLs, quotas and credential. */
  abstract dropTenant(cluster: KafkaClusterConnection, tenant: { username: string; prefix: string }): Promise<void>;
  abstract createTopic(cluster: KafkaClusterConnection, topic: KafkaTopicSpec): Promise<void>;
  abstract configureTopic(cluster: KafkaClusterConnection, name: string, config: Partial<Pick<KafkaTopicSpec, 'retentionMs' | 'retentionBytes' | 'compaction'>>): Promise<void>;
  /** Raises the topic's partition count to `total` (Kafka never lowers it). */
  abstract addPartitions(cluster: KafkaClusterConnection, name: string, total: number): Promise<void>;
  abstract deleteTopic(cluster: KafkaClusterConnection, name: string): Promise<void>;
  /** Topics whose names start with `prefix`, with partitions, configuration and size on disk. */
  abstract listTopics(cluster: KafkaClusterConnection, prefix: string): Promise<KafkaTopicInfo[]>;
  /** Offsets and sizes of the topics under `prefix`, and what the groups under `prefix` committed on them. */
  abstract topicCounters(cluster: KafkaClusterConnection, prefix: string): Promise<KafkaTopicCounters[]>;
  /** Consumer groups whose ids start with `prefix`, with lag per partition. */
  abstract listGroups(cluster: KafkaClusterConnection, prefix: string): Promise<KafkaGroupLag[]>;
}
