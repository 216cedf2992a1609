import { randomInt } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { MovedAddonBody, PgMoveFixture } from '../support/postgres-move-fixture';
import { WorkerProcess } from '../support/worker-process';

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/** essential-0's 1 GB, scaled by the worker's ATTACHE_POSTGRES_STORAGE_SCALE (0.02): about 21 MB. */
const STORAGE_SCALE = '0.02';

/**
 * Moving a standard-plan PostgreSQL add-on back to a shared plan (docs/postgresql.md) on real
 * clusters: it moves when its data fits the shared plan and is refused when it does not; the copy's
 * window on the cluster is checked, so a tenant writing through it loses nothing; the cluster is
 * removed (its archive kept) only once the switch has committed, so a crash between the copy and
 * the switch leaves the data where it was and a new worker finishes the move.
 */
describe('PostgreSQL move from a dedicated plan back to a shared one', () => {
  let fixture: PgMoveFixture;
  let worker: WorkerProcess | null = null;

  // The worker runs in a process of its own, with a small storage scale and archives kept for an hour.
  const startWorker = async () => {
    worker = await WorkerProcess.start({
      env: {
        ...fixture.attache.env,
        ATTACHE_POSTGRES_STORAGE_SCALE: STORAGE_SCALE,
        ATTACHE_PG_DEDICATED_ARCHIVE_RETENTION_MS: '3600000',
        LOG_LEVEL: process.env.ATTACHE_TEST_LOG_LEVEL ?? 'warn',
      },
    });
  };

  beforeAll(async () => {
    // Ports of its own per jest worker, in the block kept for this suite (13000-13499).
    const jestWorker = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 8;
    fixture = await PgMoveFixture.start(13_000 + jestWorker * 60 + randomInt(0, 2) * 30);
    await fixture.attache.stopWorker();
    await startWorker();
  });

  afterEach(async () => {
    await fixture.endClients();
  });

  afterAll(async () => {
    await worker?.kill();
    await fixture?.stop();
  });

  const connect = (url: string) => fixture.connect(url);
  const urlOf = (alias: string) => fixture.urlOf(alias);
  const changePlan = (addonId: string, plan: string) => fixture.changePlan(addonId, plan);
  const settled = (addonId: string) => fixture.settled(addonId);
  const notes = (url: string) => fixture.notes(url);

  async function provisionStandard(alias: string): Promise<{ id: string; name: string; url: string }> {
    const created = await fixture.api().post(`/apps/${fixture.app.name}/addons`).send({ plan: 'postgresql:standard-0', attachment: { name: alias } });
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
    const addon = await fixture.attache.waitForAddon(fixture.dev.apiKey, created.body.id, (a) => a.state === 'provisioned' || a.state === 'deprovisioned', 90_000);
    // The worker's own words say what the add-on's generic reason does not.
    if (addon.state !== 'provisioned') throw new Error(`provisioning failed: ${JSON.stringify(addon)}\nworker (${worker?.status}): ${worker?.recentOutput}`);
    return { id: created.body.id, name: created.body.name, url: await urlOf(alias) };
  }

  async function clusterOf(addonId: string): Promise<{ key: string; state: string; port: number | null; archive_keep_until: Date | null }> {
    const { rows } = await fixture.attache.pg.query('SELECT key, state, port, archive_keep_until FROM postgres_dedicated_clusters WHERE addon_id = $1', [addonId]);
    return rows[0];
  }

  /** Attache's superuser on the add-on's cluster, over its socket. */
  async function clusterSuperuser(addonId: string, database = 'postgres'): Promise<Client> {
    const cluster = await clusterOf(addonId);
    const client = new Client({ host: join(fixture.root, cluster.key, 'socket'), port: cluster.port!, user: 'postgres', database });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  /** The shared database's record: none, or dropped. */
  async function expectNoSharedTenant(addonId: string): Promise<void> {
    const { rows } = await fixture.attache.pg.query<{ state: string }>('SELECT state FROM postgres_databases WHERE addon_id = $1', [addonId]);
    expect(rows.filter((r) => r.state === 'active')).toEqual([]);
  }

  /** Nothing of the cluster runs (no process on its port, no data directory); its record and archive stay for the retention. */
  async function expectClusterRemovedArchiveKept(addonId: string, port: number): Promise<void> {
    const cluster = await fixture.attache.waitUntil(
      'the cluster moved off to be removed',
      async () => {
        const found = await clusterOf(addonId);
        return found?.state === 'removed' ? found : undefined;
      },
      60_000,
    );
    expect({ port: cluster.port, keep: cluster.archive_keep_until !== null }).toEqual({ port: null, keep: true });
    expect(await listening(port)).toBe(false);
    const dir = join(fixture.root, cluster.key);
    expect(existsSync(join(dir, 'data'))).toBe(false);
    expect(readdirSync(join(dir, 'archive', 'base')).length).toBeGreaterThan(0);
  }

  it('moves a standard-0 add-on whose data fits to essential-0: the data in the shared database, the URL switched on every attached app, the cluster removed and its archive kept', async () => {
    const addon = await provisionStandard('FITS');
    await (await connect(addon.url)).query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('one'), ('two')");
    const other = await fixture.attache.createApp(fixture.dev.apiKey);
    const attached = await fixture.api().post('/addon-attachments').send({ addon: addon.name, app: other.name, name: 'REPORTS' });
    expect(attached.status).toBe(201);
    const { port } = await clusterOf(addon.id);

    expect((await changePlan(addon.id, 'postgresql:essential-0')).status).toBe(200);
    const moved = await settled(addon.id);
    expect({ plan: moved.plan.name, error: moved.plan_change_error }).toEqual({ plan: 'postgresql:essential-0', error: null });

    const newUrl = await urlOf('FITS');
    expect(newUrl).not.toBe(addon.url);
    expect((await fixture.attache.configVars(fixture.dev.apiKey, other.name)).REPORTS_URL).toBe(newUrl);
    expect(await notes(newUrl)).toEqual(['one', 'two']);
    const { client: admin, database } = await fixture.sharedAdmin(addon.id);
    expect((await admin.query('SELECT datconnlimit FROM pg_database WHERE datname = $1', [database])).rows).toEqual([{ datconnlimit: 20 }]);
    await (await connect(newUrl)).query("INSERT INTO notes (body) VALUES ('after')");
    await expect(connect(addon.url)).rejects.toThrow();
    await expectClusterRemovedArchiveKept(addon.id, port!);
  });

  it('refuses the move when the data does not fit the shared plan: the add-on stays on standard-0, writable, and nothing is left on the shared cluster', async () => {
    const addon = await provisionStandard('TOO_BIG');
    const db = await connect(addon.url);
    await db.query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('big')");
    await db.query("CREATE TABLE filler AS SELECT g AS id, md5(g::text) || repeat(md5((g * 7)::text), 8) AS pad FROM generate_series(1, 80000) g");

    expect((await changePlan(addon.id, 'postgresql:essential-0')).status).toBe(200);
    const refused = await settled(addon.id);
    expect({ plan: refused.plan.name, error: refused.plan_change_error }).toEqual({
      plan: 'postgresql:standard-0',
      error: expect.stringMatching(new RegExp(`^${addon.name} holds .*, more than the .* postgresql:essential-0 allows, so it was not moved`)),
    });
    expect(await urlOf('TOO_BIG')).toBe(addon.url);
    const fresh = await connect(addon.url);
    await fresh.query("INSERT INTO notes (body) VALUES ('still writable')");
    expect(await notes(addon.url)).toEqual(['big', 'still writable']);
    await expectNoSharedTenant(addon.id);
  });

  it('keeps every acknowledged write of a tenant that turns read-only off during the copy: the move is refused, the cluster stays writable and whole', async () => {
    const addon = await provisionStandard('WRITER');
    await (await connect(addon.url)).query('CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)');

    const writer = fixture.writeDefiantly(addon.url);

    expect((await changePlan(addon.id, 'postgresql:essential-0')).status).toBe(200);
    const refused = await settled(addon.id);
    await writer.stop();
    expect({ plan: refused.plan.name, error: refused.plan_change_error }).toEqual({
      plan: 'postgresql:standard-0',
      error: expect.stringMatching(/was written to while its data was being copied .*stays on postgresql:standard-0, writable, with every write/),
    });
    expect(writer.inWindow()).toBeGreaterThan(0);
    expect(await urlOf('WRITER')).toBe(addon.url);
    const fresh = await connect(addon.url);
    expect((await fresh.query('SHOW default_transaction_read_only')).rows).toEqual([{ default_transaction_read_only: 'off' }]);
    await fresh.query("INSERT INTO notes (body) VALUES ('after the refusal')");
    expect(await notes(addon.url)).toEqual(expect.arrayContaining([...writer.acknowledged, 'after the refusal']));
    await fixture.attache.waitUntil('the shared copy to be dropped', async () => {
      const { rows } = await fixture.attache.pg.query<{ state: string }>('SELECT state FROM postgres_databases WHERE addon_id = $1', [addon.id]);
      return rows.every((r) => r.state !== 'active') ? true : undefined;
    }, 30_000);
    await expectNoSharedTenant(addon.id);
    const { client: admin, database } = await fixture.sharedAdmin(addon.id);
    expect((await admin.query('SELECT datname FROM pg_database WHERE datname = $1', [database])).rows).toEqual([]);
  });

  it('survives a SIGKILL of the worker between the copy and the switch: the data stays on the cluster and a new worker finishes the move', async () => {
    const addon = await provisionStandard('KILLED');
    await (await connect(addon.url)).query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('killed')");
    const cluster = await clusterOf(addon.id);
    const owner = (await fixture.attache.pg.query<{ owner_role: string }>('SELECT owner_role FROM postgres_dedicated_clusters WHERE addon_id = $1', [addon.id])).rows[0].owner_role;

    // The shared backends held first, so the move waits before placing its shared database (before its copy),
    // while the add-on's row is taken from another session: the worker's switch then waits there, after the copy and the seal.
    const placing = await connect(fixture.attache.env.DATABASE_URL);
    await placing.query('BEGIN');
    await placing.query('SELECT 1 FROM postgres_backends FOR UPDATE');
    const placingPid = (await placing.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    expect((await changePlan(addon.id, 'postgresql:essential-0')).status).toBe(200);
    await fixture.attache.waitUntil('the move to wait for the shared backends', async () => ((await fixture.blockedBy(placingPid)).length > 0 ? true : undefined), 60_000);
    const lock = await connect(fixture.attache.env.DATABASE_URL);
    await lock.query('BEGIN');
    await lock.query('SELECT 1 FROM addons WHERE id = $1 FOR NO KEY UPDATE', [addon.id]);
    const holder = (await lock.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await placing.query('ROLLBACK');
    const superuser = await clusterSuperuser(addon.id);
    try {
      await fixture.attache.waitUntil(
        'the switch to wait for the add-on row with the cluster sealed',
        async () => {
          const sealed = (await superuser.query<{ rolconnlimit: number }>('SELECT rolconnlimit FROM pg_roles WHERE rolname = $1', [owner])).rows[0].rolconnlimit === 0;
          const switching = (await fixture.blockedBy(holder)).filter((b) => b.query.startsWith('SELECT "a"."id"'));
          return sealed && switching.length === 1 ? true : undefined;
        },
        120_000,
      );
    } finally {
      await superuser.end();
    }
    await worker!.kill();
    worker = null;
    await lock.query('ROLLBACK');

    // Between the copy and the switch: still on standard-0, its URL as it was, the data on the cluster.
    const between = (await fixture.attache.waitForAddon(fixture.dev.apiKey, addon.id, () => true)) as unknown as MovedAddonBody;
    expect({ plan: between.plan.name, pending: between.pending_plan }).toEqual({ plan: 'postgresql:standard-0', pending: expect.objectContaining({ name: 'postgresql:essential-0' }) });
    expect(await urlOf('KILLED')).toBe(addon.url);
    const onCluster = await clusterSuperuser(addon.id, (await fixture.attache.pg.query('SELECT database_name FROM postgres_dedicated_clusters WHERE addon_id = $1', [addon.id])).rows[0].database_name);
    try {
      expect((await onCluster.query('SELECT body FROM notes')).rows).toEqual([{ body: 'killed' }]);
    } finally {
      await onCluster.end();
    }

    // Another plan change meanwhile is refused, as for a move to a dedicated plan.
    const again = await changePlan(addon.id, 'postgresql:standard-1');
    expect({ status: again.status, body: again.body }).toEqual({
      status: 409,
      body: { id: 'plan_change_in_progress', message: `${addon.name} is moving to postgresql:essential-0; its plan can be changed again once the move has finished.` },
    });

    await startWorker();
    const moved = await settled(addon.id);
    expect({ plan: moved.plan.name, error: moved.plan_change_error }).toEqual({ plan: 'postgresql:essential-0', error: null });
    const newUrl = await urlOf('KILLED');
    expect(newUrl).not.toBe(addon.url);
    expect(await notes(newUrl)).toEqual(['killed']);
    await expectClusterRemovedArchiveKept(addon.id, cluster.port!);
    const { rows } = await fixture.attache.pg.query<{ state: string }>('SELECT state FROM postgres_databases WHERE addon_id = $1', [addon.id]);
    expect(rows).toEqual([{ state: 'active' }]);
  });
});
