import { EntityManager } from 'typeorm';
import { KafkaSampleRepository, KafkaTopicSample } from '@app/domain';
import { KafkaTopicSampleEntity } from '../entities';
import { isUuid } from './query-helpers';
import { query } from './sql';

// Reads go through TypeORM rather than `query`: raw rows would skip the bigint transformer.
export class TypeOrmKafkaSamples implements KafkaSampleRepository {
  constructor(private readonly m: EntityManager) {}

  async add(samples: KafkaTopicSample[]): Promise<void> {
    if (samples.length === 0) return;
    // One statement, whatever the number of samples. A sample already stored (same add-on, topic
    // and instant) is the same measurement: it is kept, not a failure of the whole batch.
    await query(
      this.m,
      `INSERT INTO kafka_topic_samples (addon_id, topic, sampled_at, end_offsets, start_offsets, size_bytes, committed_offsets)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
       ON CONFLICT DO NOTHING`,
      [
        samples.map((s) => s.addonId),
        samples.map((s) => s.topic),
        samples.map((s) => s.sampledAt),
        samples.map((s) => s.endOffsets),
        samples.map((s) => s.startOffsets),
        samples.map((s) => s.sizeBytes),
        samples.map((s) => s.committedOffsets),
      ],
    );
  }

  earliestSince(addonId: string, since: Date): Promise<KafkaTopicSample[]> {
    if (!isUuid(addonId)) return Promise.resolve([]);
    return this.m
      .createQueryBuilder(KafkaTopicSampleEntity, 's')
      .distinctOn(['s.topic'])
      .where('s.addon_id = :addonId AND s.sampled_at >= :since', { addonId, since })
      .orderBy('s.topic')
      .addOrderBy('s.sampled_at')
      .getMany();
  }

  async prune(before: Date): Promise<number> {
    // TypeORM answers a DELETE with [rows, row count].
    const [, count] = await query<[unknown[], number]>(this.m, `DELETE FROM kafka_topic_samples WHERE sampled_at < $1`, [before]);
    return count;
  }
}
