/** One delivery request: the exact body that was signed, and every header to send with it. */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** The receiver answered (any status), or there was no answer, for the reason named. */
export type WebhookResponse = { kind: 'answered'; status: number } | { kind: 'unreachable'; errorClass: string };

/** POSTs a delivery to a vendor's webhook URL. Never throws for the receiver's failures. */
export abstract class WebhookSender {
  abstract send(request: WebhookRequest): Promise<WebhookResponse>;
}
