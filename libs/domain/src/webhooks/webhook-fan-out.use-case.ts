import { Injectable, Logger } from '@nestjs/common';
import { Clock, isUuid } from '@app/common';
import { timeOrderedId } from './time-ordered-id';
import { Addon, App } from '../shared/models';
import { Store } from '../shared/store.port';
import { OutboxEvent, WebhookAction, WebhookDelivery, WebhookEvent, WebhookEventType } from './webhook.models';
import { WebhookDispatcher } from './webhook-dispatcher.port';
import { WebhookRepository } from './webhook.repository';

/** Outbox events taken per transaction. */
const BATCH = 100;
/** Overdue deliveries queued again per run. */
const SWEEP_BATCH = 500;

/** What one add-on's vendor is told about one lifecycle event. */
interface Notice {
  addonId: string;
  include: WebhookEventType;
  action: WebhookAction;
  resource: string;
  data: Record<string, unknown>;
  previousData: Record<string, unknown> | null;
}

/**
 * Turns lifecycle events into webhook events and deliveries: which add-ons' vendors hear of an
 * event, and which of their webhooks subscribe to it. Each outbox row is taken, fanned out and
 * removed in one transaction, so a crash at any point repeats the whole row or none of it; the
 * deliveries are queued after the commit, and the sweep queues again any a crash left unqueued.
 */
@Injectable()
export class WebhookFanOutUseCase {
  private readonly logger = new Logger(WebhookFanOutUseCase.name);

  constructor(
    private readonly store: Store,
    private readonly webhooks: WebhookRepository,
    private readonly dispatcher: WebhookDispatcher,
    private readonly clock: Clock,
  ) {}

  /** Fans out what the outbox holds, then queues overdue deliveries again. */
  async run(overdueAfterMs: number): Promise<{ events: number; deliveries: number; requeued: number }> {
    let events = 0;
    let deliveries = 0;
    for (;;) {
      const batch = await this.fanOutBatch();
      events += batch.events;
      deliveries += batch.deliveries.length;
      for (const delivery of batch.deliveries) await this.dispatcher.deliver(delivery.id, 1, 0);
      if (batch.events < BATCH) break;
    }
    const requeued = await this.sweep(overdueAfterMs);
    return { events, deliveries, requeued };
  }

  private async fanOutBatch(): Promise<{ events: number; deliveries: WebhookDelivery[] }> {
    return this.webhooks.transaction(async (tx) => {
      const claimed = await tx.claimOutbox(BATCH);
      const created: WebhookDelivery[] = [];
      for (const outboxEvent of claimed) {
        for (const notice of await this.noticesFor(outboxEvent, tx)) {
          const subscribed = await tx.subscribed([notice.addonId], notice.include, outboxEvent.occurredAt);
          if (subscribed.length === 0) continue;
          const now = this.clock.now();
          // The event is dated when the change happened; its id sorts the same way.
          const event: WebhookEvent = { id: timeOrderedId(outboxEvent.occurredAt), lifecycleEventId: outboxEvent.id, createdAt: outboxEvent.occurredAt, updatedAt: now, ...notice };
          const deliveries = subscribed.map(
            (webhook): WebhookDelivery => ({
              id: timeOrderedId(now),
              addonId: notice.addonId,
              eventId: event.id,
              webhookId: webhook.id,
              status: 'pending',
              numAttempts: 0,
              nextAttemptAt: now,
              lastAttemptId: null,
              createdAt: now,
              updatedAt: now,
            }),
          );
          await tx.recordEvent(event, deliveries);
          created.push(...deliveries);
        }
      }
      await tx.removeFromOutbox(claimed.map((e) => e.id));
      return { events: claimed.length, deliveries: created };
    });
  }

  /** Deliveries whose job was lost (a crash after commit, a worker gone mid-attempt) are queued again. */
  private async sweep(overdueAfterMs: number): Promise<number> {
    const overdue = await this.webhooks.findOverdue(new Date(this.clock.now().getTime() - overdueAfterMs), SWEEP_BATCH);
    for (const delivery of overdue) await this.dispatcher.deliver(delivery.id, delivery.numAttempts + 1, 0);
    if (overdue.length > 0) this.logger.warn({ count: overdue.length }, 'queued overdue webhook deliveries again');
    return overdue.length;
  }

  /**
   * Whether the event's add-on has a webhook for it, asked before anything is looked up: once any
   * webhook exists every relevant lifecycle event passes through here, most of them of add-ons
   * without one.
   */
  private async anySubscribed(tx: WebhookRepository, event: OutboxEvent, include: WebhookEventType): Promise<boolean> {
    return (await tx.subscribed([event.addonId!], include, event.occurredAt)).length > 0;
  }

  /** Names as they were when the event happened, not as they are now. */
  private async asOf(tx: WebhookRepository, kind: 'app' | 'addon', entity: App | Addon, eventId: string): Promise<{ id: string; name: string }> {
    return { id: entity.id, name: (await tx.nameAfter(kind, entity.id, eventId)) ?? entity.name };
  }

  private async noticesFor(event: OutboxEvent, tx: WebhookRepository): Promise<Notice[]> {
    const data = event.data;
    switch (event.type) {
      case 'attachment.created':
      case 'attachment.removed': {
        if (!event.addonId || !event.appId || !(await this.anySubscribed(tx, event, 'api:addon-attachment'))) return [];
        const [addon, app] = await Promise.all([this.store.addons.findById(event.addonId), this.store.apps.findById(event.appId)]);
        if (!addon || !app) return [];
        return [
          {
            addonId: addon.id,
            include: 'api:addon-attachment',
            action: event.type === 'attachment.created' ? 'create' : 'destroy',
            resource: 'addon-attachment',
            data: {
              id: data.attachment_id,
              name: data.name,
              namespace: data.namespace ?? null,
              addon: await this.asOf(tx, 'addon', addon, event.id),
              app: await this.asOf(tx, 'app', app, event.id),
              ...(event.type === 'attachment.created' ? { created_at: event.occurredAt.toISOString() } : {}),
            },
            previousData: null,
          },
        ];
      }
      case 'addon.plan_changed': {
        if (!event.addonId || !(await this.anySubscribed(tx, event, 'api:addon'))) return [];
        const addon = await this.store.addons.findById(event.addonId);
        if (!addon) return [];
        const [app, service, plans] = await Promise.all([
          this.store.apps.findById(addon.appId),
          this.store.services.findById(addon.serviceId),
          this.store.plans.findByIds([String(data.from_plan_id), String(data.to_plan_id)].filter(isUuid)),
        ]);
        const planRef = (id: unknown) => {
          const plan = plans.find((p) => p.id === id);
          return { id: id ?? null, name: plan && service ? `${service.slug}:${plan.name}` : null };
        };
        return [
          {
            addonId: addon.id,
            include: 'api:addon',
            action: 'update',
            resource: 'addon',
            data: { ...(await this.asOf(tx, 'addon', addon, event.id)), state: addon.state, plan: planRef(data.to_plan_id), app: app ? await this.asOf(tx, 'app', app, event.id) : null },
            previousData: { plan: planRef(data.from_plan_id) },
          },
        ];
      }
      case 'app.renamed': {
        if (!event.appId) return [];
        // Attached when it was renamed, not now: the fan-out may run long after (a worker down).
        const addonIds = await tx.attachedAddonIds(event.appId, event.id);
        return addonIds.map((addonId) => ({
          addonId,
          include: 'api:app' as const,
          action: 'update' as const,
          resource: 'app',
          data: { id: event.appId, name: data.to },
          previousData: { name: data.from },
        }));
      }
      case 'app.deleted': {
        // The attachments went in the same transaction; the event names the add-ons they were of.
        const addonIds = Array.isArray(data.addon_ids) ? [...new Set(data.addon_ids.filter((id): id is string => typeof id === 'string'))] : [];
        return addonIds.map((addonId) => ({
          addonId,
          include: 'api:app' as const,
          action: 'destroy' as const,
          resource: 'app',
          data: { id: event.appId, name: data.name },
          previousData: null,
        }));
      }
      default:
        return [];
    }
  }
}

