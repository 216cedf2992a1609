import { createHmac, randomBytes } from 'node:crypto';
import { IncomingHttpHeaders, Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ACCEPT, AttacheHarness, VENDOR_PASSWORD, freePort } from '../support/attache-harness';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  // Whatever Attache sent, parsed: asserted on field by field.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** A vendor's webhook receiver: records every request with its raw body; answers what `reply` says. */
class Receiver {
  readonly received: Received[] = [];
  reply: (request: Received, n: number) => number = () => 200;
  private server?: Server;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          body = undefined;
        }
        const request = { path: req.url ?? '', headers: req.headers, raw, body };
        this.received.push(request);
        res.writeHead(this.reply(request, this.received.filter((r) => r.path === request.path).length)).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}${path}`;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

const hmac = (secret: string, raw: string) => createHmac('sha256', secret).update(raw).digest('base64');
const unique = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`;

/** Partner webhooks (reference §3.4) and the vendor's installs list (§3.6), against a real receiver. */
describe('partner webhooks', () => {
  let attache: AttacheHarness;
  let receiver: Receiver;

  beforeAll(async () => {
    attache = await AttacheHarness.start({
      env: {
        WEBHOOK_FANOUT_INTERVAL_MS: '100',
        WEBHOOK_BACKOFF_MS: '100',
        WEBHOOK_BACKOFF_CAP_MS: '400',
        WEBHOOK_MAX_ATTEMPTS: '8',
        WEBHOOK_TIMEOUT_MS: '2000',
      },
    });
    receiver = new Receiver();
    await receiver.start();
  });

  afterAll(async () => {
    await receiver?.stop();
    await attache?.stop();
  });

  /** A provisioned add-on of a new vendor, its owner and the vendor's partner token for it. */
  async function provisioned(prefix = 'hooks') {
    const vendor = await attache.startVendor(prefix);
    const dev = await attache.createAccount(`${prefix}-dev`);
    const app = await attache.createApp(dev.apiKey);
    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    expect(created.status).toBe(201);
    const addon = created.body as { id: string; name: string };
    await attache.waitForAddon(dev.apiKey, addon.id, (a) => a.state === 'provisioned');
    const code: string = vendor.vendor.callsFor(addon.id)[0].body.oauth_grant.code;
    const token = await attache.http().post('/oauth/token').type('form').send({ grant_type: 'authorization_code', code, client_secret: vendor.clientSecret });
    expect(token.status).toBe(200);
    const partner = (path: string, method: 'get' | 'post' | 'patch' | 'delete' = 'get') =>
      attache.http()[method](path).set('Accept', ACCEPT).set('Authorization', `Bearer ${token.body.access_token as string}`);
    return { vendor, dev, app, addon, token: token.body.access_token as string, partner };
  }

  /** Waits until the receiver has `n` requests at `path`. */
  const receivedAt = (path: string, n: number, timeoutMs = 20_000) =>
    attache.waitUntil(`${n} deliveries at ${path}`, async () => (receiver.at(path).length >= n ? receiver.at(path) : undefined), timeoutMs);

  it('delivers attachment, rename, plan change, detach and app deletion events, signed and authorized, and logs them', async () => {
    const { vendor, dev, app, addon, partner } = await provisioned();
    const path = `/hooks/${addon.id}`;
    const secret = 'a-webhook-secret-of-the-vendor';
    const created = await partner(`/addons/${addon.id}/webhooks`, 'post').send({
      include: ['api:addon-attachment', 'api:app', 'api:addon'],
      level: 'sync',
      url: receiver.url(path),
      authorization: 'Bearer vendor-receiver-token',
      secret,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ addon: { id: addon.id, name: addon.name }, include: ['api:addon-attachment', 'api:app', 'api:addon'], level: 'sync', url: receiver.url(path) });
    expect(created.body).not.toHaveProperty('secret');
    expect(JSON.stringify(created.body)).not.toContain('vendor-receiver-token');
    const webhookId: string = created.body.id;
    expect((await partner(`/addons/${addon.id}/webhooks`)).body.map((w: { id: string }) => w.id)).toEqual([webhookId]);
    expect((await partner(`/addons/${addon.id}/webhooks/${webhookId}`)).body).toEqual(created.body);

    // Attach to a second app, rename it, change plan, detach.
    const second = await attache.createApp(dev.apiKey);
    const attached = await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: addon.id, app: second.name, name: 'SHARED' });
    expect(attached.status).toBe(201);
    const renamed = unique('renamed');
    expect((await attache.client(dev.apiKey).patch(`/apps/${second.name}`).send({ name: renamed })).status).toBe(200);
    expect((await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${addon.id}`).send({ plan: `${vendor.slug}:pro` })).status).toBe(200);
    await attache.waitForAddon(dev.apiKey, addon.id, (a) => (a.plan as { name: string }).name === `${vendor.slug}:pro` && a.pending_plan === null);
    expect((await attache.client(dev.apiKey).delete(`/addon-attachments/${attached.body.id}`)).status).toBe(200);
    // Attach to a third app, then delete that app.
    const third = await attache.createApp(dev.apiKey);
    expect((await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: addon.id, app: third.name, name: 'THIRD' })).status).toBe(201);
    expect((await attache.client(dev.apiKey).delete(`/apps/${third.name}`)).status).toBe(200);

    const deliveries = await receivedAt(path, 7);
    for (const d of deliveries) {
      expect(d.headers['heroku-webhook-hmac-sha256']).toBe(hmac(secret, d.raw));
      expect(d.headers.authorization).toBe('Bearer vendor-receiver-token');
      expect(d.headers['content-type']).toBe('application/json');
      expect(d.headers['heroku-webhook-id']).toBe(webhookId);
      expect(d.headers['heroku-webhook-delivery-id']).toBe(d.body.webhook_metadata.delivery.id);
      expect(d.body.webhook_metadata.webhook.id).toBe(webhookId);
      expect(d.body.webhook_metadata.event.id).toBe(d.body.id);
    }
    // Deliveries run in parallel, so they may arrive in any order: each is found by what it says.
    const bodies = deliveries.map((d) => d.body);
    const find = (include: string, action: string, appId: string) =>
      bodies.find((b) => b.webhook_metadata.event.include === include && b.action === action && (b.data.app?.id ?? b.data.id) === appId);
    expect(bodies.map((b) => `${b.webhook_metadata.event.include} ${b.action}`).sort()).toEqual(
      ['api:addon-attachment create', 'api:addon-attachment create', 'api:addon-attachment destroy', 'api:addon-attachment destroy', 'api:addon update', 'api:app destroy', 'api:app update'].sort(),
    );
    const attach = find('api:addon-attachment', 'create', second.id);
    const rename = find('api:app', 'update', second.id);
    const planChange = bodies.find((b) => b.webhook_metadata.event.include === 'api:addon' && b.action === 'update');
    const detach = find('api:addon-attachment', 'destroy', second.id);
    expect(attach).toMatchObject({ resource: 'addon-attachment', data: { id: attached.body.id, name: 'SHARED', addon: { id: addon.id }, app: { id: second.id, name: second.name } } });
    expect(rename).toMatchObject({ resource: 'app', data: { id: second.id, name: renamed }, previous_data: { name: second.name } });
    expect(planChange).toMatchObject({ resource: 'addon', data: { id: addon.id, plan: { name: `${vendor.slug}:pro` } }, previous_data: { plan: { name: `${vendor.slug}:basic` } } });
    expect(detach).toMatchObject({ resource: 'addon-attachment', data: { id: attached.body.id, app: { id: second.id, name: renamed } } });
    expect(find('api:addon-attachment', 'create', third.id)).toMatchObject({ data: { name: 'THIRD', app: { name: third.name } } });
    expect(find('api:addon-attachment', 'destroy', third.id)).toBeDefined();
    expect(find('api:app', 'destroy', third.id).data).toEqual({ id: third.id, name: third.name });
    // Each event happened after the one before it: the events' times keep the order of the changes.
    const times = [attach, rename, planChange, detach].map((b) => Date.parse(b.created_at));
    expect([...times].sort((x, y) => x - y)).toEqual(times);

    // The delivery log: every delivery succeeded at the first attempt; events carry the same payloads.
    const log = await attache.waitUntil('the log to settle', async () => {
      const response = await partner(`/addons/${addon.id}/webhook-deliveries`);
      const settled = response.body.length === 7 && response.body.every((d: { status: string }) => d.status === 'succeeded');
      return settled ? response : undefined;
    });
    expect(log.status).toBe(200);
    for (const d of log.body) {
      expect(d).toMatchObject({ status: 'succeeded', num_attempts: 1, next_attempt_at: null, webhook: { id: webhookId, level: 'sync' }, last_attempt: { code: 200, error_class: null, status: 'succeeded' } });
    }
    const one = rename.webhook_metadata.delivery.id as string;
    expect((await partner(`/addons/${addon.id}/webhook-deliveries/${one}`)).body).toMatchObject({ id: one, event: { id: rename.id, include: 'api:app' } });
    const events = await partner(`/addons/${addon.id}/webhook-events`);
    expect(events.body).toHaveLength(7);
    const event = await partner(`/addons/${addon.id}/webhook-events/${rename.id}`);
    expect(event.body).toMatchObject({ id: rename.id, include: 'api:app', payload: { action: 'update', resource: 'app', data: rename.data, previous_data: rename.previous_data } });
    // Pages: newest first by default; a Range with max pages through with Next-Range.
    const page = await partner(`/addons/${addon.id}/webhook-events`).set('Range', 'id ..; max=5');
    expect(page.status).toBe(206);
    const rest = await partner(`/addons/${addon.id}/webhook-events`).set('Range', page.headers['next-range']);
    expect([...page.body, ...rest.body].map((e: { id: string }) => e.id).sort()).toEqual(events.body.map((e: { id: string }) => e.id).sort());

    // Changed and deleted: a removed webhook gets nothing more.
    const patched = await partner(`/addons/${addon.id}/webhooks/${webhookId}`, 'patch').send({ include: ['api:app'], level: 'notify', authorization: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ include: ['api:app'], level: 'notify' });
    expect((await partner(`/addons/${addon.id}/webhooks/${webhookId}`, 'delete')).status).toBe(200);
    expect((await partner(`/addons/${addon.id}/webhooks/${webhookId}`)).status).toBe(404);
    expect((await partner(`/addons/${addon.id}/webhook-deliveries`)).body).toEqual([]);
  });

  it('retries a sync delivery the receiver refuses or cannot take, until it succeeds, and logs every attempt', async () => {
    const { dev, addon, partner } = await provisioned('retry');
    const path = `/retry/${addon.id}`;
    // Two 500s, then accepted.
    receiver.reply = (request, n) => (request.path === path && n <= 2 ? 500 : 200);
    const created = await partner(`/addons/${addon.id}/webhooks`, 'post').send({ include: ['api:addon-attachment'], level: 'sync', url: receiver.url(path) });
    expect(created.status).toBe(201);
    // No secret given: one is generated and answered this once.
    const secret: string = created.body.secret;
    expect(secret).toEqual(expect.any(String));
    expect((await partner(`/addons/${addon.id}/webhooks/${created.body.id}`)).body).not.toHaveProperty('secret');

    const other = await attache.createApp(dev.apiKey);
    expect((await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: addon.id, app: other.name, name: 'RETRIED' })).status).toBe(201);
    const attempts = await receivedAt(path, 3);
    expect(new Set(attempts.map((a) => a.body.webhook_metadata.delivery.id)).size).toBe(1);
    expect(new Set(attempts.map((a) => a.body.webhook_metadata.attempt.id)).size).toBe(3);
    for (const a of attempts) expect(a.headers['heroku-webhook-hmac-sha256']).toBe(hmac(secret, a.raw));
    expect(attempts[0].headers).not.toHaveProperty('authorization');

    const deliveryId: string = attempts[0].body.webhook_metadata.delivery.id;
    const settled = await attache.waitUntil('the delivery to succeed', async () => {
      const response = await partner(`/addons/${addon.id}/webhook-deliveries/${deliveryId}`);
      return response.body.status === 'succeeded' ? response.body : undefined;
    });
    expect(settled).toMatchObject({ num_attempts: 3, last_attempt: { code: 200, status: 'succeeded' } });
    const rows = await attache.pg.query('SELECT status, code FROM addon_webhook_attempts WHERE delivery_id = $1 ORDER BY created_at', [deliveryId]);
    expect(rows.rows).toEqual([
      { status: 'failed', code: 500 },
      { status: 'failed', code: 500 },
      { status: 'succeeded', code: 200 },
    ]);

    // A receiver that is down: the attempts fail without an answer until it is back.
    const downPort = await freePort();
    const down = await partner(`/addons/${addon.id}/webhooks`, 'post').send({ include: ['api:app'], level: 'sync', url: `http://127.0.0.1:${downPort}/later` });
    expect(down.status).toBe(201);
    expect((await attache.client(dev.apiKey).patch(`/apps/${other.name}`).send({ name: unique('moved') })).status).toBe(200);
    const failing = await attache.waitUntil('an attempt at the receiver that is down', async () => {
      const response = await partner(`/addons/${addon.id}/webhook-deliveries`);
      const d = response.body.find((x: { webhook: { id: string } }) => x.webhook.id === down.body.id);
      return d && d.num_attempts >= 1 && d.last_attempt?.status === 'failed' ? d : undefined;
    });
    expect(failing.last_attempt).toMatchObject({ code: null, error_class: 'ConnectionRefused' });
    const late = createServer((_req, res) => res.writeHead(204).end());
    await new Promise<void>((resolve) => late.listen(downPort, '127.0.0.1', resolve));
    try {
      const delivered = await attache.waitUntil('the delivery to the revived receiver', async () => {
        const response = await partner(`/addons/${addon.id}/webhook-deliveries/${failing.id}`);
        return response.body.status === 'succeeded' || response.body.status === 'failed' ? response.body : undefined;
      });
      expect(delivered).toMatchObject({ status: 'succeeded', last_attempt: { code: 204 } });
      expect(delivered.num_attempts).toBeGreaterThan(1);
    } finally {
      await new Promise<void>((resolve) => late.close(() => resolve()));
    }
  });

  it('gives a notify webhook one attempt only', async () => {
    const { dev, addon, partner } = await provisioned('notify');
    const path = `/notify/${addon.id}`;
    receiver.reply = (request) => (request.path === path ? 500 : 200);
    const created = await partner(`/addons/${addon.id}/webhooks`, 'post').send({ include: ['api:addon-attachment'], level: 'notify', url: receiver.url(path), secret: 'notify-secret' });
    expect(created.status).toBe(201);
    const other = await attache.createApp(dev.apiKey);
    expect((await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: addon.id, app: other.name, name: 'NOTIFIED' })).status).toBe(201);
    const failed = await attache.waitUntil('the notify delivery to fail', async () => {
      const response = await partner(`/addons/${addon.id}/webhook-deliveries`);
      return response.body[0]?.status === 'failed' ? response.body[0] : undefined;
    });
    expect(failed).toMatchObject({ num_attempts: 1, next_attempt_at: null, webhook: { level: 'notify' }, last_attempt: { code: 500, status: 'failed' } });
    // Well past every retry a sync webhook would have had: still the one request.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(receiver.at(path)).toHaveLength(1);
    expect((await attache.pg.query('SELECT count(*)::int AS n FROM addon_webhook_attempts WHERE delivery_id = $1', [failed.id])).rows[0].n).toBe(1);
  });

  it('keeps each vendor to its own add-on and answers bad input with 422 {id, message}', async () => {
    const mine = await provisioned('mine');
    const theirs = await provisioned('theirs');
    const created = await mine.partner(`/addons/${mine.addon.id}/webhooks`, 'post').send({ include: ['api:app'], level: 'sync', url: receiver.url('/mine') });
    expect(created.status).toBe(201);
    const hook = created.body.id as string;

    // Another vendor's token, a developer's key, no credentials.
    const asOther = (path: string, method: 'get' | 'post' | 'patch' | 'delete' = 'get') => theirs.partner(path, method);
    for (const response of [
      await asOther(`/addons/${mine.addon.id}/webhooks`),
      await asOther(`/addons/${mine.addon.id}/webhooks`, 'post').send({ include: ['api:app'], level: 'sync', url: receiver.url('/stolen') }),
      await asOther(`/addons/${mine.addon.id}/webhooks/${hook}`),
      await asOther(`/addons/${mine.addon.id}/webhooks/${hook}`, 'patch').send({ url: receiver.url('/stolen') }),
      await asOther(`/addons/${mine.addon.id}/webhooks/${hook}`, 'delete'),
      await asOther(`/addons/${mine.addon.id}/webhook-deliveries`),
      await asOther(`/addons/${mine.addon.id}/webhook-events`),
      await attache.client(mine.dev.apiKey).get(`/addons/${mine.addon.id}/webhooks`),
    ]) {
      expect(response.status).toBe(403);
      expect(Object.keys(response.body).sort()).toEqual(['id', 'message']);
    }
    expect((await attache.http().get(`/addons/${mine.addon.id}/webhooks`).set('Accept', ACCEPT)).status).toBe(401);
    // Their own add-on does not have my webhook either.
    expect((await asOther(`/addons/${theirs.addon.id}/webhooks/${hook}`)).status).toBe(404);
    expect((await mine.partner(`/addons/${mine.addon.id}/webhooks/${hook}`)).body.url).toBe(receiver.url('/mine'));

    const bad = async (body: object, pattern: RegExp) => {
      const response = await mine.partner(`/addons/${mine.addon.id}/webhooks`, 'post').send(body);
      expect(response.status).toBe(422);
      expect(Object.keys(response.body).sort()).toEqual(['id', 'message']);
      expect(response.body.id).toBe('invalid_params');
      expect(response.body.message).toMatch(pattern);
      expect(response.body.message).not.toContain('do-not-echo');
    };
    const good = { include: ['api:app'], level: 'sync', url: receiver.url('/ok'), secret: 'do-not-echo-this-secret' };
    await bad({ ...good, url: 'not a url' }, /url/);
    await bad({ ...good, url: 'http://vendor.example.com/hooks' }, /https/);
    await bad({ ...good, url: 'https://user:do-not-echo@vendor.example.com/hooks' }, /user name or password/);
    await bad({ ...good, include: ['api:dyno'] }, /unknown event types/);
    await bad({ ...good, include: [] }, /include/);
    await bad({ ...good, include: 'api:app' }, /include/);
    await bad({ ...good, level: 'eventually' }, /level/);
    await bad({ include: ['api:app'], level: 'sync' }, /url/);
    await bad({ ...good, authorization: 'Bearer do-not-echo\r\nX-Evil: 1' }, /line breaks/);
    const patchedBadly = await mine.partner(`/addons/${mine.addon.id}/webhooks/${hook}`, 'patch').send({ include: ['api:nothing'] });
    expect(patchedBadly.status).toBe(422);
    expect((await mine.partner(`/addons/${mine.addon.id}/webhooks/not-a-uuid`)).status).toBe(404);
    expect((await mine.partner(`/addons/${mine.addon.id}/webhook-deliveries/${hook}`)).status).toBe(404);
  });

  it('holds an add-on to 10 webhooks even when they are created at once', async () => {
    const { addon, partner } = await provisioned('limit');
    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) => partner(`/addons/${addon.id}/webhooks`, 'post').send({ include: ['api:app'], level: 'notify', url: receiver.url(`/limit/${i}`) })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([...Array(10).fill(201), ...Array(6).fill(422)]);
    for (const refused of answers.filter((a) => a.status === 422)) expect(refused.body).toEqual({ id: 'invalid_params', message: 'An add-on can have at most 10 webhooks.' });
    expect((await attache.pg.query('SELECT count(*)::int AS n FROM addon_webhooks WHERE addon_id = $1', [addon.id])).rows[0].n).toBe(10);
  });

  it('lists where a vendor’s add-ons are installed, to that vendor only, with Range pagination', async () => {
    const vendor = await attache.startVendor('installs');
    const stranger = await attache.startVendor('elsewhere');
    const owner = await attache.createAccount('installs-owner');
    const [p, q, r] = [await attache.createApp(owner.apiKey), await attache.createApp(owner.apiKey), await attache.createApp(owner.apiKey)];
    const create = async (app: string, slug: string) => {
      const response = await attache.client(owner.apiKey).post(`/apps/${app}/addons`).send({ plan: `${slug}:basic` });
      expect(response.status).toBe(201);
      return response.body as { id: string; name: string };
    };
    const first = await create(p.name, vendor.slug);
    const second = await create(r.name, vendor.slug);
    await create(p.name, stranger.slug);
    const shared = await attache.client(owner.apiKey).post('/addon-attachments').send({ addon: first.id, app: q.name, name: 'ALSO' });
    expect(shared.status).toBe(201);

    const list = () => attache.http().get(`/api/v3/addons/${vendor.slug}/apps`).set('Accept', ACCEPT).auth(vendor.slug, VENDOR_PASSWORD);
    const all = await list();
    expect(all.status).toBe(200);
    const entries = all.body as { app: { id: string; name: string }; addon: { id: string; name: string; state: string; plan: { name: string } }; owner_email: string; attached_at: string; name: string }[];
    expect(entries.map((e) => `${e.addon.id} ${e.app.id}`).sort()).toEqual([`${first.id} ${p.id}`, `${first.id} ${q.id}`, `${second.id} ${r.id}`].sort());
    for (const e of entries) {
      expect(e.owner_email).toBe(owner.email);
      expect(e.addon.plan.name).toBe(`${vendor.slug}:basic`);
      expect(['provisioning', 'provisioned']).toContain(e.addon.state);
      expect(Number.isNaN(Date.parse(e.attached_at))).toBe(false);
    }
    expect(entries.find((e) => e.app.id === q.id)).toMatchObject({ name: 'ALSO', app: { name: q.name }, addon: { name: first.name } });
    // The vendor's account key works too.
    expect((await attache.client(vendor.apiKey).get(`/api/v3/addons/${vendor.slug}/apps`)).body).toHaveLength(3);

    // Range pagination, by id (the default) and by attachment time.
    const page = await list().set('Range', 'id ..; max=2');
    expect(page.status).toBe(206);
    expect(page.body).toHaveLength(2);
    const rest = await list().set('Range', page.headers['next-range']);
    expect(rest.status).toBe(200);
    expect([...page.body, ...rest.body].map((e: { id: string }) => e.id).sort()).toEqual(entries.map((e) => (e as unknown as { id: string }).id).sort());
    expect((await list().set('Range', 'attached_at ..; order=desc')).body).toHaveLength(3);
    expect((await list().set('Range', 'name ..')).status).toBe(416);

    // Detached and destroyed installs are gone from the list.
    expect((await attache.client(owner.apiKey).delete(`/addon-attachments/${shared.body.id}`)).status).toBe(200);
    expect((await list()).body.map((e: { app: { id: string } }) => e.app.id).sort()).toEqual([p.id, r.id].sort());

    // Anyone else: another vendor's credentials or key, a wrong password, a developer.
    expect((await attache.http().get(`/api/v3/addons/${vendor.slug}/apps`).set('Accept', ACCEPT).auth(stranger.slug, VENDOR_PASSWORD)).status).toBe(403);
    expect((await attache.client(stranger.apiKey).get(`/api/v3/addons/${vendor.slug}/apps`)).status).toBe(403);
    expect((await attache.http().get(`/api/v3/addons/${vendor.slug}/apps`).set('Accept', ACCEPT).auth(vendor.slug, 'wrong-password')).status).toBe(401);
    const refused = await attache.client(owner.apiKey).get(`/api/v3/addons/${vendor.slug}/apps`);
    expect(refused.status).toBe(403);
    expect(Object.keys(refused.body).sort()).toEqual(['id', 'message']);
  });
});
