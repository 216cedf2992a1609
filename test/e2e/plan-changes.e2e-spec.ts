import { ScriptedVendor } from '@app/testing';
import { AttacheHarness } from '../support/attache-harness';

/** DESIGN §3 plan changes and §4.2 `PUT {base_url}/{uuid}` against real vendors over HTTP. */
describe('add-on plan changes', () => {
  let attache: AttacheHarness;

  beforeAll(async () => {
    attache = await AttacheHarness.start();
  });

  afterAll(async () => {
    await attache?.stop();
  });

  /** A fresh vendor, a developer with an app, and a provisioned `basic` add-on on it. */
  async function provisioned() {
    const { vendor } = await attache.startVendor('pc');
    const dev = await attache.createAccount();
    const app = await attache.createApp(dev.apiKey);
    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    expect(created.status).toBe(201);
    const addon = await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.state === 'provisioned');
    return { vendor, dev, app, id: created.body.id as string, name: created.body.name as string, addon };
  }

  const puts = (vendor: ScriptedVendor, uuid: string) => vendor.callsFor(uuid).filter((c) => c.method === 'PUT');

  it('PATCH to svc:pro sends PUT {base}/{uuid} {plan:"pro"}, then the add-on is on pro at 2500 cents with a plan_changed event', async () => {
    const { vendor, dev, app, id, name } = await provisioned();

    const patched = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${name}`).send({ plan: { name: `${vendor.slug}:pro` } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id, state: 'provisioned', pending_plan: { name: `${vendor.slug}:pro` }, plan_change_error: null });

    const changed = await attache.waitForAddon(dev.apiKey, id, (a) => (a.plan as { name: string }).name === `${vendor.slug}:pro`);
    expect(changed).toMatchObject({
      state: 'provisioned',
      plan: { name: `${vendor.slug}:pro`, price: { cents: 2500, unit: 'month' } },
      billed_price: { cents: 2500, unit: 'month' },
      pending_plan: null,
      plan_change_error: null,
    });

    const calls = puts(vendor, id);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ path: `/heroku/resources/${id}`, authorized: true, body: { plan: 'pro' } });

    const events = await attache.events(id);
    expect(events.slice(-2)).toEqual(['addon.plan_change_requested', 'addon.plan_changed']);
    const data = await attache.pg.query("SELECT data FROM lifecycle_events WHERE addon_id = $1 AND type = 'addon.plan_changed'", [id]);
    expect(data.rows[0].data).toMatchObject({ price_cents: 2500, price_unit: 'month' });
    const row = await attache.pg.query('SELECT billed_price_cents FROM addons WHERE id = $1', [id]);
    expect(row.rows[0].billed_price_cents).toBe(2500);

    // No new config from the vendor: the app's vars and releases are untouched.
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({ [vendor.configVar]: `https://example.test/${id}` });
    expect((await attache.releases(dev.apiKey, app.name)).map((r) => r.version)).toEqual([2, 1]);
  });

  it('changing to the plan the add-on already has answers 200 and never calls the vendor', async () => {
    const { vendor, dev, app, id, name } = await provisioned();

    const same = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${name}`).send({ plan: { name: `${vendor.slug}:basic` } });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ id, plan: { name: `${vendor.slug}:basic` }, billed_price: { cents: 500 }, pending_plan: null });
    const alsoSame = await attache.client(dev.apiKey).patch(`/addons/${id}`).send({ plan: `${vendor.slug}:basic` });
    expect(alsoSame.status).toBe(200);
    expect(alsoSame.body.pending_plan).toBeNull();

    // A real change afterwards is the only PUT the vendor ever sees.
    await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${id}`).send({ plan: `${vendor.slug}:pro` }).expect(200);
    await attache.waitForAddon(dev.apiKey, id, (a) => (a.plan as { name: string }).name === `${vendor.slug}:pro`);
    expect(puts(vendor, id).map((c) => c.body)).toEqual([{ plan: 'pro' }]);
    const events = await attache.events(id);
    expect(events.filter((e) => e === 'addon.plan_change_requested')).toHaveLength(1);
  });

  it('new config returned by the vendor on a plan change updates the var on every attached app and cuts a release', async () => {
    const { vendor, dev, app, id, name } = await provisioned();
    const other = await attache.createApp(dev.apiKey);
    const attached = await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: id, app: other.name, name: 'SHARED' });
    expect(attached.status).toBe(201);
    expect(await attache.configVars(dev.apiKey, other.name)).toEqual({ SHARED_URL: `https://example.test/${id}` });

    vendor.onPlanChange((call) => ({
      status: 200,
      body: { config: { [vendor.configVar]: `https://pro.example.test/${call.uuid}` }, message: 'Moved to a bigger box.' },
    }));
    const patched = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${name}`).send({ plan: { name: `${vendor.slug}:pro` } });
    expect(patched.status).toBe(200);

    const changed = await attache.waitForAddon(dev.apiKey, id, (a) => (a.plan as { name: string }).name === `${vendor.slug}:pro`);
    expect(changed.billed_price).toMatchObject({ cents: 2500 });
    expect(changed.provision_message).toBe('Moved to a bigger box.');
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({ [vendor.configVar]: `https://pro.example.test/${id}` });
    expect(await attache.configVars(dev.apiKey, other.name)).toEqual({ SHARED_URL: `https://pro.example.test/${id}` });

    const releases = await attache.releases(dev.apiKey, app.name);
    expect(releases.map((r) => r.version)).toEqual([3, 2, 1]);
    expect(releases[0].description).toContain(name);
    expect(releases[0].current).toBe(true);
    const otherReleases = await attache.releases(dev.apiKey, other.name);
    expect(otherReleases.map((r) => r.version)).toEqual([3, 2, 1]);

    // The partner view of the config holds the new value too.
    const config = await attache.client(dev.apiKey).get(`/addons/${id}/config`);
    expect(config.status).toBe(200);
    expect(config.body).toEqual([{ name: vendor.configVar, value: `https://pro.example.test/${id}` }]);
  });

  it('a plan change and a rename in one PATCH happen together or not at all', async () => {
    const { vendor, dev, app, id, name } = await provisioned();
    const other = await provisioned();

    const refused = await attache.client(dev.apiKey).patch(`/addons/${id}`).send({ plan: `${vendor.slug}:pro`, name: other.name });
    expect({ status: refused.status, id: refused.body.id }).toEqual({ status: 409, id: 'name_taken' });
    const unchanged = await attache.client(dev.apiKey).get(`/addons/${id}`);
    expect(unchanged.body).toMatchObject({ name, plan: { name: `${vendor.slug}:basic` }, pending_plan: null });
    expect(puts(vendor, id)).toHaveLength(0);
    expect((await attache.events(id)).filter((e) => e === 'addon.plan_change_requested' || e === 'addon.renamed')).toEqual([]);

    const both = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${name}`).send({ plan: `${vendor.slug}:pro`, name: `${name}-pro` });
    expect(both.status).toBe(200);
    expect(both.body).toMatchObject({ id, name: `${name}-pro`, pending_plan: { name: `${vendor.slug}:pro` } });
    await attache.waitForAddon(dev.apiKey, id, (a) => (a.plan as { name: string }).name === `${vendor.slug}:pro`);
    expect(puts(vendor, id).map((c) => c.body)).toEqual([{ plan: 'pro' }]);
    expect((await attache.events(id)).filter((e) => e === 'addon.plan_change_requested' || e === 'addon.renamed')).toEqual(['addon.plan_change_requested', 'addon.renamed']);
  });

  it('a vendor refusal (422) keeps the old plan and price and exposes plan_change_error', async () => {
    const { vendor, dev, app, id, name } = await provisioned();
    vendor.onPlanChange(() => ({ status: 422, body: { message: 'Pro is not available in your region yet.' } }));

    const patched = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${name}`).send({ plan: { name: `${vendor.slug}:pro` } });
    expect(patched.status).toBe(200);

    const refused = await attache.waitForAddon(dev.apiKey, id, (a) => a.plan_change_error !== null);
    expect(refused).toMatchObject({
      state: 'provisioned',
      plan: { name: `${vendor.slug}:basic` },
      billed_price: { cents: 500 },
      pending_plan: null,
      plan_change_error: 'Pro is not available in your region yet.',
    });
    expect(puts(vendor, id)).toHaveLength(1);
    const events = await attache.events(id);
    expect(events).toContain('addon.plan_change_failed');
    expect(events).not.toContain('addon.plan_changed');
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({ [vendor.configVar]: `https://example.test/${id}` });
    expect((await attache.releases(dev.apiKey, app.name)).map((r) => r.version)).toEqual([2, 1]);

    // A later attempt clears the error and can succeed.
    vendor.restoreDefaults();
    await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${name}`).send({ plan: `${vendor.slug}:pro` }).expect(200);
    const changed = await attache.waitForAddon(dev.apiKey, id, (a) => (a.plan as { name: string }).name === `${vendor.slug}:pro`);
    expect(changed.plan_change_error).toBeNull();
    expect(changed.billed_price).toMatchObject({ cents: 2500 });
  });

  it('a vendor answering 5xx to every PUT is tried PROVIDER_MAX_ATTEMPTS times, then the change fails with a reason', async () => {
    const { vendor, dev, app, id, name } = await provisioned();
    vendor.onPlanChange(() => ({ status: 503, body: { message: 'Maintenance' } }));

    await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${name}`).send({ plan: `${vendor.slug}:pro` }).expect(200);
    const failed = await attache.waitForAddon(dev.apiKey, id, (a) => a.plan_change_error !== null);
    expect(failed.plan_change_error).toMatch(/could not be reached after 3 attempts/);
    expect(failed).toMatchObject({ state: 'provisioned', plan: { name: `${vendor.slug}:basic` }, billed_price: { cents: 500 }, pending_plan: null });
    expect(puts(vendor, id)).toHaveLength(3);
    expect(await attache.events(id)).not.toContain('addon.plan_changed');
  });

  it('refuses plans of another service and unknown plans without calling the vendor', async () => {
    const { vendor, dev, app, id, name } = await provisioned();
    const unknown = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${name}`).send({ plan: `${vendor.slug}:platinum` });
    expect(unknown.status).toBe(422);
    expect(unknown.body.message).toMatch(/^Couldn't find either the add-on service or the add-on plan/);
    const foreign = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${name}`).send({ plan: 'some-other-service:pro' });
    expect(foreign.status).toBe(422);
    expect(puts(vendor, id)).toHaveLength(0);
    const current = await attache.client(dev.apiKey).get(`/addons/${id}`);
    expect(current.body).toMatchObject({ plan: { name: `${vendor.slug}:basic` }, pending_plan: null });
  });
});
