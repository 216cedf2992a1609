import { randomBytes } from 'node:crypto';
import { VendorManifest, VendorManifestOverrides, manifestFor } from '@app/testing';
import { ACCEPT, AttacheHarness, VENDOR_PASSWORD as PASSWORD } from '../support/attache-harness';

/** DESIGN §4.4 and reference §1.3: vendors push, read and version their manifests; plans follow them. */
describe('vendor manifests', () => {
  let attache: AttacheHarness;

  beforeAll(async () => {
    attache = await AttacheHarness.start();
  });

  afterAll(async () => {
    await attache?.stop();
  });

  const push = (apiKey: string, slug: string, contents: unknown) => attache.client(apiKey).post(`/api/v3/addons/${slug}/manifests`).send({ contents });
  const serviceRows = async (slug: string) => (await attache.pg.query('SELECT id FROM addon_services WHERE slug = $1', [slug])).rows.length;
  const manifestRows = async (slug: string) =>
    (await attache.pg.query('SELECT count(*)::int AS n FROM addon_manifests m JOIN addon_services s ON s.id = m.service_id WHERE s.slug = $1', [slug])).rows[0].n as number;

  async function provision(apiKey: string, app: string, plan: string) {
    const created = await attache.client(apiKey).post(`/apps/${app}/addons`).send({ plan });
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
    await attache.waitForAddon(apiKey, created.body.id, (a) => a.state === 'provisioned');
    return { id: created.body.id as string, name: created.body.name as string };
  }

  describe('validation', () => {
    it('answers 422 naming every bad field, never echoes secrets, and creates nothing', async () => {
      const vendor = await attache.newVendor('vm');
      const owner = await attache.createAccount('vendor');
      const bad = manifestFor(vendor, {
        api: { config_vars: ['WRONG_URL'], regions: ['us', 'ap'], password: '', production: { base_url: 'http://vendor.example.com/heroku/resources', sso_url: `${vendor.url}/sso` } },
        plans: [
          { name: 'basic', human_name: 'Basic', price: { cents: 500, unit: 'month' }, default: true },
          { name: 'pro', human_name: 'Pro', price: { cents: -1, unit: 'month' }, default: true },
        ],
      });
      const refused = await push(owner.apiKey, vendor.slug, bad);
      expect(refused.status).toBe(422);
      expect(refused.body.id).toBe('invalid_manifest');
      expect(refused.headers['request-id']).toBeDefined();
      const fields = (refused.body.errors as { field: string; message: string }[]).map((e) => e.field);
      expect(fields).toEqual(
        expect.arrayContaining(['api.config_vars[0]', 'api.regions[1]', 'api.password', 'api.production.base_url', 'plans[1].price.cents', 'plans[1].default']),
      );
      const configVarError = (refused.body.errors as { field: string; message: string }[]).find((e) => e.field === 'api.config_vars[0]');
      expect(configVarError?.message).toContain(`${vendor.configVarPrefix}_`);
      expect(refused.body.message).toContain('api.config_vars[0]');
      expect(JSON.stringify(refused.body)).not.toContain(bad.api.sso_salt);

      expect(await serviceRows(vendor.slug)).toBe(0);
      expect((await attache.client(owner.apiKey).get(`/addon-services/${vendor.slug}`)).status).toBe(404);
      expect((await attache.client(owner.apiKey).get(`/api/v3/addons/${vendor.slug}/current_manifest`)).status).toBe(404);

      // Fixing the one field is enough for the same slug to register.
      const fixed = await push(owner.apiKey, vendor.slug, manifestFor(vendor));
      expect(fixed.status).toBe(201);
    });

    it('answers 422 (body shape) when contents is missing or not an object', async () => {
      const owner = await attache.createAccount('vendor');
      const slug = `vm-${randomBytes(4).toString('hex')}`;
      for (const body of [{}, { contents: 'a string' }, { contents: [1, 2] }]) {
        const refused = await attache.client(owner.apiKey).post(`/api/v3/addons/${slug}/manifests`).send(body);
        expect({ body, status: refused.status }).toEqual({ body, status: 422 });
      }
      expect(await serviceRows(slug)).toBe(0);
    });

    it('refuses a manifest whose id differs from the slug in the path', async () => {
      const vendor = await attache.newVendor('vm');
      const owner = await attache.createAccount('vendor');
      const otherSlug = `vm-${randomBytes(4).toString('hex')}`;
      const refused = await push(owner.apiKey, otherSlug, manifestFor(vendor));
      expect(refused.status).toBe(422);
      expect(refused.body.message).toContain(vendor.slug);
      expect(await serviceRows(otherSlug)).toBe(0);
      expect(await serviceRows(vendor.slug)).toBe(0);

      // And once registered, a manifest for another id cannot be pushed onto it either.
      expect((await push(owner.apiKey, vendor.slug, manifestFor(vendor))).status).toBe(201);
      const renamed = await push(owner.apiKey, vendor.slug, { ...manifestFor(vendor), id: otherSlug });
      expect(renamed.status).toBe(422);
      expect(await manifestRows(vendor.slug)).toBe(1);
      expect(await serviceRows(otherSlug)).toBe(0);
    });
  });

  describe('pushing and reading', () => {
    it('answers the client secret on the first push only, serves the current manifest to the owner and to Basic slug:password, and keeps history', async () => {
      const vendor = await attache.newVendor('vm');
      const owner = await attache.createAccount('vendor');
      const first = manifestFor(vendor);
      const pushed = await push(owner.apiKey, vendor.slug, first);
      expect(pushed.status).toBe(201);
      expect(pushed.body.client_secret).toMatch(/^acs_/);
      expect(pushed.body).toMatchObject({ contents: first, addon_service: { name: vendor.slug, state: 'alpha' } });
      expect(typeof pushed.body.id).toBe('string');

      const second: VendorManifest = { ...first, name: 'Renamed Service', api: { ...first.api, password: 'a-brand-new-password' } };
      const again = await push(owner.apiKey, vendor.slug, second);
      expect(again.status).toBe(201);
      expect(again.body).not.toHaveProperty('client_secret');
      expect(again.body.contents).toEqual(second);
      expect(again.body.id).not.toBe(pushed.body.id);

      const byOwner = await attache.client(owner.apiKey).get(`/api/v3/addons/${vendor.slug}/current_manifest`);
      expect(byOwner.status).toBe(200);
      expect(byOwner.body).toMatchObject({ id: again.body.id, contents: second });

      // Basic auth follows the current manifest's password.
      const byBasic = await attache.http().get(`/api/v3/addons/${vendor.slug}/current_manifest`).set('Accept', ACCEPT).auth(vendor.slug, 'a-brand-new-password');
      expect(byBasic.status).toBe(200);
      expect(byBasic.body).toMatchObject({ id: again.body.id, contents: second });
      const stale = await attache.http().get(`/api/v3/addons/${vendor.slug}/current_manifest`).set('Accept', ACCEPT).auth(vendor.slug, PASSWORD);
      expect(stale.status).toBe(401);

      const history = await attache.client(owner.apiKey).get(`/api/v3/addons/${vendor.slug}/manifests`);
      expect(history.status).toBe(200);
      const versions = history.body as { id: string; created_at: string }[];
      expect(versions.map((m) => m.id).sort()).toEqual([pushed.body.id, again.body.id].sort());
      expect(Date.parse(versions[0].created_at)).toBeLessThanOrEqual(Date.parse(versions[1].created_at));
      const old = await attache.client(owner.apiKey).get(`/api/v3/addons/${vendor.slug}/manifests/${pushed.body.id}`);
      expect(old.status).toBe(200);
      expect(old.body.contents).toEqual(first);

      const catalog = await attache.client(owner.apiKey).get(`/addon-services/${vendor.slug}`);
      expect(catalog.body.human_name).toBe('Renamed Service');
    });

    it('keeps other accounts and other services out of a manifest', async () => {
      const { vendor, ...registered } = await attache.startVendor('vm');
      const stranger = await attache.createAccount('vendor');
      const { vendor: otherVendor } = await attache.startVendor('vm');

      const read = await attache.client(stranger.apiKey).get(`/api/v3/addons/${vendor.slug}/current_manifest`);
      expect(read.status).toBe(403);
      const hijack = await push(stranger.apiKey, vendor.slug, manifestFor(vendor, { name: 'Hijacked' }));
      expect(hijack.status).toBe(403);
      // Another service's Basic credentials are not this service's.
      const crossed = await attache.http().get(`/api/v3/addons/${vendor.slug}/current_manifest`).set('Accept', ACCEPT).auth(otherVendor.slug, PASSWORD);
      expect(crossed.status).toBe(403);
      expect(await manifestRows(vendor.slug)).toBe(1);
      const current = await attache.client(registered.apiKey).get(`/api/v3/addons/${vendor.slug}/current_manifest`);
      expect(current.body.contents.name).not.toBe('Hijacked');
    });
  });

  describe('client secret', () => {
    it('regenerates the client secret: the old one no longer exchanges a grant code, the new one does', async () => {
      const { vendor, ...registered } = await attache.startVendor('vm');
      const dev = await attache.createAccount();
      const app = await attache.createApp(dev.apiKey);
      const addon = await provision(dev.apiKey, app.name, `${vendor.slug}:basic`);
      const grantCode = vendor.callsFor(addon.id)[0].body.oauth_grant.code as string;
      expect(typeof grantCode).toBe('string');

      const regenerated = await attache.client(registered.apiKey).post(`/api/v3/addons/${vendor.slug}/client-secret`);
      expect(regenerated.status).toBe(201);
      expect(regenerated.body.client_secret).toMatch(/^acs_/);
      expect(regenerated.body.client_secret).not.toBe(registered.clientSecret);
      expect(regenerated.body.addon_service).toMatchObject({ name: vendor.slug });

      const withOld = await attache.http().post('/oauth/token').type('form').send({ grant_type: 'authorization_code', code: grantCode, client_secret: registered.clientSecret });
      expect(withOld.status).toBe(422);
      expect(withOld.body.id).toBe('invalid_grant');
      expect(withOld.body).not.toHaveProperty('access_token');

      // The refused attempt did not use the grant up.
      const withNew = await attache.http().post('/oauth/token').type('form').send({ grant_type: 'authorization_code', code: grantCode, client_secret: regenerated.body.client_secret });
      expect(withNew.status).toBe(200);
      const scoped = await attache.http().get(`/addons/${addon.id}`).set('Authorization', `Bearer ${withNew.body.access_token}`);
      expect(scoped.status).toBe(200);
      expect(scoped.body).toMatchObject({ id: addon.id, state: 'provisioned' });

      // The manifest's Basic credentials can regenerate it too, and a stranger cannot.
      const byBasic = await attache.http().post(`/api/v3/addons/${vendor.slug}/client-secret`).set('Accept', ACCEPT).auth(vendor.slug, PASSWORD);
      expect(byBasic.status).toBe(201);
      const stranger = await attache.createAccount('vendor');
      expect((await attache.client(stranger.apiKey).post(`/api/v3/addons/${vendor.slug}/client-secret`)).status).toBe(403);
      const refreshWithOld = await attache
        .http()
        .post('/oauth/token')
        .send({ grant_type: 'refresh_token', refresh_token: withNew.body.refresh_token, client_secret: regenerated.body.client_secret });
      expect(refreshWithOld.status).toBe(422);
    });
  });

  describe('plans follow the manifest', () => {
    it('deprecates plans dropped from a later manifest: not installable, while add-ons already on them keep working', async () => {
      const { vendor, ...registered } = await attache.startVendor('vm');
      const dev = await attache.createAccount();
      const app = await attache.createApp(dev.apiKey);
      const onPro = await provision(dev.apiKey, app.name, `${vendor.slug}:pro`);

      const withoutPro: VendorManifestOverrides = {
        plans: [{ name: 'basic', human_name: 'Basic', price: { cents: 700, unit: 'month' }, default: true, state: 'public' }],
      };
      expect((await push(registered.apiKey, vendor.slug, manifestFor(vendor, withoutPro))).status).toBe(201);

      const plans = await attache.client(dev.apiKey).get(`/addon-services/${vendor.slug}/plans`);
      const states = Object.fromEntries((plans.body as { name: string; state: string }[]).map((p) => [p.name, p.state]));
      expect(states).toEqual({ [`${vendor.slug}:basic`]: 'public', [`${vendor.slug}:pro`]: 'deprecated' });
      const basic = (plans.body as { name: string; price: { cents: number } }[]).find((p) => p.name === `${vendor.slug}:basic`);
      expect(basic?.price.cents).toBe(700);

      const otherApp = await attache.createApp(dev.apiKey);
      const refused = await attache.client(dev.apiKey).post(`/apps/${otherApp.name}/addons`).send({ plan: `${vendor.slug}:pro` });
      expect(refused.status).toBe(422);
      expect(refused.body.message).toContain('deprecated');
      expect((await attache.client(dev.apiKey).get(`/apps/${otherApp.name}/addons`)).body).toEqual([]);

      const existing = await attache.client(dev.apiKey).get(`/addons/${onPro.id}`);
      expect(existing.status).toBe(200);
      expect(existing.body).toMatchObject({ state: 'provisioned', plan: { name: `${vendor.slug}:pro` }, billed_price: { cents: 2500 } });
      expect(await attache.configVars(dev.apiKey, app.name)).toEqual({ [vendor.configVar]: `https://example.test/${onPro.id}` });

      // It can still be shared and destroyed like any other add-on.
      const shared = await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: onPro.id, app: otherApp.name, name: 'OLD_PRO' });
      expect(shared.status).toBe(201);
      expect(await attache.configVars(dev.apiKey, otherApp.name)).toEqual({ OLD_PRO_URL: `https://example.test/${onPro.id}` });
      const destroyed = await attache.client(dev.apiKey).delete(`/apps/${app.name}/addons/${onPro.id}`).send({ force: true });
      expect(destroyed.status).toBe(200);
      await vendor.waitForCalls((calls) => calls.some((c) => c.method === 'DELETE' && c.uuid === onPro.id));
      await attache.waitForAddonGone(dev.apiKey, onPro.id);
      expect(await attache.configVars(dev.apiKey, otherApp.name)).toEqual({});

      // Pushing the plan again brings it back.
      expect((await push(registered.apiKey, vendor.slug, manifestFor(vendor))).status).toBe(201);
      const back = await attache.client(dev.apiKey).post(`/apps/${otherApp.name}/addons`).send({ plan: `${vendor.slug}:pro` });
      expect(back.status).toBe(201);
    });
  });

  describe('publishing', () => {
    it('lists and installs an unpublished service for its vendor only, and for everyone once published', async () => {
      const { vendor, ...registered } = await attache.startVendor('vm', {}, { publish: false });
      const vendorAccount = { apiKey: registered.apiKey };
      const dev = await attache.createAccount();
      const listed = async (apiKey?: string) => {
        const response = apiKey ? await attache.client(apiKey).get('/addon-services') : await attache.http().get('/addon-services').set('Accept', ACCEPT);
        expect(response.status).toBe(200);
        return (response.body as { name: string }[]).some((s) => s.name === vendor.slug);
      };

      expect(await listed(vendorAccount.apiKey)).toBe(true);
      expect(await listed(dev.apiKey)).toBe(false);
      expect(await listed()).toBe(false);
      expect((await attache.client(dev.apiKey).get(`/addon-services/${vendor.slug}`)).status).toBe(404);
      expect((await attache.client(dev.apiKey).get(`/addon-services/${vendor.slug}/plans`)).status).toBe(404);

      const devApp = await attache.createApp(dev.apiKey);
      const refused = await attache.client(dev.apiKey).post(`/apps/${devApp.name}/addons`).send({ plan: `${vendor.slug}:basic` });
      expect(refused.status).toBe(422);
      expect(vendor.calls).toHaveLength(0);

      const vendorApp = await attache.createApp(vendorAccount.apiKey);
      const own = await provision(vendorAccount.apiKey, vendorApp.name, `${vendor.slug}:basic`);
      expect(vendor.callsFor(own.id).map((c) => c.method)).toEqual(['POST']);

      await attache.publishService(vendor.slug);
      expect(await listed(dev.apiKey)).toBe(true);
      expect(await listed()).toBe(true);
      const installed = await provision(dev.apiKey, devApp.name, `${vendor.slug}:basic`);
      expect(await attache.configVars(dev.apiKey, devApp.name)).toEqual({ [vendor.configVar]: `https://example.test/${installed.id}` });
    });
  });
});
