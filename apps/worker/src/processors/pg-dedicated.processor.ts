import { Inject, Injectable } from '@nestjs/common';
import { Job, Queue } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@app/config';
import { PgDedicatedService, PgMoveLeftovers, PgPremiumFailovers } from '@app/domain';
import { PG_DEDICATED_JOBS, QUEUES, redisConnection } from '@app/queues';
import { QueueProcessor } from './queue-processor';

/**
 * Dedicated PostgreSQL clusters' upkeep on schedules kept in Redis, so several workers share one
 * run per interval: supervision (dead clusters restarted, premium failovers followed) and the archives.
 */
@Injectable()
export class PgDedicatedProcessor extends QueueProcessor<Record<string, never>> {
  readonly queue = QUEUES.pgDedicated;
  private scheduler?: Queue;
  /** A slow run is not overlapped by the next tick. */
  private readonly running = new Set<string>();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly dedicated: PgDedicatedService,
    private readonly premium: PgPremiumFailovers,
    private readonly moveLeftovers: PgMoveLeftovers,
  ) {
    super(config);
  }

  override async onApplicationBootstrap(): Promise<void> {
    super.onApplicationBootstrap();
    this.scheduler = new Queue(this.queue, { connection: redisConnection(this.config), prefix: this.config.queues.prefix });
    const opts = { removeOnComplete: true, removeOnFail: true };
    await this.scheduler.upsertJobScheduler(PG_DEDICATED_JOBS.supervise, { every: this.config.pgDedicated.superviseIntervalMs }, { name: PG_DEDICATED_JOBS.supervise, opts });
    await this.scheduler.upsertJobScheduler(
      PG_DEDICATED_JOBS.archives,
      { every: this.config.pgDedicated.archiveCheckIntervalMs },
      { name: PG_DEDICATED_JOBS.archives, opts },
    );
  }

  protected async process(job: Job<Record<string, never>>): Promise<unknown> {
    if (this.running.has(job.name)) return 'still running';
    this.running.add(job.name);
    try {
      if (job.name === PG_DEDICATED_JOBS.supervise) {
        return { ...(await this.dedicated.supervise()), premium: await this.premium.supervise(), moveLeftovers: await this.moveLeftovers.run() };
      }
      if (job.name === PG_DEDICATED_JOBS.archives) return await this.dedicated.maintainArchives();
      throw new Error(`No handler for postgres-dedicated job ${job.name}`);
    } finally {
      this.running.delete(job.name);
    }
  }

  override async onApplicationShutdown(): Promise<void> {
    await super.onApplicationShutdown();
    await this.scheduler?.close();
  }
}
