import { randomBytes } from 'node:crypto';
import { manifestFor } from '@app/testing';
import { AttacheHarness } from '../support/attache-harness';

/** DESIGN §7: authorization per resource, for developers, collaborators, vendors and partner tokens. */
describe('authorization', () => {
  let attache: AttacheHarness;

  beforeAll(async () => {
    attache = await AttacheHarness.start();
  });

  afterAll(async () => {
    await attache?.stop();
  });

  // A password of its own, so one vendor's Basic credentials never work for another.
  const newVendor = () => attache.startVendor('az', {}, { password: `pw-${randomBytes(8).toString('hex')}` });

  /** An owner with an app and a provisioned add-on that is also shared with a second app of theirs. */
  async function victim() {
    const { vendor } = await newVendor();
    const owner = await attache.createAccount('owner');
    const app = await attache.createApp(owner.apiKey);
    const second = await attache.createApp(owner.apiKey);
    const created = await attache.client(owner.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    const addon = await attache.waitForAddon(owner.apiKey, created.body.id, (a) => a.state === 'provisioned');
    const shared = await attache.client(owner.apiKey).post('/addon-attachments').send({ addon: addon.id, app: second.name, name: 'SHARED' });
    expect(shared.status).toBe(201);
    return { vendor, owner, app, second, addon: { id: created.body.id as string, name: created.body.name as string }, attachmentId: shared.body.id as string };
  }

  const expectError = (response: { status: number; body: unknown }, status: number, id: string) => {
    expect({ status: response.status, body: response.body }).toMatchObject({ status, body: { id } });
    expect(Object.keys(response.body as object).sort()).toEqual(['id', 'message']);
    expect(typeof (response.body as { message: unknown }).message).toBe('string');
  };

  it('another account gets 403 on the app, its config vars, add-ons and attachments, and changes nothing', async () => {
    const { vendor, owner, app, second, addon, attachmentId } = await victim();
    const stranger = await attache.createAccount('stranger');
    const own = await attache.createApp(stranger.apiKey);
    const as = attache.client(stranger.apiKey);
    const configBefore = await attache.configVars(owner.apiKey, app.name);
    const callsBefore = vendor.calls.length;

    const attempts: [string, () => Promise<{ status: number; body: unknown }>][] = [
      ['GET app', () => as.get(`/apps/${app.name}`)],
      ['GET app by id', () => as.get(`/apps/${app.id}`)],
      ['PATCH app', () => as.patch(`/apps/${app.name}`).send({ name: `taken-${randomBytes(3).toString('hex')}` })],
      ['DELETE app', () => as.delete(`/apps/${app.name}`)],
      ['GET config', () => as.get(`/apps/${app.name}/config-vars`)],
      ['PATCH config', () => as.patch(`/apps/${app.name}/config-vars`).send({ EVIL: 'yes' })],
      ['GET releases', () => as.get(`/apps/${app.name}/releases`)],
      ['GET collaborators', () => as.get(`/apps/${app.name}/collaborators`)],
      ['POST collaborator', () => as.post(`/apps/${app.name}/collaborators`).send({ user: stranger.email })],
      ['GET app add-ons', () => as.get(`/apps/${app.name}/addons`)],
      ['POST app add-on', () => as.post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` })],
      ['GET app add-on', () => as.get(`/apps/${app.name}/addons/${addon.name}`)],
      ['PATCH app add-on', () => as.patch(`/apps/${app.name}/addons/${addon.name}`).send({ plan: `${vendor.slug}:pro` })],
      ['DELETE app add-on', () => as.delete(`/apps/${app.name}/addons/${addon.name}`)],
      ['GET add-on', () => as.get(`/addons/${addon.id}`)],
      ['GET add-on by name', () => as.get(`/addons/${addon.name}`)],
      ['PATCH add-on', () => as.patch(`/addons/${addon.id}`).send({ plan: `${vendor.slug}:pro` })],
      ['DELETE add-on', () => as.delete(`/addons/${addon.id}`).send({ force: true })],
      ['GET add-on config', () => as.get(`/addons/${addon.id}/config`)],
      ['GET add-on attachments', () => as.get(`/addons/${addon.id}/addon-attachments`)],
      ['GET app attachments', () => as.get(`/apps/${second.name}/addon-attachments`)],
      ['GET attachment', () => as.get(`/addon-attachments/${attachmentId}`)],
      ['GET app attachment', () => as.get(`/apps/${second.name}/addon-attachments/SHARED`)],
      ['DELETE attachment', () => as.delete(`/addon-attachments/${attachmentId}`)],
      ['DELETE app attachment', () => as.delete(`/apps/${second.name}/addon-attachments/SHARED`)],
      ['attach their add-on to my app', () => as.post('/addon-attachments').send({ addon: addon.id, app: own.name, name: 'STOLEN' })],
      ['attach their add-on by name', () => as.post('/addon-attachments').send({ addon: addon.name, app: own.name })],
    ];
    for (const [label, attempt] of attempts) {
      const response = await attempt();
      expect({ label, status: response.status, id: (response.body as { id?: string }).id }).toEqual({ label, status: 403, id: 'forbidden' });
      expect(Object.keys(response.body as object).sort()).toEqual(['id', 'message']);
    }

    // Lists and resolve actions do not reveal it either.
    expect((await as.get('/apps')).body.map((a: { name: string }) => a.name)).toEqual([own.name]);
    expect((await as.get('/addons')).body).toEqual([]);
    expect((await as.get('/addon-attachments')).body).toEqual([]);
    expect((await as.post('/actions/addons/resolve').send({ addon: addon.name })).status).toBe(404);
    expect((await as.post('/actions/addon-attachments/resolve').send({ addon_attachment: attachmentId })).status).toBe(404);

    // Nothing changed.
    const appNow = await attache.client(owner.apiKey).get(`/apps/${app.id}`);
    expect(appNow.body.name).toBe(app.name);
    expect(await attache.configVars(owner.apiKey, app.name)).toEqual(configBefore);
    expect(await attache.configVars(owner.apiKey, second.name)).toEqual({ SHARED_URL: `https://example.test/${addon.id}` });
    expect(await attache.configVars(stranger.apiKey, own.name)).toEqual({});
    const addonNow = await attache.client(owner.apiKey).get(`/addons/${addon.id}`);
    expect(addonNow.body).toMatchObject({ state: 'provisioned', plan: { name: `${vendor.slug}:basic` }, pending_plan: null });
    expect((await attache.client(owner.apiKey).get(`/addons/${addon.id}/addon-attachments`)).body).toHaveLength(2);
    expect((await attache.client(owner.apiKey).get(`/apps/${app.name}/collaborators`)).body).toEqual([]);
    expect((await attache.client(owner.apiKey).get(`/apps/${app.name}/addons`)).body).toHaveLength(1);
    expect(vendor.calls.length).toBe(callsBefore);
    const strangerAttachments = await attache.pg.query('SELECT count(*)::int AS n FROM addon_attachments t JOIN apps a ON a.id = t.app_id WHERE a.name = $1', [own.name]);
    expect(strangerAttachments.rows[0].n).toBe(0);
  });

  it('another account cannot share its own add-on into someone else’s app', async () => {
    const { owner, app } = await victim();
    const { vendor } = await newVendor();
    const stranger = await attache.createAccount('stranger');
    const own = await attache.createApp(stranger.apiKey);
    const created = await attache.client(stranger.apiKey).post(`/apps/${own.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    await attache.waitForAddon(stranger.apiKey, created.body.id, (a) => a.state === 'provisioned');

    const pushed = await attache.client(stranger.apiKey).post('/addon-attachments').send({ addon: created.body.id, app: app.name, name: 'INJECTED' });
    expectError(pushed, 403, 'forbidden');
    expect(Object.keys(await attache.configVars(owner.apiKey, app.name))).not.toContain('INJECTED_URL');
  });

  it('a collaborator can read config and create add-ons but cannot delete or rename the app or add collaborators', async () => {
    const { vendor } = await newVendor();
    const owner = await attache.createAccount('owner');
    const collaborator = await attache.createAccount('collab');
    const outsider = await attache.createAccount('outsider');
    const app = await attache.createApp(owner.apiKey);
    await attache.client(owner.apiKey).patch(`/apps/${app.name}/config-vars`).send({ GREETING: 'hello' }).expect(200);
    const as = attache.client(collaborator.apiKey);
    expectError(await as.get(`/apps/${app.name}/config-vars`), 403, 'forbidden');

    const added = await attache.client(owner.apiKey).post(`/apps/${app.name}/collaborators`).send({ user: collaborator.email });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ user: { id: collaborator.id, email: collaborator.email }, role: 'collaborator' });

    expect((await as.get('/apps')).body.map((a: { name: string }) => a.name)).toEqual([app.name]);
    const config = await as.get(`/apps/${app.name}/config-vars`);
    expect(config.status).toBe(200);
    expect(config.body).toEqual({ GREETING: 'hello' });

    const created = await as.post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ app: { name: app.name }, billing_entity: { name: app.name } });
    await attache.waitForAddon(collaborator.apiKey, created.body.id, (a) => a.state === 'provisioned');
    expect(await attache.configVars(owner.apiKey, app.name)).toEqual({ GREETING: 'hello', [vendor.configVar]: `https://example.test/${created.body.id}` });

    expectError(await as.delete(`/apps/${app.name}`), 403, 'forbidden');
    expectError(await as.patch(`/apps/${app.name}`).send({ name: `renamed-${randomBytes(3).toString('hex')}` }), 403, 'forbidden');
    expectError(await as.post(`/apps/${app.name}/collaborators`).send({ user: outsider.email }), 403, 'forbidden');
    const stillThere = await attache.client(owner.apiKey).get(`/apps/${app.name}`);
    expect(stillThere.status).toBe(200);
    expect(stillThere.body.name).toBe(app.name);
    const deleted = await attache.pg.query('SELECT deleted_at FROM apps WHERE id = $1', [app.id]);
    expect(deleted.rows[0].deleted_at).toBeNull();
    expect((await attache.client(owner.apiKey).get(`/apps/${app.name}/collaborators`)).body.map((c: { user: { email: string } }) => c.user.email)).toEqual([collaborator.email]);

    // Removed again, the collaborator is a stranger.
    await attache.client(owner.apiKey).delete(`/apps/${app.name}/collaborators/${collaborator.email}`).expect(200);
    expectError(await as.get(`/apps/${app.name}/config-vars`), 403, 'forbidden');
    expectError(await as.get(`/addons/${created.body.id}`), 403, 'forbidden');
  });

  it('a member of an app the add-on is only shared with can see and detach it, but not change or destroy it', async () => {
    const { vendor, owner, app, second, addon } = await victim();
    const member = await attache.createAccount('member');
    await attache.client(owner.apiKey).post(`/apps/${second.name}/collaborators`).send({ user: member.email }).expect(201);
    const as = attache.client(member.apiKey);

    expect((await as.get(`/addons/${addon.id}`)).status).toBe(200);
    expectError(await as.get(`/apps/${app.name}/config-vars`), 403, 'forbidden');
    expectError(await as.patch(`/addons/${addon.id}`).send({ plan: `${vendor.slug}:pro` }), 403, 'forbidden');
    expectError(await as.delete(`/addons/${addon.id}`).send({ force: true }), 403, 'forbidden');
    expect(vendor.callsFor(addon.id).map((c) => c.method)).toEqual(['POST']);

    const detached = await as.delete(`/apps/${second.name}/addon-attachments/SHARED`);
    expect(detached.status).toBe(200);
    expect(await attache.configVars(member.apiKey, second.name)).toEqual({});
    expect((await attache.client(owner.apiKey).get(`/addons/${addon.id}`)).body.state).toBe('provisioned');
  });

  it('a vendor cannot read or push another vendor’s manifest, with its API key or with HTTP Basic', async () => {
    const a = await newVendor();
    const b = await newVendor();
    const basic = (slug: string, password: string) => `Basic ${Buffer.from(`${slug}:${password}`).toString('base64')}`;

    const own = await attache.client(a.apiKey).get(`/api/v3/addons/${a.slug}/current_manifest`);
    expect(own.status).toBe(200);
    expect(own.body.contents.id).toBe(a.slug);
    const bBefore = await attache.client(b.apiKey).get(`/api/v3/addons/${b.slug}/current_manifest`);
    expect(bBefore.status).toBe(200);

    expectError(await attache.client(a.apiKey).get(`/api/v3/addons/${b.slug}/current_manifest`), 403, 'forbidden');
    expectError(await attache.client(a.apiKey).get(`/api/v3/addons/${b.slug}/manifests`), 403, 'forbidden');
    expectError(await attache.client(a.apiKey).get(`/api/v3/addons/${b.slug}/manifests/${bBefore.body.id}`), 403, 'forbidden');
    expectError(await attache.client(a.apiKey).post(`/api/v3/addons/${b.slug}/client-secret`), 403, 'forbidden');
    // Pushing B's slug pointed at A's servers would hijack B's provisioning.
    const hijack = manifestFor(b.vendor, { api: { production: { base_url: a.vendor.baseUrl, sso_url: `${a.vendor.url}/sso/login` } } });
    expectError(await attache.client(a.apiKey).post(`/api/v3/addons/${b.slug}/manifests`).send({ contents: hijack }), 403, 'forbidden');

    // HTTP Basic with A's manifest credentials reaches A's manifest only.
    const withBasic = (slug: string, auth: string) => attache.http().get(`/api/v3/addons/${slug}/current_manifest`).set('Authorization', auth);
    expect((await withBasic(a.slug, basic(a.slug, a.vendor.password))).status).toBe(200);
    expectError(await withBasic(b.slug, basic(a.slug, a.vendor.password)), 403, 'forbidden');
    expectError(await withBasic(b.slug, basic(b.slug, a.vendor.password)), 401, 'unauthorized');
    const basicPush = await attache.http().post(`/api/v3/addons/${b.slug}/manifests`).set('Authorization', basic(a.slug, a.vendor.password)).send({ contents: hijack });
    expectError(basicPush, 403, 'forbidden');

    const bAfter = await attache.client(b.apiKey).get(`/api/v3/addons/${b.slug}/current_manifest`);
    expect(bAfter.body.id).toBe(bBefore.body.id);
    expect(bAfter.body.contents.api.production.base_url).toBe(b.vendor.baseUrl);
    const history = await attache.client(b.apiKey).get(`/api/v3/addons/${b.slug}/manifests`);
    expect(history.body).toHaveLength(1);
  });

  it('throttles wrong HTTP Basic passwords per manifest id: past five even the right one waits, while the account key and other vendors go on', async () => {
    const a = await newVendor();
    const b = await newVendor();
    const withBasic = (slug: string, password: string) => attache.http().get(`/api/v3/addons/${slug}/current_manifest`).auth(slug, password);

    // A right password forgets the failures before it.
    for (let i = 0; i < 4; i++) expectError(await withBasic(b.slug, 'not-the-password'), 401, 'unauthorized');
    expect((await withBasic(b.slug, b.vendor.password)).status).toBe(200);
    for (let i = 0; i < 4; i++) expectError(await withBasic(b.slug, 'not-the-password'), 401, 'unauthorized');
    expect((await withBasic(b.slug, b.vendor.password)).status).toBe(200);

    for (let i = 0; i < 5; i++) expectError(await withBasic(a.slug, 'not-the-password'), 401, 'unauthorized');
    const locked = await withBasic(a.slug, a.vendor.password);
    expectError(locked, 429, 'rate_limit');
    expect(locked.body.message).toMatch(new RegExp(`^Too many failed logins as ${a.slug}\\. Try again in 15 minute\\(s\\)`));
    expect((await attache.client(a.apiKey).get(`/api/v3/addons/${a.slug}/current_manifest`)).status).toBe(200);
    expect((await withBasic(b.slug, b.vendor.password)).status).toBe(200);
  });

  it('a partner token reaches only its own add-on and no developer endpoint', async () => {
    const { vendor, clientSecret } = await newVendor();
    const dev = await attache.createAccount();
    const app = await attache.createApp(dev.apiKey);
    const otherApp = await attache.createApp(dev.apiKey);
    const other = await attache.client(dev.apiKey).post(`/apps/${otherApp.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    await attache.waitForAddon(dev.apiKey, other.body.id, (a) => a.state === 'provisioned');

    let grantCode = '';
    vendor.onProvision((call) => {
      grantCode = call.body.oauth_grant.code;
      return { status: 202, body: { id: 'async-az', message: 'Later.' } };
    });
    const mine = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
    await attache.waitForAddon(dev.apiKey, mine.body.id, (a) => a.provision_message === 'Later.');
    vendor.restoreDefaults();

    // Another vendor's client secret cannot redeem the grant, and the failed try does not use it up.
    const foreign = await newVendor();
    const stolen = await attache.http().post('/oauth/token').type('form').send({ grant_type: 'authorization_code', code: grantCode, client_secret: foreign.clientSecret });
    expect(stolen.status).toBe(422);
    expect(stolen.body.id).toBe('invalid_grant');
    const token = await attache.http().post('/oauth/token').type('form').send({ grant_type: 'authorization_code', code: grantCode, client_secret: clientSecret });
    expect(token.status).toBe(200);
    const partner = (path: string, method: 'get' | 'post' | 'patch' = 'get') =>
      attache.http()[method](path).set('Authorization', `Bearer ${token.body.access_token}`);

    const reached = await partner(`/addons/${mine.body.id}`);
    expect(reached.status).toBe(200);
    expect(reached.body.id).toBe(mine.body.id);

    expectError(await partner(`/addons/${other.body.id}`), 403, 'forbidden');
    expectError(await partner(`/addons/${other.body.id}/config`), 403, 'forbidden');
    expectError(await partner(`/addons/${other.body.id}/addon-attachments`), 403, 'forbidden');
    expectError(await partner(`/addons/${other.body.id}/config`, 'patch').send({ config: [{ name: vendor.configVar, value: 'https://evil.example' }] }), 403, 'forbidden');
    expectError(await partner(`/addons/${other.body.id}/actions/deprovision`, 'post'), 403, 'forbidden');
    expectError(await partner('/apps'), 403, 'forbidden');
    expectError(await partner('/account'), 403, 'forbidden');
    expectError(await partner('/addons'), 403, 'forbidden');
    expectError(await partner(`/apps/${app.name}/config-vars`), 403, 'forbidden');
    expectError(await partner(`/apps/${app.name}/addons`, 'post').send({ plan: `${vendor.slug}:basic` }), 403, 'forbidden');
    expectError(await partner(`/api/v3/addons/${vendor.slug}/current_manifest`), 403, 'forbidden');

    expect(await attache.configVars(dev.apiKey, otherApp.name)).toEqual({ [vendor.configVar]: `https://example.test/${other.body.id}` });
    expect((await attache.client(dev.apiKey).get(`/addons/${other.body.id}`)).body.state).toBe('provisioned');
    expect((await attache.client(dev.apiKey).get(`/apps/${app.name}/addons`)).body).toHaveLength(1);
  });

  it('a missing or wrong API key answers 401 unauthorized', async () => {
    const dev = await attache.createAccount();
    const app = await attache.createApp(dev.apiKey);
    const calls: [string, () => Promise<{ status: number; body: unknown }>][] = [
      ['no key', () => attache.client().get('/apps')],
      ['no key, app', () => attache.client().get(`/apps/${app.name}/config-vars`)],
      ['no key, create', () => attache.client().post('/apps').send({})],
      ['unknown key', () => attache.client(`atk_${randomBytes(20).toString('hex')}`).get('/apps')],
      ['garbage key', () => attache.client('not-a-key').get('/account')],
      ['key with a typo', () => attache.client(`${dev.apiKey.slice(0, -1)}x`).get(`/apps/${app.name}`)],
      ['forged partner token', () => attache.client('atp_forged').get('/addons')],
      ['basic on developer endpoint', () => attache.http().get('/apps').set('Authorization', `Basic ${Buffer.from(`${dev.email}:${dev.apiKey}`).toString('base64')}`)],
    ];
    for (const [label, call] of calls) {
      const response = await call();
      expect({ label, status: response.status, id: (response.body as { id?: string }).id }).toEqual({ label, status: 401, id: 'unauthorized' });
      expect(Object.keys(response.body as object).sort()).toEqual(['id', 'message']);
    }
    // A wrong key is refused even where no key is needed.
    expect((await attache.client('atk_wrong').get('/addon-services')).status).toBe(401);
    // The catalog is public without a key, and the right key works.
    expect((await attache.client().get('/addon-services')).status).toBe(200);
    expect((await attache.client(dev.apiKey).get('/apps')).status).toBe(200);
    const apps = await attache.pg.query('SELECT count(*)::int AS n FROM apps WHERE owner_account_id = $1', [dev.id]);
    expect(apps.rows[0].n).toBe(1);
  });
});
