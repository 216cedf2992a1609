import { randomBytes } from 'node:crypto';
import { ScriptedVendor } from '@app/testing';
import { ACCEPT, AttacheHarness } from '../support/attache-harness';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const suffix = () => randomBytes(3).toString('hex');

/** DESIGN §4.1 and reference heroku-cli-client §2: the conventions every Platform API answer follows. */
describe('Platform API conventions', () => {
  let attache: AttacheHarness;
  let vendor: ScriptedVendor;
  let dev: { apiKey: string; email: string; id: string };

  beforeAll(async () => {
    attache = await AttacheHarness.start();
    ({ vendor } = await attache.startVendor('pa'));
    dev = await attache.createAccount();
  });

  afterAll(async () => {
    await attache?.stop();
  });

  async function provision(apiKey: string, app: string, body: Record<string, unknown> = { plan: `${vendor.slug}:basic` }) {
    const created = await attache.client(apiKey).post(`/apps/${app}/addons`).send(body);
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
    await attache.waitForAddon(apiKey, created.body.id, (a) => a.state === 'provisioned');
    return { id: created.body.id as string, name: created.body.name as string };
  }

  describe('Request-Id', () => {
    it('is a fresh uuid on every response: success, client errors, anonymous reads and unknown routes', async () => {
      const responses = await Promise.all([
        attache.client(dev.apiKey).get('/account'),
        attache.client(dev.apiKey).get(`/apps/no-such-app-${suffix()}`),
        attache.client('atk_not-a-real-key').get('/account'),
        attache.client().get('/regions'),
        attache.http().get('/no/such/route'),
        attache.http().get('/apps').set('Accept', 'application/vnd.heroku+json; version=2'),
        attache.client(dev.apiKey).post('/apps').set('Content-Type', 'application/json').send('{"name": '),
      ]);
      expect(responses.map((r) => r.status)).toEqual([200, 404, 401, 200, 404, 406, 400]);
      const ids = responses.map((r) => r.headers['request-id']);
      for (const id of ids) expect(id).toMatch(UUID);
      expect(new Set(ids).size).toBe(ids.length);
      // Error bodies keep Heroku's shape whatever produced them.
      expect(responses[1].body).toMatchObject({ id: 'not_found', resource: 'app' });
      expect(responses[2].body).toMatchObject({ id: 'unauthorized' });
      expect(responses[5].body).toMatchObject({ id: 'not_acceptable' });
      expect(responses[6].body).toMatchObject({ id: 'bad_request' });
    });
  });

  describe('Accept header', () => {
    it('serves version=3.sdk (the CLI sends it for add-ons, plans and resolve) like version=3', async () => {
      const sdk = 'application/vnd.heroku+json; version=3.sdk';
      const plans = await attache.http().get(`/addon-services/${vendor.slug}/plans`).set('Accept', sdk).set('Authorization', `Bearer ${dev.apiKey}`);
      expect(plans.status).toBe(200);
      expect((plans.body as { name: string }[]).map((p) => p.name).sort()).toEqual([`${vendor.slug}:basic`, `${vendor.slug}:pro`]);
      const account = await attache.http().get('/account').set('Accept', sdk).set('Authorization', `Bearer ${dev.apiKey}`);
      expect(account.status).toBe(200);
      expect(account.body).toMatchObject({ id: dev.id, email: dev.email });
      // Other major versions are refused, so the tolerance above is a real decision.
      const v2 = await attache.http().get('/account').set('Accept', 'application/vnd.heroku+json; version=2').set('Authorization', `Bearer ${dev.apiKey}`);
      expect(v2.status).toBe(406);
    });
  });

  describe('RateLimit-Remaining', () => {
    it('decreases by one per request of the same account', async () => {
      const me = await attache.createAccount();
      const first = await attache.client(me.apiKey).get('/account');
      const second = await attache.client(me.apiKey).get('/apps');
      const third = await attache.client(me.apiKey).get(`/apps/nope-${suffix()}`);
      const remaining = [first, second, third].map((r) => Number(r.headers['ratelimit-remaining']));
      expect(remaining[0]).toBe(100_000 - 1);
      expect(remaining).toEqual([remaining[0], remaining[0] - 1, remaining[0] - 2]);
    });
  });

  describe('pagination of GET /apps', () => {
    it('answers 206 with Next-Range, and following Next-Range yields every app exactly once in name order', async () => {
      const owner = await attache.createAccount();
      const base = `pg-${suffix()}`;
      const names = ['e', 'b', 'd', 'a', 'c'].map((letter) => `${base}-${letter}`);
      for (const name of names) await attache.createApp(owner.apiKey, name);
      // Someone else's app never shows up in the list.
      await attache.createApp(dev.apiKey, `${base}-0`);

      const pages: { status: number; names: string[]; next?: string }[] = [];
      let range: string | undefined = 'name ..; max=2';
      while (range !== undefined && pages.length < 10) {
        const response = await attache.client(owner.apiKey).get('/apps').set('Range', range);
        expect(response.headers['accept-ranges']).toBe('name, id');
        pages.push({ status: response.status, names: (response.body as { name: string }[]).map((a) => a.name), next: response.headers['next-range'] });
        range = response.headers['next-range'] as string | undefined;
      }
      expect(pages.map((p) => p.status)).toEqual([206, 206, 200]);
      expect(pages.map((p) => p.names.length)).toEqual([2, 2, 1]);
      expect(pages[0].next).toBe(`name ]${base}-b..; max=2, order=asc`);
      expect(pages.flatMap((p) => p.names)).toEqual([...names].sort());

      const all = await attache.client(owner.apiKey).get('/apps');
      expect(all.status).toBe(200);
      expect(all.headers['next-range']).toBeUndefined();
      expect((all.body as { name: string }[]).map((a) => a.name)).toEqual([...names].sort());
    });
  });

  describe('releases and config vars', () => {
    it('starts every app at v1, cuts one release per config change, and Range order=desc, max=1 returns the newest', async () => {
      const app = await attache.createApp(dev.apiKey);
      const initial = await attache.client(dev.apiKey).get(`/apps/${app.name}/releases`);
      expect(initial.status).toBe(200);
      expect(initial.body).toHaveLength(1);
      expect(initial.body[0]).toMatchObject({ version: 1, current: true, status: 'succeeded', app: { id: app.id, name: app.name } });

      const set = await attache.client(dev.apiKey).patch(`/apps/${app.name}/config-vars`).send({ GREETING: 'hello', COLOUR: 'blue' });
      expect(set.status).toBe(200);
      expect(set.body).toEqual({ COLOUR: 'blue', GREETING: 'hello' });
      expect((await attache.releases(dev.apiKey, app.name)).map((r) => r.version)).toEqual([2, 1]);

      // One PATCH that sets one var and unsets another is one release.
      const mixed = await attache.client(dev.apiKey).patch(`/apps/${app.name}/config-vars`).send({ GREETING: null, SIZE: 'large' });
      expect(mixed.status).toBe(200);
      expect(mixed.body).toEqual({ COLOUR: 'blue', SIZE: 'large' });
      expect(await attache.configVars(dev.apiKey, app.name)).toEqual({ COLOUR: 'blue', SIZE: 'large' });

      const newest = await attache.client(dev.apiKey).get(`/apps/${app.name}/releases`).set('Range', 'version ..; max=1, order=desc');
      expect(newest.status).toBe(206);
      expect(newest.headers['next-range']).toBe('version ]3..; max=1, order=desc');
      expect(newest.body).toHaveLength(1);
      expect(newest.body[0]).toMatchObject({ version: 3, current: true });
      expect(newest.body[0].description).toContain('SIZE');
      expect(newest.body[0].description).toContain('GREETING');

      const one = await attache.client(dev.apiKey).get(`/apps/${app.name}/releases/3`);
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({ version: 3, current: true });
      expect((await attache.client(dev.apiKey).get(`/apps/${app.name}/releases/${initial.body[0].id}`)).body).toMatchObject({ version: 1, current: false });

      const all = await attache.releases(dev.apiKey, app.name);
      expect(all.map((r) => [r.version, r.current])).toEqual([
        [3, true],
        [2, false],
        [1, false],
      ]);

      // Unsetting the last vars empties the map, in another release.
      const cleared = await attache.client(dev.apiKey).patch(`/apps/${app.name}/config-vars`).send({ COLOUR: null, SIZE: null });
      expect(cleared.status).toBe(200);
      expect(cleared.body).toEqual({});
      expect((await attache.releases(dev.apiKey, app.name))[0].version).toBe(4);
    });

    it('refuses (422) to change a var an add-on attachment owns, and changes nothing', async () => {
      const app = await attache.createApp(dev.apiKey);
      const addon = await provision(dev.apiKey, app.name);
      const before = await attache.configVars(dev.apiKey, app.name);
      expect(before).toEqual({ [vendor.configVar]: `https://example.test/${addon.id}` });
      const releasesBefore = (await attache.releases(dev.apiKey, app.name)).length;

      for (const change of [{ [vendor.configVar]: 'https://evil.example' }, { [vendor.configVar]: null }, { OTHER: 'x', [vendor.configVar]: 'y' }]) {
        const refused = await attache.client(dev.apiKey).patch(`/apps/${app.name}/config-vars`).send(change);
        expect(refused.status).toBe(422);
        expect(refused.body.id).toBe('invalid_params');
        expect(refused.body.message).toContain(vendor.configVar);
      }
      expect(await attache.configVars(dev.apiKey, app.name)).toEqual(before);
      expect(await attache.releases(dev.apiKey, app.name)).toHaveLength(releasesBefore);
    });
  });

  describe('apps', () => {
    it('renames an app: the new name answers with the same id and config, the old name is 404', async () => {
      const oldName = `ren-${suffix()}-a`;
      const newName = `ren-${suffix()}-b`;
      const app = await attache.createApp(dev.apiKey, oldName);
      await attache.client(dev.apiKey).patch(`/apps/${oldName}/config-vars`).send({ KEEP: 'me' });

      const renamed = await attache.client(dev.apiKey).patch(`/apps/${oldName}`).send({ name: newName });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({ id: app.id, name: newName });

      const gone = await attache.client(dev.apiKey).get(`/apps/${oldName}`);
      expect(gone.status).toBe(404);
      expect(gone.body).toMatchObject({ id: 'not_found', resource: 'app' });
      expect((await attache.client(dev.apiKey).get(`/apps/${oldName}/config-vars`)).status).toBe(404);

      const found = await attache.client(dev.apiKey).get(`/apps/${newName}`);
      expect(found.status).toBe(200);
      expect(found.body).toMatchObject({ id: app.id, name: newName });
      expect(await attache.configVars(dev.apiKey, newName)).toEqual({ KEEP: 'me' });
      expect((await attache.client(dev.apiKey).get(`/apps/${app.id}`)).body.name).toBe(newName);
      // The old name is free again.
      expect((await attache.client(dev.apiKey).post('/apps').send({ name: oldName })).status).toBe(201);
    });

    it('deleting an app deprovisions the add-ons it owns and detaches the ones shared into it', async () => {
      const doomed = await attache.createApp(dev.apiKey);
      const survivor = await attache.createApp(dev.apiKey);
      const owned = await provision(dev.apiKey, doomed.name);
      const shared = await provision(dev.apiKey, survivor.name);
      const attached = await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: shared.id, app: doomed.name, name: 'FROM_SURVIVOR' });
      expect(attached.status).toBe(201);
      expect(await attache.configVars(dev.apiKey, doomed.name)).toEqual({
        [vendor.configVar]: `https://example.test/${owned.id}`,
        FROM_SURVIVOR_URL: `https://example.test/${shared.id}`,
      });

      const deleted = await attache.client(dev.apiKey).delete(`/apps/${doomed.name}`);
      expect(deleted.status).toBe(200);
      expect(deleted.body).toMatchObject({ id: doomed.id, name: doomed.name });

      await vendor.waitForCalls((calls) => calls.some((c) => c.method === 'DELETE' && c.uuid === owned.id));
      await attache.waitForAddonGone(dev.apiKey, owned.id);
      expect((await attache.client(dev.apiKey).get(`/apps/${doomed.name}`)).status).toBe(404);

      // The shared add-on lives on, attached to its own app only, and was never deprovisioned.
      const still = await attache.client(dev.apiKey).get(`/addons/${shared.id}`);
      expect(still.status).toBe(200);
      expect(still.body).toMatchObject({ state: 'provisioned', app: { name: survivor.name } });
      const attachments = await attache.client(dev.apiKey).get(`/addons/${shared.id}/addon-attachments`);
      expect((attachments.body as { app: { name: string } }[]).map((a) => a.app.name)).toEqual([survivor.name]);
      expect(await attache.configVars(dev.apiKey, survivor.name)).toEqual({ [vendor.configVar]: `https://example.test/${shared.id}` });
      expect(vendor.callsFor(shared.id).map((c) => c.method)).toEqual(['POST']);
      const rows = await attache.pg.query('SELECT count(*)::int AS n FROM addon_attachments WHERE app_id = $1', [doomed.id]);
      expect(rows.rows[0].n).toBe(0);
    });
  });

  describe('catalog', () => {
    it('is readable without Authorization: services, plans and regions', async () => {
      const services = await attache.http().get('/addon-services').set('Accept', ACCEPT);
      expect(services.status).toBe(200);
      const mine = (services.body as { name: string }[]).find((s) => s.name === vendor.slug);
      expect(mine).toMatchObject({ name: vendor.slug, supports_sharing: true, state: 'ga' });

      const plans = await attache.http().get(`/addon-services/${vendor.slug}/plans`).set('Accept', ACCEPT);
      expect(plans.status).toBe(200);
      const byName = Object.fromEntries((plans.body as { name: string }[]).map((p) => [p.name, p]));
      expect(byName[`${vendor.slug}:basic`]).toMatchObject({ default: true, price: { cents: 500, unit: 'month' }, addon_service: { name: vendor.slug } });
      expect(byName[`${vendor.slug}:pro`]).toMatchObject({ default: false, price: { cents: 2500, unit: 'month' } });

      const regions = await attache.http().get('/regions').set('Accept', ACCEPT);
      expect(regions.status).toBe(200);
      expect((regions.body as { name: string }[]).map((r) => r.name)).toEqual(expect.arrayContaining(['us', 'eu']));

      // Apps are not anonymous resources.
      const apps = await attache.http().get('/apps').set('Accept', ACCEPT);
      expect(apps.status).toBe(401);
      expect(apps.body).toMatchObject({ id: 'unauthorized' });
    });

    it('refuses a bad API key on a catalog read (401) instead of treating the caller as anonymous', async () => {
      for (const path of ['/addon-services', `/addon-services/${vendor.slug}/plans`]) {
        const forged = await attache.http().get(path).set('Accept', ACCEPT).set('Authorization', 'Bearer atk_forged');
        expect({ path, status: forged.status, id: forged.body.id }).toEqual({ path, status: 401, id: 'unauthorized' });
      }
    });
  });

  describe('resolve actions', () => {
    let owner: { apiKey: string };
    let billing: { id: string; name: string };
    let other: { id: string; name: string };
    let addon: { id: string; name: string };

    beforeAll(async () => {
      owner = await attache.createAccount();
      billing = await attache.createApp(owner.apiKey);
      other = await attache.createApp(owner.apiKey);
      addon = await provision(owner.apiKey, billing.name);
      const shared = await attache.client(owner.apiKey).post('/addon-attachments').send({ addon: addon.name, app: other.name, name: 'SHARED_NOTES' });
      expect(shared.status).toBe(201);
    });

    const resolveAddon = (body: Record<string, unknown>, apiKey = owner.apiKey) =>
      attache.client(apiKey).post('/actions/addons/resolve').set('Accept', 'application/vnd.heroku+json; version=3.sdk').send(body);
    const resolveAttachment = (body: Record<string, unknown>, apiKey = owner.apiKey) =>
      attache.client(apiKey).post('/actions/addon-attachments/resolve').set('Accept', 'application/vnd.heroku+json; version=3.sdk').send(body);

    it('resolves add-ons by name or id, by attachment name with the app, by app::ATTACHMENT and by service on an app', async () => {
      const cases: Record<string, unknown>[] = [
        { addon: addon.name, app: null },
        { addon: addon.id, app: null },
        { addon: vendor.configVarPrefix, app: billing.name },
        { addon: 'SHARED_NOTES', app: other.name },
        { addon: 'shared_notes', app: other.name },
        { addon: `${other.name}::SHARED_NOTES`, app: null },
        { addon: `${billing.name}::${vendor.configVarPrefix}` },
        { addon: vendor.slug, app: billing.name },
        { addon: vendor.slug, app: other.name },
        { addon: `${vendor.slug}:basic`, app: billing.name },
        { addon: addon.name, app: null, addon_service: vendor.slug },
      ];
      for (const body of cases) {
        const response = await resolveAddon(body);
        expect({ body, status: response.status }).toEqual({ body, status: 200 });
        expect(Array.isArray(response.body)).toBe(true);
        expect(response.body).toHaveLength(1);
        expect(response.body[0]).toMatchObject({ id: addon.id, name: addon.name, app: { name: billing.name }, addon_service: { name: vendor.slug } });
      }
    });

    it('answers 404 with resource add_on when nothing matches, or when the caller may not see it', async () => {
      const stranger = await attache.createAccount();
      const strangerApp = await attache.createApp(stranger.apiKey);
      const cases: [Record<string, unknown>, string][] = [
        [{ addon: `no-such-addon-${suffix()}`, app: null }, owner.apiKey],
        [{ addon: 'NOT_ATTACHED', app: billing.name }, owner.apiKey],
        [{ addon: addon.name, app: null, addon_service: 'some-other-service' }, owner.apiKey],
        [{ addon: addon.name, app: null }, stranger.apiKey],
        [{ addon: vendor.configVarPrefix, app: strangerApp.name }, stranger.apiKey],
      ];
      for (const [body, apiKey] of cases) {
        const response = await resolveAddon(body, apiKey);
        expect({ body, status: response.status }).toEqual({ body, status: 404 });
        expect(response.body).toMatchObject({ id: 'not_found', resource: 'add_on' });
        expect(typeof response.body.message).toBe('string');
      }
    });

    it('resolves attachments by name on an app, by app::NAME, by id, and by add-on (all its attachments)', async () => {
      const onOther = await resolveAttachment({ addon_attachment: 'SHARED_NOTES', app: other.name });
      expect(onOther.status).toBe(200);
      expect(onOther.body).toHaveLength(1);
      expect(onOther.body[0]).toMatchObject({ name: 'SHARED_NOTES', app: { name: other.name }, addon: { id: addon.id, app: { name: billing.name } }, config_vars: ['SHARED_NOTES_URL'] });

      const qualified = await resolveAttachment({ addon_attachment: `${billing.name}::${vendor.configVarPrefix}`, app: null });
      expect(qualified.status).toBe(200);
      expect(qualified.body).toHaveLength(1);
      expect(qualified.body[0]).toMatchObject({ name: vendor.configVarPrefix, app: { name: billing.name } });

      const byId = await resolveAttachment({ addon_attachment: onOther.body[0].id, app: null });
      expect(byId.status).toBe(200);
      expect(byId.body.map((a: { id: string }) => a.id)).toEqual([onOther.body[0].id]);

      const byAddon = await resolveAttachment({ addon_attachment: addon.name, app: null });
      expect(byAddon.status).toBe(200);
      expect((byAddon.body as { app: { name: string } }[]).map((a) => a.app.name).sort()).toEqual([billing.name, other.name].sort());

      const byAddonOnApp = await resolveAttachment({ addon_attachment: addon.name, app: other.name });
      expect(byAddonOnApp.status).toBe(200);
      expect(byAddonOnApp.body.map((a: { name: string }) => a.name)).toEqual(['SHARED_NOTES']);

      for (const body of [
        { addon_attachment: `NOPE_${suffix().toUpperCase()}`, app: billing.name },
        { addon_attachment: 'SHARED_NOTES', app: billing.name },
        { addon_attachment: `no-such-addon-${suffix()}`, app: null },
      ]) {
        const missing = await resolveAttachment(body);
        expect({ body, status: missing.status }).toEqual({ body, status: 404 });
        expect(missing.body).toMatchObject({ id: 'not_found', resource: 'add_on attachment' });
      }
    });
  });
});

/** Heroku's per-account budget, shrunk to five requests an hour so it can be spent in a test. */
describe('Platform API rate limit', () => {
  let attache: AttacheHarness;

  beforeAll(async () => {
    attache = await AttacheHarness.start({ env: { RATE_LIMIT_PER_HOUR: '5' }, worker: false });
  });

  afterAll(async () => {
    await attache?.stop();
  });

  it('counts down RateLimit-Remaining, answers the sixth request 429 rate_limit, and leaves other accounts alone', async () => {
    const spender = await attache.createAccount();
    const bystander = await attache.createAccount();

    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await attache.client(spender.apiKey).get(i % 2 === 0 ? '/account' : '/apps');
      expect(response.status).toBe(200);
      remaining.push(Number(response.headers['ratelimit-remaining']));
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0]);

    const limited = await attache.client(spender.apiKey).get('/account');
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ id: 'rate_limit' });
    expect(typeof limited.body.message).toBe('string');
    expect(limited.headers['ratelimit-remaining']).toBe('0');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['request-id']).toMatch(UUID);
    // Still limited on another route: the budget is the account's, not the route's.
    expect((await attache.client(spender.apiKey).post('/apps').send({})).status).toBe(429);
    expect((await attache.pg.query('SELECT count(*)::int AS n FROM apps WHERE owner_account_id = $1', [spender.id])).rows[0].n).toBe(0);

    const other = await attache.client(bystander.apiKey).get('/account');
    expect(other.status).toBe(200);
    expect(other.headers['ratelimit-remaining']).toBe('4');
  });
});
