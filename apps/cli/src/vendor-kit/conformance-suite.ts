import { randomBytes, randomUUID } from 'node:crypto';
import { validateManifest } from '@app/domain';
import { CheckResult, failed, passed } from './check-result';
import { CheckEnvironment, CheckedManifest, readManifest } from './checked-manifest';
import { configProblems } from './config-rules';
import { PartnerApiStandIn } from './partner-api-stand-in.server';
import { ssoChecks } from './sso-checks';
import { basicAuth, describeOutcome, excerpt, HttpOutcome, safeUrl, send } from './vendor-http';

export interface ConformanceOptions {
  /** The manifest as read from the vendor's file. */
  manifest: unknown;
  env: CheckEnvironment;
  /** Plan to provision (default: the manifest's default plan). */
  plan?: string;
  /** Plan to change to (default: the first other plan in the manifest). */
  planChangeTo?: string;
  /** A plan the vendor provisions asynchronously (202), to check the partner API path. */
  asyncPlan?: string;
  /** How long the vendor has to complete a 202 through the partner API. */
  asyncTimeoutMs: number;
  /** Per call to the vendor; the manifest's `api.timeout_ms` lowers it. */
  timeoutMs: number;
  /** The OAuth client secret the vendor must present at /oauth/token; any non-empty one when absent. */
  clientSecret?: string;
  /** Receives each result as soon as it is known. */
  onResult?: (result: CheckResult) => void;
}

interface Provisioned {
  outcome: HttpOutcome;
  body: Record<string, unknown> | undefined;
  id: string | undefined;
}

const ACCEPT = 'application/vnd.heroku-addons+json; version=3';
const REGION = 'amazon-web-services::us-east-1';

/**
 * A kensa-style conformance run against a vendor's implementation (reference §8, in its v3
 * form): the manifest rules Attache applies, then provision, idempotency, the async path
 * through a stand-in partner API, plan changes, SSO and deprovision. Each check yields a result;
 * network failures are results too. Reasons never carry the manifest's password or salt.
 */
export class ConformanceSuite {
  private readonly results: CheckResult[] = [];
  /** Every uuid a vendor may hold a resource for, until a DELETE of it succeeded. */
  private readonly provisioned = new Set<string>();
  private readonly manifest: CheckedManifest;
  private readonly timeoutMs: number;
  private readonly partner: PartnerApiStandIn;
  private readonly interruption = new AbortController();
  /** Config values the vendor returned: credentials, never shown in a quoted body. */
  private readonly configValues = new Set<string>();

  constructor(private readonly options: ConformanceOptions) {
    this.manifest = readManifest(options.manifest, options.env);
    this.timeoutMs = Math.min(options.timeoutMs, this.manifest.timeoutMs ?? Infinity);
    this.partner = new PartnerApiStandIn(this.manifest, options.env, options.clientSecret);
  }

  /** Which URLs are checked, for the line before the results. */
  describeTarget(): string {
    const { baseUrl, endpointsFrom } = this.manifest;
    const env = this.options.env;
    if (!baseUrl) return `${env} environment: the manifest names no base_url`;
    const from = env === 'test' && endpointsFrom === 'production' ? '; the manifest has no api.test, so api.production' : '';
    return `${env} environment: ${safeUrl(baseUrl)}${from}`;
  }

  /**
   * Stops the run early (Ctrl-C): open calls are abandoned and the remaining checks fail at
   * once, then what was provisioned is deprovisioned as at the end of any run.
   */
  interrupt(): void {
    this.interruption.abort();
  }

  get interrupted(): boolean {
    return this.interruption.signal.aborted;
  }

  async run(): Promise<CheckResult[]> {
    await this.partner.start();
    try {
      await this.checks();
    } finally {
      // What the checks did not deprovision themselves goes away: extra provisions, one a vendor
      // took with wrong credentials, one whose answer timed out, and everything after a crash.
      for (const uuid of this.provisioned) await this.call('DELETE', this.resourceUrl(uuid), undefined, undefined, false);
      await this.partner.stop();
    }
    return this.results;
  }

  private async checks(): Promise<void> {
    const m = this.manifest;
    const validation = validateManifest(this.options.manifest, { production: this.options.env === 'production' });
    this.record(validation.ok ? passed('manifest') : failed('manifest', validation.errors.map((e) => `${e.field || '(manifest)'} ${e.message}`).join('; ')));

    const plan = this.options.plan ?? m.defaultPlan ?? 'test';
    const uuid = randomUUID();

    const intruder = randomUUID();
    const wrong = await this.provision(intruder, plan, basicAuth(m.id, `wrong-${randomBytes(8).toString('hex')}`));
    this.record(this.expectStatus('provision.auth', 'wrong credentials', wrong.outcome, [401]));

    const first = await this.provision(uuid, plan);
    this.recordProvisionResponse(first, plan);

    const again = await this.provision(uuid, plan);
    this.record(this.sameId(first, again));

    await this.manyPerApp(plan, first);
    await this.asyncPath(uuid, first);
    await this.planChanges(uuid, plan);

    const sso = await ssoChecks({ ssoUrl: m.ssoUrl, ssoSalt: m.ssoSalt, resourceId: uuid, timeoutMs: this.timeoutMs, signal: this.interruption.signal });
    for (const result of sso) this.record(result);

    const wrongDelete = await this.call('DELETE', this.resourceUrl(uuid), undefined, basicAuth(m.id, `wrong-${randomBytes(8).toString('hex')}`));
    this.record(this.expectStatus('deprovision.auth', 'wrong credentials', wrongDelete, [401]));
    const deleted = await this.call('DELETE', this.resourceUrl(uuid));
    this.record(this.expectSuccess('deprovision', deleted));
    if (deleted.kind === 'response' && ((deleted.status >= 200 && deleted.status < 300) || deleted.status === 404 || deleted.status === 410)) this.provisioned.delete(uuid);
    const repeated = await this.call('DELETE', this.resourceUrl(uuid));
    if (repeated.kind === 'response' && (repeated.status === 404 || repeated.status === 410)) this.record(passed('deprovision.repeat', `HTTP ${repeated.status}: already gone`));
    else this.record(this.expectSuccess('deprovision.repeat', repeated, 'a 2xx, 404 or 410 for a repeated DELETE'));
  }

  private recordProvisionResponse(first: Provisioned, plan: string): void {
    const { outcome } = first;
    if (outcome.kind === 'error' || outcome.status < 200 || outcome.status >= 300) {
      const reason = `expected 2xx to POST with plan "${plan}", got ${describeOutcome(outcome)}`;
      this.record(failed('provision.response', reason));
      for (const name of ['provision.id', 'provision.config']) this.record(failed(name, 'no successful provision response to read'));
      return;
    }
    if (!outcome.isJson) {
      const type = outcome.headers.get('content-type') ?? 'no content type';
      this.record(failed('provision.response', `expected a JSON body, got HTTP ${outcome.status} (${type}) with ${excerpt(outcome.text)}`));
      for (const name of ['provision.id', 'provision.config']) this.record(failed(name, 'the provision response is not JSON'));
      return;
    }
    this.record(passed('provision.response', outcome.status === 202 ? 'HTTP 202: asynchronous' : undefined));
    if (!first.body) {
      for (const name of ['provision.id', 'provision.config']) this.record(failed(name, `expected a JSON object, got ${excerpt(outcome.text)}`));
      return;
    }
    this.record(first.id ? passed('provision.id') : failed('provision.id', `expected an "id" (string or number), got ${excerpt(outcome.text)}`));
    const { problems, warnings } = configProblems(first.body.config, this.manifest, this.options.env);
    if (problems.length > 0) this.record(failed('provision.config', this.configReason(problems)));
    else if (outcome.status === 202) this.record(passed('provision.config', 'no config in a 202 answer: it comes through the partner API'));
    else this.record(passed('provision.config', warnings.length > 0 ? `warning: ${warnings.join('; ')}` : undefined));
  }

  private sameId(first: Provisioned, again: Provisioned): CheckResult {
    const name = 'provision.idempotent';
    if (!first.id) return failed(name, 'cannot compare: the first provision answered no id');
    if (!again.id) return failed(name, `expected the same id "${first.id}" for a repeated uuid, got ${describeOutcome(again.outcome)}`);
    if (again.id !== first.id) return failed(name, `expected the same id "${first.id}" for a repeated uuid, got "${again.id}"`);
    return passed(name);
  }

  private async manyPerApp(plan: string, first: Provisioned): Promise<void> {
    const name = 'provision.many-per-app';
    if (!this.manifest.requires.includes('many_per_app')) {
      this.record(passed(name, 'not applicable: api.requires has no many_per_app'));
      return;
    }
    const other = randomUUID();
    const second = await this.provision(other, plan);
    if (!first.id) this.record(failed(name, 'cannot compare: the first provision answered no id'));
    else if (!second.id) this.record(failed(name, `expected an id for a second uuid, got ${describeOutcome(second.outcome)}`));
    else if (second.id === first.id) this.record(failed(name, `expected a new id for a distinct uuid (many_per_app), got the first one again ("${first.id}")`));
    else this.record(passed(name));
  }

  private async asyncPath(mainUuid: string, first: Provisioned): Promise<void> {
    const name = 'provision.async';
    const seconds = Math.round(this.options.asyncTimeoutMs / 1000);
    let uuid = mainUuid;
    if (this.options.asyncPlan) {
      uuid = randomUUID();
      const answer = await this.provision(uuid, this.options.asyncPlan);
      if (answer.outcome.kind === 'error' || answer.outcome.status !== 202) {
        this.record(failed(name, `expected 202 to POST with plan "${this.options.asyncPlan}", got ${describeOutcome(answer.outcome)}`));
        return;
      }
      if (!answer.id) {
        this.record(failed(name, `expected an "id" in the 202 answer, got ${excerpt(answer.outcome.text)}`));
        return;
      }
    } else if (first.outcome.kind !== 'response' || first.outcome.status !== 202) {
      this.record(passed(name, 'not applicable: the vendor provisioned synchronously; pass --async-plan to check a plan it provisions with 202'));
      return;
    }
    const done = await this.partner.waitForProvisioned(uuid, this.options.asyncTimeoutMs, this.interruption.signal);
    const progress = this.partner.progress(uuid);
    const refused = progress.problems.length > 0 ? `; the partner API refused: ${progress.problems.join('; ')}` : '';
    if (!done && this.interrupted) {
      this.record(failed(name, `the run was interrupted before POST /addons/${uuid}/actions/provision came`));
    } else if (!done) {
      const seen = `token exchange ${progress.tokenExchanged ? 'yes' : 'no'}, config update ${progress.configUpdated ? 'yes' : 'no'}`;
      this.record(failed(name, `expected POST /addons/${uuid}/actions/provision on callback_url's partner API within ${seconds} s of the 202, got none (seen: ${seen})${refused}`));
    } else if (this.manifest.configVars.length > 0 && !progress.configUpdated) {
      this.record(failed(name, `expected PATCH /addons/${uuid}/config with ${this.manifest.configVars.join(', ')} before actions/provision, got none${refused}`));
    } else if (refused) {
      this.record(failed(name, `completed${refused}`));
    } else {
      this.record(passed(name));
    }
  }

  private async planChanges(uuid: string, plan: string): Promise<void> {
    const target = this.options.planChangeTo ?? this.manifest.plans.find((p) => p !== plan && p !== this.options.asyncPlan);
    let current = plan;
    if (!target) {
      this.record(passed('plan-change', 'not applicable: the manifest has no other plan'));
    } else {
      const changed = await this.call('PUT', this.resourceUrl(uuid), { plan: target });
      const result = this.planChangeResult('plan-change', `a change to plan "${target}"`, changed);
      this.record(result);
      // After a refused change the resource is still on its first plan: that is the no-op.
      if (result.ok) current = target;
    }
    const same = await this.call('PUT', this.resourceUrl(uuid), { plan: current });
    this.record(this.planChangeResult('plan-change.no-op', `a change to the current plan "${current}"`, same));
    const wrong = await this.call('PUT', this.resourceUrl(uuid), { plan: current }, basicAuth(this.manifest.id, `wrong-${randomBytes(8).toString('hex')}`));
    this.record(this.expectStatus('plan-change.auth', 'wrong credentials', wrong, [401]));
  }

  private planChangeResult(name: string, what: string, outcome: HttpOutcome): CheckResult {
    if (outcome.kind === 'error' || outcome.status < 200 || outcome.status >= 300) return failed(name, `expected 2xx for ${what}, got ${describeOutcome(outcome)}`);
    if (outcome.text.trim() === '') return passed(name);
    if (!outcome.isJson) return failed(name, `expected an empty or JSON body for ${what}, got ${excerpt(outcome.text)}`);
    const config = typeof outcome.json === 'object' && outcome.json !== null ? (outcome.json as { config?: unknown }).config : undefined;
    const { problems } = configProblems(config, this.manifest, this.options.env);
    return problems.length > 0 ? failed(name, this.configReason(problems)) : passed(name);
  }

  private configReason(problems: string[]): string {
    const { prefix } = this.manifest;
    return `expected config keys declared in api.config_vars and starting with "${prefix}_", with string values; got: ${problems.join('; ')}`;
  }

  private expectStatus(name: string, what: string, outcome: HttpOutcome, statuses: number[]): CheckResult {
    if (outcome.kind === 'response' && statuses.includes(outcome.status)) return passed(name);
    return failed(name, `expected ${statuses.join(' or ')} for ${what}, got ${describeOutcome(outcome)}`);
  }

  private expectSuccess(name: string, outcome: HttpOutcome, expected = '2xx'): CheckResult {
    if (outcome.kind === 'response' && outcome.status >= 200 && outcome.status < 300) return passed(name);
    return failed(name, `expected ${expected}, got ${describeOutcome(outcome)}`);
  }

  private async provision(uuid: string, plan: string, authorization?: string): Promise<Provisioned> {
    const name = `${this.manifest.id || 'addon'}-check-${uuid.slice(0, 8)}`;
    const body = {
      uuid,
      name,
      plan,
      region: REGION,
      ...this.partner.register(uuid, name, plan),
      options: {},
      log_input_url: null,
    };
    const outcome = await this.call('POST', this.manifest.baseUrl ?? '', body, authorization);
    // Only a 4xx says for sure that nothing was made; after a timeout or a 5xx the vendor may hold one.
    if (outcome.kind === 'error' || outcome.status < 400 || outcome.status >= 500) this.provisioned.add(uuid);
    const json = outcome.kind === 'response' && outcome.isJson ? outcome.json : undefined;
    const record = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
    const id = record && (typeof record.id === 'string' || typeof record.id === 'number') && record.id !== '' ? String(record.id) : undefined;
    return { outcome, body: record, id };
  }

  /**
   * One call to the vendor; only the clean-up at the end goes on after an interruption. The
   * answer's text, which failure reasons quote (cut short), has its secrets and config values
   * redacted before anything can cut one in half.
   */
  private async call(method: string, url: string, body?: unknown, authorization?: string, interruptible = true): Promise<HttpOutcome> {
    if (!this.manifest.baseUrl) {
      return { kind: 'error', reason: `the manifest names no base_url for the ${this.options.env} environment` };
    }
    const outcome = await send({
      method,
      url,
      headers: {
        Authorization: authorization ?? basicAuth(this.manifest.id, this.manifest.password),
        Accept: ACCEPT,
        'User-Agent': 'attache-vendor-check',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs: this.timeoutMs,
      signal: interruptible ? this.interruption.signal : undefined,
    });
    if (outcome.kind === 'error') return outcome;
    if (typeof outcome.json === 'object' && outcome.json !== null) this.rememberConfig((outcome.json as { config?: unknown }).config);
    return { ...outcome, text: this.redact(outcome.text) };
  }

  private resourceUrl(uuid: string): string {
    return `${(this.manifest.baseUrl ?? '').replace(/\/+$/, '')}/${encodeURIComponent(uuid)}`;
  }

  private record(result: CheckResult): void {
    const clean = { ...result, ...(result.reason ? { reason: this.redact(result.reason) } : {}), ...(result.note ? { note: this.redact(result.note) } : {}) };
    this.results.push(clean);
    this.options.onResult?.(clean);
  }

  private rememberConfig(config: unknown): void {
    if (typeof config !== 'object' || config === null) return;
    // Short values ("true", a port) are not secrets, and redacting them would garble reasons.
    for (const value of Object.values(config)) if (typeof value === 'string' && value.length >= 8) this.configValues.add(value);
  }

  /**
   * A vendor could echo its password, salt or client secret in a body, and config values are
   * credentials too; such text never reaches the output. Excerpts escape quotes as JSON does, so
   * each secret is also looked for in that form.
   */
  private redact(text: string): string {
    let out = text;
    const secrets = [this.manifest.password, this.manifest.ssoSalt, this.options.clientSecret ?? '', ...this.configValues];
    for (const secret of secrets.filter((s) => s.length >= 4).sort((a, b) => b.length - a.length)) {
      for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1), JSON.stringify(JSON.stringify(secret).slice(1, -1)).slice(1, -1)])) {
        out = out.split(form).join('[redacted]');
      }
    }
    return out;
  }
}
