import { COLORS } from '@app/domain';
import { ScriptedVendor, VendorManifestOverrides } from '@app/testing';
import { AttacheHarness } from '../support/attache-harness';

/** Reference §5.3: attachments, aliases, sharing between apps, coloured aliases and confirmation. */
describe('add-on attachments and sharing', () => {
  let attache: AttacheHarness;

  beforeAll(async () => {
    attache = await AttacheHarness.start();
  });

  afterAll(async () => {
    await attache?.stop();
  });

  async function newVendor(overrides: VendorManifestOverrides = {}): Promise<ScriptedVendor> {
    return (await attache.startVendor('sh', overrides)).vendor;
  }

  async function provision(apiKey: string, app: string, body: Record<string, unknown>) {
    const created = await attache.client(apiKey).post(`/apps/${app}/addons`).send(body);
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
    await attache.waitForAddon(apiKey, created.body.id, (a) => a.state === 'provisioned');
    return { id: created.body.id as string, name: created.body.name as string };
  }

  const url = (id: string) => `https://example.test/${id}`;
  const versions = async (apiKey: string, app: string) => (await attache.releases(apiKey, app)).map((r) => r.version);
  const attachmentNames = async (apiKey: string, app: string) => {
    const response = await attache.client(apiKey).get(`/apps/${app}/addon-attachments`);
    expect(response.status).toBe(200);
    return (response.body as { name: string }[]).map((a) => a.name).sort();
  };
  async function eventCount(type: string, addonId: string): Promise<number> {
    const result = await attache.pg.query('SELECT count(*)::int AS n FROM lifecycle_events WHERE addon_id = $1 AND type = $2', [addonId, type]);
    return result.rows[0].n;
  }

  it('shares an attachable add-on with a second app under an alias, lists it on both, and detaches it with a release', async () => {
    const vendor = await newVendor();
    const dev = await attache.createAccount();
    const billing = await attache.createApp(dev.apiKey);
    const second = await attache.createApp(dev.apiKey);
    const addon = await provision(dev.apiKey, billing.name, { plan: `${vendor.slug}:basic` });

    const attached = await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: addon.name, app: second.name, name: 'reporting-db' });
    expect(attached.status).toBe(201);
    expect(attached.body).toMatchObject({
      name: 'REPORTING_DB',
      app: { id: second.id, name: second.name },
      addon: { id: addon.id, name: addon.name, app: { id: billing.id, name: billing.name } },
      config_vars: ['REPORTING_DB_URL'],
    });

    expect(await attache.configVars(dev.apiKey, second.name)).toEqual({ REPORTING_DB_URL: url(addon.id) });
    expect(await attache.configVars(dev.apiKey, billing.name)).toEqual({ [vendor.configVar]: url(addon.id) });
    const secondReleases = await attache.releases(dev.apiKey, second.name);
    expect(secondReleases.map((r) => r.version)).toEqual([2, 1]);
    expect(secondReleases[0].description).toContain(addon.name);
    expect(await versions(dev.apiKey, billing.name)).toEqual([2, 1]);

    expect(await attachmentNames(dev.apiKey, billing.name)).toEqual([vendor.configVarPrefix]);
    expect(await attachmentNames(dev.apiKey, second.name)).toEqual(['REPORTING_DB']);
    const ofAddon = await attache.client(dev.apiKey).get(`/addons/${addon.id}/addon-attachments`);
    expect((ofAddon.body as { app: { name: string } }[]).map((a) => a.app.name).sort()).toEqual([billing.name, second.name].sort());
    const onSecond = await attache.client(dev.apiKey).get(`/apps/${second.name}/addons`);
    expect(onSecond.body).toHaveLength(1);
    expect(onSecond.body[0]).toMatchObject({ id: addon.id, app: { name: billing.name } });
    expect(await eventCount('attachment.created', addon.id)).toBe(2);

    const detached = await attache.client(dev.apiKey).delete(`/addon-attachments/${attached.body.id}`);
    expect(detached.status).toBe(200);
    expect(detached.body).toMatchObject({ id: attached.body.id, name: 'REPORTING_DB' });
    expect(await attache.configVars(dev.apiKey, second.name)).toEqual({});
    const afterDetach = await attache.releases(dev.apiKey, second.name);
    expect(afterDetach.map((r) => r.version)).toEqual([3, 2, 1]);
    expect(afterDetach[0].description).toContain('Detach');
    expect(await attachmentNames(dev.apiKey, second.name)).toEqual([]);
    expect(await eventCount('attachment.removed', addon.id)).toBe(1);
    // The billing app keeps its attachment and var.
    expect(await attache.configVars(dev.apiKey, billing.name)).toEqual({ [vendor.configVar]: url(addon.id) });
    expect(await versions(dev.apiKey, billing.name)).toEqual([2, 1]);
    expect((await attache.client(dev.apiKey).get(`/addon-attachments/${attached.body.id}`)).status).toBe(404);
  });

  it('refuses to detach the only attachment on the billing app and changes nothing', async () => {
    const vendor = await newVendor();
    const dev = await attache.createAccount();
    const app = await attache.createApp(dev.apiKey);
    const addon = await provision(dev.apiKey, app.name, { plan: `${vendor.slug}:basic` });
    const [owning] = (await attache.client(dev.apiKey).get(`/addons/${addon.id}/addon-attachments`)).body as { id: string }[];

    const refused = await attache.client(dev.apiKey).delete(`/addon-attachments/${owning.id}`);
    expect(refused.status).toBe(403);
    expect(refused.body.id).toBe('forbidden');
    expect(refused.body.message).toContain('destroy the add-on instead');
    const alsoRefused = await attache.client(dev.apiKey).delete(`/apps/${app.name}/addon-attachments/${vendor.configVarPrefix}`);
    expect(alsoRefused.status).toBe(403);

    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({ [vendor.configVar]: url(addon.id) });
    expect(await attachmentNames(dev.apiKey, app.name)).toEqual([vendor.configVarPrefix]);
    expect(await versions(dev.apiKey, app.name)).toEqual([2, 1]);
    expect(await eventCount('attachment.removed', addon.id)).toBe(0);
  });

  it('refuses to share a service whose manifest does not require attachable (422)', async () => {
    const vendor = await newVendor({ api: { requires: [] } });
    const dev = await attache.createAccount();
    const billing = await attache.createApp(dev.apiKey);
    const second = await attache.createApp(dev.apiKey);
    const addon = await provision(dev.apiKey, billing.name, { plan: `${vendor.slug}:basic` });

    const refused = await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: addon.id, app: second.name, name: 'SHARED' });
    expect(refused.status).toBe(422);
    expect(refused.body.message).toContain('cannot be shared');
    expect(await attache.configVars(dev.apiKey, second.name)).toEqual({});
    expect(await attachmentNames(dev.apiKey, second.name)).toEqual([]);
    expect(await versions(dev.apiKey, second.name)).toEqual([1]);
    const service = await attache.client(dev.apiKey).get(`/addon-services/${vendor.slug}`);
    expect(service.body).toMatchObject({ supports_sharing: false, supports_multiple_installations: false });
  });

  it('attaching under an alias already used on the target app needs confirmation; with confirm it replaces', async () => {
    const shared = await newVendor();
    const local = await newVendor();
    const dev = await attache.createAccount();
    const billing = await attache.createApp(dev.apiKey);
    const target = await attache.createApp(dev.apiKey);
    const addon = await provision(dev.apiKey, billing.name, { plan: `${shared.slug}:basic` });
    const resident = await provision(dev.apiKey, target.name, { plan: `${local.slug}:basic` });
    const before = await attache.configVars(dev.apiKey, target.name);
    expect(before).toEqual({ [local.configVar]: url(resident.id) });

    const request = { addon: addon.id, app: target.name, name: local.configVarPrefix };
    const refused = await attache.client(dev.apiKey).post('/addon-attachments').send(request);
    expect(refused.status).toBe(423);
    expect(refused.body.id).toBe('confirmation_required');
    expect(typeof refused.body.message).toBe('string');
    const wrongConfirm = await attache.client(dev.apiKey).post('/addon-attachments').send({ ...request, confirm: billing.name });
    expect(wrongConfirm.status).toBe(423);
    expect(await attache.configVars(dev.apiKey, target.name)).toEqual(before);
    expect(await attachmentNames(dev.apiKey, target.name)).toEqual([local.configVarPrefix]);
    expect(await versions(dev.apiKey, target.name)).toEqual([2, 1]);

    const confirmed = await attache.client(dev.apiKey).post('/addon-attachments').send({ ...request, confirm: target.name });
    expect(confirmed.status).toBe(201);
    expect(confirmed.body).toMatchObject({ name: local.configVarPrefix, addon: { id: addon.id } });

    // The alias and its var now point at the shared add-on; the resident add-on stays attached
    // to its own billing app under a coloured alias.
    const after = await attache.configVars(dev.apiKey, target.name);
    expect(after[local.configVar]).toBe(url(addon.id));
    const moved = (await attachmentNames(dev.apiKey, target.name)).filter((n) => n !== local.configVarPrefix);
    expect(moved).toHaveLength(1);
    expect(moved[0]).toMatch(new RegExp(`^${local.configVarPrefix}_(${COLORS.join('|')})$`));
    expect(after).toEqual({ [local.configVar]: url(addon.id), [`${moved[0]}_URL`]: url(resident.id) });
    expect(await versions(dev.apiKey, target.name)).toEqual([3, 2, 1]);
    const residentNow = await attache.client(dev.apiKey).get(`/addons/${resident.id}`);
    expect(residentNow.body).toMatchObject({ state: 'provisioned', config_vars: [`${moved[0]}_URL`] });
  });

  it('a second add-on of a many_per_app service on one app gets a coloured alias and its own vars', async () => {
    const vendor = await newVendor({ api: { requires: ['attachable', 'many_per_app'] } });
    const dev = await attache.createAccount();
    const app = await attache.createApp(dev.apiKey);
    const first = await provision(dev.apiKey, app.name, { plan: `${vendor.slug}:basic` });
    const second = await provision(dev.apiKey, app.name, { plan: `${vendor.slug}:pro` });

    const names = await attachmentNames(dev.apiKey, app.name);
    expect(names).toHaveLength(2);
    expect(names).toContain(vendor.configVarPrefix);
    const coloured = names.find((n) => n !== vendor.configVarPrefix)!;
    expect(coloured).toMatch(new RegExp(`^${vendor.configVarPrefix}_(${COLORS.join('|')})$`));

    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({
      [vendor.configVar]: url(first.id),
      [`${coloured}_URL`]: url(second.id),
    });
    const view = await attache.client(dev.apiKey).get(`/addons/${second.id}`);
    expect(view.body.config_vars).toEqual([`${coloured}_URL`]);
    expect(await versions(dev.apiKey, app.name)).toEqual([3, 2, 1]);
  });

  it('without many_per_app a second add-on of the same service on one app is refused', async () => {
    const vendor = await newVendor();
    const dev = await attache.createAccount();
    const app = await attache.createApp(dev.apiKey);
    await provision(dev.apiKey, app.name, { plan: `${vendor.slug}:basic` });

    const refused = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:pro` });
    expect(refused.status).toBe(422);
    const count = await attache.pg.query("SELECT count(*)::int AS n FROM addons a JOIN apps p ON p.id = a.app_id WHERE p.name = $1", [app.name]);
    expect(count.rows[0].n).toBe(1);
  });

  it('creating with attachment {name: X} over an existing plain config var X_URL needs confirm', async () => {
    const vendor = await newVendor();
    const dev = await attache.createAccount();
    const app = await attache.createApp(dev.apiKey);
    const set = await attache.client(dev.apiKey).patch(`/apps/${app.name}/config-vars`).send({ MAIL_URL: 'smtp://old.example.test' });
    expect(set.status).toBe(200);

    const refused = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic`, attachment: { name: 'MAIL' } });
    expect(refused.status).toBe(423);
    expect(refused.body.id).toBe('confirmation_required');
    expect(refused.body.message).toContain('MAIL_URL');
    expect((await attache.client(dev.apiKey).get(`/apps/${app.name}/addons`)).body).toEqual([]);
    const rows = await attache.pg.query('SELECT count(*)::int AS n FROM addons a JOIN apps p ON p.id = a.app_id WHERE p.name = $1', [app.name]);
    expect(rows.rows[0].n).toBe(0);
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({ MAIL_URL: 'smtp://old.example.test' });
    expect(vendor.calls).toHaveLength(0);

    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic`, attachment: { name: 'MAIL' }, confirm: app.name });
    expect(created.status).toBe(201);
    const addon = await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.state === 'provisioned');
    expect(addon.config_vars).toEqual(['MAIL_URL']);
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({ MAIL_URL: url(created.body.id) });
    expect(await attachmentNames(dev.apiKey, app.name)).toEqual(['MAIL']);
    // The var now belongs to the attachment: it cannot be overwritten as a plain var.
    const overwrite = await attache.client(dev.apiKey).patch(`/apps/${app.name}/config-vars`).send({ MAIL_URL: 'smtp://other.example.test' });
    expect(overwrite.status).toBe(422);
  });

  it('an add-on attached while still provisioning gets its vars on every attached app once provisioned', async () => {
    const vendor = await newVendor();
    const dev = await attache.createAccount();
    const billing = await attache.createApp(dev.apiKey);
    const second = await attache.createApp(dev.apiKey);
    let answer: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (answer = resolve));
    vendor.onProvision(async (call) => {
      await held;
      return { status: 200, body: { id: `res-${call.uuid}`, config: { [vendor.configVar]: url(call.uuid) } } };
    });

    const created = await attache.client(dev.apiKey).post(`/apps/${billing.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    expect(created.status).toBe(201);
    const attached = await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: created.body.id, app: second.name, name: 'EARLY' });
    expect(attached.status).toBe(201);
    expect(await attache.configVars(dev.apiKey, second.name)).toEqual({});

    answer();
    await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.state === 'provisioned');
    expect(await attache.configVars(dev.apiKey, second.name)).toEqual({ EARLY_URL: url(created.body.id) });
    expect(await attache.configVars(dev.apiKey, billing.name)).toEqual({ [vendor.configVar]: url(created.body.id) });
  });

  it('destroying a shared add-on needs force, then removes its vars from every app with a release each', async () => {
    const vendor = await newVendor();
    const dev = await attache.createAccount();
    const billing = await attache.createApp(dev.apiKey);
    const second = await attache.createApp(dev.apiKey);
    const addon = await provision(dev.apiKey, billing.name, { plan: `${vendor.slug}:basic` });
    await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: addon.id, app: second.name, name: 'SHARED' }).expect(201);

    const refused = await attache.client(dev.apiKey).delete(`/apps/${billing.name}/addons/${addon.id}`);
    expect(refused.status).toBe(422);
    expect(refused.body.message).toContain(second.name);
    expect(await attache.configVars(dev.apiKey, second.name)).toEqual({ SHARED_URL: url(addon.id) });

    const forced = await attache.client(dev.apiKey).delete(`/apps/${billing.name}/addons/${addon.id}`).send({ force: true });
    expect(forced.status).toBe(200);
    expect(forced.body.state).toBe('deprovisioning');
    expect(await attache.configVars(dev.apiKey, second.name)).toEqual({});
    expect(await attache.configVars(dev.apiKey, billing.name)).toEqual({});
    expect(await versions(dev.apiKey, second.name)).toEqual([3, 2, 1]);
    expect(await versions(dev.apiKey, billing.name)).toEqual([3, 2, 1]);
    await attache.waitForAddonGone(dev.apiKey, addon.id);
    expect(vendor.callsFor(addon.id).filter((c) => c.method === 'DELETE')).toHaveLength(1);
  });
});
