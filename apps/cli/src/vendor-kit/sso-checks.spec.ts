import { createHash, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resourceToken, ssoChecks } from './sso-checks';

const SALT = 'the-sso-salt';

interface Posted {
  contentType: string | undefined;
  form: Record<string, string>;
}

/** An SSO endpoint whose sign-in answer each test chooses; it checks tokens the v3 way. */
class SsoEndpoint {
  readonly posted: Posted[] = [];
  private server: Server | undefined;
  url = '';
  /** What a good sign-in gets: the handler answers it. */
  onLogin: (res: ServerResponse) => void = (res) => res.writeHead(200).end('dashboard');
  onGet: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(404).end();

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      req.on('end', () => {
        if (req.method !== 'POST') return this.onGet(req, res);
        const form = Object.fromEntries(new URLSearchParams(text));
        this.posted.push({ contentType: req.headers['content-type'], form });
        const expected = createHash('sha1').update(`${form.resource_id}:${SALT}:${form.timestamp}`).digest('hex');
        const age = Math.floor(Date.now() / 1000) - Number(form.timestamp);
        if (form.resource_token !== expected || age > 300) return void res.writeHead(403).end('no');
        this.onLogin(res);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/sso/login`;
  }

  stop(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

describe('SSO checks', () => {
  let endpoint: SsoEndpoint;
  const resourceId = randomUUID();

  beforeEach(async () => {
    endpoint = new SsoEndpoint();
    await endpoint.start();
  });

  afterEach(() => endpoint.stop());

  const run = () => ssoChecks({ ssoUrl: endpoint.url, ssoSalt: SALT, resourceId, timeoutMs: 5000 });
  const login = async () => (await run()).find((r) => r.name === 'sso.login');

  it('signs tokens as hex(sha1("resource_id:sso_salt:timestamp")), the reference test vector', () => {
    expect(resourceToken('1', 'SSO_SALT', 1262304000)).toBe('b6010f6fbb850887a396c2bc0ab23974003008f6');
  });

  it('posts the v3 form: a wrong token, a correctly signed six-minute-old timestamp, then a good sign-in', async () => {
    const before = Math.floor(Date.now() / 1000);
    const results = await run();
    const after = Math.floor(Date.now() / 1000);
    expect(results).toEqual([
      { name: 'sso.bad-token', ok: true },
      { name: 'sso.stale-timestamp', ok: true },
      { name: 'sso.login', ok: true },
    ]);
    expect(endpoint.posted).toHaveLength(3);
    for (const { contentType, form } of endpoint.posted) {
      expect(contentType).toBe('application/x-www-form-urlencoded');
      expect(Object.keys(form).sort()).toEqual(['app', 'context_app', 'email', 'resource_id', 'resource_token', 'timestamp', 'user_id']);
      expect(form.resource_id).toBe(resourceId);
    }
    const [bad, stale, good] = endpoint.posted.map((p) => p.form);
    expect(Number(bad.timestamp)).toBeGreaterThanOrEqual(before);
    expect(bad.resource_token).not.toBe(resourceToken(resourceId, SALT, Number(bad.timestamp)));
    expect(Number(stale.timestamp)).toBeGreaterThanOrEqual(before - 360);
    expect(Number(stale.timestamp)).toBeLessThanOrEqual(after - 360);
    expect(stale.resource_token).toBe(resourceToken(resourceId, SALT, Number(stale.timestamp)));
    expect(good.resource_token).toBe(resourceToken(resourceId, SALT, Number(good.timestamp)));
    expect(Number(good.timestamp)).toBeGreaterThanOrEqual(before);
  });

  it('counts a same-host redirect as success only if the page it leads to, fetched with the cookie, answers 2xx', async () => {
    endpoint.onLogin = (res) => res.writeHead(302, { Location: '/dashboard', 'Set-Cookie': 'sid=abc; Path=/; HttpOnly' }).end();
    endpoint.onGet = (req, res) => res.writeHead(req.headers.cookie === 'sid=abc' ? 200 : 403).end();
    expect(await login()).toEqual({ name: 'sso.login', ok: true });

    endpoint.onGet = (_req, res) => res.writeHead(403).end('Sign in first');
    expect(await login()).toEqual({
      name: 'sso.login',
      ok: false,
      reason: expect.stringMatching(/^expected the redirect after sign-in to lead to the dashboard, but GET http:\/\/127\.0\.0\.1:\d+\/dashboard answered HTTP 403/),
    });
  });

  it('counts a redirect to another host as success, and fails refusals, endless redirects and a Location that is not a URL, without throwing', async () => {
    endpoint.onLogin = (res) => res.writeHead(303, { Location: 'https://dashboard.example.test/' }).end();
    expect(await login()).toEqual({ name: 'sso.login', ok: true, note: 'redirected to https://dashboard.example.test/' });

    endpoint.onLogin = (res) => res.writeHead(403).end();
    expect((await login())?.ok).toBe(false);

    endpoint.onLogin = (res) => res.writeHead(302, { Location: '/again' }).end();
    endpoint.onGet = (_req, res) => res.writeHead(302, { Location: '/again' }).end();
    expect((await login())?.reason).toBe('expected the sign-in to land on a page, got more than 5 redirects');

    endpoint.onLogin = (res) => res.writeHead(302, { Location: 'http://[dashboard/' }).end();
    expect(await login()).toEqual({ name: 'sso.login', ok: false, reason: 'expected a redirect to the dashboard for a good token, got a Location that is not a URL: "http://[dashboard/"' });
  });
});
