import { Page, RangeSpec } from '@app/common';
import {
  AddonWebhook,
  OutboxEvent,
  WebhookAttempt,
  WebhookDelivery,
  WebhookDeliveryView,
  WebhookEvent,
  WebhookEventType,
} from './webhook.models';

/** Range fields of the webhook lists: ids are time-ordered (UUID v7), so this is creation order. */
export const WEBHOOK_RANGE_FIELDS = ['id'] as const;

/**
 * Webhooks, their events, deliveries and attempts, and the outbox the fan-out reads.
 * `transaction` hands the callback a repository bound to one database transaction.
 */
export abstract class WebhookRepository {
  abstract transaction<T>(work: (tx: WebhookRepository) => Promise<T>): Promise<T>;

  /**
   * The add-on's webhooks, counted after taking a lock that serialises creating them for the rest
   * of the transaction, so that concurrent creates cannot both pass the limit. Call inside `transaction`.
   */
  abstract countForAddon(addonId: string): Promise<number>;
  abstract create(webhook: AddonWebhook): Promise<void>;
  abstract list(addonId: string, range: RangeSpec): Promise<Page<AddonWebhook>>;
  abstract find(addonId: string, id: string): Promise<AddonWebhook | null>;
  abstract findById(id: string): Promise<AddonWebhook | null>;
  abstract update(id: string, patch: Partial<Omit<AddonWebhook, 'id' | 'addonId' | 'createdAt'>>): Promise<void>;
  /** Deletes the webhook with its deliveries; false when the add-on has no such webhook. */
  abstract delete(addonId: string, id: string): Promise<boolean>;
  /** The add-ons' webhooks that include `type` and existed when the event happened. */
  abstract subscribed(addonIds: string[], type: WebhookEventType, at: Date): Promise<AddonWebhook[]>;

  abstract listEvents(addonId: string, range: RangeSpec): Promise<Page<WebhookEvent>>;
  abstract findEvent(addonId: string, id: string): Promise<WebhookEvent | null>;
  abstract findEventById(id: string): Promise<WebhookEvent | null>;

  abstract listDeliveries(addonId: string, range: RangeSpec): Promise<Page<WebhookDeliveryView>>;
  abstract findDelivery(addonId: string, id: string): Promise<WebhookDeliveryView | null>;
  /** Locks the delivery for the rest of the transaction. */
  abstract findDeliveryForUpdate(id: string): Promise<WebhookDelivery | null>;
  abstract updateDelivery(id: string, patch: Partial<Pick<WebhookDelivery, 'status' | 'numAttempts' | 'nextAttemptAt' | 'lastAttemptId' | 'updatedAt'>>): Promise<void>;
  /** Unsettled deliveries whose next attempt (or whose running attempt's lease) is older than `before`. */
  abstract findOverdue(before: Date, limit: number): Promise<WebhookDelivery[]>;

  abstract insertAttempt(attempt: WebhookAttempt): Promise<void>;
  abstract updateAttempt(id: string, patch: Pick<WebhookAttempt, 'status' | 'code' | 'errorClass' | 'updatedAt'>): Promise<void>;
  /** Attempts of the delivery still `scheduled` (a crash cut them short) are marked failed with `errorClass`. */
  abstract failUnfinishedAttempts(deliveryId: string, errorClass: string, at: Date): Promise<void>;

  /**
   * Takes up to `limit` outbox events, oldest first, locking them (SKIP LOCKED, so concurrent
   * fan-outs share the work). Call inside `transaction`.
   */
  abstract claimOutbox(limit: number): Promise<OutboxEvent[]>;
  /** Writes an event and its deliveries, unless this (lifecycle event, add-on) was done before. */
  abstract recordEvent(event: WebhookEvent, deliveries: WebhookDelivery[]): Promise<void>;
  abstract removeFromOutbox(lifecycleEventIds: string[]): Promise<void>;
  /**
   * The add-ons attached to the app when lifecycle event `eventId` happened, from the lifecycle
   * log: an attachment made before it and not removed before it (one removed since counts, one
   * made since does not), so a late fan-out tells the add-ons that were there, not those there now.
   */
  abstract attachedAddonIds(appId: string, eventId: string): Promise<string[]>;
  /**
   * The app's (or add-on's) name as it was right after lifecycle event `eventId`: the old name of
   * its first rename since, or null when it has not been renamed since (its name is current).
   */
  abstract nameAfter(kind: 'app' | 'addon', id: string, eventId: string): Promise<string | null>;
}
