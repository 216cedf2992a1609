import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@app/config';
import { WebhookDispatcher } from '@app/domain';
import { QUEUES } from './queue-names';
import { providerJobOptions, redisConnection } from './queue-options';
import { WEBHOOK_JOBS, WebhookDeliveryJobPayload, webhookDeliveryJobId } from './webhook-jobs';

/** The WebhookDispatcher port on BullMQ. */
@Injectable()
export class BullMqWebhookDispatcher extends WebhookDispatcher implements OnApplicationShutdown {
  private readonly logger = new Logger(BullMqWebhookDispatcher.name);
  private readonly queue: Queue<WebhookDeliveryJobPayload>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super();
    // Retries of the job itself only cover a crash or an internal error; the delivery's own
    // retries are new jobs, scheduled by the delivery use case.
    this.queue = new Queue(QUEUES.webhooks, {
      connection: { ...redisConnection(config), maxRetriesPerRequest: 1 },
      prefix: config.queues.prefix,
      defaultJobOptions: providerJobOptions(3),
    });
  }

  /**
   * Called after the delivery's row has committed; a failure here is logged, not thrown: the
   * fan-out's sweep queues the delivery again once it is overdue.
   */
  async deliver(deliveryId: string, attempt: number, delayMs: number): Promise<void> {
    const jobId = webhookDeliveryJobId(deliveryId, attempt);
    try {
      await this.queue.add(WEBHOOK_JOBS.deliver, { deliveryId, attempt }, { jobId, delay: Math.max(0, delayMs) });
    } catch (error) {
      this.logger.error({ jobId, err: (error as Error).message }, 'could not enqueue a webhook delivery; the sweep will retry');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
  }
}
