import { Inject, Injectable } from '@nestjs/common';
import { Job, Queue } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@app/config';
import { InvoicingService, KafkaOperationsUseCase, PostgresMaintenance, Reconciler, RedisOperationsUseCase, RedisSpares, previousMonth } from '@app/domain';
import { BILLING_INVOICES_JOB, KAFKA_SAMPLE_JOB, POSTGRES_MAINTENANCE_JOB, QUEUES, RECONCILE_JOB, REDIS_SPARES_JOB, REDIS_SUPERVISE_JOB, redisConnection } from '@app/queues';
import { QueueProcessor } from './queue-processor';

/** Periodic upkeep. The schedule lives in Redis, so several workers share one reconcile run per interval. */
@Injectable()
export class MaintenanceProcessor extends QueueProcessor<Record<string, never>> {
  readonly queue = QUEUES.maintenance;
  private scheduler?: Queue;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly reconciler: Reconciler,
    private readonly postgres: PostgresMaintenance,
    private readonly redis: RedisOperationsUseCase,
    private readonly redisSpares: RedisSpares,
    private readonly kafka: KafkaOperationsUseCase,
    private readonly invoicing: InvoicingService,
  ) {
    super(config);
  }

  override async onApplicationBootstrap(): Promise<void> {
    super.onApplicationBootstrap();
    this.scheduler = new Queue(this.queue, { connection: redisConnection(this.config), prefix: this.config.queues.prefix });
    await this.scheduler.upsertJobScheduler(
      RECONCILE_JOB,
      { every: this.config.reconciler.intervalMs },
      { name: RECONCILE_JOB, opts: { removeOnComplete: true, removeOnFail: true } },
    );
    await this.scheduler.upsertJobScheduler(
      POSTGRES_MAINTENANCE_JOB,
      { every: this.config.postgres.maintenanceIntervalMs },
      { name: POSTGRES_MAINTENANCE_JOB, opts: { removeOnComplete: true, removeOnFail: true } },
    );
    await this.scheduler.upsertJobScheduler(
      REDIS_SUPERVISE_JOB,
      { every: this.config.redisInstances.superviseIntervalMs },
      { name: REDIS_SUPERVISE_JOB, opts: { removeOnComplete: true, removeOnFail: true } },
    );
    await this.scheduler.upsertJobScheduler(
      KAFKA_SAMPLE_JOB,
      { every: this.config.kafka.sampleIntervalMs },
      { name: KAFKA_SAMPLE_JOB, opts: { removeOnComplete: true, removeOnFail: true } },
    );
    await this.scheduler.upsertJobScheduler(
      BILLING_INVOICES_JOB,
      { every: this.config.billing.invoiceCheckIntervalMs },
      { name: BILLING_INVOICES_JOB, opts: { removeOnComplete: true, removeOnFail: true } },
    );
  }

  /** Runs under way in this process: a slow run is not overlapped by the next tick. */
  private readonly running = new Set<string>();

  protected async process(job: Job<Record<string, never>>): Promise<unknown> {
    if (this.running.has(job.name)) return 'still running';
    this.running.add(job.name);
    try {
      if (job.name === RECONCILE_JOB) return await this.reconciler.run();
      if (job.name === POSTGRES_MAINTENANCE_JOB) return await this.postgres.run();
      // Supervision sweeps keep the spare pools too; a refill job tops them up after a claim.
      if (job.name === REDIS_SUPERVISE_JOB) return { ...(await this.redis.supervise()), spares: await this.redisSpares.maintain() };
      if (job.name === REDIS_SPARES_JOB) return await this.redisSpares.maintain();
      if (job.name === KAFKA_SAMPLE_JOB) return await this.kafka.sample();
      if (job.name === BILLING_INVOICES_JOB) return await this.invoiceDueMonths();
      throw new Error(`No handler for maintenance job ${job.name}`);
    } finally {
      this.running.delete(job.name);
    }
  }

  /**
   * The month whose grace window has passed, after the one before in case the worker was down
   * then (a completed month is skipped at once; a month whose previous one is not invoiced is refused).
   */
  private async invoiceDueMonths(): Promise<unknown[]> {
    const due = this.invoicing.dueMonth();
    const results: unknown[] = [];
    for (const month of [previousMonth(due), due]) {
      results.push(await this.invoicing.run(month).catch((error: Error) => ({ month, error: error.message })));
    }
    return results;
  }

  override async onApplicationShutdown(): Promise<void> {
    await super.onApplicationShutdown();
    await this.scheduler?.close();
  }
}
