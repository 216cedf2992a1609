import { Inject, Injectable } from '@nestjs/common';
import { Job, Queue } from 'bullmq';
import { APP_CONFIG, AppConfig } from '@app/config';
import { WebhookDeliveryUseCase, WebhookFanOutUseCase } from '@app/domain';
import { QUEUES, WEBHOOK_JOBS, WebhookDeliveryJobPayload, redisConnection } from '@app/queues';
import { QueueProcessor } from './queue-processor';

type Payload = WebhookDeliveryJobPayload | Record<string, never>;

/**
 * Partner webhooks: the repeating fan-out (lifecycle events into deliveries, lost deliveries
 * queued again) and each delivery attempt. The schedule lives in Redis, so several workers
 * share one fan-out per interval.
 */
@Injectable()
export class WebhookDeliveryProcessor extends QueueProcessor<Payload> {
  readonly queue = QUEUES.webhooks;
  private scheduler?: Queue;
  /** A slow fan-out in this process is not overlapped by the next tick. */
  private fanningOut = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly fanOut: WebhookFanOutUseCase,
    private readonly delivery: WebhookDeliveryUseCase,
  ) {
    super(config);
  }

  override async onApplicationBootstrap(): Promise<void> {
    super.onApplicationBootstrap();
    this.scheduler = new Queue(this.queue, { connection: redisConnection(this.config), prefix: this.config.queues.prefix });
    await this.scheduler.upsertJobScheduler(
      WEBHOOK_JOBS.fanOut,
      { every: this.config.webhooks.fanOutIntervalMs },
      { name: WEBHOOK_JOBS.fanOut, opts: { removeOnComplete: true, removeOnFail: true } },
    );
  }

  protected async process(job: Job<Payload>): Promise<unknown> {
    if (job.name === WEBHOOK_JOBS.deliver) {
      const { deliveryId, attempt } = job.data as WebhookDeliveryJobPayload;
      return this.delivery.execute(deliveryId, attempt);
    }
    if (job.name === WEBHOOK_JOBS.fanOut) {
      if (this.fanningOut) return 'still running';
      this.fanningOut = true;
      try {
        return await this.fanOut.run(this.config.webhooks.overdueAfterMs);
      } finally {
        this.fanningOut = false;
      }
    }
    throw new Error(`No handler for webhook job ${job.name}`);
  }

  override async onApplicationShutdown(): Promise<void> {
    await super.onApplicationShutdown();
    await this.scheduler?.close();
  }
}
