import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { Client } from 'pg';
import { localPostgresClusters } from '@app/config';
import { tenantNames } from '@app/domain';
import { AttacheHarness } from '../support/attache-harness';
import { WorkerProcess } from '../support/worker-process';

const PG_CTL = '/usr/lib/postgresql/15/bin/pg_ctl';
const asPg = (args: string[]) => (process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', ...args]] : [args[0], args.slice(1)]) as [string, string[]];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type AddonBody = { state: string; pending_plan: unknown; plan_change_error: string | null; plan: { name: string } };

/**
 * Moving a shared-plan PostgreSQL add-on to a dedicated plan (docs/postgresql.md) on real clusters:
 * the copy's window is checked, so a tenant writing through it loses nothing; the shared database
 * is dropped only once the add-on's switch has committed, so a crash between the copy and the
 * switch leaves the data where it was and a retry finishes; no other plan change runs meanwhile.
 */
describe('PostgreSQL move from a shared plan to a dedicated one', () => {
  let attache: AttacheHarness;
  const root = join(tmpdir(), `attache-test-pg-move-${randomBytes(4).toString('hex')}`);
  const clients: Client[] = [];
  const workers: WorkerProcess[] = [];
  let dev: { apiKey: string };
  let app: { id: string; name: string };

  beforeAll(async () => {
    // Ports of its own per jest worker, in the block kept for this suite (33500-33999).
    const worker = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 8;
    const portMin = 33_500 + worker * 60 + randomInt(0, 2) * 30;
    attache = await AttacheHarness.start({
      postgres: true,
      env: {
        ATTACHE_PG_DEDICATED_DIR: root,
        ATTACHE_PG_DEDICATED_PORTS: `${portMin}-${portMin + 29}`,
        ATTACHE_PG_DEDICATED_SUPERVISE_INTERVAL_MS: '300',
        ATTACHE_PG_DEDICATED_ARCHIVE_CHECK_INTERVAL_MS: '500',
        ATTACHE_PG_DEDICATED_ARCHIVE_RETENTION_MS: '0',
        PROVIDER_TIMEOUT_MS: '30000',
      },
    });
    dev = await attache.createAccount('pgmove');
    app = await attache.createApp(dev.apiKey);
  });

  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.end()));
    await Promise.allSettled(workers.splice(0).map((w) => w.kill()));
  });

  afterAll(async () => {
    await attache?.stop();
    // Clusters a failed test left running outlive the file otherwise.
    for (const key of existsSync(root) ? readdirSync(root) : []) {
      const data = join(root, key, 'data');
      if (existsSync(join(data, 'postmaster.pid'))) {
        const [command, args] = asPg([PG_CTL, '-D', data, '-m', 'immediate', '-w', 'stop']);
        try {
          execFileSync(command, args, { cwd: '/', stdio: 'ignore' });
        } catch {
          // already stopped
        }
      }
    }
    rmSync(root, { recursive: true, force: true });
  });

  async function connect(url: string): Promise<Client> {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  }

  async function provision(alias: string): Promise<{ id: string; name: string; url: string }> {
    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: 'postgresql:essential-0', attachment: { name: alias } });
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
    const addon = await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.state === 'provisioned' || a.state === 'deprovisioned', 90_000);
    if (addon.state !== 'provisioned') throw new Error(`provisioning failed: ${JSON.stringify(addon)}`);
    return { id: created.body.id, name: created.body.name, url: await urlOf(alias) };
  }

  async function urlOf(alias: string): Promise<string> {
    return (await attache.configVars(dev.apiKey, app.name))[`${alias}_URL`];
  }

  const changePlan = (addonId: string, plan: string) => attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${addonId}`).send({ plan });

  /** Waits until the change is no longer pending (moved, or refused with a reason). */
  const settled = async (addonId: string, timeoutMs = 120_000) => (await attache.waitForAddon(dev.apiKey, addonId, (a) => a.pending_plan === null, timeoutMs)) as unknown as AddonBody;

  const notes = async (url: string) => (await (await connect(url)).query<{ body: string }>('SELECT body FROM notes ORDER BY id')).rows.map((r) => r.body);

  /** Attache's superuser on the shared cluster that holds (or held) the add-on's database. */
  async function sharedAdmin(addonId: string): Promise<{ client: Client; database: string }> {
    const { rows } = await attache.pg.query<{ name: string; database_name: string }>(
      'SELECT b.name, d.database_name FROM postgres_databases d JOIN postgres_backends b ON b.id = d.backend_id WHERE d.addon_id = $1',
      [addonId],
    );
    const cluster = localPostgresClusters().find((c) => c.name === rows[0].name)!;
    const client = new Client({ host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password, database: 'postgres' });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return { client, database: rows[0].database_name };
  }

  /** Nothing of the add-on's shared database is left on its cluster: no database, no role named after the tenant. */
  async function expectSharedGone(addonId: string): Promise<void> {
    const { client, database } = await sharedAdmin(addonId);
    const names = tenantNames(addonId);
    const databases = await client.query('SELECT datname FROM pg_database WHERE datname = $1', [database]);
    const roles = await client.query('SELECT rolname FROM pg_roles WHERE rolname = ANY($1) OR starts_with(rolname, $2)', [[names.ownerRole, names.groupRole], `${names.ownerRole}_`]);
    expect({ databases: databases.rows, roles: roles.rows }).toEqual({ databases: [], roles: [] });
    const { rows } = await attache.pg.query('SELECT state FROM postgres_databases WHERE addon_id = $1', [addonId]);
    expect(rows).toEqual([{ state: 'dropped' }]);
  }

  /**
   * Holds the add-on's row from another session, so the worker's switch (which locks it) waits
   * there: after the copy and the seal, before the commit. Resolves once the worker is waiting.
   */
  async function holdTheSwitch(addonId: string): Promise<{ waiting: number; release: () => Promise<void> }> {
    const { client: admin, database } = await sharedAdmin(addonId);
    const lock = new Client({ connectionString: attache.env.DATABASE_URL });
    lock.on('error', () => undefined);
    clients.push(lock);
    await lock.connect();
    await lock.query('BEGIN');
    // Not FOR UPDATE: the foreign keys of rows the move inserts meanwhile (its cluster's) take KEY SHARE locks on it.
    await lock.query('SELECT 1 FROM addons WHERE id = $1 FOR NO KEY UPDATE', [addonId]);
    const own = (await lock.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const deadline = Date.now() + 120_000;
    for (;;) {
      // Asked outside the lock's transaction, whose view of pg_stat_activity would stay as first read.
      const blocked = (await attache.pg.query<{ pid: number; query: string }>('SELECT pid, left(query, 100) AS query FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [own])).rows;
      const sealed = (await admin.query<{ datconnlimit: number }>('SELECT datconnlimit FROM pg_database WHERE datname = $1', [database])).rows[0]?.datconnlimit === 0;
      const switching = blocked.filter((b) => b.query.startsWith('SELECT "a"."id"'));
      if (sealed && switching.length === 1) return { waiting: switching[0].pid, release: async () => void (await lock.query('ROLLBACK')) };
      if (Date.now() > deadline) {
        const addon = (await attache.pg.query('SELECT plan_id, pending_plan_id, plan_change_error FROM addons WHERE id = $1', [addonId])).rows[0];
        throw new Error(`The switch did not wait for the add-on's row (sealed: ${sealed}; blocked: ${JSON.stringify(blocked)}; add-on: ${JSON.stringify(addon)})`);
      }
      await sleep(100);
    }
  }

  it('keeps every acknowledged write of a tenant that turns read-only off during the copy: the move is refused and the database stays writable; a quiet retry moves it all', async () => {
    const addon = await provision('WRITER');
    await (await connect(addon.url)).query('CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)');

    // A tenant that ignores the window: every session turns read-only off, then inserts, until told to stop.
    const acknowledged: string[] = [];
    let inWindow = 0;
    let stop = false;
    const writer = (async () => {
      let client: Client | null = null;
      let readOnlySession = false;
      for (let n = 0; !stop; n++) {
        try {
          if (!client) {
            client = await connect(addon.url);
            readOnlySession = (await client.query('SHOW default_transaction_read_only')).rows[0].default_transaction_read_only === 'on';
            await client.query('SET default_transaction_read_only = off');
          }
          await client.query('INSERT INTO notes (body) VALUES ($1)', [`write ${n}`]);
          acknowledged.push(`write ${n}`);
          if (readOnlySession) inWindow++;
        } catch {
          await client?.end().catch(() => undefined);
          client = null;
        }
        await sleep(20);
      }
    })();

    expect((await changePlan(addon.id, 'postgresql:standard-0')).status).toBe(200);
    const refused = await settled(addon.id);
    stop = true;
    await writer;
    expect({ plan: refused.plan.name, error: refused.plan_change_error }).toEqual({
      plan: 'postgresql:essential-0',
      error: expect.stringMatching(/was written to while its data was being copied .*stays on postgresql:essential-0, writable, with every write/),
    });
    expect(inWindow).toBeGreaterThan(0);
    expect(await urlOf('WRITER')).toBe(addon.url);
    const fresh = await connect(addon.url);
    expect((await fresh.query('SHOW default_transaction_read_only')).rows).toEqual([{ default_transaction_read_only: 'off' }]);
    await fresh.query("INSERT INTO notes (body) VALUES ('after the refusal')");
    const kept = [...acknowledged, 'after the refusal'];
    expect(await notes(addon.url)).toEqual(expect.arrayContaining(kept));

    // Nothing writes now: the move goes through, with every write, and the shared database goes.
    expect((await changePlan(addon.id, 'postgresql:standard-0')).status).toBe(200);
    const moved = await settled(addon.id);
    expect({ plan: moved.plan.name, error: moved.plan_change_error }).toEqual({ plan: 'postgresql:standard-0', error: null });
    const newUrl = await urlOf('WRITER');
    expect(newUrl).not.toBe(addon.url);
    expect(await notes(newUrl)).toEqual(expect.arrayContaining(kept));
    await expect(connect(addon.url)).rejects.toThrow();
    await expectSharedGone(addon.id);
  });

  it('refuses another plan change while a move is under way, then finishes the move', async () => {
    const addon = await provision('BUSY');
    await (await connect(addon.url)).query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('busy')");

    expect((await changePlan(addon.id, 'postgresql:standard-0')).status).toBe(200);
    for (const plan of ['postgresql:standard-1', 'postgresql:essential-0', 'postgresql:essential-1']) {
      const again = await changePlan(addon.id, plan);
      expect({ plan, status: again.status, body: again.body }).toEqual({
        plan,
        status: 409,
        body: { id: 'plan_change_in_progress', message: `${addon.name} is moving to postgresql:standard-0; its plan can be changed again once the move has finished.` },
      });
    }
    // The same target again is no new change.
    expect((await changePlan(addon.id, 'postgresql:standard-0')).status).toBe(200);

    const moved = await settled(addon.id);
    expect({ plan: moved.plan.name, error: moved.plan_change_error }).toEqual({ plan: 'postgresql:standard-0', error: null });
    expect(await notes(await urlOf('BUSY'))).toEqual(['busy']);
    await expectSharedGone(addon.id);
  });

  it('survives an error between the copy and the switch: the shared database keeps the data, closed to writes, and the retry moves it', async () => {
    const addon = await provision('RETRIED');
    await (await connect(addon.url)).query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('retried')");

    expect((await changePlan(addon.id, 'postgresql:standard-0')).status).toBe(200);
    const held = await holdTheSwitch(addon.id);
    // Copied and checked; the old URL takes no session that could write what the copy would miss.
    await expect(connect(addon.url)).rejects.toThrow(/too many connections|connection limit/);
    // The worker's switch fails (its connection is cut) and the job is retried.
    await attache.pg.query('SELECT pg_terminate_backend($1)', [held.waiting]);
    await held.release();

    const moved = await settled(addon.id);
    expect({ plan: moved.plan.name, error: moved.plan_change_error }).toEqual({ plan: 'postgresql:standard-0', error: null });
    expect(await notes(await urlOf('RETRIED'))).toEqual(['retried']);
    await expectSharedGone(addon.id);
  });

  it('gives up when every attempt fails at the switch: the add-on stays on its shared plan, its database open, writable and whole', async () => {
    const addon = await provision('GIVEN_UP');
    await (await connect(addon.url)).query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('kept')");

    expect((await changePlan(addon.id, 'postgresql:standard-0')).status).toBe(200);
    // PROVIDER_MAX_ATTEMPTS is 3 in the harness: each attempt copies, seals, and fails to commit.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const held = await holdTheSwitch(addon.id);
      await attache.pg.query('SELECT pg_terminate_backend($1)', [held.waiting]);
      await held.release();
    }

    const failed = await settled(addon.id);
    expect({ plan: failed.plan.name, error: failed.plan_change_error }).toEqual({ plan: 'postgresql:essential-0', error: expect.stringMatching(/could not complete this after 3 attempts/) });
    expect(await urlOf('GIVEN_UP')).toBe(addon.url);
    const db = await connect(addon.url);
    expect((await db.query('SHOW default_transaction_read_only')).rows).toEqual([{ default_transaction_read_only: 'off' }]);
    await db.query("INSERT INTO notes (body) VALUES ('written after')");
    expect(await notes(addon.url)).toEqual(['kept', 'written after']);
    const { client: admin, database } = await sharedAdmin(addon.id);
    expect((await admin.query('SELECT datconnlimit FROM pg_database WHERE datname = $1', [database])).rows).toEqual([{ datconnlimit: 20 }]);
  });

  it('survives a SIGKILL of the worker between the copy and the switch: the data stays on the shared database and a new worker finishes the move', async () => {
    const addon = await provision('KILLED');
    await (await connect(addon.url)).query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('killed')");
    await attache.stopWorker();
    const worker = await WorkerProcess.start({ env: { ...attache.env, LOG_LEVEL: process.env.ATTACHE_TEST_LOG_LEVEL ?? 'warn' } });
    workers.push(worker);

    expect((await changePlan(addon.id, 'postgresql:standard-0')).status).toBe(200);
    const held = await holdTheSwitch(addon.id);
    await worker.kill();
    await held.release();

    // Between the copy and the switch: still on the shared plan, its URL and database as they were, the data there.
    const between = (await attache.waitForAddon(dev.apiKey, addon.id, () => true)) as unknown as AddonBody;
    expect({ plan: between.plan.name, pending: between.pending_plan }).toEqual({ plan: 'postgresql:essential-0', pending: expect.objectContaining({ name: 'postgresql:standard-0' }) });
    expect(await urlOf('KILLED')).toBe(addon.url);
    const { client: admin, database } = await sharedAdmin(addon.id);
    const shared = new Client({ host: admin.host, port: admin.port, user: admin.user, password: admin.password as string, database });
    shared.on('error', () => undefined);
    clients.push(shared);
    await shared.connect();
    expect((await shared.query('SELECT body FROM notes')).rows).toEqual([{ body: 'killed' }]);

    await attache.startWorker();
    const moved = await settled(addon.id);
    expect({ plan: moved.plan.name, error: moved.plan_change_error }).toEqual({ plan: 'postgresql:standard-0', error: null });
    expect(await notes(await urlOf('KILLED'))).toEqual(['killed']);
    await expectSharedGone(addon.id);
  });
});
