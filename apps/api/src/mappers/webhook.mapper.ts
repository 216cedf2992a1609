import { AddonWebhook, WebhookDeliveryView, WebhookEvent } from '@app/domain';

type AddonRef = { id: string; name: string };

/** Heroku's `add-on-webhook`; never its secret or authorization (a generated secret is added by the create route only). */
export const toWebhookResponse = (webhook: AddonWebhook, addon: AddonRef) => ({
  id: webhook.id,
  addon: { id: addon.id, name: addon.name },
  created_at: webhook.createdAt.toISOString(),
  updated_at: webhook.updatedAt.toISOString(),
  include: webhook.include,
  level: webhook.level,
  url: webhook.url,
});

/** Heroku's `add-on-webhook-delivery`. */
export const toWebhookDeliveryResponse = (view: WebhookDeliveryView, addon: AddonRef) => ({
  id: view.delivery.id,
  addon: { id: addon.id, name: addon.name },
  created_at: view.delivery.createdAt.toISOString(),
  updated_at: view.delivery.updatedAt.toISOString(),
  status: view.delivery.status,
  num_attempts: view.delivery.numAttempts,
  // While an attempt runs the stored time is its lease, not a scheduled attempt.
  next_attempt_at: view.delivery.status === 'scheduled' && view.delivery.nextAttemptAt ? view.delivery.nextAttemptAt.toISOString() : null,
  last_attempt: view.lastAttempt
    ? {
        id: view.lastAttempt.id,
        code: view.lastAttempt.code,
        error_class: view.lastAttempt.errorClass,
        status: view.lastAttempt.status,
        created_at: view.lastAttempt.createdAt.toISOString(),
        updated_at: view.lastAttempt.updatedAt.toISOString(),
      }
    : null,
  event: { id: view.event.id, include: view.event.include },
  webhook: { id: view.webhook.id, level: view.webhook.level },
});

/** Heroku's `add-on-webhook-event`: the payload as deliveries carry it. */
export const toWebhookEventResponse = (event: WebhookEvent, addon: AddonRef) => ({
  id: event.id,
  addon: { id: addon.id, name: addon.name },
  created_at: event.createdAt.toISOString(),
  updated_at: event.updatedAt.toISOString(),
  include: event.include,
  payload: {
    action: event.action,
    resource: event.resource,
    data: event.data,
    previous_data: event.previousData,
    version: 'application/vnd.heroku+json; version=3',
  },
});
