/** Jobs on the `webhook-delivery` queue. */
export const WEBHOOK_JOBS = {
  /** Repeating: lifecycle events into deliveries, and lost deliveries queued again. */
  fanOut: 'fan-out',
  /** One attempt of one delivery. */
  deliver: 'deliver',
} as const;

/** Ids and the attempt number, which is the job's idempotency key. */
export interface WebhookDeliveryJobPayload {
  deliveryId: string;
  attempt: number;
}

/** One job per (delivery, attempt): queueing an attempt again while it is live is a no-op. */
export const webhookDeliveryJobId = (deliveryId: string, attempt: number): string => `webhook-delivery.${deliveryId}.${attempt}`;
