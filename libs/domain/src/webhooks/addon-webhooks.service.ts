import { Injectable } from '@nestjs/common';
import { Clock, InvalidInputError, NotFoundError, Page, RangeSpec, SecretBox, isUuid, randomToken } from '@app/common';
import { timeOrderedId } from './time-ordered-id';
import { Store } from '../shared/store.port';
import { AddonWebhook, WEBHOOK_EVENT_TYPES, WEBHOOK_LEVELS, WebhookDeliveryView, WebhookEvent, WebhookEventType, WebhookLevel } from './webhook.models';
import { WebhookOptions } from './webhook.options';
import { WebhookRepository } from './webhook.repository';
import { webhookUrlProblem } from './webhook.rules';

/** Subscriptions per add-on: enough for a vendor's few receivers, bounded so one add-on cannot fan out without limit. */
export const MAX_WEBHOOKS_PER_ADDON = 10;

export interface WebhookInput {
  include?: unknown;
  level?: unknown;
  url?: unknown;
  authorization?: unknown;
  secret?: unknown;
}

/** A webhook and the add-on it belongs to, as the vendor reads it. */
export interface WebhookView {
  webhook: AddonWebhook;
  addon: { id: string; name: string };
}

/**
 * A vendor's webhooks on one add-on and their delivery log (reference §3.4). Callers pass the
 * add-on id the partner token was issued for; everything here is scoped to it.
 */
@Injectable()
export class AddonWebhooksService {
  constructor(
    private readonly store: Store,
    private readonly webhooks: WebhookRepository,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly options: WebhookOptions,
  ) {}

  /**
   * Without a `secret` one is generated; the generated one is answered here only, once, as
   * Heroku does: it cannot be read back.
   */
  async create(addonId: string, input: WebhookInput): Promise<WebhookView & { generatedSecret: string | null }> {
    const addon = await this.addon(addonId);
    const include = this.include(input.include, true)!;
    const level = this.level(input.level, true)!;
    const url = this.url(input.url, true)!;
    const authorization = this.optionalSecret(input.authorization, 'authorization');
    const given = this.optionalSecret(input.secret, 'secret');
    const secret = given ?? randomToken(48);
    const now = this.clock.now();
    const webhook: AddonWebhook = {
      id: timeOrderedId(now),
      addonId,
      include,
      level,
      url,
      authorizationSealed: authorization === null ? null : this.box.seal(authorization),
      secretSealed: this.box.seal(secret),
      createdAt: now,
      updatedAt: now,
    };
    await this.webhooks.transaction(async (tx) => {
      if ((await tx.countForAddon(addonId)) >= MAX_WEBHOOKS_PER_ADDON) {
        throw new InvalidInputError(`An add-on can have at most ${MAX_WEBHOOKS_PER_ADDON} webhooks.`);
      }
      await tx.create(webhook);
    });
    return { webhook, addon, generatedSecret: given === null ? secret : null };
  }

  async list(addonId: string, range: RangeSpec): Promise<{ addon: { id: string; name: string }; page: Page<AddonWebhook> }> {
    const addon = await this.addon(addonId);
    return { addon, page: await this.webhooks.list(addonId, range) };
  }

  async get(addonId: string, webhookId: string): Promise<WebhookView> {
    const addon = await this.addon(addonId);
    return { webhook: await this.find(addonId, webhookId), addon };
  }

  /** Changes the given fields; `authorization: null` stops sending the header. */
  async update(addonId: string, webhookId: string, input: WebhookInput): Promise<WebhookView> {
    const addon = await this.addon(addonId);
    const current = await this.find(addonId, webhookId);
    const patch: Partial<AddonWebhook> = {};
    if (input.include !== undefined) patch.include = this.include(input.include, false)!;
    if (input.level !== undefined) patch.level = this.level(input.level, false)!;
    if (input.url !== undefined) patch.url = this.url(input.url, false)!;
    if (input.authorization !== undefined) {
      const authorization = this.optionalSecret(input.authorization, 'authorization');
      patch.authorizationSealed = authorization === null ? null : this.box.seal(authorization);
    }
    if (input.secret !== undefined) {
      const secret = this.optionalSecret(input.secret, 'secret');
      if (secret === null) throw new InvalidInputError('secret cannot be removed; deliveries are always signed.');
      patch.secretSealed = this.box.seal(secret);
    }
    patch.updatedAt = this.clock.now();
    await this.webhooks.update(current.id, patch);
    return { webhook: { ...current, ...patch }, addon };
  }

  async delete(addonId: string, webhookId: string): Promise<WebhookView> {
    const addon = await this.addon(addonId);
    const webhook = await this.find(addonId, webhookId);
    if (!(await this.webhooks.delete(addonId, webhook.id))) throw new NotFoundError('webhook');
    return { webhook, addon };
  }

  async listDeliveries(addonId: string, range: RangeSpec): Promise<{ addon: { id: string; name: string }; page: Page<WebhookDeliveryView> }> {
    const addon = await this.addon(addonId);
    return { addon, page: await this.webhooks.listDeliveries(addonId, range) };
  }

  async getDelivery(addonId: string, deliveryId: string): Promise<{ addon: { id: string; name: string }; delivery: WebhookDeliveryView }> {
    const addon = await this.addon(addonId);
    const delivery = isUuid(deliveryId) ? await this.webhooks.findDelivery(addonId, deliveryId) : null;
    if (!delivery) throw new NotFoundError('webhook_delivery');
    return { addon, delivery };
  }

  async listEvents(addonId: string, range: RangeSpec): Promise<{ addon: { id: string; name: string }; page: Page<WebhookEvent> }> {
    const addon = await this.addon(addonId);
    return { addon, page: await this.webhooks.listEvents(addonId, range) };
  }

  async getEvent(addonId: string, eventId: string): Promise<{ addon: { id: string; name: string }; event: WebhookEvent }> {
    const addon = await this.addon(addonId);
    const event = isUuid(eventId) ? await this.webhooks.findEvent(addonId, eventId) : null;
    if (!event) throw new NotFoundError('webhook_event');
    return { addon, event };
  }

  private async addon(addonId: string): Promise<{ id: string; name: string }> {
    const addon = await this.store.addons.findById(addonId);
    if (!addon) throw new NotFoundError('add_on');
    return { id: addon.id, name: addon.name };
  }

  private async find(addonId: string, webhookId: string): Promise<AddonWebhook> {
    const webhook = isUuid(webhookId) ? await this.webhooks.find(addonId, webhookId) : null;
    if (!webhook) throw new NotFoundError('webhook');
    return webhook;
  }

  private include(value: unknown, required: boolean): WebhookEventType[] | undefined {
    if (value === undefined && !required) return undefined;
    if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) {
      throw new InvalidInputError(`include must be a non-empty array of event types (${WEBHOOK_EVENT_TYPES.join(', ')}).`);
    }
    const unknown = value.filter((v) => !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(v));
    if (unknown.length > 0) {
      throw new InvalidInputError(`include has unknown event types: ${unknown.slice(0, 5).map((v) => JSON.stringify(v.slice(0, 64))).join(', ')}. Known: ${WEBHOOK_EVENT_TYPES.join(', ')}.`);
    }
    return [...new Set(value as WebhookEventType[])];
  }

  private level(value: unknown, required: boolean): WebhookLevel | undefined {
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || !(WEBHOOK_LEVELS as readonly string[]).includes(value)) throw new InvalidInputError('level must be notify or sync.');
    return value as WebhookLevel;
  }

  private url(value: unknown, required: boolean): string | undefined {
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string') throw new InvalidInputError('url is required, as a string.');
    const problem = webhookUrlProblem(value, this.options.production);
    if (problem) throw new InvalidInputError(`${problem}.`);
    return value;
  }

  /** A header value or HMAC key: null when absent; never echoed in errors. */
  private optionalSecret(value: unknown, field: string): string | null {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string' || value.length === 0 || value.length > 1024) throw new InvalidInputError(`${field} must be a string of 1 to 1024 characters, or null.`);
    if (/[\r\n\0]/.test(value)) throw new InvalidInputError(`${field} must not contain line breaks.`);
    return value;
  }
}
