import { RecordedVendorCall, ScriptedVendor, VendorManifestOverrides } from '@app/testing';
import { AttacheHarness } from '../support/attache-harness';

/**
 * DESIGN §3 steps 2 and 4 when the vendor misbehaves: refusals, 5xx, timeouts, orphan cleanup,
 * and destroy with its retried DELETE. Every add-on here is on an app of its own.
 */
describe('add-on lifecycle failures with a third-party vendor', () => {
  let attache: AttacheHarness;
  const clientSecrets = new Map<string, string>();

  beforeAll(async () => {
    // A short call timeout so the hanging-vendor test retries quickly; PROVIDER_MAX_ATTEMPTS stays 3.
    // A short deadline for the one test whose vendor answers 202 and never finishes, and a long
    // call timeout so vendor answers the tests hold back on purpose never time out under load.
    attache = await AttacheHarness.start({ env: { ASYNC_PROVISION_DEADLINE_MS: '1000', PROVIDER_TIMEOUT_MS: '5000' } });
  });

  afterAll(async () => {
    await attache?.stop();
  });

  async function newVendor(overrides: VendorManifestOverrides = {}): Promise<ScriptedVendor> {
    const { vendor, clientSecret } = await attache.startVendor('lf', overrides);
    clientSecrets.set(vendor.slug, clientSecret);
    return vendor;
  }

  /** A developer, an app of theirs and a fresh vendor. */
  async function setup() {
    const vendor = await newVendor();
    const dev = await attache.createAccount();
    const app = await attache.createApp(dev.apiKey);
    return { vendor, dev, app };
  }

  const ok = (vendor: ScriptedVendor, call: RecordedVendorCall) => ({
    status: 200,
    body: { id: `res-${call.uuid}`, config: { [vendor.configVar]: `https://example.test/${call.uuid}` }, message: 'ok' },
  });
  const posts = (vendor: ScriptedVendor, uuid: string) => vendor.callsFor(uuid).filter((c) => c.method === 'POST');
  const deletes = (vendor: ScriptedVendor, uuid: string) => vendor.callsFor(uuid).filter((c) => c.method === 'DELETE');

  async function addonRow(id: string): Promise<{ state: string; cleanup_pending: boolean; failure_reason: string | null }> {
    const result = await attache.pg.query('SELECT state, cleanup_pending, failure_reason FROM addons WHERE id = $1', [id]);
    return result.rows[0];
  }

  /** After a failed provision: the cleanup DELETE arrived and Attache recorded it as done. */
  async function waitForCleanup(vendor: ScriptedVendor, id: string) {
    await vendor.waitForCalls((calls) => calls.some((c) => c.method === 'DELETE' && c.uuid === id && c.authorized));
    await attache.waitUntil('cleanup to be recorded', async () => ((await addonRow(id)).cleanup_pending ? undefined : true));
  }

  it('a vendor refusal (422) fails the add-on at once with the vendor’s message, bills nothing and cleans up', async () => {
    const { vendor, dev, app } = await setup();
    vendor.onProvision(() => ({ status: 422, body: { message: 'Quota exceeded: this account already has 3 mailboxes.' } }));

    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    expect(created.status).toBe(201);
    expect(created.body.state).toBe('provisioning');
    const id: string = created.body.id;

    const failed = await attache.waitForAddon(dev.apiKey, id, (a) => a.state === 'deprovisioned');
    expect(failed.provision_message).toContain('Quota exceeded: this account already has 3 mailboxes.');
    expect(failed.config_vars).toEqual([]);
    await waitForCleanup(vendor, id);

    // Still readable by id after the cleanup, so the developer can see why it failed.
    const shown = await attache.client(dev.apiKey).get(`/addons/${id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ id, state: 'deprovisioned', app: { name: app.name } });
    expect(shown.body.provision_message).toContain('Quota exceeded');

    // A refusal is final: one POST, then the orphan-cleanup DELETE for the same uuid.
    expect(posts(vendor, id)).toHaveLength(1);
    expect(deletes(vendor, id)).toHaveLength(1);
    expect(deletes(vendor, id)[0].path).toBe(`/heroku/resources/${id}`);

    const events = await attache.events(id);
    expect(events).toContain('addon.provision_failed');
    expect(events).not.toContain('addon.provisioned');
    expect(events.filter((e) => e === 'addon.provision_failed')).toHaveLength(1);

    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({});
    expect((await attache.releases(dev.apiKey, app.name)).map((r) => r.version)).toEqual([1]);
    const listed = await attache.client(dev.apiKey).get(`/apps/${app.name}/addons`);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([]);
    const attachments = await attache.client(dev.apiKey).get(`/apps/${app.name}/addon-attachments`);
    expect(attachments.body).toEqual([]);
    const row = await addonRow(id);
    expect(row).toMatchObject({ state: 'deprovisioned', cleanup_pending: false });
    expect(row.failure_reason).toContain('Quota exceeded');
  });

  it('a vendor answering 5xx on every attempt is tried exactly PROVIDER_MAX_ATTEMPTS times, then fails with a reason and cleans up', async () => {
    const { vendor, dev, app } = await setup();
    vendor.onProvision(() => ({ status: 503, body: { message: 'Service Unavailable' } }));

    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    expect(created.status).toBe(201);
    const id: string = created.body.id;

    const failed = await attache.waitForAddon(dev.apiKey, id, (a) => a.state === 'deprovisioned');
    expect(failed.provision_message).toMatch(/could not be reached after 3 attempts/);
    expect(failed.provision_message).toContain('HTTP 503');
    await waitForCleanup(vendor, id);

    const attempts = posts(vendor, id);
    expect(attempts).toHaveLength(3);
    expect(attempts.every((c) => c.authorized && c.body.uuid === id && c.body.plan === 'basic')).toBe(true);
    expect(deletes(vendor, id)).toHaveLength(1);

    const events = await attache.events(id);
    expect(events).toEqual(['addon.provision_requested', 'attachment.created', 'addon.provision_failed']);
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({});
  });

  it('a 5xx followed by success on attempt 2 ends provisioned with one resource and no cleanup', async () => {
    const { vendor, dev, app } = await setup();
    vendor.onProvision((call, attempt) => (attempt === 1 ? { status: 500, body: { message: 'oops' } } : ok(vendor, call)));

    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    expect(created.status).toBe(201);
    const id: string = created.body.id;

    const addon = await attache.waitForAddon(dev.apiKey, id, (a) => a.state === 'provisioned');
    expect(addon).toMatchObject({ provider_id: `res-${id}`, config_vars: [vendor.configVar], provision_message: 'ok' });

    const attempts = posts(vendor, id);
    expect(attempts).toHaveLength(2);
    // The retry is the same request for the same uuid, so an idempotent vendor makes one resource.
    expect(attempts[1].body.uuid).toBe(attempts[0].body.uuid);
    expect(attempts[1].body.name).toBe(attempts[0].body.name);
    expect(deletes(vendor, id)).toHaveLength(0);

    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({ [vendor.configVar]: `https://example.test/${id}` });
    const events = await attache.events(id);
    expect(events.filter((e) => e === 'addon.provisioned')).toHaveLength(1);
    expect(events).not.toContain('addon.provision_failed');
    const releases = await attache.releases(dev.apiKey, app.name);
    expect(releases.map((r) => r.version)).toEqual([2, 1]);
    expect(releases[0].description).toContain(created.body.name);
  });

  it('a 200 whose config has an undeclared var is not trusted: the add-on fails and is cleaned up', async () => {
    const { vendor, dev, app } = await setup();
    vendor.onProvision((call) => ({ status: 200, body: { id: `res-${call.uuid}`, config: { SOMETHING_ELSE_URL: 'https://example.test/x' } } }));

    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    const id: string = created.body.id;
    const failed = await attache.waitForAddon(dev.apiKey, id, (a) => a.state === 'deprovisioned');
    expect(failed.provision_message).toContain('SOMETHING_ELSE_URL is not declared in the manifest');
    await waitForCleanup(vendor, id);
    expect(posts(vendor, id)).toHaveLength(1);
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({});
    expect(await attache.events(id)).not.toContain('addon.provisioned');
  });

  it('an async provision (202) that the vendor never completes fails at the deadline, revokes the partner token and cleans up', async () => {
    const { vendor, dev, app } = await setup();
    let grantCode = '';
    vendor.onProvision((call) => {
      grantCode = call.body.oauth_grant.code;
      return { status: 202, body: { id: 'slow-1', message: 'Working on it.' } };
    });

    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    const id: string = created.body.id;
    await attache.waitForAddon(dev.apiKey, id, (a) => a.provision_message === 'Working on it.');
    const token = await attache.http().post('/oauth/token').send({ grant_type: 'authorization_code', code: grantCode, client_secret: clientSecrets.get(vendor.slug) });
    expect(token.status).toBe(200);
    const bearer = { Authorization: `Bearer ${token.body.access_token}` };
    expect((await attache.http().get(`/addons/${id}`).set(bearer)).status).toBe(200);

    const failed = await attache.waitForAddon(dev.apiKey, id, (a) => a.state === 'deprovisioned');
    expect(failed.provision_message).toBe('The provider did not finish provisioning in time.');
    await waitForCleanup(vendor, id);
    expect(posts(vendor, id)).toHaveLength(1);
    const events = await attache.events(id);
    expect(events).toContain('addon.provision_failed');
    expect(events).not.toContain('addon.provisioned');
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({});
    // Too late to finish: the token died with the add-on.
    expect((await attache.http().post(`/addons/${id}/actions/provision`).set(bearer)).status).toBe(401);
  });

  it('an add-on destroyed while the vendor is still creating it gets a DELETE after the create finishes (no orphan)', async () => {
    const { vendor, dev, app } = await setup();
    let answer: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (answer = resolve));
    const made = new Set<string>();
    vendor.onProvision(async (call) => {
      await held;
      made.add(call.uuid);
      return ok(vendor, call);
    });
    // An idempotent vendor: deleting what does not exist (yet) is a 404, deleting what exists removes it.
    vendor.onDeprovision((call) => (made.delete(call.uuid) ? { status: 204 } : { status: 404, body: { message: 'No such resource.' } }));

    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    const id: string = created.body.id;
    await vendor.waitForCalls((calls) => calls.some((c) => c.method === 'POST' && c.uuid === id));

    const destroyed = await attache.client(dev.apiKey).delete(`/apps/${app.name}/addons/${id}`);
    expect(destroyed.status).toBe(200);
    expect(destroyed.body.state).toBe('deprovisioning');
    await vendor.waitForCalls((calls) => calls.some((c) => c.method === 'DELETE' && c.uuid === id));
    await attache.waitForAddonGone(dev.apiKey, id);

    // Only now does the vendor finish the create it was working on.
    answer();
    await vendor.waitForCalls((calls) => calls.filter((c) => c.method === 'DELETE' && c.uuid === id).length === 2);
    await attache.waitUntil('the resource to be deleted at the vendor', async () => (made.has(id) ? undefined : true));
    await attache.waitUntil('cleanup to be recorded', async () => ((await addonRow(id)).cleanup_pending ? undefined : true));
    expect(made.size).toBe(0);
    expect(posts(vendor, id)).toHaveLength(1);
    expect((await addonRow(id)).state).toBe('deprovisioned');
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({});
    expect(await attache.events(id)).not.toContain('addon.provisioned');
  });

  it('destroy answers deprovisioning, removes the vars at once with a release, sends DELETE, then the add-on is gone', async () => {
    const { vendor, dev, app } = await setup();
    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    const id: string = created.body.id;
    await attache.waitForAddon(dev.apiKey, id, (a) => a.state === 'provisioned');
    expect(Object.keys(await attache.configVars(dev.apiKey, app.name))).toEqual([vendor.configVar]);

    // Hold the vendor's answer so the in-between state can be observed.
    let answer: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (answer = resolve));
    vendor.onDeprovision(async () => {
      await held;
      return { status: 204 };
    });

    const destroyed = await attache.client(dev.apiKey).delete(`/apps/${app.name}/addons/${created.body.name}`);
    expect(destroyed.status).toBe(200);
    expect(destroyed.body).toMatchObject({ id, name: created.body.name, state: 'deprovisioning' });

    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({});
    const releases = await attache.releases(dev.apiKey, app.name);
    expect(releases.map((r) => r.version)).toEqual([3, 2, 1]);
    expect(releases[0].description).toBe(`Remove ${created.body.name} add-on`);
    expect((await attache.client(dev.apiKey).get(`/apps/${app.name}/addon-attachments`)).body).toEqual([]);

    await vendor.waitForCalls((calls) => calls.some((c) => c.method === 'DELETE' && c.uuid === id));
    const pending = await attache.client(dev.apiKey).get(`/addons/${id}`);
    expect(pending.status).toBe(200);
    expect(pending.body.state).toBe('deprovisioning');
    expect(await attache.events(id)).not.toContain('addon.deprovisioned');

    answer();
    await attache.waitForAddonGone(dev.apiKey, id);
    const gone = await attache.client(dev.apiKey).get(`/addons/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.id).toBe('not_found');

    const call = deletes(vendor, id);
    expect(call).toHaveLength(1);
    expect(call[0]).toMatchObject({ path: `/heroku/resources/${id}`, authorized: true });
    const events = await attache.events(id);
    expect(events.slice(-2)).toEqual(['addon.deprovision_requested', 'addon.deprovisioned']);
    expect(events.filter((e) => e === 'addon.deprovisioned')).toHaveLength(1);
    expect((await attache.client(dev.apiKey).get(`/apps/${app.name}/addons`)).body).toEqual([]);
  });

  it('a vendor 5xx on DELETE is retried until it succeeds; the add-on stays deprovisioning meanwhile', async () => {
    const { vendor, dev, app } = await setup();
    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    const id: string = created.body.id;
    await attache.waitForAddon(dev.apiKey, id, (a) => a.state === 'provisioned');

    let answer: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (answer = resolve));
    vendor.onDeprovision(async (_call, attempt) => {
      if (attempt < 3) return { status: 502, body: { message: 'Bad Gateway' } };
      await held;
      return { status: 200, body: {} };
    });

    const destroyed = await attache.client(dev.apiKey).delete(`/addons/${id}`);
    expect(destroyed.status).toBe(200);
    expect(destroyed.body.state).toBe('deprovisioning');

    await vendor.waitForCalls((calls) => calls.filter((c) => c.method === 'DELETE' && c.uuid === id).length === 3);
    const meanwhile = await attache.client(dev.apiKey).get(`/addons/${id}`);
    expect(meanwhile.status).toBe(200);
    expect(meanwhile.body.state).toBe('deprovisioning');
    expect(await attache.events(id)).not.toContain('addon.deprovisioned');

    answer();
    await attache.waitForAddonGone(dev.apiKey, id);
    expect(deletes(vendor, id)).toHaveLength(3);
    expect((await attache.events(id)).filter((e) => e === 'addon.deprovisioned')).toHaveLength(1);
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({});
  });

  describe('with PROVIDER_TIMEOUT_MS=300', () => {
    let fast: AttacheHarness;

    beforeAll(async () => {
      fast = await AttacheHarness.start({ env: { PROVIDER_TIMEOUT_MS: '300' } });
    });

    afterAll(async () => {
      await fast?.stop();
    });

    it('a vendor that never answers times out on each of the 3 attempts, then the add-on fails and is cleaned up', async () => {
      const { vendor } = await fast.startVendor('lf');
      const dev = await fast.createAccount();
      const app = await fast.createApp(dev.apiKey);
      vendor.onProvision(() => ({ hang: true }));

      const created = await fast.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:pro` });
      expect(created.status).toBe(201);
      const id: string = created.body.id;

      const failed = await fast.waitForAddon(dev.apiKey, id, (a) => a.state === 'deprovisioned');
      expect(failed.provision_message).toMatch(/could not be reached after 3 attempts/);
      expect(failed.provision_message).toContain('no answer within 300 ms');
      await vendor.waitForCalls((calls) => calls.some((c) => c.method === 'DELETE' && c.uuid === id && c.authorized));

      const attempts = posts(vendor, id);
      expect(attempts).toHaveLength(3);
      // Each retry starts only after the previous call timed out.
      for (let i = 1; i < attempts.length; i++) expect(attempts[i].at - attempts[i - 1].at).toBeGreaterThanOrEqual(290);
      expect(deletes(vendor, id)).toHaveLength(1);

      const events = await fast.events(id);
      expect(events).toContain('addon.provision_failed');
      expect(events).not.toContain('addon.provisioned');
      expect(await fast.configVars(dev.apiKey, app.name)).toEqual({});
    });
  });
});
