import { Injectable } from '@nestjs/common';
import { Clock, SecretBox } from '@app/common';
import { timeOrderedId } from './time-ordered-id';
import { AddonWebhook, WebhookAttempt, WebhookDelivery, WebhookEvent, isSettled } from './webhook.models';
import { WebhookDispatcher } from './webhook-dispatcher.port';
import { WebhookOptions } from './webhook.options';
import { WebhookRepository } from './webhook.repository';
import { WebhookSender } from './webhook-sender.port';
import { SIGNATURE_HEADER, attemptLimit, deliveryBody, isSuccessStatus, retryDelayMs, signWebhookBody } from './webhook.rules';

/** How much longer than the request timeout an attempt may take before the sweep presumes it lost. */
const LEASE_MARGIN_MS = 5_000;

export type DeliveryStepResult = 'succeeded' | 'scheduled' | 'failed' | 'skipped';

interface StartedAttempt {
  delivery: WebhookDelivery;
  webhook: AddonWebhook;
  event: WebhookEvent;
  attempt: WebhookAttempt;
  limit: number;
}

/**
 * One attempt of one delivery. The delivery row is updated before the request (attempt recorded,
 * counted, leased) and after it (outcome, next attempt), each in its own transaction, so a crash
 * mid-request leaves a delivery the sweep picks up again; the job's attempt number makes a
 * repeated or stale job a no-op.
 */
@Injectable()
export class WebhookDeliveryUseCase {
  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly sender: WebhookSender,
    private readonly dispatcher: WebhookDispatcher,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly options: WebhookOptions,
  ) {}

  async execute(deliveryId: string, attemptNumber: number): Promise<DeliveryStepResult> {
    const started = await this.start(deliveryId, attemptNumber);
    if (started === null) return 'skipped';
    const { delivery, webhook, event, attempt } = started;
    const body = deliveryBody(event, webhook, { attemptId: attempt.id, deliveryId: delivery.id });
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'Attache-Webhooks/1',
      [SIGNATURE_HEADER]: signWebhookBody(this.box.open(webhook.secretSealed), body),
      'Heroku-Webhook-Id': webhook.id,
      'Heroku-Webhook-Delivery-Id': delivery.id,
      'Heroku-Webhook-Attempt-Id': attempt.id,
    };
    if (webhook.authorizationSealed) headers.Authorization = this.box.open(webhook.authorizationSealed);
    const response = await this.sender.send({ url: webhook.url, headers, body, timeoutMs: this.options.timeoutMs });
    return this.finish(started, response.kind === 'answered' ? { code: response.status, errorClass: null } : { code: null, errorClass: response.errorClass });
  }

  private async start(deliveryId: string, attemptNumber: number): Promise<StartedAttempt | null> {
    return this.webhooks.transaction(async (tx) => {
      const delivery = await tx.findDeliveryForUpdate(deliveryId);
      // Gone with its webhook, settled, or not the attempt due (a repeated or superseded job).
      if (!delivery || isSettled(delivery.status) || delivery.numAttempts + 1 !== attemptNumber) return null;
      const [webhook, event] = await Promise.all([tx.findById(delivery.webhookId), tx.findEventById(delivery.eventId)]);
      if (!webhook || !event) return null;
      const now = this.clock.now();
      const limit = attemptLimit(webhook.level, this.options.maxAttempts);
      await tx.failUnfinishedAttempts(delivery.id, 'Interrupted', now);
      if (attemptNumber > limit) {
        // The last attempt was cut short by a crash: nothing is left to try.
        await tx.updateDelivery(delivery.id, { status: 'failed', nextAttemptAt: null, updatedAt: now });
        return null;
      }
      const attempt: WebhookAttempt = { id: timeOrderedId(now), deliveryId: delivery.id, status: 'scheduled', code: null, errorClass: null, createdAt: now, updatedAt: now };
      await tx.insertAttempt(attempt);
      const patch = {
        status: attemptNumber === 1 ? ('pending' as const) : ('retrying' as const),
        numAttempts: attemptNumber,
        lastAttemptId: attempt.id,
        nextAttemptAt: new Date(now.getTime() + this.options.timeoutMs + LEASE_MARGIN_MS),
        updatedAt: now,
      };
      await tx.updateDelivery(delivery.id, patch);
      return { delivery: { ...delivery, ...patch }, webhook, event, attempt, limit };
    });
  }

  private async finish(started: StartedAttempt, outcome: { code: number | null; errorClass: string | null }): Promise<DeliveryStepResult> {
    const { attempt, limit } = started;
    const succeeded = outcome.code !== null && isSuccessStatus(outcome.code);
    const result = await this.webhooks.transaction(async (tx) => {
      const delivery = await tx.findDeliveryForUpdate(started.delivery.id);
      const now = this.clock.now();
      await tx.updateAttempt(attempt.id, { status: succeeded ? 'succeeded' : 'failed', code: outcome.code, errorClass: outcome.errorClass, updatedAt: now });
      // Deleted meanwhile, or taken over by a later attempt after this one's lease ran out.
      if (!delivery || delivery.lastAttemptId !== attempt.id || isSettled(delivery.status)) return { step: 'skipped' as const, delayMs: 0 };
      if (succeeded) {
        await tx.updateDelivery(delivery.id, { status: 'succeeded', nextAttemptAt: null, updatedAt: now });
        return { step: 'succeeded' as const, delayMs: 0 };
      }
      if (delivery.numAttempts >= limit) {
        await tx.updateDelivery(delivery.id, { status: 'failed', nextAttemptAt: null, updatedAt: now });
        return { step: 'failed' as const, delayMs: 0 };
      }
      const delayMs = retryDelayMs(delivery.numAttempts, this.options.backoffMs, this.options.backoffCapMs);
      await tx.updateDelivery(delivery.id, { status: 'scheduled', nextAttemptAt: new Date(now.getTime() + delayMs), updatedAt: now });
      return { step: 'scheduled' as const, delayMs };
    });
    if (result.step === 'scheduled') await this.dispatcher.deliver(started.delivery.id, started.delivery.numAttempts + 1, result.delayMs);
    return result.step;
  }
}
