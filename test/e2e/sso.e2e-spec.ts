import { createHash } from 'node:crypto';
import { AttacheHarness } from '../support/attache-harness';

const SALT = 'a-known-sso-salt-for-this-test';

/** The signed SSO form (reference §4): for members of an attached app only, with the vendor's salt. */
describe('single sign-on forms', () => {
  let attache: AttacheHarness;
  let slug: string;
  let ssoUrl: string;

  beforeAll(async () => {
    attache = await AttacheHarness.start();
    const started = await attache.startVendor('sso', { api: { sso_salt: SALT } });
    slug = started.slug;
    ssoUrl = `${started.vendor.url}/sso/login`;
  });

  afterAll(async () => {
    await attache?.stop();
  });

  it('signs a form for members of an app the add-on is attached to, and nothing for anyone else', async () => {
    const owner = await attache.createAccount('sso-owner');
    const app = await attache.createApp(owner.apiKey);
    const created = await attache.client(owner.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${slug}:basic` });
    await attache.waitForAddon(owner.apiKey, created.body.id, (a) => a.state === 'provisioned');

    const before = Math.floor(Date.now() / 1000);
    const form = await attache.client(owner.apiKey).get(`/addons/${created.body.name}/sso`);
    expect(form.status).toBe(200);
    expect(form.body).toMatchObject({
      method: 'post',
      action: ssoUrl,
      params: { resource_id: created.body.id, email: owner.email, user_id: owner.id, app: app.name, context_app: app.name },
    });
    const { timestamp, resource_token } = form.body.params as { timestamp: string; resource_token: string };
    expect(Number(timestamp)).toBeGreaterThanOrEqual(before);
    expect(resource_token).toBe(createHash('sha1').update(`${created.body.id}:${SALT}:${timestamp}`).digest('hex'));

    // Shared with another app whose only member is someone else: they get a form naming their app.
    const other = await attache.createAccount('sso-other');
    const otherApp = await attache.createApp(other.apiKey);
    expect((await attache.client(other.apiKey).post(`/apps/${otherApp.name}/collaborators`).send({ user: owner.email })).status).toBe(201);
    expect((await attache.client(owner.apiKey).post('/addon-attachments').send({ addon: created.body.id, app: otherApp.name })).status).toBe(201);
    const shared = await attache.client(other.apiKey).get(`/apps/${otherApp.name}/addons/${created.body.id}/sso`);
    expect(shared.status).toBe(200);
    expect(shared.body.params).toMatchObject({ email: other.email, app: app.name, context_app: otherApp.name });

    // Everyone else: 403, nothing signed.
    const stranger = await attache.createAccount('sso-stranger');
    const refused = await attache.client(stranger.apiKey).get(`/addons/${created.body.id}/sso`);
    expect(refused.status).toBe(403);
    expect(Object.keys(refused.body).sort()).toEqual(['id', 'message']);
    expect((await attache.client(stranger.apiKey).get(`/apps/${otherApp.name}/addons/${created.body.id}/sso`)).status).toBe(403);
    // An app the add-on is not attached to is no context for it.
    const unrelated = await attache.createApp(owner.apiKey);
    expect((await attache.client(owner.apiKey).get(`/apps/${unrelated.name}/addons/${created.body.id}/sso`)).status).toBe(404);
  });
});
