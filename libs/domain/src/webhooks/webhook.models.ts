/**
 * Partner webhooks (reference §3.4): a vendor subscribes, with its add-on's partner token, to
 * events of the apps its add-on is attached to. Event types are Heroku's entity names.
 */
export const WEBHOOK_EVENT_TYPES = ['api:addon-attachment', 'api:app', 'api:addon'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** `notify`: one attempt, fire and forget; `sync`: retried with backoff until success or the limit. */
export const WEBHOOK_LEVELS = ['notify', 'sync'] as const;
export type WebhookLevel = (typeof WEBHOOK_LEVELS)[number];

export type WebhookAction = 'create' | 'update' | 'destroy';

export interface AddonWebhook {
  id: string;
  addonId: string;
  include: WebhookEventType[];
  level: WebhookLevel;
  url: string;
  /** Sealed value sent back as the `Authorization` header of every delivery. */
  authorizationSealed: string | null;
  /** Sealed HMAC key of the `Heroku-Webhook-Hmac-SHA256` signature. */
  secretSealed: string;
  createdAt: Date;
  updatedAt: Date;
}

/** Something that happened to an app the add-on is attached to, as its vendor is told about it. */
export interface WebhookEvent {
  id: string;
  addonId: string;
  /** The `lifecycle_events` row it was made from: with the add-on, what keeps fan-out idempotent. */
  lifecycleEventId: string;
  include: WebhookEventType;
  action: WebhookAction;
  resource: string;
  data: Record<string, unknown>;
  previousData: Record<string, unknown> | null;
  createdAt: Date;
  updatedAt: Date;
}

export type WebhookDeliveryStatus = 'pending' | 'scheduled' | 'retrying' | 'failed' | 'succeeded';
export type WebhookAttemptStatus = 'scheduled' | 'succeeded' | 'failed';

export interface WebhookAttempt {
  id: string;
  deliveryId: string;
  /** `scheduled` while the request is under way (or was cut short by a crash). */
  status: WebhookAttemptStatus;
  /** The HTTP status the receiver answered; null when there was no answer. */
  code: number | null;
  /** Why there was no usable answer (`Timeout`, `ConnectionRefused`, …); null for an HTTP answer. */
  errorClass: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface WebhookDelivery {
  id: string;
  addonId: string;
  eventId: string;
  webhookId: string;
  status: WebhookDeliveryStatus;
  numAttempts: number;
  /**
   * When the next attempt is due; while an attempt runs, when it is presumed lost (its lease),
   * after which the sweep queues the next one. Null once the delivery is settled.
   */
  nextAttemptAt: Date | null;
  lastAttemptId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A delivery as the vendor reads it: with its last attempt, its event's type and its webhook's level. */
export interface WebhookDeliveryView {
  delivery: WebhookDelivery;
  lastAttempt: WebhookAttempt | null;
  event: { id: string; include: WebhookEventType };
  webhook: { id: string; level: WebhookLevel };
}

/** A `lifecycle_events` row waiting in the webhook outbox. */
export interface OutboxEvent {
  id: string;
  type: string;
  addonId: string | null;
  appId: string | null;
  occurredAt: Date;
  data: Record<string, unknown>;
}

export const isSettled = (status: WebhookDeliveryStatus): boolean => status === 'succeeded' || status === 'failed';
