import { Plan } from '../shared/models';

/** What a Kafka plan allows one tenant on a shared cluster. */
export interface KafkaPlanLimits {
  topics: number;
  partitionsPerTopic: number;
  /** The longest `retention.ms` a topic may have; also a new topic's default. */
  maxRetentionMs: number;
  /** `retention.bytes` of every topic (per partition, as Kafka counts it). */
  retentionBytesPerPartition: number;
  /** Client quotas on the tenant's principal, bytes per second per broker. */
  producerByteRate: number;
  consumerByteRate: number;
}

const MB = 1024 * 1024;
const DAY_MS = 24 * 3600 * 1000;

const KAFKA_PLANS: Record<string, KafkaPlanLimits> = {
  'basic-0': {
    topics: 10,
    partitionsPerTopic: 4,
    maxRetentionMs: DAY_MS,
    retentionBytesPerPartition: 64 * MB,
    producerByteRate: 1 * MB,
    consumerByteRate: 2 * MB,
  },
  'basic-1': {
    topics: 25,
    partitionsPerTopic: 8,
    maxRetentionMs: 3 * DAY_MS,
    retentionBytesPerPartition: 256 * MB,
    producerByteRate: 4 * MB,
    consumerByteRate: 8 * MB,
  },
  'basic-2': {
    topics: 50,
    partitionsPerTopic: 16,
    maxRetentionMs: 7 * DAY_MS,
    retentionBytesPerPartition: 1024 * MB,
    producerByteRate: 16 * MB,
    consumerByteRate: 32 * MB,
  },
};

export const isKafkaPlan = (planName: string): boolean => planName in KAFKA_PLANS;

export function kafkaPlanLimits(plan: Pick<Plan, 'name'>): KafkaPlanLimits {
  const limits = KAFKA_PLANS[plan.name];
  if (!limits) throw new Error(`kafka:${plan.name} is not a known plan.`);
  return limits;
}
