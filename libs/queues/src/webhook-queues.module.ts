import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { WebhookDispatcher, WebhookOptions } from '@app/domain';
import { BullMqWebhookDispatcher } from './bullmq-webhook-dispatcher';

/** Webhook deliveries on BullMQ, and their settings from configuration. */
@Global()
@Module({
  providers: [
    BullMqWebhookDispatcher,
    { provide: WebhookDispatcher, useExisting: BullMqWebhookDispatcher },
    {
      provide: WebhookOptions,
      inject: [APP_CONFIG],
      useFactory: (c: AppConfig): WebhookOptions => ({
        maxAttempts: c.webhooks.maxAttempts,
        backoffMs: c.webhooks.backoffMs,
        backoffCapMs: c.webhooks.backoffCapMs,
        timeoutMs: c.webhooks.timeoutMs,
        production: c.env === 'production',
      }),
    },
  ],
  exports: [WebhookDispatcher, WebhookOptions],
})
export class WebhookQueuesModule {}
