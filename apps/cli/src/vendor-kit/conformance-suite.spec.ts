import { createHash } from 'node:crypto';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { ConformanceSuite } from './conformance-suite';

const ID = 'fast-db';
const PASSWORD = 'the-vendor-password';
const SALT = 'the-vendor-sso-salt';
const CLIENT_SECRET = 'the-oauth-client-secret';
const BASIC = `Basic ${Buffer.from(`${ID}:${PASSWORD}`).toString('base64')}`;

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A vendor that records every call and answers correctly, except that a provision of the `slow`
 * plan makes its resource and then never answers, and a refusal echoes the client secret.
 */
class RecordingVendor {
  readonly seen: Seen[] = [];
  readonly live = new Set<string>();
  /** Answers a PUT with wrong credentials 200, echoing the client secret. */
  leaky = false;
  private server: Server | undefined;
  origin = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        const path = req.url ?? '';
        this.seen.push({ method: req.method ?? '', path, headers: req.headers, body });
        if (path === '/sso/login') {
          const form = new URLSearchParams(body);
          const expected = createHash('sha1').update(`${form.get('resource_id')}:${SALT}:${form.get('timestamp')}`).digest('hex');
          const fresh = Math.floor(Date.now() / 1000) - Number(form.get('timestamp')) <= 300;
          return void res.writeHead(form.get('resource_token') === expected && fresh ? 200 : 403).end();
        }
        const json = (status: number, value: unknown) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
        if (req.headers.authorization !== BASIC && this.leaky && req.method === 'PUT') return json(200, { message: `Changed (client_secret ${CLIENT_SECRET})` });
        if (req.headers.authorization !== BASIC) return json(401, { message: `Bad credentials (client_secret is ${CLIENT_SECRET})` });
        const uuid = path.split('/')[3];
        if (req.method === 'POST') {
          const provision = JSON.parse(body) as { uuid: string; plan: string };
          this.live.add(provision.uuid);
          if (provision.plan === 'slow') return; // made, but the answer never comes
          return json(200, { id: `r-${provision.uuid}`, config: { FAST_DB_URL: 'https://db.example.test/1' } });
        }
        if (req.method === 'PUT') return json(200, {});
        if (req.method === 'DELETE') {
          if (!this.live.delete(uuid)) return json(404, { message: 'Unknown.' });
          return void res.writeHead(204).end();
        }
        json(405, {});
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  manifest() {
    return {
      id: ID,
      name: 'Fast DB',
      api: {
        config_vars: ['FAST_DB_URL'],
        password: PASSWORD,
        sso_salt: SALT,
        regions: ['us'],
        requires: ['many_per_app'],
        production: { base_url: `${this.origin}/heroku/resources`, sso_url: `${this.origin}/sso/login` },
        version: '3',
      },
      plans: [
        { name: 'test', human_name: 'Test', price: { cents: 0, unit: 'month' }, default: true },
        { name: 'basic', human_name: 'Basic', price: { cents: 500, unit: 'month' } },
        { name: 'slow', human_name: 'Slow', price: { cents: 0, unit: 'month' } },
      ],
    };
  }
}

describe('ConformanceSuite against a recording vendor', () => {
  let vendor: RecordingVendor;

  beforeEach(async () => {
    vendor = new RecordingVendor();
    await vendor.start();
  });

  afterEach(() => vendor.stop());

  const suite = (options: { asyncPlan?: string } = {}) =>
    new ConformanceSuite({ manifest: vendor.manifest(), env: 'test', asyncTimeoutMs: 1000, timeoutMs: 1000, clientSecret: CLIENT_SECRET, ...options });

  it('sends what Attache sends: Basic id:password, the v3 provision body with a loopback callback_url, PUT and DELETE by uuid', async () => {
    const results = await suite().run();
    expect(results.filter((r) => !r.ok)).toEqual([]);

    const calls = vendor.seen.filter((s) => s.path.startsWith('/heroku/resources'));
    const withGoodAuth = calls.filter((c) => c.headers.authorization === BASIC);
    const withWrongAuth = calls.filter((c) => c.headers.authorization !== BASIC);
    expect(withWrongAuth.map((c) => c.method).sort()).toEqual(['DELETE', 'POST', 'PUT']);
    for (const call of withWrongAuth) expect(Buffer.from((call.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString()).toMatch(/^fast-db:wrong-[0-9a-f]{16}$/);

    const posts = withGoodAuth.filter((c) => c.method === 'POST');
    expect(posts.length).toBeGreaterThanOrEqual(3);
    const [first] = posts.map((p) => JSON.parse(p.body) as Record<string, unknown>);
    expect(Object.keys(first).sort()).toEqual(['callback_url', 'log_input_url', 'name', 'oauth_grant', 'options', 'plan', 'region', 'uuid']);
    expect(first).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      name: expect.stringMatching(/^fast-db-check-[0-9a-f]{8}$/),
      plan: 'test',
      region: 'amazon-web-services::us-east-1',
      callback_url: expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/addons/${first.uuid as string}$`)),
      options: {},
      oauth_grant: { code: expect.any(String), expires_at: expect.any(String), type: 'authorization_code' },
      log_input_url: null,
    });
    const grant = first.oauth_grant as { expires_at: string };
    expect(Date.parse(grant.expires_at) - Date.now()).toBeGreaterThan(60_000);
    for (const post of posts) {
      expect(post.path).toBe('/heroku/resources');
      expect(post.headers['content-type']).toBe('application/json');
      expect(post.headers.accept).toBe('application/vnd.heroku-addons+json; version=3');
    }
    const puts = withGoodAuth.filter((c) => c.method === 'PUT');
    expect(puts.map((p) => [p.path, JSON.parse(p.body)])).toEqual([
      [`/heroku/resources/${first.uuid as string}`, { plan: 'basic' }],
      [`/heroku/resources/${first.uuid as string}`, { plan: 'basic' }],
    ]);
    expect(withGoodAuth.filter((c) => c.method === 'DELETE').map((c) => c.path)).toContain(`/heroku/resources/${first.uuid as string}`);
    expect(vendor.live.size).toBe(0);

    // The stand-in partner API that callback_url named is closed once the run is over.
    const { port } = new URL(first.callback_url as string);
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('deprovisions a resource whose provision answer timed out, and never prints the client secret a vendor echoes', async () => {
    vendor.leaky = true;
    const results = await suite({ asyncPlan: 'slow' }).run();
    expect(results.find((r) => r.name === 'provision.async')).toEqual({ name: 'provision.async', ok: false, reason: expect.stringMatching(/no answer to POST .* within 1000 ms$/) });
    // The slow plan's resource was made before the answer timed out: the run still deletes it.
    expect(vendor.live.size).toBe(0);
    expect(results.find((r) => r.name === 'plan-change.auth')).toEqual({
      name: 'plan-change.auth',
      ok: false,
      reason: 'expected 401 for wrong credentials, got HTTP 200 with "{\\"message\\":\\"Changed (client_secret [redacted])\\"}"',
    });
    const text = JSON.stringify(results);
    expect(text).not.toContain(CLIENT_SECRET);
    expect(text).not.toContain(PASSWORD);
  });
});
