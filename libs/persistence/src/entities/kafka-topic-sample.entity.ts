import { Column, Entity, PrimaryColumn } from 'typeorm';
import { KafkaTopicSample } from '@app/domain';
import { bigintAsNumber } from './column-transformers';

/** Cumulative counters of one topic of a tenant at one moment; the key makes each sample one. */
@Entity('kafka_topic_samples')
export class KafkaTopicSampleEntity implements KafkaTopicSample {
  @PrimaryColumn('uuid', { name: 'addon_id' }) addonId!: string;
  @PrimaryColumn('text') topic!: string;
  @PrimaryColumn('timestamptz', { name: 'sampled_at' }) sampledAt!: Date;
  @Column('bigint', { name: 'end_offsets', transformer: bigintAsNumber }) endOffsets!: number;
  @Column('bigint', { name: 'start_offsets', transformer: bigintAsNumber }) startOffsets!: number;
  @Column('bigint', { name: 'size_bytes', transformer: bigintAsNumber }) sizeBytes!: number;
  @Column('bigint', { name: 'committed_offsets', transformer: bigintAsNumber }) committedOffsets!: number;
}
