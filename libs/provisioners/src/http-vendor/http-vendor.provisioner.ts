import { Injectable, Logger } from '@nestjs/common';
import { SecretBox } from '@app/common';
import {
  Addon,
  AddonService,
  DeprovisionOutcome,
  PlanChangeOutcome,
  Plan,
  ProviderRefusedError,
  ProviderUnavailableError,
  ProvisionOutcome,
  ProvisionRequest,
  Provisioner,
} from '@app/domain';
import { ProviderCallMetrics } from '../provider-call-metrics';
import { exchange } from './vendor-http';

export abstract class HttpVendorOptions {
  /** Attache's own ceiling per call; a manifest's `timeout_ms` may only lower it. */
  abstract readonly timeoutMs: number;
}

interface VendorResponse {
  status: number;
  body: Record<string, unknown> | null;
}

/**
 * Heroku add-on provider protocol v3 (DESIGN §4.2): POST to provision, PUT to change plan,
 * DELETE to deprovision, all with HTTP Basic `slug:password`. 4xx refusals carry a message for
 * the user; timeouts, connection errors and 5xx are retryable.
 */
@Injectable()
export class HttpVendorProvisioner extends Provisioner {
  private readonly logger = new Logger(HttpVendorProvisioner.name);

  constructor(
    private readonly box: SecretBox,
    private readonly options: HttpVendorOptions,
    private readonly metrics: ProviderCallMetrics,
  ) {
    super();
  }

  async provision(request: ProvisionRequest): Promise<ProvisionOutcome> {
    const { addon, service, plan, region } = request;
    const response = await this.call(service, 'provision', 'POST', service.baseUrl!, {
      uuid: addon.id,
      name: addon.name,
      plan: plan.name,
      region: region.providerRegion,
      callback_url: request.callbackUrl,
      options: addon.options,
      oauth_grant: request.oauthGrant
        ? { code: request.oauthGrant.code, expires_at: request.oauthGrant.expiresAt.toISOString(), type: 'authorization_code' }
        : null,
      log_input_url: null,
    });
    const body = response.body ?? {};
    const providerId = typeof body.id === 'string' || typeof body.id === 'number' ? String(body.id) : null;
    const message = typeof body.message === 'string' ? body.message : null;
    if (response.status === 202) return { kind: 'pending', providerId, message };
    if (providerId === null) throw new ProviderUnavailableError('provision response has no id');
    return { kind: 'provisioned', providerId, config: this.config(body.config), message };
  }

  async changePlan(request: { addon: Addon; service: AddonService; plan: Plan }): Promise<PlanChangeOutcome> {
    const { addon, service, plan } = request;
    const response = await this.call(service, 'plan_change', 'PUT', this.resourceUrl(service, addon), { plan: plan.name });
    const body = response.body ?? {};
    const message = typeof body.message === 'string' ? body.message : null;
    if (response.status === 202) return { kind: 'pending', message };
    return { kind: 'changed', config: body.config ? this.config(body.config) : null, message };
  }

  async deprovision(request: { addon: Addon; service: AddonService }): Promise<DeprovisionOutcome> {
    const { addon, service } = request;
    try {
      const response = await this.call(service, 'deprovision', 'DELETE', this.resourceUrl(service, addon), undefined);
      return response.status === 202 ? { kind: 'pending' } : { kind: 'deprovisioned' };
    } catch (error) {
      // Already gone (or never made, after a failed provision) is what we wanted.
      if (error instanceof VendorNotFoundError) return { kind: 'deprovisioned' };
      throw error;
    }
  }

  private resourceUrl(service: AddonService, addon: Addon): string {
    return `${service.baseUrl!.replace(/\/+$/, '')}/${encodeURIComponent(addon.id)}`;
  }

  private config(value: unknown): Record<string, string> {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) throw new ProviderRefusedError('The provider returned an invalid config object.');
    return value as Record<string, string>;
  }

  private async call(service: AddonService, operation: string, method: string, url: string, body: unknown): Promise<VendorResponse> {
    const timeoutMs = Math.min(this.options.timeoutMs, service.timeoutMs ?? Infinity);
    const password = this.box.open(service.passwordSealed!);
    const started = process.hrtime.bigint();
    let outcome = 'error';
    try {
      const response = await exchange(url, {
        method,
        headers: {
          Authorization: `Basic ${Buffer.from(`${service.slug}:${password}`).toString('base64')}`,
          Accept: 'application/vnd.heroku-addons+json; version=3',
          'Content-Type': 'application/json',
          'User-Agent': 'attache-provider-client',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs,
      });
      const text = response.text;
      const parsed = parseJson(text);
      outcome = String(response.status);
      if (response.status >= 200 && response.status < 300) {
        if (text.trim() !== '' && parsed === undefined) throw new ProviderUnavailableError(`${operation}: response is not valid JSON`);
        return { status: response.status, body: isObject(parsed) ? parsed : null };
      }
      const message = isObject(parsed) && typeof parsed.message === 'string' ? parsed.message : null;
      if (method === 'DELETE') {
        // Deprovisioning is retried until the vendor confirms: only "already gone" ends it early.
        if (response.status === 404 || response.status === 410) throw new VendorNotFoundError(message ?? 'not found');
        throw new ProviderUnavailableError(`${operation}: HTTP ${response.status}${message ? ` (${message})` : ''}`);
      }
      if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
        throw new ProviderRefusedError(message ?? `${service.humanName} refused the request (HTTP ${response.status}).`);
      }
      throw new ProviderUnavailableError(`${operation}: HTTP ${response.status}`);
    } catch (error) {
      if (error instanceof ProviderRefusedError || error instanceof ProviderUnavailableError || error instanceof VendorNotFoundError) throw error;
      const name = (error as Error).name;
      outcome = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'connection_error';
      throw new ProviderUnavailableError(`${operation}: ${outcome === 'timeout' ? `no answer within ${timeoutMs} ms` : describe(error)}`);
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.observe(service.slug, operation, outcome, seconds);
      this.logger.debug({ service: service.slug, operation, outcome, ms: Math.round(seconds * 1000) }, 'provider call');
    }
  }
}

class VendorNotFoundError extends Error {}

function parseJson(text: string): unknown {
  try {
    return text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A short, URL-free reason (the URL may carry credentials, and the reason reaches users). */
function describe(error: unknown): string {
  const { code, cause } = error as { code?: string; cause?: { code?: string } };
  return code ?? cause?.code ?? 'connection failed';
}
