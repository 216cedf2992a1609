import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';
import { AddonWebhook, WebhookEvent, WebhookLevel } from './webhook.models';

/** The signature header: base64 of HMAC-SHA256 over the exact bytes of the body, keyed by the webhook's secret. */
export const SIGNATURE_HEADER = 'Heroku-Webhook-Hmac-SHA256';

export function signWebhookBody(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('base64');
}

/**
 * How long to wait after failed attempt number `attempt` (1 for the first): `base * 2^(attempt-1)`,
 * capped, with "equal jitter" (between half and all of it) so deliveries failing together do not
 * retry in lockstep.
 */
export function retryDelayMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The attempts a delivery gets: one for `notify`, the configured limit for `sync`. */
export const attemptLimit = (level: WebhookLevel, maxAttempts: number): number => (level === 'notify' ? 1 : maxAttempts);

/** The longest a `sync` delivery can keep retrying: the sum of the waits, each at its ceiling. */
export function retryWindowMs(maxAttempts: number, baseMs: number, capMs: number): number {
  let total = 0;
  for (let attempt = 1; attempt < maxAttempts; attempt++) total += Math.min(capMs, baseMs * 2 ** (attempt - 1));
  return total;
}

/** A 2xx answer is a success; anything else (3xx included: redirects are not followed) is retried. */
export const isSuccessStatus = (status: number): boolean => status >= 200 && status < 300;

/**
 * Why a webhook URL is refused, or null when it is fine: absolute http(s), no credentials in it,
 * https unless (outside production) the receiver is on this machine.
 */
export function webhookUrlProblem(value: string, production: boolean): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'url must be an absolute URL';
  }
  if (value.length > 2048) return 'url must be at most 2048 characters';
  if (url.username !== '' || url.password !== '') return 'url must not contain a user name or password (use authorization)';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && !production && isLoopbackHost(url.hostname)) return null;
  return production ? 'url must be an https URL' : 'url must be an https URL (plain http is allowed only for localhost, 127.0.0.0/8 and [::1])';
}

function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}

/** The ids a delivery's body names, so the receiver can match it with the delivery log. */
export interface DeliveryIds {
  attemptId: string;
  deliveryId: string;
}

/**
 * The JSON body of one attempt, as Heroku's webhook notifications have it. Its exact text is
 * what gets signed and sent.
 */
export function deliveryBody(event: WebhookEvent, webhook: Pick<AddonWebhook, 'id'>, ids: DeliveryIds): string {
  return JSON.stringify({
    id: event.id,
    created_at: event.createdAt.toISOString(),
    action: event.action,
    resource: event.resource,
    data: event.data,
    ...(event.previousData ? { previous_data: event.previousData } : {}),
    version: 'application/vnd.heroku+json; version=3',
    webhook_metadata: {
      attempt: { id: ids.attemptId },
      delivery: { id: ids.deliveryId },
      event: { id: event.id, include: event.include },
      webhook: { id: webhook.id },
    },
  });
}
