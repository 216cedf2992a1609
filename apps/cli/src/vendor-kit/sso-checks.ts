import { createHash, randomUUID } from 'node:crypto';
import { CheckResult, failed, passed } from './check-result';
import { describeOutcome, excerpt, HttpOutcome, safeUrl, send } from './vendor-http';

const STALE_AGE_S = 6 * 60;
const MAX_REDIRECTS = 5;

export interface SsoTarget {
  ssoUrl: string | undefined;
  ssoSalt: string;
  /** The add-on uuid the vendor provisioned: the `resource_id`. */
  resourceId: string;
  timeoutMs: number;
  /** Aborts the calls when the run is interrupted. */
  signal?: AbortSignal;
}

/** `resource_token = hex(sha1("uuid:sso_salt:timestamp"))` (reference §4.1). */
export function resourceToken(resourceId: string, salt: string, timestamp: number): string {
  return createHash('sha1').update(`${resourceId}:${salt}:${timestamp}`).digest('hex');
}

/** SSO (reference §4): a bad token → 403, a six-minute-old timestamp → 403, a good login → success. */
export async function ssoChecks(target: SsoTarget): Promise<CheckResult[]> {
  const names = ['sso.bad-token', 'sso.stale-timestamp', 'sso.login'];
  const missing = !target.ssoUrl ? 'the manifest names no sso_url to check' : !target.ssoSalt ? 'the manifest has no api.sso_salt to sign with' : undefined;
  if (missing) return names.map((name) => failed(name, missing));
  const now = Math.floor(Date.now() / 1000);

  const badToken = await post(target, now, resourceToken(target.resourceId, `${target.ssoSalt}-wrong`, now));
  const stale = await post(target, now - STALE_AGE_S, resourceToken(target.resourceId, target.ssoSalt, now - STALE_AGE_S));
  return [
    expect403('sso.bad-token', 'a wrong resource_token', badToken),
    expect403('sso.stale-timestamp', 'a correctly signed timestamp six minutes old', stale),
    await login(target, now),
  ];
}

function expect403(name: string, what: string, outcome: HttpOutcome): CheckResult {
  if (outcome.kind === 'response' && outcome.status === 403) return passed(name);
  return failed(name, `expected 403 for ${what}, got ${describeOutcome(outcome)}`);
}

async function login(target: SsoTarget, now: number): Promise<CheckResult> {
  const name = 'sso.login';
  let outcome = await post(target, now, resourceToken(target.resourceId, target.ssoSalt, now));
  let url = target.ssoUrl!;
  const cookies = new Map<string, string>();
  for (let hops = 0; ; hops += 1) {
    if (outcome.kind === 'error') return failed(name, `expected a 2xx page or a redirect to the dashboard, got ${outcome.reason}`);
    if (outcome.status >= 200 && outcome.status < 300) return passed(name);
    const location = outcome.headers.get('location');
    if (outcome.status < 300 || outcome.status >= 400 || !location) {
      return failed(name, `expected a 2xx page or a redirect to the dashboard for a good token, got ${describeOutcome(outcome)}`);
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      return failed(name, `expected a redirect to the dashboard for a good token, got a Location that is not a URL: ${excerpt(location)}`);
    }
    // A dashboard on another host cannot be followed with the vendor's cookies; the redirect is the success.
    if (next.origin !== new URL(url).origin) return passed(name, `redirected to ${safeUrl(next.origin)}`);
    if (hops >= MAX_REDIRECTS) return failed(name, `expected the sign-in to land on a page, got more than ${MAX_REDIRECTS} redirects`);
    for (const header of outcome.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    url = next.toString();
    const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    outcome = await send({ method: 'GET', url, headers: cookie ? { Cookie: cookie } : {}, timeoutMs: target.timeoutMs, signal: target.signal });
    if (outcome.kind === 'response' && outcome.status >= 400) {
      return failed(name, `expected the redirect after sign-in to lead to the dashboard, but GET ${safeUrl(url)} answered ${describeOutcome(outcome)}`);
    }
  }
}

function post(target: SsoTarget, timestamp: number, token: string): Promise<HttpOutcome> {
  const form = new URLSearchParams({
    resource_id: target.resourceId,
    resource_token: token,
    timestamp: String(timestamp),
    email: 'vendor-check@example.test',
    user_id: randomUUID(),
    app: 'vendor-check-app',
    context_app: 'vendor-check-app',
  });
  return send({
    method: 'POST',
    url: target.ssoUrl!,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/html' },
    body: form.toString(),
    timeoutMs: target.timeoutMs,
    signal: target.signal,
  });
}
