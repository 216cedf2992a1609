/** Delivery settings the worker and api pass in from configuration. */
export abstract class WebhookOptions {
  /** Attempts of a `sync` delivery, the first included (`notify` always gets one). */
  abstract readonly maxAttempts: number;
  /** Wait before the first retry; it doubles for each one after, up to `backoffCapMs`. */
  abstract readonly backoffMs: number;
  abstract readonly backoffCapMs: number;
  /** How long the receiver has to answer one attempt. */
  abstract readonly timeoutMs: number;
  /** Production refuses plain-http webhook URLs even for loopback hosts. */
  abstract readonly production: boolean;
}
