import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { localPostgresClusters } from '@app/config';
import { COLORS } from '@app/domain';
import { AttacheHarness } from '../support/attache-harness';

/**
 * The first-party `postgresql` service (docs/postgresql.md) on the two real shared clusters:
 * tenants connect with the URLs Attache hands their apps, and the clusters are inspected as
 * their superuser.
 */
describe('first-party PostgreSQL', () => {
  let attache: AttacheHarness;
  /** essential-0's 1 GB limit, scaled by ATTACHE_POSTGRES_STORAGE_SCALE. */
  const ESSENTIAL_0_LIMIT = Math.round(1024 ** 3 * 0.01);
  const clients: Client[] = [];

  beforeAll(async () => {
    attache = await AttacheHarness.start({
      postgres: true,
      env: {
        ATTACHE_POSTGRES_STORAGE_SCALE: '0.01',
        ATTACHE_POSTGRES_STORAGE_GRACE_MS: '0',
        ATTACHE_POSTGRES_MAINTENANCE_INTERVAL_MS: '300',
        ATTACHE_FIRST_PARTY_USAGE_PERIOD_MS: '1000',
      },
    });
  });

  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.end()));
  });

  afterAll(async () => {
    await attache?.stop();
  });

  type Tenant = Client & { failures: (Error & { code?: string })[] };

  /** A connected client as whoever the URL names; closed after the test. Errors the server sends unprompted are kept. */
  async function connect(url: string): Promise<Tenant> {
    const client = Object.assign(new Client({ connectionString: url, connectionTimeoutMillis: 5_000 }), { failures: [] as Error[] });
    client.on('error', (error) => client.failures.push(error));
    clients.push(client);
    await client.connect();
    return client;
  }

  /** The error the server answers a connection attempt with. */
  async function connectError(url: string): Promise<Error & { code?: string }> {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      return error as Error & { code?: string };
    }
    await client.end();
    throw new Error(`connecting to ${new URL(url).pathname} as ${new URL(url).username} unexpectedly worked`);
  }

  async function queryError(client: Client, sql: string): Promise<Error & { code?: string }> {
    try {
      await client.query(sql);
    } catch (error) {
      return error as Error & { code?: string };
    }
    throw new Error(`${sql} unexpectedly worked`);
  }

  /** The session was ended by the server (57P01, "terminating connection due to administrator command"): its next query fails. */
  async function expectTerminated(client: Tenant): Promise<void> {
    const error = await queryError(client, 'SELECT 1');
    expect([error, ...client.failures].map((e) => e.code)).toContain('57P01');
  }

  const withDatabase = (url: string, database: string) => {
    const parsed = new URL(url);
    parsed.pathname = `/${database}`;
    return parsed.toString();
  };
  const withPassword = (url: string, password: string) => {
    const parsed = new URL(url);
    parsed.password = password;
    return parsed.toString();
  };
  const hexOf = (addonId: string) => addonId.replace(/-/g, '');

  async function provision(apiKey: string, app: string, body: Record<string, unknown> = { plan: 'postgresql:essential-0' }) {
    const created = await attache.client(apiKey).post(`/apps/${app}/addons`).send(body);
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
    await attache.waitForAddon(apiKey, created.body.id, (a) => a.state === 'provisioned');
    return { id: created.body.id as string, name: created.body.name as string };
  }

  /** An account, its app and an essential-0 add-on on it, with the app's DATABASE_URL. */
  async function database(prefix = 'pg') {
    const dev = await attache.createAccount(prefix);
    const app = await attache.createApp(dev.apiKey);
    const addon = await provision(dev.apiKey, app.name);
    const url = (await attache.configVars(dev.apiKey, app.name)).DATABASE_URL;
    return { dev, app, addon, url };
  }

  async function info(apiKey: string, addon: string) {
    const response = await attache.client(apiKey).get(`/addons/${addon}/postgres`);
    expect(response.status).toBe(200);
    return response.body as { status: string; restricted: boolean; storage: { used_bytes: number; limit_bytes: number }; connections: { used: number; limit: number }; [k: string]: unknown };
  }

  async function superuser(port: number): Promise<Client> {
    const cluster = localPostgresClusters().find((c) => c.port === port);
    if (!cluster) throw new Error(`no local cluster on port ${port}`);
    const client = new Client({ host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password, database: 'postgres' });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  }

  const versions = async (apiKey: string, app: string) => (await attache.releases(apiKey, app)).map((r) => r.version);

  /** Tenant databases per cluster port in Attache's own records. */
  async function loadByPort(): Promise<Map<number, number>> {
    const { rows } = await attache.pg.query<{ port: number; n: number }>(
      `SELECT b.port, count(d.addon_id)::int AS n FROM postgres_backends b
         LEFT JOIN postgres_databases d ON d.backend_id = b.id AND d.state = 'active' GROUP BY b.port`,
    );
    return new Map(rows.map((r) => [r.port, r.n]));
  }

  it('provisions databases as DATABASE_URL, a coloured POSTGRESQL_<COLOR>_URL and a chosen alias, spread over the least loaded clusters', async () => {
    const dev = await attache.createAccount();
    const app = await attache.createApp(dev.apiKey);
    const other = await attache.createApp(dev.apiKey);
    const before = await loadByPort();
    const initialGap = Math.abs((before.get(5441) ?? 0) - (before.get(5442) ?? 0));

    const first = await provision(dev.apiKey, app.name);
    const second = await provision(dev.apiKey, app.name);
    const reporting = await provision(dev.apiKey, app.name, { plan: 'postgresql:essential-0', attachment: { name: 'REPORTING' } });
    const fourth = await provision(dev.apiKey, other.name, { plan: 'postgresql' });

    const vars = await attache.configVars(dev.apiKey, app.name);
    const names = Object.keys(vars).sort();
    expect(names).toHaveLength(3);
    expect(names).toContain('DATABASE_URL');
    expect(names).toContain('REPORTING_URL');
    const coloured = names.find((n) => n !== 'DATABASE_URL' && n !== 'REPORTING_URL')!;
    expect(coloured).toMatch(/^POSTGRESQL_[A-Z]+_URL$/);
    expect(COLORS).toContain(coloured.slice('POSTGRESQL_'.length, -'_URL'.length));
    const otherVars = await attache.configVars(dev.apiKey, other.name);
    expect(Object.keys(otherVars)).toEqual(['DATABASE_URL']);

    // Each URL is a working login to that add-on's own database, as its owner role.
    const urls = new Map([
      [first.id, vars.DATABASE_URL],
      [second.id, vars[coloured]],
      [reporting.id, vars.REPORTING_URL],
      [fourth.id, otherVars.DATABASE_URL],
    ]);
    for (const [id, url] of urls) {
      expect(url).toMatch(new RegExp(`^postgres://u_${hexOf(id)}:[A-Za-z0-9]{20,}@127\\.0\\.0\\.1:544[12]/d_${hexOf(id)}$`));
      const tenant = await connect(url);
      const { rows } = await tenant.query('SELECT current_user AS role, current_database() AS db');
      expect(rows[0]).toEqual({ role: `u_${hexOf(id)}`, db: `d_${hexOf(id)}` });
    }
    const addonPlan = await attache.client(dev.apiKey).get(`/addons/${fourth.id}`);
    expect(addonPlan.body.plan.name).toBe('postgresql:essential-0');

    // Placement: each new database went to the cluster with fewer, so four of them reach both.
    const ports = [...urls.values()].map((u) => Number(new URL(u).port));
    expect(new Set(ports)).toEqual(new Set([5441, 5442]));
    const after = await loadByPort();
    const gap = Math.abs((after.get(5441) ?? 0) - (after.get(5442) ?? 0));
    expect(gap).toBeLessThanOrEqual(Math.max(1, initialGap - 4));

    const shown = await info(dev.apiKey, first.name);
    expect(shown).toMatchObject({
      addon: { id: first.id, name: first.name },
      plan: { name: 'postgresql:essential-0' },
      status: 'available',
      restricted: false,
      storage: { limit_bytes: ESSENTIAL_0_LIMIT },
      connections: { limit: 20 },
      backup_schedule: null,
    });
    expect(shown.server_version).toMatch(/^\d+\.\d+$/);
    expect(shown.storage.used_bytes).toBeGreaterThan(1_000_000);
    // Its storage is metered for its bill too (docs/billing.md): whole MiB per usage period.
    const metered = await attache.waitUntil('storage recorded as usage', async () => {
      const rows = await attache.pg.query(`SELECT quantity::int AS mb FROM usage_records WHERE addon_id = $1 AND dimension = 'storage_mb_hours' LIMIT 1`, [first.id]);
      return rows.rows[0]?.mb as number | undefined;
    });
    expect(Math.abs(metered - Math.ceil(shown.storage.used_bytes / 1024 ** 2))).toBeLessThanOrEqual(1);
  });

  it('isolates tenants: no connecting to another tenant, the maintenance database or templates; no superuser, roles or databases', async () => {
    // Three databases on two clusters: at least two of them share one.
    const tenants = [await database('iso-a'), await database('iso-b'), await database('iso-c')];
    const port = (url: string) => new URL(url).port;
    const [a, b] = tenants.flatMap((x, i) => tenants.slice(i + 1).filter((y) => port(y.url) === port(x.url)).map((y) => [x, y]))[0];
    const aDb = new URL(a.url).pathname.slice(1);

    // B's credentials on their shared cluster cannot reach A's database.
    const intoA = await connectError(withDatabase(b.url, aDb));
    expect(intoA).toMatchObject({ code: '42501', message: `permission denied for database "${aDb}"` });
    expect((intoA as Error & { detail?: string }).detail).toContain('CONNECT privilege');
    // Nor does A's role exist on the other cluster.
    const otherCluster = new URL(a.url);
    otherCluster.port = port(a.url) === '5441' ? '5442' : '5441';
    expect(await connectError(otherCluster.toString())).toMatchObject({ code: '28P01' });
    for (const other of ['postgres', 'template1']) {
      const refused = await connectError(withDatabase(a.url, other));
      expect(refused).toMatchObject({ code: '42501', message: `permission denied for database "${other}"` });
      expect((refused as Error & { detail?: string }).detail).toContain('CONNECT privilege');
    }
    expect(await connectError(withDatabase(a.url, 'template0'))).toMatchObject({
      code: '55000',
      message: 'database "template0" is not currently accepting connections',
    });

    const tenant = await connect(a.url);
    await tenant.query('CREATE TABLE secrets (v text)');
    expect(await queryError(tenant, 'SELECT * FROM pg_authid')).toMatchObject({ code: '42501', message: 'permission denied for table pg_authid' });
    expect(await queryError(tenant, "CREATE ROLE sneaky LOGIN PASSWORD 'x'")).toMatchObject({ code: '42501', message: expect.stringContaining('permission denied to create role') });
    expect(await queryError(tenant, 'CREATE DATABASE sneaky')).toMatchObject({ code: '42501', message: expect.stringContaining('permission denied to create database') });
    const { rows } = await tenant.query('SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = current_user');
    expect(rows).toEqual([{ rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolreplication: false, rolbypassrls: false }]);
    // PUBLIC has no rights on the database or its public schema.
    const acl = await tenant.query(
      `SELECT has_database_privilege('public', current_database(), 'CONNECT') AS connect,
              has_schema_privilege('public', 'public', 'USAGE') AS usage, has_schema_privilege('public', 'public', 'CREATE') AS create`,
    );
    expect(acl.rows[0]).toEqual({ connect: false, usage: false, create: false });
  });

  it('refuses the 21st connection of an essential-0 database with "too many connections", and accepts one again once they close', async () => {
    const { dev, addon, url } = await database('conn');
    const dbName = new URL(url).pathname.slice(1);
    const open: Tenant[] = [];
    for (let i = 0; i < 20; i++) open.push(await connect(url));
    const results = await Promise.all(open.map(async (c) => (await c.query('SELECT 1 AS one')).rows[0].one as number));
    expect(results).toEqual(Array(20).fill(1));

    const refused = await connectError(url);
    expect(refused).toMatchObject({ code: '53300', message: `too many connections for database "${dbName}"` });

    await Promise.all(open.map((c) => c.end()));
    const again = await attache.waitUntil('a connection to be accepted again', async () => {
      try {
        return await connect(url);
      } catch {
        return undefined;
      }
    });
    expect((await again.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await again.end();
    const idle = await attache.waitUntil('info to count no tenant sessions', async () => {
      const shown = await info(dev.apiKey, addon.id);
      return shown.connections.used === 0 ? shown : undefined;
    });
    expect(idle.connections).toEqual({ used: 0, limit: 20 });
  });

  it('restricts a database over its storage limit to SELECT, DELETE and TRUNCATE, and lifts it once data is deleted', async () => {
    const { dev, addon, url } = await database('storage');
    const owner = await connect(url);
    await owner.query('CREATE TABLE small (v int)');
    await owner.query('INSERT INTO small VALUES (1), (2)');
    // ~7 MB of rows short enough not to be compressed: well past the ~10.7 MB limit with the empty database's ~7.5 MB.
    await owner.query("CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 30) AS filler FROM generate_series(1, 7000) g");
    const size = await owner.query('SELECT pg_database_size(current_database())::bigint AS size');
    expect(Number(size.rows[0].size)).toBeGreaterThan(ESSENTIAL_0_LIMIT);

    const restricted = await attache.waitUntil('the add-on to be restricted', async () => {
      const shown = await info(dev.apiKey, addon.id);
      return shown.status === 'restricted' ? shown : undefined;
    });
    expect(restricted).toMatchObject({ restricted: true, storage: { limit_bytes: ESSENTIAL_0_LIMIT } });
    expect(restricted.storage.used_bytes).toBeGreaterThan(ESSENTIAL_0_LIMIT);
    expect(restricted.restricted_at).not.toBeNull();
    expect(restricted.over_limit_since).not.toBeNull();
    expect(await attache.events(addon.id)).toContain('addon.restricted');

    // The session open before the restriction was ended.
    await expectTerminated(owner);

    const restrictedSession = await connect(url);
    expect(await queryError(restrictedSession, 'INSERT INTO small VALUES (3)')).toMatchObject({ code: '42501', message: 'permission denied for table small' });
    expect(await queryError(restrictedSession, 'UPDATE small SET v = 5')).toMatchObject({ code: '42501', message: 'permission denied for table small' });
    expect(await queryError(restrictedSession, 'CREATE TABLE more (v int)')).toMatchObject({ code: '42501', message: 'permission denied for schema public' });
    // It cannot give itself the rights back: it owns nothing any more.
    await restrictedSession.query('GRANT INSERT ON small TO CURRENT_USER').catch(() => undefined);
    expect(await queryError(restrictedSession, 'INSERT INTO small VALUES (3)')).toMatchObject({ code: '42501' });
    const selected = await restrictedSession.query('SELECT v FROM small ORDER BY v');
    expect(selected.rows).toEqual([{ v: 1 }, { v: 2 }]);
    const deleted = await restrictedSession.query('DELETE FROM small WHERE v = 2');
    expect(deleted.rowCount).toBe(1);
    await restrictedSession.query('TRUNCATE big');
    expect((await restrictedSession.query('SELECT count(*)::int AS n FROM big')).rows).toEqual([{ n: 0 }]);

    const lifted = await attache.waitUntil('the restriction to be lifted', async () => {
      const shown = await info(dev.apiKey, addon.id);
      return shown.status === 'available' ? shown : undefined;
    });
    expect(lifted).toMatchObject({ restricted: false, restricted_at: null, over_limit_since: null });
    expect(lifted.storage.used_bytes).toBeLessThan(ESSENTIAL_0_LIMIT);
    const events = await attache.events(addon.id);
    expect(events.filter((e) => e === 'addon.restricted' || e === 'addon.restriction_lifted')).toEqual(['addon.restricted', 'addon.restriction_lifted']);

    const freed = await connect(url);
    await freed.query('INSERT INTO small VALUES (3)');
    await freed.query('UPDATE small SET v = v * 10');
    await freed.query('CREATE TABLE more (v int)');
    expect((await freed.query('SELECT v FROM small ORDER BY v')).rows).toEqual([{ v: 10 }, { v: 30 }]);
  });

  it('named credentials: created without rights, attachable under a namespace, rotated everywhere in one release, destroyable once detached', async () => {
    const { dev, app, addon, url } = await database('cred');
    const reporting = await attache.createApp(dev.apiKey);
    const as = attache.client(dev.apiKey);
    const owner = await connect(url);
    await owner.query("CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders VALUES (1, 'tea'), (2, 'cake')");

    const created = await as.post(`/addons/${addon.name}/postgres/credentials`).send({ name: 'analyst' });
    expect(created.status).toBe(201);
    const username = created.body.username as string;
    expect(username).toMatch(new RegExp(`^u_${hexOf(addon.id)}_[a-z0-9]+$`));
    expect(created.body).toMatchObject({ name: 'analyst', state: 'active', rotated_at: null });
    const analystUrl = created.body.url as string;
    expect(new URL(analystUrl).username).toBe(username);
    expect(new URL(analystUrl).pathname).toBe(new URL(url).pathname);
    expect((await as.post(`/addons/${addon.name}/postgres/credentials`).send({ name: 'analyst' })).status).toBe(409);
    expect((await as.post(`/addons/${addon.name}/postgres/credentials`).send({ name: 'Bad-Name' })).status).toBe(422);

    // The new role connects but reads nothing until the owner grants it.
    const analyst = await connect(analystUrl);
    expect((await analyst.query('SELECT current_user AS u')).rows).toEqual([{ u: username }]);
    expect(await queryError(analyst, 'SELECT * FROM public.orders')).toMatchObject({ code: '42501', message: 'permission denied for schema public' });
    await owner.query(`GRANT USAGE ON SCHEMA public TO "${username}"`);
    expect(await queryError(analyst, 'SELECT * FROM orders')).toMatchObject({ code: '42501', message: 'permission denied for table orders' });
    await owner.query(`GRANT SELECT ON orders TO "${username}"`);
    expect((await analyst.query('SELECT item FROM orders ORDER BY id')).rows).toEqual([{ item: 'tea' }, { item: 'cake' }]);
    expect(await queryError(analyst, "INSERT INTO orders VALUES (3, 'pie')")).toMatchObject({ code: '42501', message: 'permission denied for table orders' });

    const listed = await as.get(`/addons/${addon.name}/postgres/credentials`);
    expect(listed.status).toBe(200);
    expect((listed.body as { name: string }[]).map((c) => c.name).sort()).toEqual(['analyst', 'default']);
    expect(JSON.stringify(listed.body)).not.toContain('postgres://');
    const one = await as.get(`/addons/${addon.name}/postgres/credentials/analyst`);
    expect(one.body).toMatchObject({ name: 'analyst', username, url: analystUrl });

    // Shared with another app twice: the owner's URL, and the analyst's under a namespace.
    const shared = await as.post('/addon-attachments').send({ addon: addon.name, app: reporting.name, name: 'SHARED_DB' });
    expect(shared.status).toBe(201);
    const warehouse = await as.post('/addon-attachments').send({ addon: addon.name, app: reporting.name, name: 'WAREHOUSE', namespace: 'credential:analyst' });
    expect(warehouse.status).toBe(201);
    expect(await attache.configVars(dev.apiKey, reporting.name)).toEqual({ SHARED_DB_URL: url, WAREHOUSE_URL: analystUrl });
    const namespaced = await as.get(`/addons/${addon.name}/config/credential:analyst`);
    expect(namespaced.status).toBe(200);
    expect(namespaced.body).toEqual([{ name: 'POSTGRESQL_URL', value: analystUrl }]);
    expect((await as.get(`/addons/${addon.name}/config/credential:nope`)).body).toEqual([]);
    const unknown = await as.post('/addon-attachments').send({ addon: addon.name, app: reporting.name, name: 'NOPE', namespace: 'credential:nope' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain('Could not find credential nope');

    // Rotating the owner's credential: old password refused, its session ended, new URL on both apps in one release each.
    const oldSession = await connect(url);
    const appVersions = await versions(dev.apiKey, app.name);
    const reportingVersions = await versions(dev.apiKey, reporting.name);
    const rotated = await as.post(`/addons/${addon.name}/postgres/credentials/default/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ name: 'default', username: `u_${hexOf(addon.id)}` });
    expect(rotated.body.rotated_at).not.toBeNull();
    expect(rotated.body.url).toBeUndefined();
    await expectTerminated(oldSession);
    expect(await connectError(url)).toMatchObject({ code: '28P01', message: `password authentication failed for user "u_${hexOf(addon.id)}"` });
    const newUrl = (await attache.configVars(dev.apiKey, app.name)).DATABASE_URL;
    expect(newUrl).not.toBe(url);
    expect(withPassword(newUrl, 'x')).toBe(withPassword(url, 'x'));
    expect(await attache.configVars(dev.apiKey, reporting.name)).toEqual({ SHARED_DB_URL: newUrl, WAREHOUSE_URL: analystUrl });
    expect(await versions(dev.apiKey, app.name)).toEqual([appVersions[0] + 1, ...appVersions]);
    expect(await versions(dev.apiKey, reporting.name)).toEqual([reportingVersions[0] + 1, ...reportingVersions]);
    const fresh = await connect(newUrl);
    expect((await fresh.query('SELECT count(*)::int AS n FROM orders')).rows).toEqual([{ n: 2 }]);
    // The analyst was not rotated: its session lives on.
    expect((await analyst.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect(await attache.events(addon.id)).toContain('addon.credentials_rotated');

    // Rotating the analyst changes only WAREHOUSE_URL.
    const beforeAnalyst = await versions(dev.apiKey, reporting.name);
    expect((await as.post(`/addons/${addon.name}/postgres/credentials/analyst/rotate`)).status).toBe(200);
    const afterAnalyst = await attache.configVars(dev.apiKey, reporting.name);
    expect(afterAnalyst.SHARED_DB_URL).toBe(newUrl);
    expect(afterAnalyst.WAREHOUSE_URL).not.toBe(analystUrl);
    expect(new URL(afterAnalyst.WAREHOUSE_URL).username).toBe(username);
    expect(await versions(dev.apiKey, reporting.name)).toEqual([beforeAnalyst[0] + 1, ...beforeAnalyst]);
    expect(await connectError(analystUrl)).toMatchObject({ code: '28P01' });
    const analystAgain = await connect(afterAnalyst.WAREHOUSE_URL);
    expect((await analystAgain.query('SELECT count(*)::int AS n FROM orders')).rows).toEqual([{ n: 2 }]);
    await analystAgain.end();

    // Destroying: the default credential never; the analyst only once detached, and then its role is gone.
    const destroyDefault = await as.delete(`/addons/${addon.name}/postgres/credentials/default`);
    expect(destroyDefault.status).toBe(422);
    const whileAttached = await as.delete(`/addons/${addon.name}/postgres/credentials/analyst`);
    expect(whileAttached.status).toBe(409);
    expect(whileAttached.body.message).toContain('WAREHOUSE');
    expect(await connect(afterAnalyst.WAREHOUSE_URL)).toBeDefined();
    expect((await as.delete(`/addon-attachments/${warehouse.body.id}`)).status).toBe(200);
    const destroyed = await as.delete(`/addons/${addon.name}/postgres/credentials/analyst`);
    expect(destroyed.status).toBe(200);
    expect(destroyed.body).toMatchObject({ name: 'analyst', state: 'destroyed' });
    expect(await connectError(afterAnalyst.WAREHOUSE_URL)).toMatchObject({ code: '28P01' });
    const roles = await fresh.query('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1', [username]);
    expect(roles.rows).toEqual([{ n: 0 }]);
    expect((await as.get(`/addons/${addon.name}/postgres/credentials/analyst`)).status).toBe(404);
    expect((await as.get(`/addons/${addon.name}/config/credential:analyst`)).body).toEqual([]);
    expect(await attache.configVars(dev.apiKey, reporting.name)).toEqual({ SHARED_DB_URL: newUrl });
  });

  it('a rotation gives an app that attaches the add-on twice one release, not one per attachment', async () => {
    const { dev, app, addon } = await database('rotall');
    const reporting = await attache.createApp(dev.apiKey);
    const as = attache.client(dev.apiKey);
    expect((await as.post(`/addons/${addon.name}/postgres/credentials`).send({ name: 'analyst' })).status).toBe(201);
    await as.post('/addon-attachments').send({ addon: addon.name, app: reporting.name, name: 'SHARED_DB' }).expect(201);
    await as.post('/addon-attachments').send({ addon: addon.name, app: reporting.name, name: 'REPLICA_DB' }).expect(201);
    await as.post('/addon-attachments').send({ addon: addon.name, app: reporting.name, name: 'WAREHOUSE', namespace: 'credential:analyst' }).expect(201);
    const newReleases = async (before: number[]) => (await versions(dev.apiKey, reporting.name)).length - before.length;

    // One credential, attached twice to the app.
    const before = await attache.configVars(dev.apiKey, reporting.name);
    const beforeDefault = await versions(dev.apiKey, reporting.name);
    const beforeDefaultOnApp = await versions(dev.apiKey, app.name);
    expect((await as.post(`/addons/${addon.name}/postgres/credentials/default/rotate`)).status).toBe(200);
    const afterDefault = await attache.configVars(dev.apiKey, reporting.name);
    expect(afterDefault.SHARED_DB_URL).not.toBe(before.SHARED_DB_URL);
    expect(afterDefault.REPLICA_DB_URL).toBe(afterDefault.SHARED_DB_URL);
    expect(afterDefault.WAREHOUSE_URL).toBe(before.WAREHOUSE_URL);
    const releasesForDefault = await newReleases(beforeDefault);

    // Every credential at once: both vars change on that app.
    const beforeAll = await versions(dev.apiKey, reporting.name);
    const rotated = await as.post(`/addons/${addon.name}/postgres/credentials/rotate`);
    expect(rotated.status).toBe(200);
    expect((rotated.body as { name: string }[]).map((c) => c.name).sort()).toEqual(['analyst', 'default']);
    const afterAll = await attache.configVars(dev.apiKey, reporting.name);
    expect(afterAll.SHARED_DB_URL).not.toBe(afterDefault.SHARED_DB_URL);
    expect(afterAll.WAREHOUSE_URL).not.toBe(afterDefault.WAREHOUSE_URL);
    const releasesForAll = await newReleases(beforeAll);

    // docs/postgresql.md: "Every app the credential is attached to gets the new URL in one release."
    expect({ billingApp: (await versions(dev.apiKey, app.name)).length - beforeDefaultOnApp.length, releasesForDefault, releasesForAll }).toEqual({
      billingApp: 2,
      releasesForDefault: 1,
      releasesForAll: 1,
    });
  });

  it('backups: capture, download by signed link, restore into the same and another add-on, list newest first, daily schedule', async () => {
    const { dev, app, addon, url } = await database('backup');
    const as = attache.client(dev.apiKey);
    const owner = await connect(url);
    await owner.query("CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'one'), (2, 'two')");

    const captured = await as.post(`/addons/${addon.name}/postgres/backups`);
    expect(captured.status).toBe(202);
    expect(captured.body).toMatchObject({ name: 'b001', kind: 'manual', addon: { id: addon.id } });
    const waitBackup = (name: string) =>
      attache.waitUntil(`backup ${name} to complete`, async () => {
        const response = await as.get(`/addons/${addon.name}/postgres/backups/${name}`);
        if (response.body.state === 'failed') throw new Error(`backup failed: ${response.body.error}`);
        return response.body.state === 'completed' ? (response.body as { id: string; size_bytes: number; [k: string]: unknown }) : undefined;
      });
    const b001 = await waitBackup('b001');
    expect(b001).toMatchObject({ id: captured.body.id, error: null });
    expect(b001.size_bytes).toBeGreaterThan(0);
    expect(existsSync(join(attache.env.ATTACHE_BACKUP_DIR, addon.id, `${b001.id}.dump`))).toBe(true);

    // The download link needs no API key; a tampered one is refused.
    const link = await as.post(`/addons/${addon.name}/postgres/backups/b001/download-url`);
    expect(link.status).toBe(201);
    // The token rides in the query string, which request logs leave out.
    expect(link.body.url).toMatch(new RegExp(`^${attache.url}/postgres-backups/download\\?token=[A-Za-z0-9_-]+$`));
    expect(new Date(link.body.expires_at).getTime()).toBeGreaterThan(Date.now() + 5 * 60_000);
    const download = await attache
      .http()
      .get(`${new URL(link.body.url).pathname}${new URL(link.body.url).search}`)
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
    expect(download.status).toBe(200);
    expect(download.headers['content-disposition']).toBe(`attachment; filename="${addon.name}-b001.dump"`);
    const dump = download.body as Buffer;
    expect(dump.length).toBe(b001.size_bytes);
    expect(dump.subarray(0, 5).toString('latin1')).toBe('PGDMP');
    const token = new URL(link.body.url).searchParams.get('token') as string;
    const middle = Math.floor(token.length / 2);
    const tampered = `${token.slice(0, middle)}${token[middle] === 'A' ? 'B' : 'A'}${token.slice(middle + 1)}`;
    const refusedDownload = await attache.http().get(`/postgres-backups/download?token=${tampered}`);
    expect(refusedDownload.status).toBe(404);
    expect(refusedDownload.body.id).toBe('not_found');

    // Restore into the same add-on after the data changed: needs the app's name as confirmation.
    await owner.query("DELETE FROM items WHERE id = 1; UPDATE items SET name = 'changed'; INSERT INTO items VALUES (9, 'nine')");
    const unconfirmed = await as.post(`/addons/${addon.name}/postgres/restores`).send({ backup: 'b001' });
    expect(unconfirmed.status).toBe(423);
    expect(unconfirmed.body.id).toBe('confirmation_required');
    expect((await owner.query('SELECT count(*)::int AS n FROM items')).rows).toEqual([{ n: 2 }]);
    const restoring = await as.post(`/addons/${addon.name}/postgres/restores`).send({ backup: 'b001', confirm: app.name });
    expect(restoring.status).toBe(202);
    expect(restoring.body).toMatchObject({ addon: { id: addon.id }, backup: { id: b001.id } });
    const waitRestore = (target: string, id: string) =>
      attache.waitUntil(`restore ${id} to finish`, async () => {
        const response = await as.get(`/addons/${target}/postgres/restores/${id}`);
        return response.body.state === 'completed' || response.body.state === 'failed' ? response.body : undefined;
      });
    expect(await waitRestore(addon.name, restoring.body.id)).toMatchObject({ state: 'completed', error: null });
    const afterRestore = await connect(url);
    expect((await afterRestore.query('SELECT id, name FROM items ORDER BY id')).rows).toEqual([{ id: 1, name: 'one' }, { id: 2, name: 'two' }]);
    await afterRestore.query("INSERT INTO items VALUES (3, 'three')");

    // Restore into another add-on the same developer manages, on another app.
    const otherApp = await attache.createApp(dev.apiKey);
    const target = await provision(dev.apiKey, otherApp.name);
    const targetUrl = (await attache.configVars(dev.apiKey, otherApp.name)).DATABASE_URL;
    const wrongConfirm = await attache.client(dev.apiKey).post(`/addons/${target.name}/postgres/restores`).send({ backup: 'b001', from: addon.name, confirm: app.name });
    expect(wrongConfirm.status).toBe(423);
    const intoOther = await as.post(`/addons/${target.name}/postgres/restores`).send({ backup: 'b001', from: addon.name, confirm: otherApp.name });
    expect(intoOther.status).toBe(202);
    expect(await waitRestore(target.name, intoOther.body.id)).toMatchObject({ state: 'completed' });
    const targetTenant = await connect(targetUrl);
    expect((await targetTenant.query('SELECT id, name FROM items ORDER BY id')).rows).toEqual([{ id: 1, name: 'one' }, { id: 2, name: 'two' }]);
    // The restored table belongs to the target's tenant, which can write to it.
    await targetTenant.query("INSERT INTO items VALUES (4, 'four')");
    const restores = await as.get(`/addons/${target.name}/postgres/restores`);
    expect((restores.body as { id: string }[]).map((r) => r.id)).toEqual([intoOther.body.id]);

    // A second manual one, then a scheduled one at the current hour: listed newest first.
    expect((await as.post(`/addons/${addon.name}/postgres/backups`)).body.name).toBe('b002');
    await waitBackup('b002');
    const badHour = await as.put(`/addons/${addon.name}/postgres/backup-schedule`).send({ hour: 24 });
    expect(badHour.status).toBe(422);
    expect(badHour.body.id).toBe('invalid_params');
    const hour = new Date().getUTCHours();
    const scheduled = await as.put(`/addons/${addon.name}/postgres/backup-schedule`).send({ hour });
    expect(scheduled.status).toBe(200);
    expect(scheduled.body).toEqual({ addon: { id: addon.id, name: addon.name }, hour, timezone: 'UTC' });
    expect((await info(dev.apiKey, addon.name)).backup_schedule).toEqual({ hour, timezone: 'UTC' });
    const a001 = await waitBackup('a001');
    expect(a001).toMatchObject({ kind: 'scheduled', scheduled_for: new Date().toISOString().slice(0, 10) });
    // Several maintenance runs later there is still one scheduled backup for today.
    await new Promise((r) => setTimeout(r, 1_000));
    const list = await as.get(`/addons/${addon.name}/postgres/backups`);
    expect(list.status).toBe(200);
    expect((list.body as { name: string }[]).map((b) => b.name)).toEqual(['a001', 'b002', 'b001']);
    const cleared = await as.delete(`/addons/${addon.name}/postgres/backup-schedule`);
    expect(cleared.body).toMatchObject({ hour: null });
  });

  it('changes essential-0 to essential-2 in place (connection limit 40, data kept) and refuses a downgrade while the data exceeds the smaller plan', async () => {
    const { dev, app, addon, url } = await database('plan');
    const owner = await connect(url);
    await owner.query("CREATE TABLE keep (v text); INSERT INTO keep VALUES ('still here')");

    const patched = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${addon.id}`).send({ plan: 'postgresql:essential-2' });
    expect(patched.status).toBe(200);
    await attache.waitForAddon(dev.apiKey, addon.id, (a) => (a.plan as { name: string }).name === 'postgresql:essential-2');
    const limit = await owner.query('SELECT datconnlimit FROM pg_database WHERE datname = current_database()');
    expect(limit.rows).toEqual([{ datconnlimit: 40 }]);
    expect((await owner.query('SELECT v FROM keep')).rows).toEqual([{ v: 'still here' }]);
    expect((await attache.configVars(dev.apiKey, app.name)).DATABASE_URL).toBe(url);
    expect(await info(dev.apiKey, addon.id)).toMatchObject({
      plan: { name: 'postgresql:essential-2' },
      connections: { limit: 40 },
      storage: { limit_bytes: Math.round(32 * 1024 ** 3 * 0.01) },
    });

    // More than essential-0's scaled limit, well within essential-2's: the downgrade is refused.
    await owner.query("CREATE TABLE big AS SELECT repeat(md5(g::text), 30) AS filler FROM generate_series(1, 7000) g");
    await attache.waitUntil('the new size to be measured', async () => {
      const { rows } = await attache.pg.query('SELECT storage_bytes FROM postgres_databases WHERE addon_id = $1', [addon.id]);
      return Number(rows[0].storage_bytes) > ESSENTIAL_0_LIMIT ? true : undefined;
    });
    const down = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${addon.id}`).send({ plan: 'postgresql:essential-0' });
    expect(down.status).toBe(200);
    const refused = await attache.waitForAddon(dev.apiKey, addon.id, (a) => a.plan_change_error !== null);
    expect(refused).toMatchObject({ plan: { name: 'postgresql:essential-2' }, pending_plan: null });
    expect(refused.plan_change_error).toContain('delete data first');
    expect((await owner.query('SELECT datconnlimit FROM pg_database WHERE datname = current_database()')).rows).toEqual([{ datconnlimit: 40 }]);
    expect((await info(dev.apiKey, addon.id)).status).toBe('available');
  });

  it('deprovisioning ends sessions and drops the database, every role and the backup files', async () => {
    const { dev, app, addon, url } = await database('deprov');
    const as = attache.client(dev.apiKey);
    const hex = hexOf(addon.id);
    const port = Number(new URL(url).port);
    expect((await as.post(`/addons/${addon.name}/postgres/credentials`).send({ name: 'analyst' })).status).toBe(201);
    expect((await as.post(`/addons/${addon.name}/postgres/backups`)).status).toBe(202);
    await attache.waitUntil('the backup to complete', async () => {
      const response = await as.get(`/addons/${addon.name}/postgres/backups/b001`);
      return response.body.state === 'completed' ? true : undefined;
    });
    const backupDir = join(attache.env.ATTACHE_BACKUP_DIR, addon.id);
    expect(readdirSync(backupDir)).toHaveLength(1);
    const admin = await superuser(port);
    const roleCount = async () => (await admin.query('SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE $1', [`%\\_${hex}%`])).rows[0].n as number;
    expect(await roleCount()).toBe(3);
    const session = await connect(url);

    const deleted = await as.delete(`/apps/${app.name}/addons/${addon.id}`);
    expect(deleted.status).toBe(200);
    await attache.waitForAddonGone(dev.apiKey, addon.id);

    expect((await admin.query('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [`d_${hex}`])).rows).toEqual([{ n: 0 }]);
    expect(await roleCount()).toBe(0);
    expect(existsSync(backupDir)).toBe(false);
    await expectTerminated(session);
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({});
    expect((await as.get(`/addons/${addon.id}/postgres`)).status).toBe(404);
    const { rows } = await attache.pg.query('SELECT state FROM postgres_databases WHERE addon_id = $1', [addon.id]);
    expect(rows).toEqual([{ state: 'dropped' }]);
  });

  it('only the billing app’s members manage it: strangers get 403, members of an attached app read info but not credentials', async () => {
    const { dev, addon } = await database('access');
    const stranger = await attache.createAccount('stranger');
    const member = await attache.createAccount('member');
    const attachedApp = await attache.createApp(dev.apiKey);
    await attache.client(dev.apiKey).post(`/apps/${attachedApp.name}/collaborators`).send({ user: member.email }).expect(201);
    await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: addon.name, app: attachedApp.name, name: 'SHARED_DB' }).expect(201);
    expect((await attache.client(dev.apiKey).post(`/addons/${addon.name}/postgres/backups`)).status).toBe(202);

    const outsider = attache.client(stranger.apiKey);
    for (const [what, call] of [
      ['info', () => outsider.get(`/addons/${addon.id}/postgres`)],
      ['credentials', () => outsider.get(`/addons/${addon.id}/postgres/credentials`)],
      ['create credential', () => outsider.post(`/addons/${addon.id}/postgres/credentials`).send({ name: 'intruder' })],
      ['rotate', () => outsider.post(`/addons/${addon.id}/postgres/credentials/default/rotate`)],
      ['backups', () => outsider.get(`/addons/${addon.id}/postgres/backups`)],
      ['capture', () => outsider.post(`/addons/${addon.id}/postgres/backups`)],
    ] as const) {
      const response = await call();
      expect({ what, status: response.status, id: response.body.id }).toEqual({ what, status: 403, id: 'forbidden' });
    }

    const viewer = attache.client(member.apiKey);
    const shown = await viewer.get(`/addons/${addon.name}/postgres`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ addon: { id: addon.id }, plan: { name: 'postgresql:essential-0' }, status: 'available' });
    expect((await viewer.get(`/addons/${addon.name}/postgres/backups`)).status).toBe(200);
    for (const [what, call] of [
      ['list credentials', () => viewer.get(`/addons/${addon.name}/postgres/credentials`)],
      ['get default', () => viewer.get(`/addons/${addon.name}/postgres/credentials/default`)],
      ['create credential', () => viewer.post(`/addons/${addon.name}/postgres/credentials`).send({ name: 'sneaky' })],
      ['capture', () => viewer.post(`/addons/${addon.name}/postgres/backups`)],
      ['download', () => viewer.post(`/addons/${addon.name}/postgres/backups/b001/download-url`)],
      ['namespace config', () => viewer.get(`/addons/${addon.name}/config/credential:analyst`)],
    ] as const) {
      const response = await call();
      expect({ what, status: response.status }).toEqual({ what, status: 403 });
    }
    const credentials = await attache.client(dev.apiKey).get(`/addons/${addon.name}/postgres/credentials`);
    expect((credentials.body as { name: string }[]).map((c) => c.name)).toEqual(['default']);
  });

  it('a tenant cannot lift its own database’s connection limit', async () => {
    const { url } = await database('connlimit');
    const dbName = new URL(url).pathname.slice(1);
    const tenant = await connect(url);
    // Attache's superuser owns the database, so the tenant cannot change its limit.
    const lifted = await tenant.query(`ALTER DATABASE "${dbName}" CONNECTION LIMIT -1`).then(
      () => null,
      (error: Error & { code?: string }) => error,
    );
    const { rows } = await tenant.query('SELECT datconnlimit FROM pg_database WHERE datname = current_database()');
    expect({ refused: lifted?.code ?? 'accepted', datconnlimit: rows[0].datconnlimit }).toEqual({ refused: '42501', datconnlimit: 20 });
  });

  it('keeps the names default and owner for the database owner: no credential takes them, none destroys it', async () => {
    const { dev, app, addon, url } = await database('ownalias');
    const as = attache.client(dev.apiKey);
    expect((await as.post(`/addons/${addon.name}/postgres/credentials`).send({ name: 'owner' })).status).toBe(422);
    expect((await as.post(`/addons/${addon.name}/postgres/credentials`).send({ name: 'default' })).status).toBe(422);
    expect((await as.get(`/addons/${addon.name}/postgres/credentials/owner`)).status).toBe(404);
    expect((await as.delete(`/addons/${addon.name}/postgres/credentials/owner`)).status).toBe(404);
    expect((await as.delete(`/addons/${addon.name}/postgres/credentials/default`)).status).toBe(422);
    const session = await connectError(url).then(
      (error) => error.message,
      () => 'connected',
    );
    const names = ((await as.get(`/addons/${addon.name}/postgres/credentials`)).body as { name: string }[]).map((c) => c.name);
    expect({ session, names, url: (await attache.configVars(dev.apiKey, app.name)).DATABASE_URL === url }).toEqual({
      session: 'connected',
      names: ['default'],
      url: true,
    });
  });

  it('a restricted database keeps named credentials logged off, whatever the owner granted them, until it is lifted', async () => {
    const { dev, addon, url } = await database('restrict-cred');
    const as = attache.client(dev.apiKey);
    const created = await as.post(`/addons/${addon.name}/postgres/credentials`).send({ name: 'writer' });
    expect(created.status).toBe(201);
    const owner = await connect(url);
    await owner.query(`CREATE TABLE events (v text); GRANT USAGE ON SCHEMA public TO "${created.body.username}"; GRANT SELECT, INSERT ON events TO "${created.body.username}"`);
    await owner.query('CREATE TABLE big AS SELECT repeat(md5(g::text), 30) AS filler FROM generate_series(1, 7000) g');
    await attache.waitUntil('the add-on to be restricted', async () => ((await info(dev.apiKey, addon.id)).status === 'restricted' ? true : undefined));

    // The owner's grants to it survive the restriction, so the credential cannot log in until it is lifted.
    expect((await connectError(created.body.url)).message).toMatch(/not permitted to log in/);

    await owner.end().catch(() => undefined);
    const restricted = await connect(url);
    await restricted.query('TRUNCATE big');
    await restricted.end();
    await attache.waitUntil('the restriction to be lifted', async () => ((await info(dev.apiKey, addon.id)).status === 'available' ? true : undefined));
    const writer = await connect(created.body.url);
    expect((await writer.query("INSERT INTO events VALUES ('again')")).rowCount).toBe(1);
    await writer.end();
  });

  describe('after a crash', () => {
    it('records the placement with the add-on, before any worker runs, and provisions that tenant when one does', async () => {
      const dev = await attache.createAccount('placed');
      const app = await attache.createApp(dev.apiKey);
      await attache.stopWorker();
      let addonId: string;
      try {
        const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: 'postgresql:essential-0' });
        expect(created.status).toBe(201);
        addonId = created.body.id as string;
        // Committed with the add-on: its database and owner credential, on a cluster, and nothing on that cluster yet.
        const { rows } = await attache.pg.query<{ port: number; database: string; role: string }>(
          `SELECT b.port, d.database_name AS database, c.role_name AS role
             FROM postgres_databases d JOIN postgres_backends b ON b.id = d.backend_id
             JOIN postgres_credentials c ON c.addon_id = d.addon_id AND c.name = 'default' AND c.state = 'active'
            WHERE d.addon_id = $1 AND d.state = 'active'`,
          [addonId],
        );
        expect(rows).toEqual([{ port: expect.any(Number), database: `d_${hexOf(addonId)}`, role: `u_${hexOf(addonId)}` }]);
        const su = await superuser(rows[0].port);
        expect((await su.query('SELECT 1 FROM pg_database WHERE datname = $1', [rows[0].database])).rowCount).toBe(0);
        expect((await attache.client(dev.apiKey).get(`/addons/${addonId}`)).body.state).toBe('provisioning');
      } finally {
        await attache.startWorker();
      }
      await attache.waitForAddon(dev.apiKey, addonId, (a) => a.state === 'provisioned');
      // The worker made the tenant it found recorded: the same cluster, the recorded owner, one record.
      const url = (await attache.configVars(dev.apiKey, app.name)).DATABASE_URL;
      const tenant = await connect(url);
      expect((await tenant.query('SELECT current_user AS role, current_database() AS db')).rows[0]).toEqual({ role: `u_${hexOf(addonId)}`, db: `d_${hexOf(addonId)}` });
      const { rows } = await attache.pg.query<{ port: number; n: number }>(
        `SELECT b.port, (SELECT count(*)::int FROM postgres_credentials c WHERE c.addon_id = d.addon_id) AS n
           FROM postgres_databases d JOIN postgres_backends b ON b.id = d.backend_id WHERE d.addon_id = $1`,
        [addonId],
      );
      expect(rows).toEqual([{ port: Number(new URL(url).port), n: 1 }]);
    });

    it('places the database in the provision when no cluster had room as the add-on was created', async () => {
      const dev = await attache.createAccount('unplaced');
      const app = await attache.createApp(dev.apiKey);
      await attache.stopWorker();
      let addonId: string;
      try {
        const { rows: backends } = await attache.pg.query<{ id: string }>("UPDATE postgres_backends SET state = 'draining' WHERE state = 'active' RETURNING id");
        try {
          const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: 'postgresql:essential-0' });
          expect(created.status).toBe(201);
          addonId = created.body.id as string;
        } finally {
          await attache.pg.query("UPDATE postgres_backends SET state = 'active' WHERE id = ANY($1)", [backends.map((b) => b.id)]);
        }
        expect((await attache.pg.query('SELECT 1 FROM postgres_databases WHERE addon_id = $1', [addonId])).rowCount).toBe(0);
      } finally {
        await attache.startWorker();
      }
      await attache.waitForAddon(dev.apiKey, addonId, (a) => a.state === 'provisioned');
      const tenant = await connect((await attache.configVars(dev.apiKey, app.name)).DATABASE_URL);
      expect((await tenant.query('SELECT current_user AS role, current_database() AS db')).rows[0]).toEqual({ role: `u_${hexOf(addonId)}`, db: `d_${hexOf(addonId)}` });
      const { rows } = await attache.pg.query<{ n: number }>("SELECT count(*)::int AS n FROM postgres_databases WHERE addon_id = $1 AND state = 'active'", [addonId]);
      expect(rows).toEqual([{ n: 1 }]);
    });

    it('drops a tenant made after a destroy that raced its provision, though its record already says dropped', async () => {
      // The end state of that race: the destroy's deprovision ran while the tenant was still being
      // made (it dropped nothing and recorded the database dropped), then the tenant was made and
      // the provision, finding its add-on gone, asked for a cleanup. The reconciler runs it.
      const { addon, url } = await database('raced');
      const hex = hexOf(addon.id);
      const admin = await superuser(Number(new URL(url).port));
      const tenantObjects = async () =>
        (await admin.query(`SELECT (SELECT count(*)::int FROM pg_database WHERE datname = $1) + (SELECT count(*)::int FROM pg_roles WHERE rolname LIKE $2) AS n`, [`d_${hex}`, `%\\_${hex}%`])).rows[0].n as number;
      expect(await tenantObjects()).toBeGreaterThan(0);
      await attache.pg.query(`UPDATE postgres_databases SET state = 'dropped', dropped_at = now() WHERE addon_id = $1`, [addon.id]);
      await attache.pg.query(
        `UPDATE addons SET state = 'deprovisioned', deprovision_requested_at = now(), deprovisioned_at = now(), cleanup_pending = true, updated_at = now() - interval '1 minute' WHERE id = $1`,
        [addon.id],
      );
      await attache.waitUntil('the cleanup to run', async () => {
        const { rows } = await attache.pg.query<{ pending: boolean }>('SELECT cleanup_pending AS pending FROM addons WHERE id = $1', [addon.id]);
        return rows[0].pending ? undefined : true;
      }, 30_000);
      expect(await tenantObjects()).toBe(0);
    });

    it('queues again a backup whose job was lost, and drops the role of a credential destroyed halfway', async () => {
      const { dev, addon, url } = await database('crash');
      const as = attache.client(dev.apiKey);
      const owner = await connect(url);
      await owner.query('CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)');

      // A backup recorded but never queued (the process died between the commit and the enqueue).
      const lost = '00000000-0000-4000-8000-' + hexOf(addon.id).slice(0, 12);
      await attache.pg.query(
        `INSERT INTO postgres_backups (id, addon_id, number, kind, state, created_at) VALUES ($1, $2, 1, 'manual', 'pending', now() - interval '10 minutes')`,
        [lost, addon.id],
      );
      await attache.waitUntil('the lost backup to complete', async () => {
        const backup = await as.get(`/addons/${addon.name}/postgres/backups/${lost}`);
        return backup.body.state === 'completed' ? backup.body : undefined;
      });

      // A credential destroyed in Attache whose role drop never happened (a cluster error, say).
      const created = await as.post(`/addons/${addon.name}/postgres/credentials`).send({ name: 'leftover' });
      expect(created.status).toBe(201);
      await attache.pg.query(
        `UPDATE postgres_credentials SET state = 'destroyed', destroyed_at = now() - interval '10 minutes' WHERE id = $1`,
        [created.body.id],
      );
      const su = await superuser(Number(new URL(url).port));
      await attache.waitUntil('the leftover role to be dropped', async () =>
        (await su.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [created.body.username])).rowCount === 0 ? true : undefined,
      );
      const { rows } = await attache.pg.query('SELECT role_dropped_at IS NOT NULL AS dropped FROM postgres_credentials WHERE id = $1', [created.body.id]);
      expect(rows).toEqual([{ dropped: true }]);
    });

    it('refuses to restore into a restricted database', async () => {
      const { dev, app, addon, url } = await database('restrict-restore');
      const as = attache.client(dev.apiKey);
      const backup = await as.post(`/addons/${addon.name}/postgres/backups`);
      await attache.waitUntil('the backup', async () => ((await as.get(`/addons/${addon.name}/postgres/backups/${backup.body.id}`)).body.state === 'completed' ? true : undefined));
      const owner = await connect(url);
      await owner.query('CREATE TABLE big AS SELECT repeat(md5(g::text), 30) AS filler FROM generate_series(1, 7000) g');
      await attache.waitUntil('the add-on to be restricted', async () => ((await info(dev.apiKey, addon.id)).status === 'restricted' ? true : undefined));
      const refused = await as.post(`/addons/${addon.name}/postgres/restores`).send({ backup: 'b001', confirm: app.name });
      expect(refused.status).toBe(422);
      expect(refused.body).toMatchObject({ id: 'addon_restricted', message: expect.stringMatching(/restricted/) });
    });
  });
});
