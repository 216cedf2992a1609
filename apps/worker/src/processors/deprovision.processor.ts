import { Inject, Injectable } from '@nestjs/common';
import { Job } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@app/config';
import { ProvisionLifecycle } from '@app/domain';
import { AddonJobPayload, QUEUES } from '@app/queues';
import { QueueProcessor } from './queue-processor';

/** Retried with backoff until the provider confirms; after the last attempt the reconciler queues it again. */
@Injectable()
export class DeprovisionProcessor extends QueueProcessor<AddonJobPayload> {
  readonly queue = QUEUES.deprovision;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly lifecycle: ProvisionLifecycle,
  ) {
    super(config);
  }

  protected process(job: Job<AddonJobPayload>): Promise<unknown> {
    return this.lifecycle.deprovision(job.data.addonId);
  }
}
