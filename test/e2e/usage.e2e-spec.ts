import { AttacheHarness } from '../support/attache-harness';

/**
 * Live usage over the API (DESIGN §6): what an app's owner and an account are being billed this
 * month, up to the moment of the request. The arithmetic is covered with a fixed clock in
 * libs/persistence/src/repositories/usage-reports.int-spec.ts; this is the HTTP surface.
 */
describe('usage reports', () => {
  let attache: AttacheHarness;
  let slug: string;

  beforeAll(async () => {
    attache = await AttacheHarness.start();
    ({ slug } = await attache.startVendor('metered'));
  });

  afterAll(async () => {
    await attache?.stop();
  });

  it('shows the owner each add-on the app owns, its plan and seconds so far, and the account the sum over its apps', async () => {
    const dev = await attache.createAccount('usage-owner');
    const app = await attache.createApp(dev.apiKey);
    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${slug}:basic` });
    expect(created.status).toBe(201);
    await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.state === 'provisioned');
    await new Promise((r) => setTimeout(r, 1_100));

    const usage = await attache.client(dev.apiKey).get(`/apps/${app.name}/usage`);
    expect(usage.status).toBe(200);
    const now = new Date();
    const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    expect(usage.body.period).toEqual({ start: monthStart.toISOString(), end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString() });
    expect(usage.body.lines).toEqual([
      {
        addon: { id: created.body.id, name: created.body.name },
        app: { id: app.id, name: app.name },
        plan: { id: expect.any(String), name: `${slug}:basic` },
        seconds: expect.any(Number),
        dimension: null,
        quantity: null,
        unit_price_cents: 500,
        cents: 0,
      },
    ]);
    expect(usage.body.lines[0].seconds).toBeGreaterThanOrEqual(1);
    expect(usage.body.total_cents).toBe(0);

    const account = await attache.client(dev.apiKey).get('/account/usage');
    expect(account.status).toBe(200);
    expect(account.body.lines.map((l: { addon: { id: string } }) => l.addon.id)).toEqual([created.body.id]);
  });

  it('refuses an app’s bill to anyone but its owner', async () => {
    const owner = await attache.createAccount('usage-a');
    const other = await attache.createAccount('usage-b');
    const app = await attache.createApp(owner.apiKey);
    const response = await attache.client(other.apiKey).get(`/apps/${app.name}/usage`);
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ id: 'forbidden', message: expect.any(String) });
    expect((await attache.client(owner.apiKey).get('/apps/no-such-app/usage')).status).toBe(404);
    expect((await attache.client(other.apiKey).get('/account/usage')).body).toMatchObject({ lines: [], total_cents: 0 });
  });
});
