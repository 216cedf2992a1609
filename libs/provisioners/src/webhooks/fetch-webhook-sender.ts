import { LookupAddress, LookupOptions, lookup as dnsLookup } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { LookupFunction, isIP } from 'node:net';
import { Injectable } from '@nestjs/common';
import { WebhookOptions, WebhookRequest, WebhookResponse, WebhookSender, isPublicAddress } from '@app/domain';

/** The code of the error a connection to a refused address fails with. */
const FORBIDDEN_ADDRESS = 'ERR_WEBHOOK_FORBIDDEN_ADDRESS';

/** System error codes and what the delivery log calls them. */
const ERROR_CLASSES: Record<string, string> = {
  [FORBIDDEN_ADDRESS]: 'ForbiddenAddress',
  ECONNREFUSED: 'ConnectionRefused',
  ECONNRESET: 'ConnectionReset',
  EPIPE: 'ConnectionReset',
  UND_ERR_SOCKET: 'ConnectionReset',
  ENOTFOUND: 'HostNotFound',
  EAI_AGAIN: 'HostNotFound',
  EHOSTUNREACH: 'HostUnreachable',
  ENETUNREACH: 'HostUnreachable',
  ETIMEDOUT: 'Timeout',
  UND_ERR_HEADERS_TIMEOUT: 'Timeout',
  UND_ERR_BODY_TIMEOUT: 'Timeout',
  CERT_HAS_EXPIRED: 'TlsError',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TlsError',
  SELF_SIGNED_CERT_IN_CHAIN: 'TlsError',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TlsError',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TlsError',
};

const forbidden = (hostname: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${hostname} does not resolve to public addresses only`), { code: FORBIDDEN_ADDRESS });

/**
 * Resolves like the system does and refuses a name with any non-public address among its
 * answers. It runs when the socket connects, and the socket connects to what it returns, so what
 * is checked is what is reached (a name that resolves elsewhere a moment later changes nothing).
 */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...(options as LookupOptions), all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    if (addresses.length === 0 || !addresses.every((a) => isPublicAddress(a.address))) return callback(forbidden(hostname), '', 0);
    if ((options as LookupOptions).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    return callback(null, addresses[0].address, addresses[0].family);
  });
};

/**
 * Delivers with Node's http client (fetch cannot check the address it connects to): one POST of
 * the exact bytes that were signed, a deadline over the whole exchange, redirects not followed (a
 * 3xx counts as a failed attempt), the answer's body never read (the status is all that counts),
 * a fresh connection per attempt. In production it connects only to public addresses (checked
 * after resolution, at connect time); elsewhere a receiver on this machine is fine. Errors are
 * reduced to a class name: nothing of the request (the signature, the Authorization value) is
 * logged or stored.
 */
@Injectable()
export class FetchWebhookSender extends WebhookSender {
  constructor(private readonly options: WebhookOptions) {
    super();
  }

  send(request: WebhookRequest): Promise<WebhookResponse> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (response: WebhookResponse) => {
        if (settled) return;
        settled = true;
        resolve(response);
      };
      const unreachable = (error: unknown) => settle({ kind: 'unreachable', errorClass: errorClassOf(error) });
      try {
        const url = new URL(request.url);
        if (url.protocol !== 'https:' && url.protocol !== 'http:') return unreachable(new Error(`unsupported protocol ${url.protocol}`));
        const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
        // An IP literal is connected to without a lookup: it is checked here.
        if (this.options.production && isIP(host) !== 0 && !isPublicAddress(host)) return unreachable(forbidden(host));
        const body = Buffer.from(request.body, 'utf8');
        const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
        const outgoing = send(
          url,
          {
            method: 'POST',
            headers: { ...request.headers, 'Content-Length': String(body.length) },
            agent: false,
            signal: AbortSignal.timeout(request.timeoutMs),
            ...(this.options.production ? { lookup: publicOnlyLookup } : {}),
          },
          (response) => {
            settle({ kind: 'answered', status: response.statusCode ?? 0 });
            response.destroy();
          },
        );
        outgoing.on('error', unreachable);
        outgoing.end(body);
      } catch (error) {
        unreachable(error);
      }
    });
  }
}

export function errorClassOf(error: unknown): string {
  const err = error as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || err?.code === 'ABORT_ERR') return 'Timeout';
  const code = err?.cause?.code ?? err?.code;
  if (code && ERROR_CLASSES[code]) return ERROR_CLASSES[code];
  return 'ConnectionError';
}
