import { Inject, Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@app/config';
import { ProvisionLifecycle } from '@app/domain';
import { ProvisionJobPayload, QUEUES } from '@app/queues';
import { QueueProcessor } from './queue-processor';

@Injectable()
export class ProvisionProcessor extends QueueProcessor<ProvisionJobPayload> {
  readonly queue = QUEUES.provision;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly lifecycle: ProvisionLifecycle,
  ) {
    super(config);
  }

  protected async process(job: Job<ProvisionJobPayload>): Promise<unknown> {
    try {
      return await this.lifecycle.provision(job.data.addonId, job.data.headStart);
    } catch (error) {
      // The last attempt settles the add-on whatever went wrong, so nothing stays provisioning forever.
      if (this.isLastAttempt(job)) {
        await this.lifecycle.fail(job.data.addonId, this.finalReason(job, error));
        return 'failed';
      }
      throw error;
    }
  }
}
