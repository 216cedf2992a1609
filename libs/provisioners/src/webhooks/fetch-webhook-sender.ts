import { Injectable } from '@nestjs/common';
import { WebhookRequest, WebhookResponse, WebhookSender } from '@app/domain';

/** System error codes and what the delivery log calls them. */
const ERROR_CLASSES: Record<string, string> = {
  ECONNREFUSED: 'ConnectionRefused',
  ECONNRESET: 'ConnectionReset',
  EPIPE: 'ConnectionReset',
  UND_ERR_SOCKET: 'ConnectionReset',
  ENOTFOUND: 'HostNotFound',
  EAI_AGAIN: 'HostNotFound',
  EHOSTUNREACH: 'HostUnreachable',
  ENETUNREACH: 'HostUnreachable',
  UND_ERR_HEADERS_TIMEOUT: 'Timeout',
  UND_ERR_BODY_TIMEOUT: 'Timeout',
  CERT_HAS_EXPIRED: 'TlsError',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TlsError',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TlsError',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TlsError',
};

/**
 * Delivers with Node's fetch: one POST, a deadline over the whole exchange, redirects not
 * followed (a 3xx counts as a failed attempt). The answer's body is discarded unread. Errors are
 * reduced to a class name: nothing of the request (the signature, the Authorization value) is
 * logged or stored.
 */
@Injectable()
export class FetchWebhookSender extends WebhookSender {
  async send(request: WebhookRequest): Promise<WebhookResponse> {
    try {
      const response = await fetch(request.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(request.timeoutMs),
      });
      await response.body?.cancel().catch(() => undefined);
      return { kind: 'answered', status: response.status };
    } catch (error) {
      return { kind: 'unreachable', errorClass: errorClassOf(error) };
    }
  }
}

export function errorClassOf(error: unknown): string {
  const err = error as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'Timeout';
  const code = err?.cause?.code ?? err?.code;
  if (code && ERROR_CLASSES[code]) return ERROR_CLASSES[code];
  return 'ConnectionError';
}
