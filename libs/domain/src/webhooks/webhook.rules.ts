import { createHmac } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
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
 * https unless (outside production) the receiver is on this machine; in production not naming
 * this host or a non-public IP address (a name is checked again, resolved, at every delivery).
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
  const allowedScheme = url.protocol === 'https:' || (url.protocol === 'http:' && !production && isLoopbackHost(url.hostname));
  if (!allowedScheme) return production ? 'url must be an https URL' : 'url must be an https URL (plain http is allowed only for localhost, 127.0.0.0/8 and [::1])';
  if (production && !isPublicHost(url.hostname)) return 'url must not point at a loopback, private, link-local or otherwise reserved address';
  return null;
}

/**
 * Addresses a production webhook must not reach (RFC 6890 special-purpose blocks): this host,
 * private networks, carrier-grade NAT, link-local (cloud metadata services), documentation and
 * benchmarking ranges, multicast and reserved space, and IPv6 addresses that embed an IPv4 one
 * (NAT64, 6to4, Teredo). IPv4-mapped IPv6 addresses are checked as the IPv4 address they carry.
 */
const NON_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** True for an IP address a webhook may be delivered to in production; false for anything else. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return !NON_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * A URL's host as far as it can be judged without resolving it: not `localhost` (or a name under
 * it), and an IP literal only when public. Names are checked again, resolved, at delivery.
 */
function isPublicHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return false;
  return isIP(host) === 0 || isPublicAddress(host);
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
