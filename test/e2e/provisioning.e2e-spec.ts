import { ScriptedVendor } from '@app/testing';
import { AttacheHarness } from '../support/attache-harness';

/** DESIGN §3 against real vendors over HTTP: sync and async provisioning, refusals, retries, deprovision. */
describe('add-on provisioning with a third-party vendor', () => {
  let attache: AttacheHarness;
  let vendor: ScriptedVendor;
  let slug: string;
  let clientSecret: string;
  let dev: { apiKey: string };

  beforeAll(async () => {
    attache = await AttacheHarness.start();
    ({ vendor, slug, clientSecret } = await attache.startVendor('mailer'));
    dev = await attache.createAccount();
  });

  afterAll(async () => {
    await attache?.stop();
  });

  const prefix = () => slug.toUpperCase().replace(/-/g, '_');

  it('provisions synchronously: the vendor gets the v3 request and the app gets the prefixed config var in a release', async () => {
    const app = await attache.createApp(dev.apiKey);
    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: { name: `${slug}:basic` } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'provisioning', plan: { name: `${slug}:basic` }, billed_price: { cents: 500, unit: 'month' } });
    expect(created.body.name).toMatch(new RegExp(`^${slug}-[a-z]+-\\d+$`));

    const addon = await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.state === 'provisioned');
    expect(addon.provider_id).toBe(`res-${created.body.id}`);
    expect(addon.config_vars).toEqual([`${prefix()}_URL`]);

    const calls = vendor.callsFor(created.body.id);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: 'POST', authorized: true });
    expect(calls[0].body).toMatchObject({ uuid: created.body.id, name: created.body.name, plan: 'basic', region: 'amazon-web-services::us-east-1' });
    expect(calls[0].body.oauth_grant).toMatchObject({ type: 'authorization_code' });

    const config = await attache.configVars(dev.apiKey, app.name);
    expect(config[`${prefix()}_URL`]).toBe(`https://example.test/${created.body.id}`);
    const releases = await attache.client(dev.apiKey).get(`/apps/${app.name}/releases`).set('Range', 'version ..; max=1, order=desc');
    expect(releases.status).toBe(206);
    expect(releases.headers['next-range']).toBe('version ]2..; max=1, order=desc');
    expect(releases.body).toHaveLength(1);
    expect(releases.body[0]).toMatchObject({ version: 2, current: true });
    expect(releases.body[0].description).toContain(created.body.name);
  });

  it('provisions asynchronously: 202, then the vendor finishes through the partner API with its scoped token', async () => {
    const app = await attache.createApp(dev.apiKey);
    let grantCode = '';
    vendor.onProvision((call) => {
      grantCode = call.body.oauth_grant.code;
      return { status: 202, body: { id: 'async-1', message: 'Setting things up.' } };
    });
    try {
      const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${slug}:pro` });
      await vendor.waitForCalls((calls) => calls.some((c) => c.uuid === created.body.id));
      const pending = await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.provision_message === 'Setting things up.');
      expect(pending.state).toBe('provisioning');

      const partner = attache.http();
      const token = await partner.post('/oauth/token').type('form').send({ grant_type: 'authorization_code', code: grantCode, client_secret: clientSecret });
      expect(token.status).toBe(200);
      expect(token.body).toMatchObject({ token_type: 'Bearer', expires_in: 28800 });
      const reused = await partner.post('/oauth/token').send({ grant_type: 'authorization_code', code: grantCode, client_secret: clientSecret });
      expect(reused.status).toBe(422);

      const bearer = { Authorization: `Bearer ${token.body.access_token}` };
      const patched = await partner.patch(`/addons/${created.body.id}/config`).set(bearer).send({ config: [{ name: `${prefix()}_URL`, value: 'https://mail.example/async' }] });
      expect(patched.status).toBe(200);
      // While provisioning, config updates do not reach the app yet.
      expect(await attache.configVars(dev.apiKey, app.name)).toEqual({});

      const done = await partner.post(`/addons/${created.body.id}/actions/provision`).set(bearer);
      expect(done.status).toBe(200);
      expect(done.body.state).toBe('provisioned');
      expect(await attache.configVars(dev.apiKey, app.name)).toEqual({ [`${prefix()}_URL`]: 'https://mail.example/async' });

      const refreshed = await partner.post('/oauth/token').send({ grant_type: 'refresh_token', refresh_token: token.body.refresh_token, client_secret: clientSecret });
      expect(refreshed.status).toBe(200);
      expect((await partner.get(`/addons/${created.body.id}`).set(bearer)).status).toBe(401);
      const fresh = { Authorization: `Bearer ${refreshed.body.access_token}` };
      expect((await partner.get(`/addons/${created.body.id}`).set(fresh)).body.state).toBe('provisioned');
      expect((await partner.post(`/addons/${created.body.id}/actions/provision`).set({ Authorization: 'Bearer atp_forged' })).status).toBe(401);
    } finally {
      vendor.restoreDefaults();
    }
  });
});
