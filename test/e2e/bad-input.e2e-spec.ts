import request from 'supertest';
import { AttacheHarness } from '../support/attache-harness';

type Reply = { status: number; body: unknown; headers: Record<string, string> };

/**
 * DESIGN §4.1 error conventions for input the API must refuse: the right status, a body of exactly
 * string `id` and `message`, and no change to anything the caller owns.
 */
describe('bad input', () => {
  let attache: AttacheHarness;

  beforeAll(async () => {
    attache = await AttacheHarness.start();
  });

  afterAll(async () => {
    await attache?.stop();
  });

  /** A developer with one app (holding one plain config var) and a fresh published vendor. */
  async function setup() {
    const { vendor } = await attache.startVendor('bi');
    const dev = await attache.createAccount();
    const app = await attache.createApp(dev.apiKey);
    await attache.client(dev.apiKey).patch(`/apps/${app.name}/config-vars`).send({ GREETING: 'hello' }).expect(200);
    return { vendor, dev, app, c: attache.client(dev.apiKey) };
  }

  /** Everything the account owns, as one comparable value. */
  async function snapshot(accountId: string) {
    const result = await attache.pg.query(
      `SELECT
         (SELECT json_agg(json_build_object('name', a.name, 'updated', a.updated_at, 'deleted', a.deleted_at) ORDER BY a.id) FROM apps a WHERE a.owner_account_id = $1) AS apps,
         (SELECT count(*)::int FROM addons x JOIN apps a ON a.id = x.app_id WHERE a.owner_account_id = $1) AS addons,
         (SELECT count(*)::int FROM addon_attachments t JOIN apps a ON a.id = t.app_id WHERE a.owner_account_id = $1) AS attachments,
         (SELECT json_agg(json_build_object('name', v.name, 'value', v.value_sealed) ORDER BY v.name) FROM config_vars v JOIN apps a ON a.id = v.app_id WHERE a.owner_account_id = $1) AS vars,
         (SELECT count(*)::int FROM releases r JOIN apps a ON a.id = r.app_id WHERE a.owner_account_id = $1) AS releases,
         (SELECT count(*)::int FROM collaborators c JOIN apps a ON a.id = c.app_id WHERE a.owner_account_id = $1) AS collaborators,
         (SELECT count(*)::int FROM lifecycle_events e JOIN apps a ON a.id = e.app_id WHERE a.owner_account_id = $1) AS events`,
      [accountId],
    );
    return result.rows[0];
  }

  /**
   * Sends each bad request and checks the status, the error id, the `{id, message}` body shape, a
   * Request-Id, and that nothing the account owns changed.
   */
  async function expectRefused(
    accountId: string,
    cases: [label: string, send: () => PromiseLike<Reply>, status: number, id: string][],
    options: { allowResource?: boolean } = {},
  ) {
    for (const [label, send, status, id] of cases) {
      const before = await snapshot(accountId);
      const response = await send();
      const body = response.body as Record<string, unknown>;
      expect({ label, status: response.status, id: body.id }).toEqual({ label, status, id });
      const keys = Object.keys(body).filter((k) => !(options.allowResource && k === 'resource'));
      expect({ label, keys: keys.sort() }).toEqual({ label, keys: ['id', 'message'] });
      expect({ label, types: [typeof body.id, typeof body.message] }).toEqual({ label, types: ['string', 'string'] });
      expect((body.message as string).length).toBeGreaterThan(0);
      expect({ label, requestId: typeof response.headers['request-id'] }).toEqual({ label, requestId: 'string' });
      expect({ label, state: await snapshot(accountId) }).toEqual({ label, state: before });
    }
  }

  it('a malformed JSON body answers 400 bad_request', async () => {
    const { dev, app, c, vendor } = await setup();
    const json = (test: request.Test) => test.set('Content-Type', 'application/json');
    await expectRefused(dev.id, [
      ['create app', () => json(c.post('/apps')).send('{"name": '), 400, 'bad_request'],
      ['create add-on', () => json(c.post(`/apps/${app.name}/addons`)).send(`{"plan": "${vendor.slug}:basic",}`), 400, 'bad_request'],
      ['config vars', () => json(c.patch(`/apps/${app.name}/config-vars`)).send("{'GREETING': 'hi'}"), 400, 'bad_request'],
      ['bare null', () => json(c.post('/apps')).send('null'), 400, 'bad_request'],
      ['text body', () => c.post('/apps').set('Content-Type', 'text/plain').send('name=x'), 400, 'bad_request'],
    ]);
    expect(vendor.calls).toHaveLength(0);
  });

  it('does not echo a malformed body (which may hold a secret) back in the error', async () => {
    const { dev, app, c } = await setup();
    const response = await c.patch(`/apps/${app.name}/config-vars`).set('Content-Type', 'application/json').send('{"TOKEN": hunter2}');
    expect(response.status).toBe(400);
    expect(response.body.id).toBe('bad_request');
    expect(Object.keys(response.body).sort()).toEqual(['id', 'message']);
    // The parser's own message would quote the body; the answer must not echo a possible secret.
    expect(response.body.message).toBe('The request body is not valid JSON.');
    expect(JSON.stringify(response.body)).not.toContain('hunter2');
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({ GREETING: 'hello' });
  });

  it('an unknown service or plan answers 422 with the message the CLI keys on', async () => {
    const { dev, app, c, vendor } = await setup();
    const create = (plan: unknown) => () => c.post(`/apps/${app.name}/addons`).send({ plan });
    await expectRefused(dev.id, [
      ['unknown plan', create(`${vendor.slug}:platinum`), 422, 'invalid_params'],
      ['unknown plan by name object', create({ name: `${vendor.slug}:platinum` }), 422, 'invalid_params'],
      ['unknown service with plan', create('no-such-service:basic'), 422, 'invalid_params'],
      ['unknown service', create('no-such-service'), 422, 'invalid_params'],
    ]);
    for (const plan of [`${vendor.slug}:platinum`, 'no-such-service:basic', 'no-such-service']) {
      const response = await c.post(`/apps/${app.name}/addons`).send({ plan });
      expect(response.body.message).toMatch(/^Couldn't find either the add-on service or the add-on plan/);
      expect(response.body.message).toContain(plan);
    }
    expect(vendor.calls).toHaveLength(0);
  });

  it('invalid app names and add-on names answer 422', async () => {
    const { dev, app, c, vendor } = await setup();
    const created = await c.post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.state === 'provisioned');
    await expectRefused(dev.id, [
      ['upper case app', () => c.post('/apps').send({ name: 'My-App' }), 422, 'invalid_params'],
      ['underscore app', () => c.post('/apps').send({ name: 'my_app' }), 422, 'invalid_params'],
      ['short app', () => c.post('/apps').send({ name: 'ab' }), 422, 'invalid_params'],
      ['long app', () => c.post('/apps').send({ name: `a${'b'.repeat(30)}` }), 422, 'invalid_params'],
      ['leading dash app', () => c.post('/apps').send({ name: '-myapp' }), 422, 'invalid_params'],
      ['rename app', () => c.patch(`/apps/${app.name}`).send({ name: 'Not Valid' }), 422, 'invalid_params'],
      ['add-on name with digit first', () => c.post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:pro`, name: '1mail' }), 422, 'invalid_params'],
      ['add-on name with space', () => c.post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:pro`, name: 'my mail' }), 422, 'invalid_params'],
      ['add-on name too short', () => c.post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:pro`, name: 'm' }), 422, 'invalid_params'],
      ['rename add-on', () => c.patch(`/addons/${created.body.id}`).send({ name: 'mail/../x' }), 422, 'invalid_params'],
      ['invalid alias', () => c.post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:pro`, attachment: { name: '9LIVES' } }), 422, 'invalid_params'],
      ['invalid config var name', () => c.patch(`/apps/${app.name}/config-vars`).send({ '1ABC': 'x' }), 422, 'invalid_params'],
      ['invalid option name', () => c.post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:pro`, config: { 'a-b': 'x' } }), 422, 'invalid_params'],
    ]);
    expect((await c.get(`/addons/${created.body.id}`)).body.name).toBe(created.body.name);
    expect(vendor.calls.filter((call) => call.method === 'POST')).toHaveLength(1);
  });

  it('an add-on name already taken (by anyone, in any state) answers 409 name_taken and writes nothing', async () => {
    const { dev, app, c, vendor } = await setup();
    const name = `taken-${Date.now().toString(36)}`;
    const first = await c.post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic`, name });
    expect(first.status).toBe(201);
    await attache.waitForAddon(dev.apiKey, first.body.id, (a) => a.state === 'provisioned');
    const secondApp = await attache.createApp(dev.apiKey);
    const other = await attache.createAccount();
    const otherApp = await attache.createApp(other.apiKey);
    const again = () => c.post(`/apps/${secondApp.name}/addons`).send({ plan: `${vendor.slug}:pro`, name });
    await expectRefused(dev.id, [['same name, another app', again, 409, 'name_taken']]);
    await expectRefused(other.id, [['same name, another account', () => attache.client(other.apiKey).post(`/apps/${otherApp.name}/addons`).send({ plan: `${vendor.slug}:basic`, name }), 409, 'name_taken']]);
    await c.delete(`/apps/${app.name}/addons/${first.body.id}`).expect(200);
    await attache.waitForAddonGone(dev.apiKey, first.body.id);
    expect((await again()).status).toBe(409);
    expect(vendor.calls.filter((call) => call.method === 'POST')).toHaveLength(1);
  });

  it('a body over 100kb answers 413', async () => {
    const { dev, app, c } = await setup();
    await expectRefused(dev.id, [
      ['config vars', () => c.patch(`/apps/${app.name}/config-vars`).send({ GREETING: 'x'.repeat(150_000) }), 413, 'request_entity_too_large'],
      ['create app', () => c.post('/apps').send({ name: 'big-app', padding: 'y'.repeat(101 * 1024) }), 413, 'request_entity_too_large'],
    ]);
    // Just under the limit is fine.
    const fits = await c.patch(`/apps/${app.name}/config-vars`).send({ GREETING: 'z'.repeat(90_000) });
    expect(fits.status).toBe(200);
    expect((await attache.configVars(dev.apiKey, app.name)).GREETING).toHaveLength(90_000);
  });

  it('wrong types answer 422 invalid_params', async () => {
    const { dev, app, c, vendor } = await setup();
    const created = await c.post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.state === 'provisioned');
    const id = created.body.id as string;
    const addAddon = (body: unknown) => () => c.post(`/apps/${app.name}/addons`).send(body as object);
    await expectRefused(dev.id, [
      ['plan number', addAddon({ plan: 5 }), 422, 'invalid_params'],
      ['plan empty', addAddon({ plan: '' }), 422, 'invalid_params'],
      ['plan empty object', addAddon({ plan: {} }), 422, 'invalid_params'],
      ['plan missing', addAddon({}), 422, 'invalid_params'],
      ['name array', addAddon({ plan: `${vendor.slug}:pro`, name: [] }), 422, 'invalid_params'],
      ['attachment string', addAddon({ plan: `${vendor.slug}:pro`, attachment: 'X' }), 422, 'invalid_params'],
      ['config nested', addAddon({ plan: `${vendor.slug}:pro`, config: { size: { gb: 5 } } }), 422, 'invalid_params'],
      ['confirm number', addAddon({ plan: `${vendor.slug}:pro`, confirm: 5 }), 422, 'invalid_params'],
      ['app name array', () => c.post('/apps').send({ name: [] }), 422, 'invalid_params'],
      ['app region number', () => c.post('/apps').send({ region: 1 }), 422, 'invalid_params'],
      ['app body array', () => c.post('/apps').send([]), 422, 'invalid_params'],
      ['rename app number', () => c.patch(`/apps/${app.name}`).send({ name: 42 }), 422, 'invalid_params'],
      ['plan change number', () => c.patch(`/apps/${app.name}/addons/${id}`).send({ plan: 5 }), 422, 'invalid_params'],
      ['plan change nothing', () => c.patch(`/apps/${app.name}/addons/${id}`).send({}), 422, 'invalid_params'],
      ['force string', () => c.delete(`/apps/${app.name}/addons/${id}`).send({ force: 'yes' }), 422, 'invalid_params'],
      ['config var number', () => c.patch(`/apps/${app.name}/config-vars`).send({ GREETING: 5 }), 422, 'invalid_params'],
      ['config vars array', () => c.patch(`/apps/${app.name}/config-vars`).send(['GREETING']), 422, 'invalid_params'],
      ['collaborator number', () => c.post(`/apps/${app.name}/collaborators`).send({ user: 5 }), 422, 'invalid_params'],
      ['attach addon number', () => c.post('/addon-attachments').send({ addon: 5, app: app.name }), 422, 'invalid_params'],
      ['attach app missing', () => c.post('/addon-attachments').send({ addon: id }), 422, 'invalid_params'],
      ['resolve addon number', () => c.post('/actions/addons/resolve').send({ addon: 7 }), 422, 'invalid_params'],
    ]);
    const addon = await c.get(`/addons/${id}`);
    expect(addon.body).toMatchObject({ state: 'provisioned', plan: { name: `${vendor.slug}:basic` }, pending_plan: null });
    expect(vendor.calls.map((call) => call.method)).toEqual(['POST']);
  });

  it('a bad Range header answers 416', async () => {
    const { dev, app, c } = await setup();
    const ranged = (path: string, range: string) => () => c.get(path).set('Range', range);
    await expectRefused(dev.id, [
      ['unknown field', ranged('/apps', 'size ..'), 416, 'requested_range_not_satisfiable'],
      ['no dots', ranged('/apps', 'name abc'), 416, 'requested_range_not_satisfiable'],
      ['max zero', ranged('/apps', 'name ..; max=0'), 416, 'requested_range_not_satisfiable'],
      ['max text', ranged('/apps', 'name ..; max=lots'), 416, 'requested_range_not_satisfiable'],
      ['bad order', ranged('/apps', 'name ..; order=sideways'), 416, 'requested_range_not_satisfiable'],
      ['unknown option', ranged('/apps', 'name ..; limit=5'), 416, 'requested_range_not_satisfiable'],
      ['garbage', ranged(`/apps/${app.name}/releases`, ';;;'), 416, 'requested_range_not_satisfiable'],
      ['id that is not a uuid', ranged('/apps', 'id abc..'), 416, 'requested_range_not_satisfiable'],
      ['add-on id that is not a uuid', ranged('/addons', 'id ]abc..'), 416, 'requested_range_not_satisfiable'],
      ['version that is not a number', ranged(`/apps/${app.name}/releases`, 'version abc..'), 416, 'requested_range_not_satisfiable'],
      ['version out of range', ranged(`/apps/${app.name}/releases`, 'version 3000000000..'), 416, 'requested_range_not_satisfiable'],
    ]);
    // A good one still works.
    const good = await c.get(`/apps/${app.name}/releases`).set('Range', 'version 2..; max=1');
    expect(good.status).toBe(200);
    expect(good.body.map((r: { version: number }) => r.version)).toEqual([2]);
  });

  it('an unsupported API version in Accept answers 406; 3 and 3.* are fine', async () => {
    const { dev, c } = await setup();
    const accept = (value: string) => () => c.get('/apps').set('Accept', value);
    const create = (value: string) => () => c.post('/apps').set('Accept', value).send({});
    await expectRefused(dev.id, [
      ['version 2', accept('application/vnd.heroku+json; version=2'), 406, 'not_acceptable'],
      ['version 4', accept('application/vnd.heroku+json; version=4'), 406, 'not_acceptable'],
      ['version 2 on a write', create('application/vnd.heroku+json; version=2'), 406, 'not_acceptable'],
    ]);
    expect((await accept('application/vnd.heroku+json; version=3')()).status).toBe(200);
    expect((await accept('application/vnd.heroku+json; version=3.sdk')()).status).toBe(200);
  });

  it('NUL characters and out-of-range numbers in identifiers answer 404 or 422, never 500', async () => {
    const { dev, app, c, vendor } = await setup();
    await expectRefused(
      dev.id,
      [
        ['app', () => c.get('/apps/%00'), 404, 'not_found'],
        ['add-on', () => c.get('/addons/mail%00'), 404, 'not_found'],
        ['app add-on', () => c.get(`/apps/${app.name}/addons/x%00`), 404, 'not_found'],
        ['attachment by name', () => c.get(`/apps/${app.name}/addon-attachments/A%00`), 404, 'not_found'],
        ['service', () => attache.client().get('/addon-services/%00'), 404, 'not_found'],
        ['region', () => attache.client().get('/regions/%00'), 404, 'not_found'],
        ['release version too big', () => c.get(`/apps/${app.name}/releases/99999999999999999999`), 404, 'not_found'],
        ['release version over int', () => c.get(`/apps/${app.name}/releases/3000000000`), 404, 'not_found'],
        ['collaborator', () => c.post(`/apps/${app.name}/collaborators`).send({ user: 'a\u0000@example.test' }), 404, 'not_found'],
        ['attach', () => c.post('/addon-attachments').send({ addon: 'mail\u0000', app: app.name }), 404, 'not_found'],
        ['resolve', () => c.post('/actions/addons/resolve').send({ addon: 'mail\u0000' }), 404, 'not_found'],
        ['region on create', () => c.post('/apps').send({ region: 'us\u0000' }), 422, 'invalid_params'],
        ['plan', () => c.post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}\u0000:basic` }), 422, 'invalid_params'],
        ['option value', () => c.post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic`, config: { note: 'a\u0000b' } }), 422, 'invalid_params'],
      ],
      { allowResource: true },
    );
    expect(vendor.calls).toHaveLength(0);
  });
});
