import { AttacheHarness } from '../support/attache-harness';

/** Teams over the Platform API: members, team apps, access, transfers and the team's bill. */
describe('teams', () => {
  let attache: AttacheHarness;
  let slug: string;

  beforeAll(async () => {
    attache = await AttacheHarness.start();
    ({ slug } = await attache.startVendor('teamed'));
  });

  afterAll(async () => {
    await attache?.stop();
  });

  it('lets members use the team’s apps, admins manage members, and keeps one admin', async () => {
    const admin = await attache.createAccount('team-admin');
    const member = await attache.createAccount('team-member');
    const outsider = await attache.createAccount('team-outsider');
    const as = attache.client(admin.apiKey);
    const name = `t-${Date.now().toString(36)}`;

    const created = await as.post('/teams').send({ name });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, role: 'admin' });
    expect((await as.post('/teams').send({ name })).status).toBe(409);
    expect((await as.post('/teams').send({ name: 'No Spaces' })).body).toMatchObject({ id: 'invalid_params' });

    const added = await as.put(`/teams/${name}/members`).send({ email: member.email, role: 'member' });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ email: member.email, role: 'member' });
    expect((await attache.client(member.apiKey).put(`/teams/${name}/members`).send({ email: outsider.email, role: 'admin' })).status).toBe(403);
    const demoteLast = await as.put(`/teams/${name}/members`).send({ email: admin.email, role: 'member' });
    expect({ status: demoteLast.status, id: demoteLast.body.id }).toEqual({ status: 422, id: 'last_admin' });

    const app = await attache.client(member.apiKey).post('/teams/apps').send({ team: name });
    expect(app.status).toBe(201);
    expect(app.body.team).toEqual({ id: created.body.id, name });
    // Members and admins use it; outsiders do not see it; only admins may delete or rename it.
    expect((await as.get(`/apps/${app.body.name}`)).status).toBe(200);
    expect((await attache.client(outsider.apiKey).get(`/apps/${app.body.name}`)).status).toBe(403);
    expect((await attache.client(member.apiKey).patch(`/apps/${app.body.name}`).send({ name: `${app.body.name}-x` })).status).toBe(403);
    const addon = await attache.client(member.apiKey).post(`/apps/${app.body.name}/addons`).send({ plan: `${slug}:basic` });
    expect(addon.status).toBe(201);
    expect((await attache.client(member.apiKey).get(`/teams/${name}/apps`)).body.map((a: { name: string }) => a.name)).toEqual([app.body.name]);
    expect((await attache.client(outsider.apiKey).get(`/teams/${name}`)).status).toBe(403);

    // The member leaves: the app is out of reach.
    expect((await attache.client(member.apiKey).delete(`/teams/${name}/members/${member.email}`)).status).toBe(200);
    expect((await attache.client(member.apiKey).get(`/apps/${app.body.name}`)).status).toBe(403);
  });

  it('transfers a personal app to a team and back; the team’s bill holds its add-ons while it owns them', async () => {
    const dev = await attache.createAccount('team-transfer');
    const as = attache.client(dev.apiKey);
    const name = `tt-${Date.now().toString(36)}`;
    expect((await as.post('/teams').send({ name })).status).toBe(201);
    const app = await attache.createApp(dev.apiKey);
    const addon = await as.post(`/apps/${app.name}/addons`).send({ plan: `${slug}:basic` });
    await attache.waitForAddon(dev.apiKey, addon.body.id, (a) => a.state === 'provisioned');
    await new Promise((r) => setTimeout(r, 1_100));

    const moved = await as.patch(`/teams/apps/${app.name}`).send({ owner: name });
    expect(moved.status).toBe(200);
    expect(moved.body.team).toMatchObject({ name });
    await new Promise((r) => setTimeout(r, 1_100));
    const teamUsage = await as.get(`/teams/${name}/usage`);
    expect(teamUsage.status).toBe(200);
    expect(teamUsage.body.lines.map((l: { addon: { id: string } }) => l.addon.id)).toEqual([addon.body.id]);
    expect(teamUsage.body.lines[0].seconds).toBeGreaterThanOrEqual(1);
    const accountUsage = await as.get('/account/usage');
    expect(accountUsage.body.lines.map((l: { addon: { id: string } }) => l.addon.id)).toEqual([addon.body.id]);

    const stranger = await attache.createAccount('team-stranger');
    const refused = await as.patch(`/teams/apps/${app.name}`).send({ owner: stranger.email });
    expect(refused.status).toBe(403);
    const back = await as.patch(`/teams/apps/${app.name}`).send({ owner: dev.email });
    expect(back.status).toBe(200);
    expect(back.body.team).toBeNull();
  });
});
