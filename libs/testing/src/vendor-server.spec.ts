import { randomUUID } from 'node:crypto';
import { manifestFor, ScriptedVendor } from './vendor-server';

const PASSWORD = 'scripted-password';

describe('ScriptedVendor', () => {
  let vendor: ScriptedVendor;

  beforeEach(async () => {
    vendor = new ScriptedVendor({ slug: 'fake-mailer', password: PASSWORD });
    await vendor.start();
  });

  afterEach(() => vendor.stop());

  function call(method: string, path: string, body?: unknown, password = PASSWORD): Promise<Response> {
    return fetch(`${vendor.baseUrl}${path}`, {
      method,
      headers: {
        Authorization: `Basic ${Buffer.from(`fake-mailer:${password}`).toString('base64')}`,
        'Content-Type': 'application/json',
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  it('answers with the default replies and records each call', async () => {
    const uuid = randomUUID();
    const provision = await call('POST', '', { uuid, plan: 'basic' });
    expect(provision.status).toBe(200);
    expect(await provision.json()).toEqual({
      id: `res-${uuid}`,
      config: { FAKE_MAILER_URL: `https://example.test/${uuid}` },
      message: 'ok',
    });
    const planChange = await call('PUT', `/${uuid}`, { plan: 'pro' });
    expect(planChange.status).toBe(200);
    expect(await planChange.json()).toEqual({});
    expect((await call('DELETE', `/${uuid}`)).status).toBe(204);

    expect(vendor.callsFor(uuid)).toEqual([
      { method: 'POST', path: '/heroku/resources', uuid, body: { uuid, plan: 'basic' }, authorized: true, at: expect.any(Number) },
      { method: 'PUT', path: `/heroku/resources/${uuid}`, uuid, body: { plan: 'pro' }, authorized: true, at: expect.any(Number) },
      { method: 'DELETE', path: `/heroku/resources/${uuid}`, uuid, body: undefined, authorized: true, at: expect.any(Number) },
    ]);
  });

  it('answers with scripted replies, counting attempts per method and uuid', async () => {
    const seen: number[] = [];
    vendor.onProvision((c, attempt) => {
      seen.push(attempt);
      return attempt === 1 ? { status: 503, body: { message: 'busy' } } : { status: 202, body: { id: c.uuid, message: 'later' }, delayMs: 20 };
    });
    const uuid = randomUUID();
    const first = await call('POST', '', { uuid });
    expect(first.status).toBe(503);
    expect(await first.json()).toEqual({ message: 'busy' });
    const second = await call('POST', '', { uuid });
    expect(second.status).toBe(202);
    await call('POST', '', { uuid: randomUUID() });
    expect(seen).toEqual([1, 2, 1]);

    vendor.onDeprovision(() => ({ status: 200, body: '{not json' }));
    expect(await (await call('DELETE', `/${uuid}`)).text()).toBe('{not json');

    vendor.restoreDefaults();
    expect((await call('POST', '', { uuid })).status).toBe(200);
    expect((await call('DELETE', `/${uuid}`)).status).toBe(204);
  });

  it('records unauthorized calls and answers 401 without calling the handler', async () => {
    const handler = jest.fn(() => ({ status: 200, body: {} }));
    vendor.onPlanChange(handler);
    const uuid = randomUUID();
    const res = await call('PUT', `/${uuid}`, { plan: 'pro' }, 'wrong');
    expect(res.status).toBe(401);
    expect(handler).not.toHaveBeenCalled();
    expect(vendor.calls).toEqual([expect.objectContaining({ method: 'PUT', uuid, authorized: false })]);
  });

  it('hangs until stop(), which does not wait for the hanging call', async () => {
    vendor.onProvision(() => ({ hang: true }));
    const pending = call('POST', '', { uuid: randomUUID() }).then(
      () => 'answered',
      () => 'failed',
    );
    await vendor.waitForCalls((calls) => calls.length === 1);
    const started = Date.now();
    await vendor.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBe('failed');
  });

  it('resets the connection for destroySocket', async () => {
    vendor.onProvision(() => ({ destroySocket: true }));
    await expect(call('POST', '', { uuid: randomUUID() })).rejects.toThrow();
    expect(vendor.calls).toHaveLength(1);
  });

  it('rejects waitForCalls with the calls seen when the predicate never holds', async () => {
    await call('POST', '', { uuid: 'u-1' });
    await expect(vendor.waitForCalls((calls) => calls.length > 1, 50)).rejects.toThrow('[POST /heroku/resources]');
  });

  it('builds a manifest for itself, with shallow overrides', () => {
    const manifest = manifestFor(vendor, { name: 'Fake Mailer', api: { requires: ['attachable', 'many_per_app'] } });
    expect(manifest).toMatchObject({
      id: 'fake-mailer',
      name: 'Fake Mailer',
      api: {
        config_vars_prefix: 'FAKE_MAILER',
        config_vars: ['FAKE_MAILER_URL'],
        password: PASSWORD,
        sso_salt: expect.stringMatching(/^[0-9a-f]{32}$/),
        regions: ['us', 'eu'],
        requires: ['attachable', 'many_per_app'],
        production: { base_url: vendor.baseUrl, sso_url: `${vendor.url}/sso/login` },
        version: '3',
      },
    });
    expect(manifest.plans.map((p) => [p.name, p.price.cents, p.default])).toEqual([
      ['basic', 500, true],
      ['pro', 2500, false],
    ]);
    expect(manifestFor(vendor).api.sso_salt).not.toBe(manifest.api.sso_salt);
  });
});
