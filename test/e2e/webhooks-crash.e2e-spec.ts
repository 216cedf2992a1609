import { createHmac } from 'node:crypto';
import { IncomingHttpHeaders, Server, ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ACCEPT, AttacheHarness } from '../support/attache-harness';
import { WorkerProcess } from '../support/worker-process';

interface Arrival {
  headers: IncomingHttpHeaders;
  raw: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

const SECRET = 'crash-test-webhook-secret';
/** A delivery attempt may run this long; the sweep takes over 5 s after that (the lease margin). */
const WEBHOOK_TIMEOUT_MS = 2_000;

/**
 * A real crash: the worker runs as its own process and is SIGKILLed while a delivery's request is
 * open at the vendor's receiver, and stays down while more events happen. The next worker must
 * deliver everything: the interrupted delivery again (a new attempt, after the old one's lease),
 * and the events recorded while no worker ran, each exactly once.
 */
describe('webhook deliveries across a worker crash', () => {
  let attache: AttacheHarness;
  let receiver: Server;
  const arrivals: Arrival[] = [];
  /** Requests held open (never answered) until the test lets them go. */
  const held: ServerResponse[] = [];
  let holdFirst = true;
  const workers: WorkerProcess[] = [];

  const startWorker = async () => {
    const worker = await WorkerProcess.start({ env: { ...attache.env, LOG_LEVEL: process.env.ATTACHE_TEST_LOG_LEVEL ?? 'warn' } });
    workers.push(worker);
    return worker;
  };
  const explain = () => workers.map((w, i) => `\n--- worker ${i + 1} (${w.status}):\n${w.recentOutput}`).join('');

  beforeAll(async () => {
    attache = await AttacheHarness.start({
      worker: false,
      env: { WEBHOOK_FANOUT_INTERVAL_MS: '100', WEBHOOK_BACKOFF_MS: '100', WEBHOOK_BACKOFF_CAP_MS: '500', WEBHOOK_TIMEOUT_MS: String(WEBHOOK_TIMEOUT_MS), WEBHOOK_OVERDUE_AFTER_MS: '500' },
    });
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        arrivals.push({ headers: req.headers, raw, body: JSON.parse(raw) });
        if (holdFirst) {
          holdFirst = false;
          held.push(res);
          return;
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const worker of workers) await worker.kill();
    for (const res of held) res.destroy();
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
    await attache?.stop();
  });

  it('delivers the interrupted delivery again and the events that happened while no worker ran, once each', async () => {
    const vendor = await attache.startVendor('crashhooks');
    const dev = await attache.createAccount('crashhooks-dev');
    const app = await attache.createApp(dev.apiKey);
    const first = await startWorker();
    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    expect(created.status).toBe(201);
    const addonId: string = created.body.id;
    await attache.waitForAddon(dev.apiKey, addonId, (a) => a.state === 'provisioned');
    const code: string = vendor.vendor.callsFor(addonId)[0].body.oauth_grant.code;
    const token = (await attache.http().post('/oauth/token').type('form').send({ grant_type: 'authorization_code', code, client_secret: vendor.clientSecret })).body.access_token as string;
    const partner = (path: string) => attache.http().get(path).set('Accept', ACCEPT).set('Authorization', `Bearer ${token}`);
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    const hook = await attache.http().post(`/addons/${addonId}/webhooks`).set('Accept', ACCEPT).set('Authorization', `Bearer ${token}`).send({ include: ['api:addon-attachment'], level: 'sync', url, secret: SECRET });
    expect(hook.status).toBe(201);

    // The first delivery reaches the receiver, which holds it open; the worker dies meanwhile.
    const before = await attache.createApp(dev.apiKey);
    expect((await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: addonId, app: before.name, name: 'BEFORE' })).status).toBe(201);
    await attache.waitUntil('the first delivery to arrive', async () => (arrivals.length >= 1 ? true : undefined));
    await first.kill();
    const interrupted: string = arrivals[0].body.webhook_metadata.delivery.id;

    // Events while no worker runs wait in the outbox.
    const during = await attache.createApp(dev.apiKey);
    expect((await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: addonId, app: during.name, name: 'DURING' })).status).toBe(201);
    expect((await attache.pg.query('SELECT count(*)::int AS n FROM webhook_outbox')).rows[0].n).toBeGreaterThanOrEqual(1);

    await startWorker();
    const settled = await attache
      .waitUntil(
        'both deliveries to succeed',
        async () => {
          const response = await partner(`/addons/${addonId}/webhook-deliveries`);
          const all = response.body as { id: string; status: string; num_attempts: number }[];
          return all.length === 2 && all.every((d) => d.status === 'succeeded') ? all : undefined;
        },
        60_000,
      )
      .catch((error: Error) => {
        throw new Error(`${error.message}${explain()}`);
      });

    // The interrupted one took a second attempt; its first is logged as cut short.
    expect(settled.find((d) => d.id === interrupted)).toMatchObject({ num_attempts: 2 });
    const attempts = await attache.pg.query('SELECT status, code, error_class FROM addon_webhook_attempts WHERE delivery_id = $1 ORDER BY created_at', [interrupted]);
    expect(attempts.rows).toEqual([
      { status: 'failed', code: null, error_class: 'Interrupted' },
      { status: 'succeeded', code: 200, error_class: null },
    ]);
    // Exactly one event per change; every arrival signed; the receiver heard of each change.
    expect((await attache.pg.query('SELECT count(*)::int AS n FROM addon_webhook_events WHERE addon_id = $1', [addonId])).rows[0].n).toBe(2);
    expect((await attache.pg.query('SELECT count(*)::int AS n FROM webhook_outbox')).rows[0].n).toBe(0);
    for (const arrival of arrivals) expect(arrival.headers['heroku-webhook-hmac-sha256']).toBe(createHmac('sha256', SECRET).update(arrival.raw).digest('base64'));
    const names = arrivals.map((a) => a.body.data.name as string);
    expect(names.filter((n) => n === 'BEFORE')).toHaveLength(2);
    expect(names.filter((n) => n === 'DURING')).toHaveLength(1);
  });

  it('tells of an app renamed while no worker ran the add-ons attached to it then, not those attached since', async () => {
    for (const worker of workers) await worker.stop();
    const heard: { path: string; body: { action: string; data: { id: string; name: string }; previous_data?: { name: string } } }[] = [];
    const hooks = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        heard.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
      const vendor = await attache.startVendor('outagehooks');
      const dev = await attache.createAccount('outagehooks-dev');
      const worker = await startWorker();
      /** An add-on on its own app, with a webhook on app events at `/<label>`. */
      const subscribed = async (label: string) => {
        const owner = await attache.createApp(dev.apiKey);
        const created = await attache.client(dev.apiKey).post(`/apps/${owner.name}/addons`).send({ plan: `${vendor.slug}:basic` });
        expect(created.status).toBe(201);
        const addonId: string = created.body.id;
        await attache.waitForAddon(dev.apiKey, addonId, (a) => a.state === 'provisioned');
        const code: string = vendor.vendor.callsFor(addonId)[0].body.oauth_grant.code;
        const token = (await attache.http().post('/oauth/token').type('form').send({ grant_type: 'authorization_code', code, client_secret: vendor.clientSecret })).body.access_token as string;
        const hook = await attache.http().post(`/addons/${addonId}/webhooks`).set('Accept', ACCEPT).set('Authorization', `Bearer ${token}`).send({ include: ['api:app'], level: 'sync', url: `${base}/${label}` });
        expect(hook.status).toBe(201);
        return addonId;
      };
      const before = await subscribed('before');
      const since = await subscribed('since');
      const shared = await attache.createApp(dev.apiKey);
      const attached = await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: before, app: shared.name, name: 'BEFORE' });
      expect(attached.status).toBe(201);
      await worker.kill();

      // While no worker runs: the app is renamed, then the first add-on leaves it and the second joins.
      const firstName = `outage-${Date.now().toString(36)}`;
      expect((await attache.client(dev.apiKey).patch(`/apps/${shared.name}`).send({ name: firstName })).status).toBe(200);
      expect((await attache.client(dev.apiKey).delete(`/addon-attachments/${attached.body.id}`)).status).toBe(200);
      expect((await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: since, app: firstName, name: 'SINCE' })).status).toBe(201);

      await startWorker();
      // A later rename, with the second add-on attached: its vendor hears of that one.
      const secondName = `${firstName}-2`;
      expect((await attache.client(dev.apiKey).patch(`/apps/${firstName}`).send({ name: secondName })).status).toBe(200);
      await attache
        .waitUntil(
          'the outbox to drain and every delivery to settle',
          async () => {
            const outbox = (await attache.pg.query('SELECT count(*)::int AS n FROM webhook_outbox')).rows[0].n as number;
            const open = (await attache.pg.query(`SELECT count(*)::int AS n FROM addon_webhook_deliveries WHERE addon_id = ANY($1::uuid[]) AND status NOT IN ('succeeded', 'failed')`, [[before, since]])).rows[0].n as number;
            const events = (await attache.pg.query('SELECT count(*)::int AS n FROM addon_webhook_events WHERE addon_id = ANY($1::uuid[])', [[before, since]])).rows[0].n as number;
            return outbox === 0 && open === 0 && events >= 1 ? true : undefined;
          },
          60_000,
        )
        .catch((error: Error) => {
          throw new Error(`${error.message}${explain()}`);
        });
      const renames = (path: string) => heard.filter((h) => h.path === path && h.body.data.id === shared.id).map((h) => `${h.body.previous_data?.name} -> ${h.body.data.name}`);
      expect(renames('/before')).toEqual([`${shared.name} -> ${firstName}`]);
      expect(renames('/since')).toEqual([`${firstName} -> ${secondName}`]);
      // The event log holds the same: the second add-on never learns the app's earlier name.
      const logged = await attache.pg.query(`SELECT addon_id, data->>'name' AS name FROM addon_webhook_events WHERE addon_id = ANY($1::uuid[]) ORDER BY created_at`, [[before, since]]);
      expect(logged.rows).toEqual([
        { addon_id: before, name: firstName },
        { addon_id: since, name: secondName },
      ]);
    } finally {
      await new Promise<void>((resolve) => hooks.close(() => resolve()));
    }
  });
});
