import { Module } from '@nestjs/common';
import { VendorInstalls } from '../vendors/vendor-installs.service';
import { AddonWebhooksService } from './addon-webhooks.service';
import { WebhookDeliveryUseCase } from './webhook-delivery.use-case';
import { WebhookFanOutUseCase } from './webhook-fan-out.use-case';

const services = [AddonWebhooksService, WebhookFanOutUseCase, WebhookDeliveryUseCase, VendorInstalls];

/**
 * The partner side: webhooks and the vendor's installs list. Its ports (WebhookRepository,
 * VendorInstallRepository, WebhookDispatcher, WebhookSender, WebhookOptions) come from the
 * global adapter modules of the apps that import it, so apps without them (the CLI) need not.
 */
@Module({ providers: services, exports: services })
export class WebhooksModule {}
