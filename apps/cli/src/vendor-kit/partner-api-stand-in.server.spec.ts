import { randomUUID } from 'node:crypto';
import { readManifest } from './checked-manifest';
import { PartnerApiStandIn } from './partner-api-stand-in.server';

const manifest = readManifest({ id: 'fast-db', api: { config_vars: ['FAST_DB_URL'] } }, 'test');

describe('PartnerApiStandIn', () => {
  let standIn: PartnerApiStandIn;
  let url: string;

  beforeEach(async () => {
    standIn = new PartnerApiStandIn(manifest, 'test', 'the-client-secret');
    url = await standIn.start();
  });

  afterEach(() => standIn.stop());

  const call = async (method: string, path: string, body?: unknown, token?: string, form = false) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        'Content-Type': form ? 'application/x-www-form-urlencoded' : 'application/json',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('plays the platform for one async provision: grant exchange, config update, provisioned', async () => {
    const uuid = randomUUID();
    const { callback_url, oauth_grant } = standIn.register(uuid, 'fast-db-1', 'basic');
    expect(callback_url).toBe(`${url}/addons/${uuid}`);

    const token = await call('POST', '/oauth/token', { grant_type: 'authorization_code', code: oauth_grant.code, client_secret: 'the-client-secret' }, undefined, true);
    expect(token).toEqual({ status: 200, body: expect.objectContaining({ access_token: expect.any(String), refresh_token: expect.any(String), token_type: 'Bearer' }) });
    // A grant works once.
    expect((await call('POST', '/oauth/token', { grant_type: 'authorization_code', code: oauth_grant.code, client_secret: 'the-client-secret' })).status).toBe(400);
    const access = token.body.access_token as string;

    expect(await call('GET', `/addons/${uuid}`, undefined, access)).toEqual({
      status: 200,
      body: expect.objectContaining({ id: uuid, name: 'fast-db-1', state: 'provisioning', plan: expect.objectContaining({ name: 'fast-db:basic' }) }),
    });
    expect((await call('PATCH', `/addons/${uuid}/config`, { config: [{ name: 'FAST_DB_URL', value: 'https://db.example.test' }] }, access)).status).toBe(200);
    expect(standIn.progress(uuid)).toEqual({
      tokenExchanged: true,
      configUpdated: true,
      provisioned: false,
      problems: [expect.stringContaining('unknown, used or expired grant code')],
    });
    expect((await call('POST', `/addons/${uuid}/actions/provision`, undefined, access)).body.state).toBe('provisioned');
    expect(await standIn.waitForProvisioned(uuid, 1000)).toBe(true);

    const refreshed = await call('POST', '/oauth/token', { grant_type: 'refresh_token', refresh_token: token.body.refresh_token as string, client_secret: 'the-client-secret' });
    expect(refreshed.status).toBe(200);
    expect((await call('GET', `/addons/${uuid}/config`, undefined, refreshed.body.access_token as string)).body).toEqual([
      { name: 'FAST_DB_URL', value: 'https://db.example.test' },
    ]);
  });

  it('refuses what Attache refuses, and remembers why', async () => {
    const uuid = randomUUID();
    const other = randomUUID();
    const { oauth_grant } = standIn.register(uuid, 'a', 'basic');
    const { oauth_grant: otherGrant } = standIn.register(other, 'b', 'basic');

    expect((await call('POST', '/oauth/token', { grant_type: 'authorization_code', code: oauth_grant.code, client_secret: 'wrong' })).status).toBe(401);
    expect((await call('POST', '/oauth/token', { grant_type: 'authorization_code', code: 'made-up', client_secret: 'the-client-secret' })).status).toBe(400);
    const otherToken = (await call('POST', '/oauth/token', { grant_type: 'authorization_code', code: otherGrant.code, client_secret: 'the-client-secret' })).body.access_token as string;
    expect((await call('POST', `/addons/${uuid}/actions/provision`, undefined, otherToken)).status).toBe(403);
    expect((await call('POST', `/addons/${uuid}/actions/provision`)).status).toBe(401);
    expect((await call('PATCH', `/addons/${other}/config`, { config: [{ name: 'OTHER_URL', value: 'x' }] }, otherToken)).status).toBe(422);
    expect((await call('GET', `/addons/${randomUUID()}`, undefined, otherToken)).status).toBe(404);

    expect(await standIn.waitForProvisioned(uuid, 100)).toBe(false);
    const problems = standIn.progress(uuid).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('used the access token of another add-on'),
        expect.stringContaining('came without a valid access token'),
        expect.stringContaining('client_secret other than --client-secret'),
        expect.stringContaining('unknown, used or expired grant code'),
      ]),
    );
    expect(standIn.progress(other).problems).toEqual(expect.arrayContaining([expect.stringContaining('OTHER_URL does not start with "FAST_DB_"')]));
  });
});
