import { Inject, Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@app/config';
import { ProviderUnavailableError, ProvisionLifecycle } from '@app/domain';
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
      if (error instanceof ProviderUnavailableError && this.isLastAttempt(job)) {
        await this.lifecycle.failPlanChange(addonId, seq, `The provider could not be reached after ${job.attemptsMade + 1} attempts (${error.message}).`);
        return 'failed';
      }
      throw error;
    }
  }
}
