import { Inject, Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@app/config';
import { ProviderUnavailableError, ProvisionLifecycle } from '@app/domain';
import { AddonJobPayload, QUEUES } from '@app/queues';
import { QueueProcessor } from './queue-processor';

@Injectable()
export class ProvisionProcessor extends QueueProcessor<AddonJobPayload> {
  readonly queue = QUEUES.provision;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly lifecycle: ProvisionLifecycle,
  ) {
    super(config);
  }

  protected async process(job: Job<AddonJobPayload>): Promise<unknown> {
    try {
      return await this.lifecycle.provision(job.data.addonId);
    } catch (error) {
      if (error instanceof ProviderUnavailableError && this.isLastAttempt(job)) {
        await this.lifecycle.fail(job.data.addonId, `The provider could not be reached after ${job.attemptsMade + 1} attempts (${error.message}).`);
        return 'failed';
      }
      throw error;
    }
  }
}
