/**
 * Queues delivery attempts and runs the fan-out. Job ids are deterministic per (delivery,
 * attempt number), so queueing one twice is a no-op while it is live.
 */
export abstract class WebhookDispatcher {
  /** Queues attempt number `attempt` of the delivery, to run after `delayMs`. */
  abstract deliver(deliveryId: string, attempt: number, delayMs: number): Promise<void>;
}
