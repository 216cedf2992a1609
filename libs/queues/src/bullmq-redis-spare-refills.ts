import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@app/config';
import { RedisSpareRefills } from '@app/domain';
import { QUEUES, REDIS_SPARES_JOB } from './queue-names';
import { redisConnection } from './queue-options';

/**
 * Long enough for the provision that claimed a spare to commit first: starting a redis-server
 * forks the worker, which would hold up the provision's own last steps on a busy host. The job is
 * queued after this wait, not as a delayed job, so the provision's path sends nothing to Redis
 * either. A worker that dies meanwhile loses the request; the next supervision sweep refills.
 */
const REFILL_DELAY_MS = 100;

/** The spare refill as a job on the maintenance queue; its fixed id keeps one waiting at a time. */
@Injectable()
export class BullMqRedisSpareRefills extends RedisSpareRefills implements OnApplicationShutdown {
  private readonly logger = new Logger(BullMqRedisSpareRefills.name);
  private queue?: Queue;
  private closed = false;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    super();
  }

  request(): void {
    setTimeout(() => {
      if (this.closed) return;
      // Made on first use: only a worker that provisions ever asks.
      this.queue ??= new Queue(QUEUES.maintenance, { connection: { ...redisConnection(this.config), maxRetriesPerRequest: 1 }, prefix: this.config.queues.prefix });
      this.queue
        .add(REDIS_SPARES_JOB, {}, { jobId: REDIS_SPARES_JOB, removeOnComplete: true, removeOnFail: true })
        .catch((error: Error) => this.logger.warn({ err: error.message }, 'could not queue a Redis spare refill; supervision will refill'));
    }, REFILL_DELAY_MS).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.queue?.close();
  }
}
