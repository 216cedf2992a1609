import { Global, Module } from '@nestjs/common';
import { WebhookSender } from '@app/domain';
import { FetchWebhookSender } from './fetch-webhook-sender';

/** The HTTP client of webhook deliveries. */
@Global()
@Module({
  providers: [{ provide: WebhookSender, useClass: FetchWebhookSender }],
  exports: [WebhookSender],
})
export class WebhookSenderModule {}
