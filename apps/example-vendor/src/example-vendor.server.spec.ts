import { createHash, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exampleVendorManifest } from './example-vendor.manifest';
import { ExampleVendorServer } from './example-vendor.server';

const SLUG = 'sudo-notes-spec';
const PASSWORD = 'spec-password';
const SSO_SALT = 'spec-sso-salt';

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

function ssoForm(resourceId: string, timestamp: number, token?: string): URLSearchParams {
  return new URLSearchParams({
    resource_id: resourceId,
    resource_token: token ?? createHash('sha1').update(`${resourceId}:${SSO_SALT}:${timestamp}`).digest('hex'),
    timestamp: String(timestamp),
    email: 'ada@example.test',
    user_id: randomUUID(),
    app: 'ada-<app>',
    context_app: 'ada-<app>',
  });
}

describe('ExampleVendorServer', () => {
  let vendor: ExampleVendorServer;

  beforeEach(async () => {
    vendor = new ExampleVendorServer({ port: 0, slug: SLUG, password: PASSWORD, ssoSalt: SSO_SALT });
    await vendor.start();
  });

  afterEach(() => vendor.stop());

  function call(method: string, path: string, body?: unknown, auth = basic(SLUG, PASSWORD)): Promise<Response> {
    return fetch(`${vendor.baseUrl}${path}`, {
      method,
      headers: { Authorization: auth, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  function provision(uuid: string, plan = 'test', extra: Record<string, unknown> = {}): Promise<Response> {
    return call('POST', '', {
      uuid,
      name: `sudo-notes-${uuid.slice(0, 8)}`,
      plan,
      region: 'us',
      callback_url: `http://127.0.0.1:1/addons/${uuid}`,
      options: {},
      oauth_grant: { code: randomUUID(), expires_at: new Date().toISOString(), type: 'authorization_code' },
      log_input_url: null,
      ...extra,
    });
  }

  it('answers 401 to wrong or missing credentials on every provider route', async () => {
    const uuid = randomUUID();
    expect((await provision(uuid, 'test', {})).status).toBe(200);
    for (const auth of [basic(SLUG, 'wrong'), basic('wrong', PASSWORD), '']) {
      const res = await call('POST', '', { uuid: randomUUID(), plan: 'test' }, auth);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toEqual({ message: 'Invalid credentials.' });
    }
    expect((await call('PUT', `/${uuid}`, { plan: 'pro' }, basic('wrong', 'secret'))).status).toBe(401);
    expect((await call('DELETE', `/${uuid}`, undefined, basic('wrong', 'secret'))).status).toBe(401);
    expect(vendor.resources().get(uuid)?.plan).toBe('test');
  });

  it('provisions synchronously with the config var the manifest declares, and the URL works', async () => {
    const uuid = randomUUID();
    const res = await provision(uuid, 'basic');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as { id: string; config: Record<string, string>; message: string };
    const manifest = exampleVendorManifest({ baseUrl: vendor.baseUrl, ssoUrl: vendor.ssoUrl, password: PASSWORD, ssoSalt: SSO_SALT });
    expect(Object.keys(body.config)).toEqual(manifest.api.config_vars);
    expect(body.config.SUDO_NOTES_URL).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/notebooks/${body.id}\\?token=[0-9a-f]+$`));
    expect(body.message).toBe('Your notebook is ready.');
    expect(vendor.resources().get(uuid)).toMatchObject({ uuid, id: body.id, plan: 'basic', config: body.config, deprovisioned: false });

    const notebook = await fetch(body.config.SUDO_NOTES_URL);
    expect(notebook.status).toBe(200);
    expect(await notebook.json()).toMatchObject({ id: body.id, plan: 'basic' });
    expect((await fetch(body.config.SUDO_NOTES_URL.replace(/token=.*/, 'token=nope'))).status).toBe(401);
  });

  it('is idempotent on uuid', async () => {
    const uuid = randomUUID();
    const [first, second] = await Promise.all([provision(uuid), provision(uuid)]);
    const [a, b] = [await first.json(), await second.json()];
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(b).toEqual(a);
    const third = await (await provision(uuid)).json();
    expect(third).toEqual(a);
    expect([...vendor.resources().keys()]).toEqual([uuid]);
  });

  it('refuses a plan it does not offer with 422 and a message for the user', async () => {
    const uuid = randomUUID();
    const res = await provision(uuid, 'gold');
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ message: 'Plan gold is not offered by Sudo Notes.' });
    expect(vendor.resources().size).toBe(0);
  });

  it('changes plan: the same plan is a no-op, pro delivers a new URL', async () => {
    const uuid = randomUUID();
    const { config } = (await (await provision(uuid, 'basic')).json()) as { config: Record<string, string> };

    const same = await call('PUT', `/${uuid}`, { plan: 'basic' });
    expect(same.status).toBe(200);
    expect(await same.json()).toEqual({});

    const pro = await call('PUT', `/${uuid}`, { plan: 'pro' });
    expect(pro.status).toBe(200);
    const body = (await pro.json()) as { config: Record<string, string>; message: string };
    expect(body.config.SUDO_NOTES_URL).toBeDefined();
    expect(body.config.SUDO_NOTES_URL).not.toBe(config.SUDO_NOTES_URL);
    expect(body.message).toEqual(expect.any(String));
    expect(vendor.resources().get(uuid)).toMatchObject({ plan: 'pro', config: body.config });

    const unknown = await call('PUT', `/${uuid}`, { plan: 'gold' });
    expect(unknown.status).toBe(422);
    expect(await unknown.json()).toEqual({ message: 'Plan gold is not offered by Sudo Notes.' });
  });

  it('deprovisions with 204, then the resource is gone (404) while a repeated DELETE stays 204', async () => {
    const uuid = randomUUID();
    await provision(uuid);
    const res = await call('DELETE', `/${uuid}`);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(vendor.resources().get(uuid)?.deprovisioned).toBe(true);

    const put = await call('PUT', `/${uuid}`, { plan: 'pro' });
    expect(put.status).toBe(404);
    expect(await put.json()).toEqual({ message: expect.any(String) });
    expect((await call('DELETE', `/${uuid}`)).status).toBe(204);
    expect((await call('DELETE', `/${randomUUID()}`)).status).toBe(404);
  });

  describe('SSO', () => {
    function login(form: URLSearchParams): Promise<Response> {
      return fetch(vendor.ssoUrl, { method: 'POST', body: form, redirect: 'manual' });
    }

    it('signs in with a good token, redirects to the dashboard, which shows the add-on (escaped)', async () => {
      const uuid = randomUUID();
      await provision(uuid, 'basic', { name: 'notes-<b>bold</b>' });
      const now = Math.floor(Date.now() / 1000);
      const res = await login(ssoForm(uuid, now));
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(`/dashboard/${uuid}`);
      const [setCookie] = res.headers.getSetCookie();
      expect(setCookie).toMatch(/HttpOnly/);

      const page = await fetch(new URL(res.headers.get('location') ?? '', vendor.ssoUrl), {
        headers: { Cookie: setCookie.split(';')[0] },
      });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<title>Sudo Notes — notes-&#60;b&#62;bold&#60;/b&#62;</title>');
      expect(html).not.toContain('<b>');
      expect(html).toContain('Basic');
      expect(html).toContain('ada@example.test');
      expect(html).toContain('ada-&#60;app&#62;');

      const anonymous = await fetch(new URL(`/dashboard/${uuid}`, vendor.ssoUrl));
      expect(anonymous.status).toBe(403);
    });

    it('refuses a bad token with 403', async () => {
      const uuid = randomUUID();
      await provision(uuid);
      const res = await login(ssoForm(uuid, Math.floor(Date.now() / 1000), 'invalid'));
      expect(res.status).toBe(403);
      expect(res.headers.get('set-cookie')).toBeNull();
    });

    it('refuses a correctly signed 6-minute-old timestamp with 403', async () => {
      const uuid = randomUUID();
      await provision(uuid);
      const res = await login(ssoForm(uuid, Math.floor(Date.now() / 1000) - 6 * 60));
      expect(res.status).toBe(403);
    });

    it('answers 404 for a validly signed but unknown resource', async () => {
      const res = await login(ssoForm(randomUUID(), Math.floor(Date.now() / 1000)));
      expect(res.status).toBe(404);
    });
  });
});

describe('ExampleVendorServer async provisioning', () => {
  interface StubCall {
    method: string;
    path: string;
    authorization: string | undefined;
    accept: string | undefined;
    body: unknown;
  }

  let stub: Server;
  let calls: StubCall[];
  let vendor: ExampleVendorServer;

  function readJson(req: IncomingMessage): Promise<unknown> {
    return new Promise((resolve) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      req.on('end', () => resolve(text ? (JSON.parse(text) as unknown) : undefined));
    });
  }

  beforeEach(async () => {
    calls = [];
    stub = createServer((req, res) => {
      void readJson(req).then((body) => {
        calls.push({
          method: req.method ?? '',
          path: req.url ?? '',
          authorization: req.headers.authorization,
          accept: req.headers.accept,
          body,
        });
        const reply =
          req.url === '/oauth/token'
            ? { access_token: 'access-1', refresh_token: 'refresh-1', expires_in: 28800, token_type: 'Bearer' }
            : { state: 'provisioned' };
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(reply));
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    const { port } = stub.address() as AddressInfo;
    vendor = new ExampleVendorServer({
      port: 0,
      slug: SLUG,
      password: PASSWORD,
      ssoSalt: SSO_SALT,
      clientSecret: 'client-secret',
      attacheUrl: `http://127.0.0.1:${port}`,
      asyncDelayMs: 10,
    });
    await vendor.start();
  });

  afterEach(async () => {
    await vendor.stop();
    await new Promise<void>((resolve) => stub.close(() => resolve()));
  });

  async function waitForCalls(count: number): Promise<void> {
    const deadline = Date.now() + 3000;
    while (calls.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  it('answers 202, then exchanges the grant, pushes the config and marks the add-on provisioned', async () => {
    const uuid = randomUUID();
    const res = await fetch(vendor.baseUrl, {
      method: 'POST',
      headers: { Authorization: basic(SLUG, PASSWORD), 'Content-Type': 'application/json' },
      body: JSON.stringify({
        uuid,
        name: 'sudo-notes-async',
        plan: 'async',
        options: {},
        oauth_grant: { code: 'grant-code', expires_at: new Date().toISOString(), type: 'authorization_code' },
      }),
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; message: string; config?: unknown };
    expect(body).toEqual({ id: expect.any(String), message: expect.any(String) });

    await waitForCalls(3);
    const url = vendor.resources().get(uuid)?.config.SUDO_NOTES_URL;
    expect(calls).toEqual([
      {
        method: 'POST',
        path: '/oauth/token',
        authorization: undefined,
        accept: 'application/json',
        body: { grant_type: 'authorization_code', code: 'grant-code', client_secret: 'client-secret' },
      },
      {
        method: 'PATCH',
        path: `/addons/${uuid}/config`,
        authorization: 'Bearer access-1',
        accept: 'application/vnd.heroku+json; version=3',
        body: { config: [{ name: 'SUDO_NOTES_URL', value: url }] },
      },
      {
        method: 'POST',
        path: `/addons/${uuid}/actions/provision`,
        authorization: 'Bearer access-1',
        accept: 'application/vnd.heroku+json; version=3',
        body: undefined,
      },
    ]);

    // A repeated POST for the same uuid answers 202 with the same id and does not call Attache again.
    const again = await fetch(vendor.baseUrl, {
      method: 'POST',
      headers: { Authorization: basic(SLUG, PASSWORD), 'Content-Type': 'application/json' },
      body: JSON.stringify({ uuid, plan: 'async', oauth_grant: { code: 'grant-code-2' } }),
    });
    expect(again.status).toBe(202);
    expect(((await again.json()) as { id: string }).id).toBe(body.id);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toHaveLength(3);
  });

  it('finds the partner API through callback_url, as Attache and vendor:check send it, before the configured URL', async () => {
    const { port } = stub.address() as AddressInfo;
    const elsewhere = new ExampleVendorServer({
      port: 0,
      slug: SLUG,
      password: PASSWORD,
      ssoSalt: SSO_SALT,
      clientSecret: 'client-secret',
      attacheUrl: 'http://127.0.0.1:1',
      asyncDelayMs: 10,
    });
    await elsewhere.start();
    try {
      const uuid = randomUUID();
      const res = await fetch(elsewhere.baseUrl, {
        method: 'POST',
        headers: { Authorization: basic(SLUG, PASSWORD), 'Content-Type': 'application/json' },
        body: JSON.stringify({ uuid, plan: 'async', callback_url: `http://127.0.0.1:${port}/addons/${uuid}`, oauth_grant: { code: 'c' } }),
      });
      expect(res.status).toBe(202);
      await waitForCalls(3);
      // attacheUrl names a dead port: these calls reached the stub through callback_url alone.
      expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(['POST /oauth/token', `PATCH /addons/${uuid}/config`, `POST /addons/${uuid}/actions/provision`]);
    } finally {
      await elsewhere.stop();
    }
  });

  it('takes the async path for options.async = "true" on a normal plan', async () => {
    const res = await fetch(vendor.baseUrl, {
      method: 'POST',
      headers: { Authorization: basic(SLUG, PASSWORD), 'Content-Type': 'application/json' },
      body: JSON.stringify({ uuid: randomUUID(), plan: 'basic', options: { async: 'true' }, oauth_grant: { code: 'c' } }),
    });
    expect(res.status).toBe(202);
    await waitForCalls(3);
    expect(calls.map((c) => `${c.method} ${c.path.split('/').pop()}`)).toEqual(['POST token', 'PATCH config', 'POST provision']);
  });
});
