import { KafkaTopicCounters } from './kafka-cluster.port';
import { KafkaTopicSample } from './kafka.models';

export interface KafkaTopicTraffic {
  topic: string;
  partitions: number;
  sizeBytes: number;
  /** Since the window's first sample; null while the topic has no sample in the window. */
  messagesIn: number | null;
  messagesOut: number | null;
  /** Estimated from the messages and the topic's average message size on disk. */
  bytesIn: number | null;
  bytesOut: number | null;
}

/**
 * A topic's traffic between a sample and now. End offsets that went back mean the topic was
 * deleted and made again: its traffic starts over. Committed offsets that went back (a group
 * deleted or reset) say nothing about what was consumed: unknown.
 */
export function topicTraffic(topic: string, live: KafkaTopicCounters, base: KafkaTopicSample | undefined): KafkaTopicTraffic {
  const retained = live.endOffsets - live.startOffsets;
  const bytesPerMessage = retained > 0 ? live.sizeBytes / retained : 0;
  const messagesIn = base ? (live.endOffsets >= base.endOffsets ? live.endOffsets - base.endOffsets : live.endOffsets) : null;
  const messagesOut = base && live.committedOffsets >= base.committedOffsets ? live.committedOffsets - base.committedOffsets : null;
  return {
    topic,
    partitions: live.partitions,
    sizeBytes: live.sizeBytes,
    messagesIn,
    messagesOut,
    bytesIn: messagesIn === null ? null : Math.round(messagesIn * bytesPerMessage),
    bytesOut: messagesOut === null ? null : Math.round(messagesOut * bytesPerMessage),
  };
}
