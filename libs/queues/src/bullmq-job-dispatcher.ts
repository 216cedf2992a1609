import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@app/config';
import { JobDispatcher } from '@app/domain';
import { AddonJobPayload, PlanChangeJobPayload, QUEUES, jobIds } from './queue-names';
import { providerJobOptions, redisConnection } from './queue-options';

/** The JobDispatcher port on BullMQ. */
@Injectable()
export class BullMqJobDispatcher extends JobDispatcher implements OnApplicationShutdown {
  private readonly provisionQueue: Queue<AddonJobPayload>;
  private readonly planChangeQueue: Queue<PlanChangeJobPayload>;
  private readonly deprovisionQueue: Queue<AddonJobPayload>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super();
    const base = { connection: redisConnection(config), prefix: config.queues.prefix };
    this.provisionQueue = new Queue(QUEUES.provision, { ...base, defaultJobOptions: providerJobOptions(config.provider.maxAttempts) });
    this.planChangeQueue = new Queue(QUEUES.planChange, { ...base, defaultJobOptions: providerJobOptions(config.provider.maxAttempts) });
    this.deprovisionQueue = new Queue(QUEUES.deprovision, {
      ...base,
      defaultJobOptions: providerJobOptions(config.provider.deprovisionMaxAttempts),
    });
  }

  async provision(addonId: string): Promise<void> {
    await this.provisionQueue.add('provision', { addonId }, { jobId: jobIds.provision(addonId) });
  }

  async changePlan(addonId: string, seq: number): Promise<void> {
    await this.planChangeQueue.add('plan-change', { addonId, seq }, { jobId: jobIds.planChange(addonId, seq) });
  }

  async deprovision(addonId: string): Promise<void> {
    await this.deprovisionQueue.add('deprovision', { addonId }, { jobId: jobIds.deprovision(addonId) });
  }

  queues(): Queue[] {
    return [this.provisionQueue, this.planChangeQueue, this.deprovisionQueue];
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.queues().map((q) => q.close()));
  }
}
