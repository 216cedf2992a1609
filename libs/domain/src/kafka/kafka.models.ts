/** First-party Kafka records. Persistence maps its rows onto these. */

export type KafkaClusterState = 'active' | 'draining';

/** A Kafka cluster tenants are placed on, administered as Attache's super user. */
export interface KafkaCluster {
  id: string;
  name: string;
  /** `host:port,host:port`, as clients and the admin client reach it. */
  bootstrapServers: string;
  adminUser: string;
  adminPasswordSealed: string;
  /** How many tenants it may hold. */
  capacity: number;
  state: KafkaClusterState;
  createdAt: Date;
  updatedAt: Date;
}

export type KafkaTenantState = 'active' | 'destroyed';

/** One add-on on a shared cluster: its prefix, its principal and that principal's password. */
export interface KafkaTenant {
  addonId: string;
  clusterId: string;
  state: KafkaTenantState;
  /** Every topic, group and transactional id of the tenant starts with it, e.g. `oak-42317.`. */
  prefix: string;
  /** The SCRAM user (`User:<username>` to the authorizer). */
  username: string;
  passwordSealed: string;
  /** A rotation in progress: set before the broker changes, cleared once the new password is everywhere. */
  pendingPasswordSealed: string | null;
  pendingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
  destroyedAt: Date | null;
}

/** Cumulative counters of one topic at one moment; traffic is the difference of two. */
export interface KafkaTopicSample {
  addonId: string;
  /** Without the prefix. */
  topic: string;
  sampledAt: Date;
  /** Sum over partitions of the log end offsets: messages ever produced. */
  endOffsets: number;
  /** Sum over partitions of the log start offsets: messages removed by retention. */
  startOffsets: number;
  sizeBytes: number;
  /** Sum over the tenant's consumer groups and the topic's partitions of the committed offsets: messages consumed. */
  committedOffsets: number;
}
