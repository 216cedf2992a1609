import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { Client } from 'pg';
import { AttacheHarness } from '../support/attache-harness';

/** Live processes whose environment carries the premium cluster's tag (everything started for it). */
function taggedProcesses(key: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (!readFileSync(`/proc/${name}/environ`, 'utf8').includes(`ATTACHE_PG_PREMIUM_MEMBER=${key}/`)) continue;
      if (!/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${name}/stat`, 'utf8'))) pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}

/**
 * Premium PostgreSQL (docs/postgresql.md): a pg_auto_failover formation per add-on. One scenario:
 * a writer inserts continuously through DATABASE_URL while the primary's keeper and postgres are
 * SIGKILLed; the app's DATABASE_URL must name the promoted node within 60 s, writes succeed there
 * and, replication being synchronous, no acknowledged write is lost. Deprovision leaves nothing.
 */
describe('premium PostgreSQL', () => {
  let attache: AttacheHarness;
  const root = join(tmpdir(), `attache-test-pg-premium-${randomBytes(4).toString('hex')}`);
  let dev: { apiKey: string };
  let app: { id: string; name: string };

  beforeAll(async () => {
    // Ports of its own per jest worker, clear of the Redis suites' and the dedicated suite's.
    const worker = (Number(process.env.JEST_WORKER_ID ?? '1') - 1) % 8;
    const portMin = 30_000 + worker * 100 + randomInt(0, 8) * 10;
    attache = await AttacheHarness.start({
      postgres: true,
      env: {
        ATTACHE_PG_DEDICATED_DIR: root,
        ATTACHE_PG_DEDICATED_PORTS: `${portMin}-${portMin + 9}`,
        ATTACHE_PG_DEDICATED_SUPERVISE_INTERVAL_MS: '500',
        ATTACHE_PG_DEDICATED_ARCHIVE_CHECK_INTERVAL_MS: '60000',
        ATTACHE_PG_DEDICATED_ARCHIVE_RETENTION_MS: '0',
        PROVIDER_TIMEOUT_MS: '30000',
      },
    });
    dev = await attache.createAccount('pgp');
    app = await attache.createApp(dev.apiKey);
  });

  afterAll(async () => {
    await attache?.stop();
    // Whatever a failed test left running: pg_autoctl stops its postgres on SIGTERM.
    for (const key of existsSync(root) ? readdirSync(root) : []) {
      for (const pid of pidFiles(join(root, key, 'xdg', 'run'))) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      for (const data of ['monitor', 'node0', 'node1']) {
        const file = join(root, key, data, 'postmaster.pid');
        if (!existsSync(file)) continue;
        try {
          process.kill(Number(readFileSync(file, 'utf8').split('\n')[0]), 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    rmSync(root, { recursive: true, force: true });
  });

  function pidFiles(dir: string): number[] {
    if (!existsSync(dir)) return [];
    const pids: number[] = [];
    for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (entry.isFile() && entry.name.endsWith('.pid')) pids.push(Number(readFileSync(join(entry.parentPath, entry.name), 'utf8').split('\n')[0]));
    }
    return pids.filter((pid) => Number.isInteger(pid) && pid > 0);
  }

  const alive = (pid: number) => existsSync(`/proc/${pid}/stat`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const portAnswers = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
  const databaseUrl = async () => (await attache.configVars(dev.apiKey, app.name)).DATABASE_URL;
  const info = async (addon: string) => {
    const response = await attache.client(dev.apiKey).get(`/addons/${addon}/postgres/cluster`);
    expect(response.status).toBe(200);
    return response.body;
  };
  async function connect(url: string): Promise<Client> {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 3_000, query_timeout: 5_000 });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  it('fails over to the standby under a writer within 60 s, loses no acknowledged write, and deprovisions to nothing', async () => {
    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: 'postgresql:premium-0' });
    expect(created.status).toBe(201);
    const addon = { id: created.body.id as string, name: created.body.name as string };
    const provisioned = await attache.waitForAddon(dev.apiKey, addon.id, (a) => a.state === 'provisioned' || a.state === 'deprovisioned', 150_000);
    expect(provisioned.state).toBe('provisioned');
    const key = `pg-${addon.id.replace(/-/g, '')}`;

    const before = await info(addon.name);
    expect(before).toMatchObject({ plan: { name: 'postgresql:premium-0' }, status: 'available', standby: { state: 'secondary', lag_bytes: expect.any(Number), last_failover_at: null } });
    const firstUrl = await databaseUrl();
    expect(Number(new URL(firstUrl).port)).toBe(before.port);
    const setup = await connect(firstUrl);
    await setup.query('CREATE TABLE writes (id int PRIMARY KEY)');
    await setup.end();

    // The writer: one row at a time, acknowledged once COMMIT returned; on an error it reconnects to whatever DATABASE_URL says now.
    const acknowledged: number[] = [];
    const urlsUsed = new Set<string>();
    let stop = false;
    let next = 1;
    const writer = (async () => {
      let client: Client | null = null;
      while (!stop) {
        try {
          if (!client) {
            const url = await databaseUrl();
            client = await connect(url);
            urlsUsed.add(url);
          }
          const id = next++;
          await client.query('INSERT INTO writes (id) VALUES ($1)', [id]);
          acknowledged.push(id);
        } catch {
          await client?.end().catch(() => undefined);
          client = null;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      await client?.end().catch(() => undefined);
    })();
    await attache.waitUntil('the writer to get going', async () => (acknowledged.length >= 50 ? true : undefined), 30_000);

    // The primary's node is the one on the recorded port: its keeper and its postgres are killed outright.
    const node = before.port === Number(readFileSync(join(root, key, 'node0', 'postmaster.pid'), 'utf8').split('\n')[3]) ? 'node0' : 'node1';
    const keeper = pidFiles(join(root, key, 'xdg', 'run', 'pg_autoctl', root.replace(/^\//, ''), key, node)).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('pg_autoctl'));
    const postmaster = Number(readFileSync(join(root, key, node, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const killedAt = Date.now();
    for (const pid of [...keeper, postmaster]) process.kill(pid, 'SIGKILL');
    const ackedBeforeKill = acknowledged.length;

    const promotedUrl = await attache.waitUntil(
      "the app's DATABASE_URL to name the promoted node",
      async () => {
        const url = await databaseUrl();
        return url !== firstUrl ? url : undefined;
      },
      60_000,
    );
    const switchSeconds = (Date.now() - killedAt) / 1000;
    // Writes succeed on the promoted node, through the new URL.
    await attache.waitUntil('writes on the promoted node', async () => (acknowledged.length > ackedBeforeKill + 20 && urlsUsed.has(promotedUrl) ? true : undefined), 30_000);
    stop = true;
    await writer;

    const check = await connect(promotedUrl);
    const present = new Set((await check.query<{ id: number }>('SELECT id FROM writes')).rows.map((r) => r.id));
    await check.end();
    const lost = acknowledged.filter((id) => !present.has(id));
    console.log(`premium failover: DATABASE_URL switched ${switchSeconds.toFixed(1)} s after the SIGKILL; ${acknowledged.length} writes acknowledged, ${lost.length} of them lost`);
    // Synchronous replication: a commit is acknowledged only once the standby has it.
    expect(lost).toEqual([]);
    const after = await info(addon.name);
    expect(after.port).toBe(Number(new URL(promotedUrl).port));
    expect(after.port).not.toBe(before.port);
    expect(new Date(after.standby.last_failover_at).getTime()).toBeGreaterThanOrEqual(killedAt);

    // A fork from the premium add-on after its failover, once the old primary is back as the standby (the promoted
    // node replicating synchronously again), copies the promoted node's data and commits without waiting for a standby.
    const syncStandbys = async () => {
      const client = await connect(promotedUrl);
      try {
        return (await client.query<{ names: string }>('SELECT current_setting($1) AS names', ['synchronous_standby_names'])).rows[0].names;
      } finally {
        await client.end();
      }
    };
    await attache.waitUntil('the old primary back as the synchronous standby', async () => ((await info(addon.name)).standby.state === 'secondary' && (await syncStandbys()) !== '' ? true : undefined), 90_000);
    const fork = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: 'postgresql:standard-0', attachment: { name: 'FORK' }, config: { fork: addon.name } });
    expect(fork.status).toBe(201);
    expect((await attache.waitForAddon(dev.apiKey, fork.body.id, (a) => a.state === 'provisioned' || a.state === 'deprovisioned', 90_000)).state).toBe('provisioned');
    const forked = await connect((await attache.configVars(dev.apiKey, app.name)).FORK_URL);
    expect((await forked.query<{ n: number }>('SELECT count(*)::int AS n FROM writes')).rows).toEqual([{ n: present.size }]);
    await forked.query('INSERT INTO writes (id) VALUES (0)');
    await forked.end();
    expect((await attache.client(dev.apiKey).delete(`/apps/${app.name}/addons/${fork.body.id}`)).status).toBe(200);
    await attache.waitForAddonGone(dev.apiKey, fork.body.id, 60_000);

    // A plan change to a plan without a standby is refused, the add-on staying as it is.
    const patched = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${addon.id}`).send({ plan: 'postgresql:standard-0' });
    expect(patched.status).toBe(200);
    const refused = await attache.waitForAddon(dev.apiKey, addon.id, (a) => a.plan_change_error !== null, 30_000);
    expect(refused).toMatchObject({ plan: { name: 'postgresql:premium-0' }, pending_plan: null });
    expect(refused.plan_change_error).toMatch(/between a plan with a standby and one without is not available/);

    // Deprovision: no process, port or directory left (the archive stays for its retention).
    const pids = [...pidFiles(join(root, key, 'xdg', 'run')), ...['monitor', 'node0', 'node1'].flatMap((d) => (existsSync(join(root, key, d, 'postmaster.pid')) ? [Number(readFileSync(join(root, key, d, 'postmaster.pid'), 'utf8').split('\n')[0])] : []))];
    expect(pids.length).toBeGreaterThanOrEqual(4);
    const monitorPort = Number(readFileSync(join(root, key, 'monitor', 'postmaster.pid'), 'utf8').split('\n')[3]);
    const ports = [monitorPort, Number(new URL(firstUrl).port), Number(new URL(promotedUrl).port)];
    expect(new Set(ports).size).toBe(3);
    expect((await attache.client(dev.apiKey).delete(`/apps/${app.name}/addons/${addon.id}`)).status).toBe(200);
    await attache.waitForAddonGone(dev.apiKey, addon.id, 60_000);
    expect(pids.filter(alive)).toEqual([]);
    // Nor anything else started for it (a killed keeper's own sub-processes, say).
    expect(taggedProcesses(key)).toEqual([]);
    for (const port of ports) expect(await portAnswers(port)).toBe(false);
    for (const dir of ['monitor', 'node0', 'node1', 'socket', 'xdg']) expect(existsSync(join(root, key, dir))).toBe(false);
  }, 400_000);
});
