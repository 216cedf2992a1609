/** What one call to the vendor gave: an HTTP answer, or the reason there was none. */
export type HttpOutcome =
  | { kind: 'response'; status: number; headers: Headers; text: string; json: unknown; isJson: boolean }
  | { kind: 'error'; reason: string };

/** Enough for any answer the checks read; a vendor streaming more cannot exhaust the checker's memory. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpCall {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Aborts the call when the run is interrupted. */
  signal?: AbortSignal;
}

/** Sends one request without following redirects; network errors and timeouts become outcomes, never throws. */
export async function send(call: HttpCall): Promise<HttpOutcome> {
  try {
    const response = await fetch(call.url, {
      method: call.method,
      headers: call.headers,
      body: call.body,
      redirect: 'manual',
      signal: call.signal ? AbortSignal.any([call.signal, AbortSignal.timeout(call.timeoutMs)]) : AbortSignal.timeout(call.timeoutMs),
    });
    const text = await readText(response);
    const parsed = parseJson(text);
    return { kind: 'response', status: response.status, headers: response.headers, text, json: parsed.value, isJson: parsed.ok };
  } catch (error) {
    return { kind: 'error', reason: describeFailure(error, call) };
  }
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** `"<first 80 characters>"` of a body, for failure reasons. */
export function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return 'an empty body';
  return JSON.stringify(flat.length > 80 ? `${flat.slice(0, 80)}…` : flat);
}

/** `HTTP 200 with "…"`, or the network failure. */
export function describeOutcome(outcome: HttpOutcome): string {
  if (outcome.kind === 'error') return outcome.reason;
  return `HTTP ${outcome.status} with ${excerpt(outcome.text)}`;
}

/** A URL without user name or password, for messages. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

/** The body as text, cut at MAX_BODY_BYTES (the rest is not read). */
async function readText(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size >= MAX_BODY_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
}

function parseJson(text: string): { ok: boolean; value: unknown } {
  if (text.trim() === '') return { ok: false, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, value: undefined };
  }
}

function describeFailure(error: unknown, call: HttpCall): string {
  const where = `${call.method} ${safeUrl(call.url)}`;
  const name = (error as Error | undefined)?.name;
  if (call.signal?.aborted) return `no answer to ${where} before the run was interrupted`;
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer to ${where} within ${call.timeoutMs} ms`;
  // fetch says only "fetch failed"; the reason (ECONNREFUSED, a bad host) is in its cause.
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const detail = cause?.code ?? cause?.message ?? (error as Error | undefined)?.message ?? String(error);
  return `could not reach ${where}: ${detail}`;
}
