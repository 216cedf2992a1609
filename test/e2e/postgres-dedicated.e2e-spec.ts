import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { Client } from 'pg';
import { AttacheHarness } from '../support/attache-harness';

const PG_CTL = '/usr/lib/postgresql/15/bin/pg_ctl';
const asPg = (args: string[]) => (process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', ...args]] : [args[0], args.slice(1)]) as [string, string[]];

/**
 * Dedicated-plan PostgreSQL (docs/postgresql.md) on real clusters the local driver runs here:
 * one source add-on shared by the file, and rollbacks, forks and a follower made from it through
 * the create request's `config`, as the Heroku CLI sends options after `--`.
 */
describe('dedicated PostgreSQL', () => {
  let attache: AttacheHarness;
  const root = join(tmpdir(), `attache-test-pg-dedicated-${randomBytes(4).toString('hex')}`);
  const clients: Client[] = [];
  let dev: { apiKey: string };
  let app: { id: string; name: string };
  let source: { id: string; name: string; url: string };

  beforeAll(async () => {
    // Ports of its own per jest worker, clear of the Redis suites' (20000-28999) and the other PostgreSQL suites' (29400-30999).
    const worker = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 8;
    const portMin = 18_000 + worker * 200 + randomInt(0, 4) * 50;
    attache = await AttacheHarness.start({
      postgres: true,
      env: {
        ATTACHE_PG_DEDICATED_DIR: root,
        ATTACHE_PG_DEDICATED_PORTS: `${portMin}-${portMin + 49}`,
        ATTACHE_PG_DEDICATED_SUPERVISE_INTERVAL_MS: '300',
        ATTACHE_PG_DEDICATED_ARCHIVE_CHECK_INTERVAL_MS: '500',
        ATTACHE_PG_DEDICATED_ARCHIVE_RETENTION_MS: '0',
        PROVIDER_TIMEOUT_MS: '30000',
      },
    });
    dev = await attache.createAccount('pgd');
    app = await attache.createApp(dev.apiKey);
    const created = await provision({ plan: 'postgresql:standard-0' });
    source = { ...created, url: (await attache.configVars(dev.apiKey, app.name)).DATABASE_URL };
    const db = await connect(source.url);
    await db.query('CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)');
  });

  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.end()));
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

  async function create(body: Record<string, unknown>) {
    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send(body);
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
    return { id: created.body.id as string, name: created.body.name as string };
  }

  /** Creates the add-on and waits until it is provisioned. */
  async function provision(body: Record<string, unknown>) {
    const addon = await create(body);
    await attache.waitForAddon(dev.apiKey, addon.id, (a) => a.state === 'provisioned' || a.state === 'deprovisioned', 90_000).then((a) => {
      if (a.state !== 'provisioned') throw new Error(`provisioning failed: ${JSON.stringify(a)}`);
    });
    return addon;
  }

  async function urlOf(alias: string): Promise<string> {
    return (await attache.configVars(dev.apiKey, app.name))[`${alias}_URL`];
  }

  async function clusterOf(addon: string) {
    const response = await attache.client(dev.apiKey).get(`/addons/${addon}/postgres/cluster`);
    expect(response.status).toBe(200);
    return response.body;
  }

  const keyOf = (addonId: string) => `pg-${addonId.replace(/-/g, '')}`;
  const postmasterPid = (addonId: string) => Number(readFileSync(join(root, keyOf(addonId), 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  /** Not a zombie: pid 1 of a container may never reap postmasters reparented to it. */
  const alive = (pid: number) => existsSync(`/proc/${pid}/stat`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const portAnswers = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
  const notes = async (url: string) => (await (await connect(url)).query<{ body: string }>('SELECT body FROM notes ORDER BY id')).rows.map((r) => r.body);

  it('gives a standard-0 add-on a cluster of its own, with a scram password, WAL archive and a rollback window', async () => {
    const url = new URL(source.url);
    const info = await clusterOf(source.name);
    expect(info).toMatchObject({ plan: { name: 'postgresql:standard-0' }, status: 'available', origin: 'new', port: Number(url.port), following: null });
    expect(new Date(info.rollback.earliest_time).getTime()).toBeLessThanOrEqual(Date.now());
    expect(info.base_backups.length).toBeGreaterThanOrEqual(1);
    expect(info.wal_archive_bytes).toBeGreaterThan(0);
    expect(JSON.stringify(info)).not.toContain(decodeURIComponent(url.password));

    // The tenant owns its database but is no superuser; the cluster's superuser cannot log in over TCP.
    const tenant = await connect(source.url);
    const role = await tenant.query<{ rolsuper: boolean; rolconnlimit: number }>('SELECT rolsuper, rolconnlimit FROM pg_roles WHERE rolname = current_user');
    expect(role.rows[0]).toEqual({ rolsuper: false, rolconnlimit: 120 });
    const wrong = new URL(source.url);
    wrong.password = 'not-the-password';
    await expect(connect(wrong.toString())).rejects.toThrow(/password authentication failed/);
    const superuser = new URL(source.url);
    superuser.username = 'postgres';
    await expect(connect(superuser.toString())).rejects.toThrow(/rejects connection|no pg_hba.conf entry|authentication failed/);
  });

  it('rolls back to a noted moment into a new add-on, leaving the source as it is', async () => {
    const db = await connect(source.url);
    await db.query("INSERT INTO notes (body) VALUES ('kept by the rollback')");
    // The moment noted must not fall in the millisecond of the insert's commit (commit times have microseconds).
    await new Promise((r) => setTimeout(r, 20));
    const noted = new Date();
    await new Promise((r) => setTimeout(r, 50));
    await db.query("DELETE FROM notes WHERE body = 'kept by the rollback'");

    await provision({ plan: 'postgresql:standard-0', attachment: { name: 'ROLLED' }, config: { rollback: 'DATABASE_URL', to: noted.toISOString() } });
    const rolled = await urlOf('ROLLED');
    expect(await notes(rolled)).toContain('kept by the rollback');
    expect(await notes(source.url)).not.toContain('kept by the rollback');
    // Its own password, and writable.
    expect(new URL(rolled).password).not.toBe(new URL(source.url).password);
    await (await connect(rolled)).query("INSERT INTO notes (body) VALUES ('after the rollback')");
    expect(await notes(source.url)).not.toContain('after the rollback');
  });

  it('refuses a rollback moment outside the window at create time, saying what the window is', async () => {
    const before = (await attache.pg.query('SELECT count(*)::int AS n FROM addons')).rows[0].n;
    const refused = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: 'postgresql:standard-0', config: { rollback: source.name, by: '3 days' } });
    expect({ status: refused.status, id: refused.body.id }).toEqual({ status: 422, id: 'invalid_params' });
    expect(refused.body.message).toMatch(/outside the rollback window of .*: from \d{4}-\d\d-\d\dT.* to \d{4}-\d\d-\d\dT/);
    const future = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: 'postgresql:standard-0', config: { rollback: 'DATABASE_URL', to: '2099-01-01 00:00+00' } });
    expect({ status: future.status, message: future.body.message }).toEqual({ status: 422, message: expect.stringMatching(/outside the rollback window/) });
    const unknown = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: 'postgresql:standard-0', config: { fork: 'NOPE_URL' } });
    expect({ status: unknown.status, message: unknown.body.message }).toEqual({ status: 422, message: expect.stringMatching(/No PostgreSQL add-on NOPE_URL is attached/) });
    expect((await attache.pg.query('SELECT count(*)::int AS n FROM addons')).rows[0].n).toBe(before);
  });

  it('forks into an independent, writable copy', async () => {
    const db = await connect(source.url);
    await db.query("INSERT INTO notes (body) VALUES ('before the fork')");
    const fork = await provision({ plan: 'postgresql:standard-0', attachment: { name: 'FORKED' }, config: { fork: source.name } });
    const forked = await urlOf('FORKED');
    expect(await notes(forked)).toContain('before the fork');
    await db.query("INSERT INTO notes (body) VALUES ('only in the source')");
    await (await connect(forked)).query("INSERT INTO notes (body) VALUES ('only in the fork')");
    expect(await notes(source.url)).not.toContain('only in the fork');
    expect(await notes(forked)).not.toContain('only in the source');
    expect((await clusterOf(fork.name)).origin).toBe('fork');

    // Destroying it stops its postmaster, frees its port and removes its data; the archive goes after its retention (0 here).
    const pid = postmasterPid(fork.id);
    const port = Number(new URL(forked).port);
    expect((await attache.client(dev.apiKey).delete(`/apps/${app.name}/addons/${fork.id}`)).status).toBe(200);
    await attache.waitForAddonGone(dev.apiKey, fork.id, 60_000);
    expect({ alive: alive(pid), port: await portAnswers(port), data: existsSync(join(root, keyOf(fork.id), 'data')) }).toEqual({ alive: false, port: false, data: false });
    await attache.waitUntil('the fork’s archive to be purged', async () => (existsSync(join(root, keyOf(fork.id))) ? undefined : true), 30_000);
  });

  it('forks a shared-plan database onto a dedicated plan by dump and restore, owned by the new tenant', async () => {
    await provision({ plan: 'postgresql:essential-0', attachment: { name: 'SHARED' } });
    const shared = await connect(await urlOf('SHARED'));
    await shared.query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('from the shared plan')");
    await provision({ plan: 'postgresql:standard-0', attachment: { name: 'PROMOTED' }, config: { fork: 'SHARED_URL' } });
    const promoted = await urlOf('PROMOTED');
    expect(await notes(promoted)).toEqual(['from the shared plan']);
    const db = await connect(promoted);
    const owner = await db.query<{ owner: string }>("SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'notes'");
    expect(owner.rows[0].owner).toBe(new URL(promoted).username);
    await db.query("INSERT INTO notes (body) VALUES ('only on the dedicated one')");
    expect(await notes(await urlOf('SHARED'))).toEqual(['from the shared plan']);
  });

  it('refuses to follow or roll back a shared-plan database', async () => {
    for (const config of [{ follow: 'SHARED' }, { rollback: 'SHARED_URL', by: '1 minute' }]) {
      const refused = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: 'postgresql:standard-0', config });
      expect({ config, status: refused.status, message: refused.body.message }).toEqual({ config, status: 422, message: expect.stringMatching(/shared plan postgresql:essential-0.*only --fork/) });
    }
  });

  it('moves a shared-plan database to a dedicated plan: the data copied, every app switched to the new URL, the shared database gone', async () => {
    const other = await attache.createApp(dev.apiKey);
    const shared = await provision({ plan: 'postgresql:essential-0', attachment: { name: 'MOVING' } });
    const attached = await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: shared.id, app: other.name, name: 'MOVED' });
    expect(attached.status).toBe(201);
    const oldUrl = await urlOf('MOVING');
    await (await connect(oldUrl)).query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL); INSERT INTO notes (body) VALUES ('moved along')");

    const patched = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${shared.id}`).send({ plan: 'postgresql:standard-0' });
    expect(patched.status).toBe(200);
    const moved = await attache.waitForAddon(dev.apiKey, shared.id, (a) => a.pending_plan === null && (a.plan_change_error !== null || (a.plan as { name: string }).name === 'postgresql:standard-0'), 60_000);
    expect({ plan: moved.plan, error: moved.plan_change_error }).toEqual({ plan: expect.objectContaining({ name: 'postgresql:standard-0' }), error: null });

    const newUrl = await urlOf('MOVING');
    expect(new URL(newUrl).port).not.toBe(new URL(oldUrl).port);
    expect((await attache.configVars(dev.apiKey, other.name)).MOVED_URL).toBe(newUrl);
    expect(await notes(newUrl)).toEqual(['moved along']);
    await (await connect(newUrl)).query("INSERT INTO notes (body) VALUES ('written after the move')");
    expect((await clusterOf(shared.name)).plan).toEqual({ name: 'postgresql:standard-0' });
    await expect(connect(oldUrl)).rejects.toThrow();
    const { rows } = await attache.pg.query('SELECT state FROM postgres_databases WHERE addon_id = $1', [shared.id]);
    expect(rows).toEqual([{ state: 'dropped' }]);
  });

  it('refuses to move a shared-plan database with named credentials, which stays writable where it is', async () => {
    const shared = await provision({ plan: 'postgresql:essential-0', attachment: { name: 'STAYING' } });
    const credential = await attache.client(dev.apiKey).post(`/addons/${shared.name}/postgres/credentials`).send({ name: 'analyst' });
    expect(credential.status).toBe(201);
    const patched = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${shared.id}`).send({ plan: 'postgresql:standard-0' });
    expect(patched.status).toBe(200);
    const refused = await attache.waitForAddon(dev.apiKey, shared.id, (a) => a.plan_change_error !== null, 60_000);
    expect({ plan: refused.plan, error: refused.plan_change_error }).toEqual({
      plan: expect.objectContaining({ name: 'postgresql:essential-0' }),
      error: expect.stringMatching(/named credentials \(analyst\); destroy them before moving/),
    });
    await (await connect(await urlOf('STAYING'))).query('CREATE TABLE still_writable (v int)');
  });

  it('follows the source as a read-only replica with its lag reported, until unfollow makes it independent', async () => {
    const follower = await provision({ plan: 'postgresql:standard-0', attachment: { name: 'FOLLOWER' }, config: { follow: 'DATABASE' } });
    const followerUrl = await urlOf('FOLLOWER');
    const db = await connect(source.url);
    await db.query("INSERT INTO notes (body) VALUES ('streamed')");
    await attache.waitUntil('the row to reach the follower', async () => ((await notes(followerUrl)).includes('streamed') ? true : undefined), 30_000);
    await expect((await connect(followerUrl)).query("INSERT INTO notes (body) VALUES ('refused')")).rejects.toThrow(/read-only transaction/);

    const sourceInfo = await clusterOf(source.name);
    expect(sourceInfo.followers).toEqual([{ addon: follower.name, lag: { bytes: expect.any(Number), seconds: expect.any(Number) } }]);
    const followerInfo = await clusterOf(follower.name);
    expect(followerInfo).toMatchObject({ status: 'following', origin: 'follow', following: { addon: source.name, lag: { bytes: expect.any(Number) } } });
    await attache.waitUntil('the lag to reach 0', async () => ((await clusterOf(follower.name)).following.lag.bytes === 0 ? true : undefined), 30_000);

    const unfollowed = await attache.client(dev.apiKey).post(`/addons/${follower.name}/postgres/unfollow`);
    expect(unfollowed.status).toBe(200);
    expect(unfollowed.body).toMatchObject({ status: 'available', following: null });
    expect(unfollowed.body.rollback.earliest_time).toEqual(expect.any(String));
    await (await connect(followerUrl)).query("INSERT INTO notes (body) VALUES ('written after unfollow')");
    await db.query("INSERT INTO notes (body) VALUES ('after the unfollow')");
    await new Promise((r) => setTimeout(r, 500));
    expect(await notes(followerUrl)).not.toContain('after the unfollow');
    expect(await notes(source.url)).not.toContain('written after unfollow');
    expect((await clusterOf(source.name)).followers).toEqual([]);
    const again = await attache.client(dev.apiKey).post(`/addons/${follower.name}/postgres/unfollow`);
    expect({ status: again.status, id: again.body.id }).toEqual({ status: 422, id: 'not_following' });
  });

  it('changes standard-0 to standard-1 in place', async () => {
    const pid = postmasterPid(source.id);
    const up = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${source.id}`).send({ plan: 'postgresql:standard-1' });
    expect(up.status).toBe(200);
    await attache.waitForAddon(dev.apiKey, source.id, (a) => (a.plan as { name: string }).name === 'postgresql:standard-1' && a.pending_plan === null, 30_000);
    const limit = await (await connect(source.url)).query('SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user');
    expect(limit.rows).toEqual([{ rolconnlimit: 400 }]);
    expect(postmasterPid(source.id)).toBe(pid);
    expect((await attache.configVars(dev.apiKey, app.name)).DATABASE_URL).toBe(source.url);

    expect(await notes(source.url)).toContain('before the fork');
  });

  it('restarts a SIGKILLed cluster, and a restarted worker adopts running clusters instead of starting them again', async () => {
    const killed = postmasterPid(source.id);
    process.kill(killed, 'SIGKILL');
    const restarted = await attache.waitUntil(
      'supervision to restart the cluster',
      async () => {
        const pid = existsSync(join(root, keyOf(source.id), 'data', 'postmaster.pid')) ? postmasterPid(source.id) : 0;
        if (pid === 0 || pid === killed || !alive(pid)) return undefined;
        return (await connect(source.url).then(() => pid).catch(() => undefined));
      },
      60_000,
    );
    expect(await notes(source.url)).toContain('before the fork');

    await attache.stopWorker();
    await attache.startWorker();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(postmasterPid(source.id)).toBe(restarted);
    expect(alive(restarted)).toBe(true);
  });
});
