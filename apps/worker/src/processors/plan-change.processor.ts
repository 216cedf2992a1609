import { Inject, Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@app/config';
import { ProvisionLifecycle } from '@app/domain';
import { PlanChangeJobPayload, QUEUES } from '@app/queues';
import { QueueProcessor } from './queue-processor';

@Injectable()
export class PlanChangeProcessor extends QueueProcessor<PlanChangeJobPayload> {
  readonly queue = QUEUES.planChange;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly lifecycle: ProvisionLifecycle,
  ) {
    super(config);
  }

  protected async process(job: Job<PlanChangeJobPayload>): Promise<unknown> {
    const { addonId, seq } = job.data;
    try {
      return await this.lifecycle.changePlan(addonId, seq);
    } catch (error) {
      if (this.isLastAttempt(job)) {
        await this.lifecycle.failPlanChange(addonId, seq, this.finalReason(job, error));
        return 'failed';
      }
      throw error;
    }
  }
}
