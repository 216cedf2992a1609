import { ConnectionOptions, DefaultJobOptions } from 'bullmq';
import { AppConfig } from '@app/config';
import { CAPPED_JITTERED_BACKOFF } from './backoff';

export function redisConnection(config: Pick<AppConfig, 'redis'>): ConnectionOptions {
  // BullMQ needs maxRetriesPerRequest null on blocking connections.
  return { url: config.redis.url, maxRetriesPerRequest: null, enableReadyCheck: true };
}

/**
 * Finished jobs are removed, so a deterministic id only deduplicates live jobs and the
 * reconciler can always queue a stuck add-on again. Failures are logged and counted instead.
 */
export function providerJobOptions(attempts: number): DefaultJobOptions {
  return {
    attempts,
    backoff: { type: CAPPED_JITTERED_BACKOFF },
    removeOnComplete: true,
    removeOnFail: true,
  };
}
