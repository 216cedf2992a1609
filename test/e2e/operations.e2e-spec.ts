import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Redis from 'ioredis';
import { heartbeatKey } from '@app/observability';
import { ScriptedVendor, manifestFor } from '@app/testing';
import { AttacheHarness, freePort } from '../support/attache-harness';

const RUN_JS = join(__dirname, '..', '..', 'bin', 'run.js');

/** `node bin/run.js worker` as its own process (from dist/), with everything it writes kept. */
class ChildWorker {
  output = '';
  private exit?: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.exit = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static async start(env: Record<string, string>): Promise<ChildWorker> {
    const port = await freePort();
    const child = spawn(process.execPath, [RUN_JS, 'worker'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, WORKER_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const worker = new ChildWorker(child, port);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`worker exited (${child.exitCode}):\n${worker.output}`);
      const live = await fetch(`${worker.url}/health/live`).catch(() => null);
      if (live?.ok) return worker;
      await new Promise((r) => setTimeout(r, 100));
    }
    await worker.stop();
    throw new Error(`worker did not start:\n${worker.output}`);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** SIGTERM, as an orchestrator stops it: Nest's shutdown hooks run. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exit;
  }
}

/** The value of one sample (`name{labels} value`) in Prometheus text whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...match[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

const slugFor = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

async function provision(attache: AttacheHarness, apiKey: string, app: string, plan: string) {
  const created = await attache.client(apiKey).post(`/apps/${app}/addons`).send({ plan });
  if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
  await attache.waitForAddon(apiKey, created.body.id, (a) => a.state === 'provisioned');
  return { id: created.body.id as string, name: created.body.name as string };
}

/** README "Operating it": health, metrics, the OpenAPI document, and logs without secrets. */
describe('operations', () => {
  describe('with the worker running', () => {
    let attache: AttacheHarness;
    let vendor: ScriptedVendor;

    beforeAll(async () => {
      attache = await AttacheHarness.start();
      ({ vendor } = await attache.startVendor('ops'));
    });

    afterAll(async () => {
      await attache?.stop();
    });

    it('answers /health, /health/ready and /health/live 200 with postgres, redis and a live worker', async () => {
      const health = await attache.http().get('/health');
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({
        status: 'ok',
        info: { postgres: { status: 'up' }, redis: { status: 'up' }, worker: { status: 'up', live: 1 } },
        error: {},
      });

      const ready = await attache.http().get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'ok', info: { postgres: { status: 'up' }, redis: { status: 'up' } } });
      // Readiness is about this process only: one worker more or less does not take it out of rotation.
      expect(ready.body.info).not.toHaveProperty('worker');

      const live = await attache.http().get('/health/live');
      expect(live.status).toBe(200);
      expect(live.body).toEqual({ status: 'ok' });
    });

    it('exports request latency by route pattern, jobs by queue and state, and provider call latency at /metrics', async () => {
      const dev = await attache.createAccount();
      const app = await attache.createApp(dev.apiKey);
      for (let i = 0; i < 3; i++) expect((await attache.client(dev.apiKey).get(`/apps/${app.name}`)).status).toBe(200);
      expect((await attache.client(dev.apiKey).get(`/apps/${app.name}/config-vars`)).status).toBe(200);

      // While the vendor takes its time, the provision job is active.
      vendor.onProvision((call) => ({ status: 200, body: { id: `res-${call.uuid}`, config: { [vendor.configVar]: 'https://example.test/slow' } }, delayMs: 1_000 }));
      const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
      expect(created.status).toBe(201);
      const addon = { id: created.body.id as string };
      try {
        await vendor.waitForCalls((calls) => calls.some((c) => c.uuid === addon.id));
        const during = await attache.http().get('/metrics');
        expect(sample(during.text, 'attache_jobs', { queue: 'addon-provision', state: 'active' })).toBe(1);
        await attache.waitForAddon(dev.apiKey, addon.id, (a) => a.state === 'provisioned');
      } finally {
        vendor.restoreDefaults();
      }

      const metrics = await attache.http().get('/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = metrics.text;

      expect(text).toContain('# TYPE attache_http_request_duration_seconds histogram');
      expect(sample(text, 'attache_http_request_duration_seconds_count', { method: 'GET', route: '/apps/:app', status: '200' })).toBeGreaterThanOrEqual(3);
      expect(sample(text, 'attache_http_request_duration_seconds_count', { method: 'GET', route: '/apps/:app/config-vars', status: '200' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'attache_http_request_duration_seconds_count', { method: 'POST', route: '/apps/:app/addons', status: '201' })).toBeGreaterThanOrEqual(1);
      // Labels carry the pattern, never the raw path (that would explode cardinality).
      expect(text).not.toContain(app.name);
      expect(text).not.toContain(addon.id);

      expect(text).toContain('# TYPE attache_jobs gauge');
      // Finished jobs are removed (libs/queues), so once provisioned nothing is left in any state.
      for (const queue of ['addon-provision', 'addon-plan-change', 'addon-deprovision']) {
        for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) expect({ queue, state, value: sample(text, 'attache_jobs', { queue, state }) }).toEqual({ queue, state, value: 0 });
      }

      // The worker shares this process (and prom-client's registry) in the harness, so its provider calls show here.
      expect(text).toContain('# TYPE attache_provider_call_duration_seconds histogram');
      expect(sample(text, 'attache_provider_call_duration_seconds_count', { service: vendor.slug, operation: 'provision', outcome: '200' })).toBe(1);
      expect(sample(text, 'attache_provider_call_errors_total', { service: vendor.slug })).toBeUndefined();
      expect(text).toMatch(/^attache_process_cpu_user_seconds_total /m);
    });

    it('serves the OpenAPI document at /docs/openapi.json, listing the add-on routes', async () => {
      const response = await attache.http().get('/docs/openapi.json');
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/json/);
      expect(response.body.openapi).toMatch(/^3\./);
      expect(response.body.info).toMatchObject({ title: 'Attache Platform API' });
      const addons = response.body.paths['/apps/{app}/addons'];
      expect(addons).toBeDefined();
      expect(Object.keys(addons)).toEqual(expect.arrayContaining(['get', 'post']));
      expect(addons.post.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'app', in: 'path' })]));
      for (const path of ['/apps', '/apps/{app}/config-vars', '/addons/{addon}', '/actions/addons/resolve', '/addon-services', '/api/v3/addons/{slug}/manifests']) {
        expect(response.body.paths).toHaveProperty([path]);
      }
    });
  });

  describe('without a worker', () => {
    let attache: AttacheHarness;
    let vendor: ScriptedVendor;
    let redis: Redis;
    const workers: ChildWorker[] = [];

    beforeAll(async () => {
      attache = await AttacheHarness.start({ worker: false });
      ({ vendor } = await attache.startVendor('ops'));
      redis = new Redis(attache.config.redis.url);
    });

    afterAll(async () => {
      await Promise.all(workers.map((w) => w.stop()));
      redis?.disconnect();
      await attache?.stop();
    });

    const health = () => attache.http().get('/health');

    it('reports the worker down (503) on /health while /health/ready and /health/live stay 200', async () => {
      const response = await health();
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({
        status: 'error',
        info: { postgres: { status: 'up' }, redis: { status: 'up' } },
        error: { worker: { status: 'down', live: 0 } },
      });
      expect((await attache.http().get('/health/ready')).status).toBe(200);
      expect((await attache.http().get('/health/live')).status).toBe(200);
      expect(await redis.zcard(heartbeatKey(attache.config.queues.prefix))).toBe(0);
    });

    it('sees a worker process through its heartbeat under the queue prefix, and loses it when it stops', async () => {
      const worker = await ChildWorker.start(attache.env);
      workers.push(worker);
      const up = await attache.waitUntil('/health to see the worker', async () => {
        const response = await health();
        return response.status === 200 ? response : undefined;
      });
      expect(up.body.info.worker).toEqual({ status: 'up', live: 1 });
      const members = await redis.zrange(heartbeatKey(attache.config.queues.prefix), 0, -1);
      expect(members).toHaveLength(1);
      expect(members[0]).toMatch(/:\d+$/);

      // The worker serves its own health and metrics on WORKER_PORT; its provider calls are counted there.
      const own = await fetch(`${worker.url}/health`);
      expect(own.status).toBe(200);
      const dev = await attache.createAccount();
      const app = await attache.createApp(dev.apiKey);
      await provision(attache, dev.apiKey, app.name, `${vendor.slug}:basic`);
      const workerMetrics = await (await fetch(`${worker.url}/metrics`)).text();
      expect(sample(workerMetrics, 'attache_provider_call_duration_seconds_count', { service: vendor.slug, operation: 'provision', outcome: '200' })).toBe(1);

      // The API's own /metrics still answers in a process that booted an API before (the first harness).
      const apiMetrics = await attache.http().get('/metrics');
      expect(apiMetrics.status).toBe(200);
      for (const state of ['waiting', 'active', 'delayed']) expect(sample(apiMetrics.text, 'attache_jobs', { queue: 'addon-provision', state })).toBe(0);

      await worker.stop();
      expect(await redis.zcard(heartbeatKey(attache.config.queues.prefix))).toBe(0);
      const down = await health();
      expect(down.status).toBe(503);
      expect(down.body.error.worker).toMatchObject({ status: 'down', live: 0 });
    });
  });

  describe('logs', () => {
    let attache: AttacheHarness | undefined;
    let vendor: ScriptedVendor | undefined;
    let worker: ChildWorker | undefined;
    const captured: string[] = [];
    const originalWrite = process.stdout.write;

    afterAll(async () => {
      process.stdout.write = originalWrite;
      await worker?.stop();
      await vendor?.stop();
      await attache?.stop();
    });

    it('never contain the vendor password, API keys, config var values or partner tokens, even at debug level', async () => {
      // pino writes to process.stdout only when it has been replaced before the logger is created.
      process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      }) as typeof process.stdout.write;
      attache = await AttacheHarness.start({ env: { LOG_LEVEL: 'debug' }, worker: false });
      worker = await ChildWorker.start({ ...attache.env, LOG_LEVEL: 'debug' });

      const vendorPassword = `pw-${randomBytes(12).toString('hex')}`;
      const providerSecret = `provider-secret-${randomBytes(12).toString('hex')}`;
      vendor = new ScriptedVendor({ slug: slugFor('logs'), password: vendorPassword });
      await vendor.start();
      let grantCode = '';
      vendor.onProvision((call) => {
        grantCode = call.body.oauth_grant.code;
        return { status: 200, body: { id: `res-${call.uuid}`, config: { [vendor!.configVar]: `postgres://user:${providerSecret}@db.example/x` } } };
      });
      const manifest = manifestFor(vendor);
      const registered = await attache.registerVendor(manifest);
      const dev = await attache.createAccount();
      const app = await attache.createApp(dev.apiKey);

      const configValue = `config-value-${randomBytes(12).toString('hex')}`;
      const set = await attache.client(dev.apiKey).patch(`/apps/${app.name}/config-vars`).send({ SECRET_TOKEN: configValue });
      expect(set.status).toBe(200);
      const addon = await provision(attache, dev.apiKey, app.name, `${vendor.slug}:basic`);
      expect((await attache.configVars(dev.apiKey, app.name))[vendor.configVar]).toContain(providerSecret);

      const token = await attache.http().post('/oauth/token').type('form').send({ grant_type: 'authorization_code', code: grantCode, client_secret: registered.clientSecret });
      expect(token.status).toBe(200);
      const partnerValue = `partner-value-${randomBytes(12).toString('hex')}`;
      const patched = await attache
        .http()
        .patch(`/addons/${addon.id}/config`)
        .set('Authorization', `Bearer ${token.body.access_token}`)
        .send({ config: [{ name: vendor.configVar, value: partnerValue }] });
      expect(patched.status).toBe(200);
      // A refused request with a secret in the query string and a bad token in the header.
      expect((await attache.http().post(`/oauth/token?client_secret=${registered.clientSecret}&code=${grantCode}&grant_type=authorization_code`)).status).toBe(422);
      expect((await attache.http().get('/account').set('Authorization', `Bearer ${dev.apiKey}x`)).status).toBe(401);
      expect((await attache.configVars(dev.apiKey, app.name))[vendor.configVar]).toBe(partnerValue);

      const apiLog = captured.join('');
      const workerLog = worker.output;
      // The capture works: both processes logged, the API a line per request with its Request-Id, the
      // worker at debug level about this very provision.
      const apiLines = apiLog
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(apiLines.find((line) => line.requestId === set.headers['request-id'])).toMatchObject({
        name: 'attache-api',
        msg: 'request',
        method: 'PATCH',
        path: `/apps/${app.name}/config-vars`,
        status: 200,
      });
      expect(apiLines.filter((line) => line.path === '/oauth/token').map((line) => line.status)).toEqual([200, 422]);
      const providerCall = workerLog.split('\n').find((line) => line.includes('"msg":"provider call"') && line.includes(vendor!.slug));
      expect(providerCall).toBeDefined();
      expect(JSON.parse(providerCall!)).toMatchObject({ level: 'debug', operation: 'provision', outcome: '200', jobId: `provision.${addon.id}` });

      const secrets: Record<string, string> = {
        'vendor password': vendorPassword,
        'vendor password (Basic header)': Buffer.from(`${vendor.slug}:${vendorPassword}`).toString('base64'),
        'sso salt': manifest.api.sso_salt,
        'API key': dev.apiKey,
        'vendor API key': registered.apiKey,
        'config var value': configValue,
        'provider config value': providerSecret,
        'partner config value': partnerValue,
        'partner access token': token.body.access_token,
        'partner refresh token': token.body.refresh_token,
        'client secret': registered.clientSecret,
        'grant code': grantCode,
      };
      for (const [what, secret] of Object.entries(secrets)) {
        expect({ what, inApiLog: apiLog.includes(secret), inWorkerLog: workerLog.includes(secret) }).toEqual({ what, inApiLog: false, inWorkerLog: false });
      }
    });
  });
});
