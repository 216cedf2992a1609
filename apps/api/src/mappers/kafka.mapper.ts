import { KafkaAddon, KafkaGroupLag, KafkaMetrics, KafkaPlanLimits, KafkaTopicView } from '@app/domain';

const addonRef = (target: KafkaAddon) => ({ id: target.addon.id, name: target.addon.name });

const numberOrNull = (value: string | undefined) => (value === undefined || value === '' ? null : Number(value));

export const toKafkaTopicResponse = (topic: KafkaTopicView) => ({
  name: topic.shortName,
  full_name: topic.name,
  partitions: topic.partitions,
  retention_ms: numberOrNull(topic.config['retention.ms']),
  retention_bytes: numberOrNull(topic.config['retention.bytes']),
  compaction: (topic.config['cleanup.policy'] ?? '').split(',').includes('compact'),
  size_bytes: topic.sizeBytes,
  config: topic.config,
});

export const toKafkaGroupResponse = (group: KafkaGroupLag & { shortName: string }) => ({
  name: group.shortName,
  full_name: group.group,
  state: group.state,
  lag: group.partitions.reduce((sum, p) => sum + p.lag, 0),
  partitions: group.partitions.map((p) => ({
    topic: p.topic,
    partition: p.partition,
    committed_offset: p.committedOffset < 0 ? null : p.committedOffset,
    end_offset: p.endOffset,
    lag: p.lag,
  })),
});

export const toKafkaResponse = (target: KafkaAddon, limits: KafkaPlanLimits, metrics?: KafkaMetrics) => ({
  addon: addonRef(target),
  plan: { name: `${target.service.slug}:${target.plan.name}` },
  cluster: { name: target.cluster.name },
  prefix: target.tenant.prefix,
  username: target.tenant.username,
  limits: {
    topics: limits.topics,
    partitions_per_topic: limits.partitionsPerTopic,
    max_retention_ms: limits.maxRetentionMs,
    retention_bytes_per_partition: limits.retentionBytesPerPartition,
    producer_byte_rate: limits.producerByteRate,
    consumer_byte_rate: limits.consumerByteRate,
  },
  ...(metrics
    ? {
        topics_count: metrics.topics.length,
        window: metrics.window,
        topics: metrics.topics.map((t) => ({
          name: t.topic,
          partitions: t.partitions,
          size_bytes: t.sizeBytes,
          messages_in: t.messagesIn,
          messages_out: t.messagesOut,
          bytes_in: t.bytesIn,
          bytes_out: t.bytesOut,
        })),
      }
    : {}),
  created_at: target.addon.createdAt,
});
