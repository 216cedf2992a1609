import { AttacheHarness } from '../support/attache-harness';

/** Orderings the lifecycle must survive: answers that arrive late, changes undone mid-flight, confirmed overwrites. */
describe('lifecycle races', () => {
  let attache: AttacheHarness;

  beforeAll(async () => {
    attache = await AttacheHarness.start();
  });

  afterAll(async () => {
    await attache?.stop();
  });

  it('keeps an async add-on that the vendor finished before its 202 was recorded, without deleting it', async () => {
    const { vendor, clientSecret } = await attache.startVendor('race');
    const dev = await attache.createAccount();
    const app = await attache.createApp(dev.apiKey);
    vendor.onProvision(async (call) => {
      // The vendor completes through the partner API first, and only then answers 202.
      const partner = attache.http();
      const token = await partner.post('/oauth/token').send({ grant_type: 'authorization_code', code: call.body.oauth_grant.code, client_secret: clientSecret });
      const bearer = { Authorization: `Bearer ${token.body.access_token}` };
      await partner.patch(`/addons/${call.uuid}/config`).set(bearer).send({ config: [{ name: vendor.configVar, value: 'https://race.example/1' }] });
      await partner.post(`/addons/${call.uuid}/actions/provision`).set(bearer);
      return { status: 202, body: { id: 'race-1', message: 'working on it' } };
    });
    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    await vendor.waitForCalls((calls) => calls.some((c) => c.uuid === created.body.id));
    await attache.waitUntil('the 202 to be recorded', async () =>
      (await attache.pg.query('SELECT provider_id FROM addons WHERE id = $1', [created.body.id])).rows[0].provider_id === 'race-1' ? true : undefined,
    );
    const row = (await attache.pg.query('SELECT state, provider_id, cleanup_pending FROM addons WHERE id = $1', [created.body.id])).rows[0];
    expect(row).toEqual({ state: 'provisioned', provider_id: 'race-1', cleanup_pending: false });
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({ [vendor.configVar]: 'https://race.example/1' });
    await new Promise((r) => setTimeout(r, 300));
    expect(vendor.callsFor(created.body.id).filter((c) => c.method === 'DELETE')).toHaveLength(0);
  });

  it('tells the vendor to switch back when a plan change is undone while its PUT is in flight', async () => {
    const { vendor } = await attache.startVendor('undo');
    const dev = await attache.createAccount();
    const app = await attache.createApp(dev.apiKey);
    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.state === 'provisioned');
    vendor.onPlanChange(() => ({ status: 200, body: {}, delayMs: 700 }));
    const client = attache.client(dev.apiKey);
    await client.patch(`/apps/${app.name}/addons/${created.body.id}`).send({ plan: `${vendor.slug}:pro` }).expect(200);
    await vendor.waitForCalls((calls) => calls.some((c) => c.method === 'PUT'));
    await client.patch(`/apps/${app.name}/addons/${created.body.id}`).send({ plan: `${vendor.slug}:basic` }).expect(200);
    const settled = await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.pending_plan === null && (a.plan as { name: string }).name === `${vendor.slug}:basic`);
    expect(settled.billed_price).toMatchObject({ cents: 500 });
    await vendor.waitForCalls((calls) => calls.filter((c) => c.method === 'PUT').length === 2);
    // The vendor's last word is the plan Attache shows.
    expect(vendor.callsFor(created.body.id).filter((c) => c.method === 'PUT').map((c) => c.body.plan)).toEqual(['pro', 'basic']);
  });

  it('overwrites a confirmed plain var only when the add-on is provisioned, and keeps it when provisioning fails', async () => {
    const { vendor } = await attache.startVendor('keep');
    const dev = await attache.createAccount();
    const app = await attache.createApp(dev.apiKey);
    const client = attache.client(dev.apiKey);
    await client.patch(`/apps/${app.name}/config-vars`).send({ NOTES_URL: 'mine' }).expect(200);

    vendor.onProvision(() => ({ status: 422, body: { message: 'no capacity' } }));
    const refused = await client.post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic`, attachment: { name: 'NOTES' }, confirm: app.name });
    expect(refused.status).toBe(201);
    await attache.waitForAddon(dev.apiKey, refused.body.id, (a) => a.state === 'deprovisioned');
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({ NOTES_URL: 'mine' });

    vendor.restoreDefaults();
    const before = (await attache.releases(dev.apiKey, app.name))[0].version;
    const created = await client.post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic`, attachment: { name: 'NOTES' }, confirm: app.name });
    await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.state === 'provisioned');
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({ NOTES_URL: `https://example.test/${created.body.id}` });
    expect((await attache.releases(dev.apiKey, app.name))[0].version).toBe(before + 1);
  });
});
