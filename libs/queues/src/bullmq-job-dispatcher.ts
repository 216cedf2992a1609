import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@app/config';
import { JobDispatcher, ProvisionHeadStart } from '@app/domain';
import { AddonJobPayload, POSTGRES_JOBS, PlanChangeJobPayload, PostgresJobPayload, ProvisionJobPayload, QUEUES, jobIds } from './queue-names';
import { providerJobOptions, redisConnection } from './queue-options';

/** The JobDispatcher port on BullMQ. */
@Injectable()
export class BullMqJobDispatcher extends JobDispatcher implements OnApplicationShutdown {
  private readonly logger = new Logger(BullMqJobDispatcher.name);
  private readonly provisionQueue: Queue<ProvisionJobPayload>;
  private readonly planChangeQueue: Queue<PlanChangeJobPayload>;
  private readonly deprovisionQueue: Queue<AddonJobPayload>;
  private readonly postgresQueue: Queue<PostgresJobPayload>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super();
    // Producers fail fast when Redis is away (workers, by contrast, wait for it to return).
    const base = { connection: { ...redisConnection(config), maxRetriesPerRequest: 1 }, prefix: config.queues.prefix };
    this.provisionQueue = new Queue(QUEUES.provision, { ...base, defaultJobOptions: providerJobOptions(config.provider.maxAttempts) });
    this.planChangeQueue = new Queue(QUEUES.planChange, { ...base, defaultJobOptions: providerJobOptions(config.provider.maxAttempts) });
    this.deprovisionQueue = new Queue(QUEUES.deprovision, {
      ...base,
      defaultJobOptions: providerJobOptions(config.provider.deprovisionMaxAttempts),
    });
    // Backups and restores settle their own failures; attempts beyond the first only cover a worker crash.
    this.postgresQueue = new Queue(QUEUES.postgres, { ...base, defaultJobOptions: providerJobOptions(3) });
  }

  provision(addonId: string, headStart?: ProvisionHeadStart): Promise<void> {
    return this.enqueue(this.provisionQueue, 'provision', headStart ? { addonId, headStart } : { addonId }, jobIds.provision(addonId));
  }

  changePlan(addonId: string, seq: number): Promise<void> {
    return this.enqueue(this.planChangeQueue, 'plan-change', { addonId, seq }, jobIds.planChange(addonId, seq));
  }

  deprovision(addonId: string): Promise<void> {
    return this.enqueue(this.deprovisionQueue, 'deprovision', { addonId }, jobIds.deprovision(addonId));
  }

  postgresBackup(backupId: string): Promise<void> {
    return this.enqueue(this.postgresQueue, POSTGRES_JOBS.backup, { id: backupId }, jobIds.postgresBackup(backupId));
  }

  postgresRestore(restoreId: string): Promise<void> {
    return this.enqueue(this.postgresQueue, POSTGRES_JOBS.restore, { id: restoreId }, jobIds.postgresRestore(restoreId));
  }

  /**
   * Called after the state change has committed, so a failure here must not fail the request
   * (a retry would repeat a change that already happened): the database is the outbox, and the
   * reconciler queues the add-on again once it looks stuck.
   */
  private async enqueue<T>(queue: Queue<T>, name: string, data: T, jobId: string): Promise<void> {
    try {
      await (queue as Queue).add(name, data, { jobId });
    } catch (error) {
      this.logger.error({ jobId, err: (error as Error).message }, 'could not enqueue; the reconciler will retry');
    }
  }

  queues(): Queue[] {
    return [this.provisionQueue, this.planChangeQueue, this.deprovisionQueue, this.postgresQueue];
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.queues().map((q) => q.close()));
  }
}
