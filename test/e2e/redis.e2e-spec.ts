import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import Redis from 'ioredis';
import { COLORS } from '@app/domain';
import { AttacheHarness } from '../support/attache-harness';

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface RedisInfoBody {
  addon: { id: string; name: string };
  plan: { name: string };
  version: string;
  role: string;
  memory: { used_bytes: number; limit_bytes: number };
  clients: { connected: number; limit: number };
  keys: number;
  persistence: 'none' | 'aof';
  high_availability: boolean;
  aof: { enabled: boolean; last_write_status: string | null };
  replication: { replicas: number; lag_bytes: number | null; link_up: boolean | null };
  last_failover_at: string | null;
  maxmemory_policy: string;
  timeout: number;
}

/**
 * The first-party `redis` service (docs/redis.md): a redis-server per add-on on this machine
 * (premium: a standby and a sentinel too), reached as the tenant with the URLs Attache hands the
 * apps, and inspected through the processes' pidfiles, never as Attache's admin user.
 */
describe('first-party Redis', () => {
  let attache: AttacheHarness;
  const clients: Redis[] = [];

  beforeAll(async () => {
    attache = await AttacheHarness.start({ redis: true, env: { ATTACHE_FIRST_PARTY_USAGE_PERIOD_MS: '1000' } });
  });

  afterEach(() => {
    for (const client of clients.splice(0)) if (client.status !== 'end') client.disconnect();
  });

  afterAll(async () => {
    await attache?.stop();
  });

  /** A lazy client for `url` (or a bare port, unauthenticated) that never reconnects; disconnected after the test. */
  function client(target: string | number): Redis {
    const options = { lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, connectTimeout: 2_000, retryStrategy: () => null };
    const created = typeof target === 'number' ? new Redis({ host: '127.0.0.1', port: target, ...options }) : new Redis(target, options);
    created.on('error', () => undefined);
    clients.push(created);
    return created;
  }

  async function errorOf(promise: Promise<unknown>): Promise<string> {
    try {
      await promise;
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('the command unexpectedly succeeded');
  }

  /** What AUTH with these arguments answers on a fresh connection to `port`. */
  async function authError(port: number, ...args: string[]): Promise<string> {
    return errorOf(client(port).call('AUTH', ...args));
  }

  const portOf = (url: string) => Number(new URL(url).port);
  const passwordOf = (url: string) => decodeURIComponent(new URL(url).password);
  const withPort = (url: string, port: number) => {
    const parsed = new URL(url);
    parsed.port = String(port);
    return parsed.toString();
  };

  async function provision(apiKey: string, app: string, body: Record<string, unknown> = { plan: 'redis:mini' }) {
    const created = await attache.client(apiKey).post(`/apps/${app}/addons`).send(body);
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
    await attache.waitForAddon(apiKey, created.body.id, (a) => a.state === 'provisioned');
    return { id: created.body.id as string, name: created.body.name as string };
  }

  /** An account, its app and a Redis add-on on it, with the app's REDIS_URL. */
  async function redis(prefix: string, plan = 'redis:mini') {
    const dev = await attache.createAccount(prefix);
    const app = await attache.createApp(dev.apiKey);
    const addon = await provision(dev.apiKey, app.name, { plan });
    const url = (await attache.configVars(dev.apiKey, app.name)).REDIS_URL;
    expect(url).toMatch(/^redis:\/\/app:[^@]+@127\.0\.0\.1:\d+$/);
    return { dev, app, addon, url };
  }

  /** Shares the add-on with a second app of the same account as `name`. */
  async function attachTo(apiKey: string, addon: string, name: string) {
    const app = await attache.createApp(apiKey);
    const attached = await attache.client(apiKey).post('/addon-attachments').send({ addon, app: app.name, name });
    expect(attached.status).toBe(201);
    return app;
  }

  /** Until the worker has carried out the plan change (no `pending_plan` left). */
  const planChanged = (apiKey: string, addon: string, plan: string) =>
    attache.waitForAddon(apiKey, addon, (a) => a.state === 'provisioned' && a.pending_plan === null && (a.plan as { name: string }).name === plan, 30_000);

  async function info(apiKey: string, addon: string): Promise<RedisInfoBody> {
    const response = await attache.client(apiKey).get(`/addons/${addon}/redis`);
    expect(response.status).toBe(200);
    return response.body as RedisInfoBody;
  }

  const versions = async (apiKey: string, app: string) => (await attache.releases(apiKey, app)).map((r) => r.version);

  // --- the processes, as the driver lays them out (docs/redis.md "How instances run") ----------

  const instanceDir = (addonId: string) => join(attache.env.ATTACHE_REDIS_DATA_DIR, `r_${addonId.replace(/-/g, '')}`);
  /** The pid a pidfile names; 0 while there is none (a process being restarted). */
  const pidIn = (file: string) => (existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : 0);
  const nodePid = (addonId: string, port: number) => pidIn(join(instanceDir(addonId), `node-${port}`, 'redis.pid'));
  const sentinelPid = (addonId: string, port: number) => pidIn(join(instanceDir(addonId), `sentinel-${port}`, 'sentinel.pid'));
  const entries = (addonId: string) => readdirSync(instanceDir(addonId)).filter((name) => !name.startsWith('.')).sort();

  /** Running and not a zombie: daemons are reparented to a pid 1 that may never reap them. */
  function alive(pid: number): boolean {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
    } catch {
      return false;
    }
  }

  /** Signals sent to the process and not yet delivered (a stopped process keeps them pending). */
  function pendingSignals(pid: number): string[] {
    const status = existsSync(`/proc/${pid}/status`) ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
    const mask = (field: string) => BigInt(`0x${new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1] ?? '0'}`);
    const pending = mask('SigPnd') | mask('ShdPnd');
    return Object.entries({ SIGTERM: 15, SIGKILL: 9 })
      .filter(([, signal]) => (pending >> BigInt(signal - 1)) & BigInt(1))
      .map(([name]) => name);
  }

  async function kill9(pid: number): Promise<void> {
    process.kill(pid, 'SIGKILL');
    await attache.waitUntil(`pid ${pid} to exit`, async () => (alive(pid) ? undefined : true), 5_000);
  }

  /** How a TCP connection to the port ends: 'open' or the error code (ECONNREFUSED once nothing listens). */
  function tcpProbe(port: number): Promise<string> {
    return new Promise((resolve) => {
      const socket = tcpConnect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve('open');
      });
      socket.once('error', (error: Error & { code?: string }) => resolve(error.code ?? error.message));
    });
  }

  /** INFO replication as the tenant (INFO is not an @admin command). */
  async function replication(url: string): Promise<Map<string, string>> {
    const text = await client(url).info('replication');
    return new Map(text.split(/\r?\n/).filter((line) => line.includes(':')).map((line) => line.split(':', 2) as [string, string]));
  }

  // ---------------------------------------------------------------------------------------------

  it('provisions a mini as REDIS_URL and a second one as REDIS_<COLOR>_URL, each its own server the other’s password cannot enter', async () => {
    const dev = await attache.createAccount('isolation');
    const app = await attache.createApp(dev.apiKey);
    const first = await provision(dev.apiKey, app.name);
    const second = await provision(dev.apiKey, app.name, { plan: 'redis' });

    const vars = await attache.configVars(dev.apiKey, app.name);
    const names = Object.keys(vars).sort();
    expect(names).toHaveLength(2);
    const coloured = names.find((n) => n !== 'REDIS_URL')!;
    expect(names).toContain('REDIS_URL');
    expect(coloured).toMatch(/^REDIS_[A-Z]+_URL$/);
    expect(COLORS).toContain(coloured.slice('REDIS_'.length, -'_URL'.length));
    const [a, b] = [vars.REDIS_URL, vars[coloured]];
    for (const url of [a, b]) expect(url).toMatch(/^redis:\/\/app:[A-Za-z0-9_-]{20,}@127\.0\.0\.1:\d+$/);
    expect(portOf(a)).not.toBe(portOf(b));
    expect(passwordOf(a)).not.toBe(passwordOf(b));
    const plan = await attache.client(dev.apiKey).get(`/addons/${second.id}`);
    expect(plan.body.plan.name).toBe('redis:mini');
    expect(await attache.client(dev.apiKey).get(`/addons/${first.id}/redis/credentials`).then((r) => r.body)).toEqual({ url: a });

    // Each URL is a working login as `app`, to a server of its own.
    const tenantA = client(a);
    const tenantB = client(b);
    expect(await tenantA.call('ACL', 'WHOAMI')).toBe('app');
    expect(await tenantA.set('secret', 'a-only')).toBe('OK');
    expect(await tenantA.get('secret')).toBe('a-only');
    expect(await tenantB.call('ACL', 'WHOAMI')).toBe('app');
    expect(await tenantB.get('secret')).toBeNull();
    expect(await tenantB.dbsize()).toBe(0);

    // A's password on B's server, no credentials, and the `default` user: all refused.
    expect(await authError(portOf(b), 'app', passwordOf(a))).toMatch(/^WRONGPASS/);
    expect(await errorOf(client(withPort(a, portOf(b))).get('secret'))).toMatch(/^WRONGPASS/);
    expect(await errorOf(client(portOf(a)).get('secret'))).toMatch(/^NOAUTH/);
    expect(await authError(portOf(a), passwordOf(a))).toMatch(/^WRONGPASS/);
    expect(await authError(portOf(a), 'default', '')).toMatch(/^WRONGPASS/);
    expect(await authError(portOf(a), 'default', passwordOf(a))).toMatch(/^WRONGPASS/);

    // The tenant cannot administer its server.
    for (const command of [
      ['CONFIG', 'GET', 'maxmemory'],
      ['CONFIG', 'SET', 'maxmemory', '0'],
      ['SHUTDOWN', 'NOSAVE'],
      ['ACL', 'LIST'],
      ['ACL', 'SETUSER', 'app', 'nopass'],
      ['ACL', 'SETUSER', 'default', 'on', 'nopass'],
    ]) {
      const refused = await errorOf(tenantA.call(command[0], ...command.slice(1)));
      expect({ command: command.join(' '), refused }).toEqual({ command: command.join(' '), refused: expect.stringMatching(/^NOPERM/) });
    }
    expect(await tenantA.get('secret')).toBe('a-only');
  });

  it('shows info with the plan’s limits, applies maxmemory_policy and timeout live, and refuses an unknown policy', async () => {
    const { dev, addon, url } = await redis('info');
    const tenant = client(url);
    await tenant.mset('k1', 'a', 'k2', 'b', 'k3', 'c');

    const shown = await info(dev.apiKey, addon.name);
    expect(shown).toMatchObject({
      addon: { id: addon.id, name: addon.name },
      plan: { name: 'redis:mini' },
      role: 'master',
      memory: { limit_bytes: 25 * MB },
      clients: { limit: 20 },
      keys: 3,
      persistence: 'none',
      high_availability: false,
      aof: { enabled: false },
      replication: { replicas: 0, lag_bytes: null, link_up: null },
      last_failover_at: null,
      maxmemory_policy: 'noeviction',
      timeout: 0,
    });
    expect(shown.version).toMatch(/^7\.\d+\.\d+$/);
    expect(shown.memory.used_bytes).toBeGreaterThan(100_000);
    expect(shown.clients.connected).toBeGreaterThanOrEqual(1);
    // Its memory is metered for its bill too (docs/billing.md): whole MiB per usage period.
    const metered = await attache.waitUntil('memory recorded as usage', async () => {
      const rows = await attache.pg.query(`SELECT quantity::int AS mb FROM usage_records WHERE addon_id = $1 AND dimension = 'memory_mb_hours' LIMIT 1`, [addon.id]);
      return rows.rows[0]?.mb as number | undefined;
    });
    expect(metered).toBeGreaterThanOrEqual(1);
    expect(metered).toBeLessThanOrEqual(25);

    const patched = await attache.client(dev.apiKey).patch(`/addons/${addon.name}/redis`).send({ maxmemory_policy: 'allkeys-lru', timeout: 300 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ addon: { id: addon.id }, maxmemory_policy: 'allkeys-lru', timeout: 300 });
    expect(await info(dev.apiKey, addon.id)).toMatchObject({ maxmemory_policy: 'allkeys-lru', timeout: 300, keys: 3, memory: { limit_bytes: 25 * MB } });

    // Live on the node without being its admin: INFO shows the policy, and the rewritten
    // configuration (what a restart reads) has both.
    const memory = await tenant.info('memory');
    expect(memory).toMatch(/^maxmemory_policy:allkeys-lru\r?$/m);
    expect(memory).toMatch(new RegExp(`^maxmemory:${25 * MB}\\r?$`, 'm'));
    const conf = readFileSync(join(instanceDir(addon.id), `node-${portOf(url)}`, 'redis.conf'), 'utf8');
    expect(conf).toMatch(/^maxmemory-policy allkeys-lru$/m);
    expect(conf).toMatch(/^timeout 300$/m);

    for (const body of [{ maxmemory_policy: 'lru-please' }, { timeout: -1 }, { timeout: 1.5 }, {}]) {
      const refused = await attache.client(dev.apiKey).patch(`/addons/${addon.name}/redis`).send(body);
      expect({ body, status: refused.status, id: refused.body.id }).toEqual({ body, status: 422, id: 'invalid_params' });
    }
    expect(await info(dev.apiKey, addon.id)).toMatchObject({ maxmemory_policy: 'allkeys-lru', timeout: 300 });
    expect(await tenant.info('memory')).toMatch(/^maxmemory_policy:allkeys-lru\r?$/m);
  });

  it('rotates the password: the old one fails, its connection is closed, and each attached app gets the new URL in one release', async () => {
    const { dev, app, addon, url } = await redis('rotate');
    const shared = await attachTo(dev.apiKey, addon.name, 'CACHE');
    expect(await attache.configVars(dev.apiKey, shared.name)).toEqual({ CACHE_URL: url });
    const open = client(url);
    expect(await open.set('kept', 'yes')).toBe('OK');
    const closed = new Promise<void>((resolve) => open.once('end', () => resolve()));
    const [ownerBefore, sharedBefore] = [await versions(dev.apiKey, app.name), await versions(dev.apiKey, shared.name)];

    const rotated = await attache.client(dev.apiKey).post(`/addons/${addon.name}/redis/credentials/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ addon: { id: addon.id }, plan: { name: 'redis:mini' } });
    expect(JSON.stringify(rotated.body)).not.toContain('redis://');

    const newUrl = (await attache.configVars(dev.apiKey, app.name)).REDIS_URL;
    expect(newUrl).not.toBe(url);
    expect(portOf(newUrl)).toBe(portOf(url));
    expect(await attache.configVars(dev.apiKey, shared.name)).toEqual({ CACHE_URL: newUrl });
    expect((await attache.client(dev.apiKey).get(`/addons/${addon.id}/redis/credentials`)).body).toEqual({ url: newUrl });

    // The connection authenticated with the old password was closed; the old password fails.
    await closed;
    expect(open.status).toBe('end');
    expect(await authError(portOf(url), 'app', passwordOf(url))).toMatch(/^WRONGPASS/);
    expect(await client(newUrl).get('kept')).toBe('yes');

    const [ownerAfter, sharedAfter] = [await versions(dev.apiKey, app.name), await versions(dev.apiKey, shared.name)];
    expect({ owner: ownerAfter.length - ownerBefore.length, shared: sharedAfter.length - sharedBefore.length }).toEqual({ owner: 1, shared: 1 });
    expect((await attache.releases(dev.apiKey, app.name))[0].description).toContain('Rotate');
    expect(await attache.events(addon.id)).toContain('addon.credentials_rotated');
  });

  it('changes mini to premium-0 in place (data kept, AOF, a linked standby and a sentinel) and back to mini, stopping both', async () => {
    const { dev, app, addon, url } = await redis('plan');
    const tenant = client(url);
    const pipeline = tenant.pipeline();
    for (let i = 0; i < 100; i++) pipeline.set(`k${i}`, String(i));
    await pipeline.exec();
    const primaryPort = portOf(url);
    const primaryPid = nodePid(addon.id, primaryPort);

    const up = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${addon.id}`).send({ plan: 'redis:premium-0' });
    expect(up.status).toBe(200);
    await planChanged(dev.apiKey, addon.id, 'redis:premium-0');
    const premium = await info(dev.apiKey, addon.id);
    expect(premium).toMatchObject({
      plan: { name: 'redis:premium-0' },
      role: 'master',
      keys: 100,
      persistence: 'aof',
      high_availability: true,
      aof: { enabled: true, last_write_status: 'ok' },
      replication: { replicas: 1, link_up: true },
      memory: { limit_bytes: 50 * MB },
      clients: { limit: 40 },
    });
    // The same node and URL, now with a standby and a sentinel of its own.
    expect((await attache.configVars(dev.apiKey, app.name)).REDIS_URL).toBe(url);
    expect(nodePid(addon.id, primaryPort)).toBe(primaryPid);
    const dirs = entries(addon.id);
    expect(dirs).toHaveLength(3);
    const standbyPort = Number(dirs.find((d) => d.startsWith('node-') && d !== `node-${primaryPort}`)!.slice('node-'.length));
    const sentinelPort = Number(dirs.find((d) => d.startsWith('sentinel-'))!.slice('sentinel-'.length));
    const [standbyPid, sentinel] = [nodePid(addon.id, standbyPort), sentinelPid(addon.id, sentinelPort)];
    expect([alive(standbyPid), alive(sentinel)]).toEqual([true, true]);
    const standby = withPort(url, standbyPort);
    expect(await client(standby).get('k99')).toBe('99');
    expect(await errorOf(client(standby).set('x', '1'))).toMatch(/^READONLY/);
    expect(await tenant.get('k42')).toBe('42');

    const down = await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${addon.id}`).send({ plan: 'redis:mini' });
    expect(down.status).toBe(200);
    await planChanged(dev.apiKey, addon.id, 'redis:mini');
    expect(await info(dev.apiKey, addon.id)).toMatchObject({
      plan: { name: 'redis:mini' },
      keys: 100,
      persistence: 'none',
      high_availability: false,
      aof: { enabled: false },
      replication: { replicas: 0, link_up: null },
      memory: { limit_bytes: 25 * MB },
      clients: { limit: 20 },
    });
    expect([alive(primaryPid), alive(standbyPid), alive(sentinel)]).toEqual([true, false, false]);
    expect([await tcpProbe(standbyPort), await tcpProbe(sentinelPort)]).toEqual(['ECONNREFUSED', 'ECONNREFUSED']);
    expect(entries(addon.id)).toEqual([`node-${primaryPort}`]);
    expect((await attache.configVars(dev.apiKey, app.name)).REDIS_URL).toBe(url);
    expect(await client(url).get('k0')).toBe('0');
  });

  it('a supervision run held up before it reaches an instance does not restart the standby and sentinel a plan change to mini stopped', async () => {
    // Supervision ensures instances one after the other, as listed when its run began; a hung
    // node earlier in that list (the run waits for its PING) holds the run up meanwhile.
    const hung = await redis('race-hung');
    const { dev, app, addon, url } = await redis('race-down', 'redis:premium-0');
    await attache.waitUntil('the standby to be linked', async () => ((await info(dev.apiKey, addon.id)).replication.link_up ? true : undefined));
    const dirs = entries(addon.id);
    const standbyPort = Number(dirs.find((d) => d.startsWith('node-') && d !== `node-${portOf(url)}`)!.slice('node-'.length));
    const sentinelPort = Number(dirs.find((d) => d.startsWith('sentinel-'))!.slice('sentinel-'.length));
    const hungPid = nodePid(hung.addon.id, portOf(hung.url));

    process.kill(hungPid, 'SIGSTOP');
    try {
      await sleep(1_000);
      expect((await attache.client(dev.apiKey).patch(`/apps/${app.name}/addons/${addon.id}`).send({ plan: 'redis:mini' })).status).toBe(200);
      await planChanged(dev.apiKey, addon.id, 'redis:mini');
      expect({ standby: await tcpProbe(standbyPort), sentinel: await tcpProbe(sentinelPort) }).toEqual({ standby: 'ECONNREFUSED', sentinel: 'ECONNREFUSED' });
    } finally {
      process.kill(hungPid, 'SIGCONT');
    }

    // The run goes on with what it read before the change.
    const reopened = new Set<string>();
    for (const started = Date.now(); Date.now() - started < 2_000; await sleep(50)) {
      for (const [what, port] of [['standby', standbyPort], ['sentinel', sentinelPort]] as const) if ((await tcpProbe(port)) === 'open') reopened.add(what);
    }
    expect([...reopened]).toEqual([]);
    expect(await client(hung.url).ping()).toBe('PONG');
    expect(await client(url).ping()).toBe('PONG');
  });

  it('a supervision run held up on an instance’s sentinel does not start the instance again once it is deprovisioned', async () => {
    const { dev, app, addon, url } = await redis('race-deleted', 'redis:premium-0');
    const dirs = entries(addon.id);
    const nodePorts = dirs.filter((d) => d.startsWith('node-')).map((d) => Number(d.slice('node-'.length)));
    const sentinelPort = Number(dirs.find((d) => d.startsWith('sentinel-'))!.slice('sentinel-'.length));
    const ports = [...nodePorts, sentinelPort];

    // A hung sentinel: the run asks it for the current primary, and waits, before it ensures the instance.
    const hungSentinel = sentinelPid(addon.id, sentinelPort);
    process.kill(hungSentinel, 'SIGSTOP');
    try {
      await sleep(1_000);
      expect((await attache.client(dev.apiKey).delete(`/apps/${app.name}/addons/${addon.id}`)).status).toBe(200);
      // Deprovisioning has begun stopping the instance once the sentinel has its SIGTERM pending;
      // letting it go on spares the 5 s before the SIGKILL.
      await attache.waitUntil('deprovisioning to signal the sentinel', async () => (pendingSignals(hungSentinel).includes('SIGTERM') ? true : undefined));
    } finally {
      if (alive(hungSentinel)) process.kill(hungSentinel, 'SIGCONT');
    }
    await attache.waitForAddonGone(dev.apiKey, addon.id, 30_000);

    const probes = new Set<string>();
    for (const started = Date.now(); Date.now() - started < 2_000; await sleep(50)) {
      for (const port of ports) probes.add(`${port} ${await tcpProbe(port)}`);
    }
    const leftovers = existsSync(instanceDir(addon.id)) ? entries(addon.id) : [];
    const oldUrl = await client(url).ping().catch(() => 'refused');
    // Processes started for a destroyed instance are neither supervised nor destroyed any more: stop them here.
    for (const dir of leftovers) {
      const [kind, port] = dir.split('-');
      const pid = kind === 'node' ? nodePid(addon.id, Number(port)) : sentinelPid(addon.id, Number(port));
      if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
    }
    expect({ open: [...probes].filter((p) => p.endsWith('open')), leftovers, oldUrl }).toEqual({ open: [], leftovers: [], oldUrl: 'refused' });
  });

  it('fails over when the premium primary dies under a writer: REDIS_URL follows on every attached app, the old primary returns as replica', async () => {
    const { dev, app, addon, url } = await redis('failover', 'redis:premium-0');
    const shared = await attachTo(dev.apiKey, addon.name, 'CACHE');
    const oldPort = portOf(url);
    await attache.waitUntil('the standby to be linked', async () => ((await info(dev.apiKey, addon.id)).replication.link_up ? true : undefined));
    const [ownerBefore, sharedBefore] = [await versions(dev.apiKey, app.name), await versions(dev.apiKey, shared.name)];

    // Sequence numbers pushed one at a time; those Redis acknowledged are recorded.
    const writer = client(url);
    await writer.connect();
    const acknowledged: number[] = [];
    const writes = (async () => {
      for (let n = 1; ; n++) {
        try {
          await writer.rpush('seq', String(n));
          acknowledged.push(n);
        } catch {
          return;
        }
      }
    })();
    await sleep(700);

    const killedAt = Date.now();
    await kill9(nodePid(addon.id, oldPort));
    await writes;
    const followed = await attache.waitUntil(
      'REDIS_URL to name the new primary on both apps',
      async () => {
        const [owner, other] = [await attache.configVars(dev.apiKey, app.name), await attache.configVars(dev.apiKey, shared.name)];
        return portOf(owner.REDIS_URL) !== oldPort && portOf(other.CACHE_URL) !== oldPort ? { owner, other } : undefined;
      },
      30_000,
    );
    const failoverMs = Date.now() - killedAt;
    const newUrl = followed.owner.REDIS_URL;
    expect(followed.other.CACHE_URL).toBe(newUrl);
    expect(passwordOf(newUrl)).toBe(passwordOf(url));

    const promoted = client(newUrl);
    const present = new Set((await promoted.lrange('seq', 0, -1)).map(Number));
    const missing = acknowledged.filter((n) => !present.has(n));
    console.log(
      `Redis failover: REDIS_URL on both apps named the new primary ${failoverMs} ms after SIGKILL of the old one; ` +
        `${acknowledged.length} writes acknowledged, ${missing.length} of them missing on the new primary (lost-write window)`,
    );
    expect(failoverMs).toBeLessThan(30_000);
    expect(acknowledged.length).toBeGreaterThan(100);
    expect(await promoted.rpush('seq', 'after-failover')).toBeGreaterThan(0);

    const shown = await info(dev.apiKey, addon.id);
    expect(shown.role).toBe('master');
    expect(shown.last_failover_at).not.toBeNull();
    expect(await attache.events(addon.id)).toContain('addon.failover');
    const [ownerAfter, sharedAfter] = [await versions(dev.apiKey, app.name), await versions(dev.apiKey, shared.name)];
    expect({ owner: ownerAfter.length - ownerBefore.length, shared: sharedAfter.length - sharedBefore.length }).toEqual({ owner: 1, shared: 1 });

    // Supervision restarts the old primary as the new one's replica.
    await attache.waitUntil('the old primary to run as a linked replica', async () => ((await info(dev.apiKey, addon.id)).replication.link_up ? true : undefined), 30_000);
    expect(alive(nodePid(addon.id, oldPort))).toBe(true);
    const old = await replication(url);
    expect([old.get('role'), old.get('master_port'), old.get('master_link_status')]).toEqual(['slave', String(portOf(newUrl)), 'up']);
    await attache.waitUntil('the write after the failover to reach the old primary', async () =>
      (await client(url).lrange('seq', -1, -1))[0] === 'after-failover' ? true : undefined,
    );
  });

  it('fails over by hand on premium (the URL swaps ports, data kept) and refuses it on mini', async () => {
    const { dev, app, addon, url } = await redis('manual', 'redis:premium-0');
    await client(url).set('kept', 'yes');
    await attache.waitUntil('the standby to be linked', async () => ((await info(dev.apiKey, addon.id)).replication.link_up ? true : undefined));

    const swapped = await attache.client(dev.apiKey).post(`/addons/${addon.name}/redis/failover`);
    expect(swapped.status).toBe(200);
    expect(swapped.body.last_failover_at).not.toBeNull();
    const newUrl = (await attache.configVars(dev.apiKey, app.name)).REDIS_URL;
    const standbyPort = Number(entries(addon.id).find((d) => d.startsWith('node-') && d !== `node-${portOf(url)}`)!.slice('node-'.length));
    expect(portOf(newUrl)).toBe(standbyPort);
    expect(newUrl).toBe(withPort(url, standbyPort));
    const promoted = client(newUrl);
    expect(await promoted.get('kept')).toBe('yes');
    expect(await promoted.set('after', '1')).toBe('OK');
    expect(await attache.events(addon.id)).toContain('addon.failover');
    const old = await attache.waitUntil('the old primary to replicate the new one', async () => {
      const replicationInfo = await replication(url);
      return replicationInfo.get('master_link_status') === 'up' ? replicationInfo : undefined;
    });
    expect([old.get('role'), old.get('master_port')]).toEqual(['slave', String(standbyPort)]);

    const mini = await redis('manual-mini');
    const refused = await attache.client(mini.dev.apiKey).post(`/addons/${mini.addon.name}/redis/failover`);
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ id: expect.any(String), message: expect.stringContaining('premium') });
    expect((await attache.configVars(mini.dev.apiKey, mini.app.name)).REDIS_URL).toBe(mini.url);
  });

  it('supervision restarts a killed mini node within seconds, and a killed premium standby and sentinel', async () => {
    const mini = await redis('supervise');
    const port = portOf(mini.url);
    const pid = nodePid(mini.addon.id, port);
    const killedAt = Date.now();
    await kill9(pid);
    const restarted = await attache.waitUntil(
      'the mini node to answer again',
      async () => ((await client(mini.url).ping().catch(() => null)) === 'PONG' ? Date.now() - killedAt : undefined),
      5_000,
    );
    expect(restarted).toBeLessThan(5_000);
    expect(nodePid(mini.addon.id, port)).not.toBe(pid);
    expect(alive(nodePid(mini.addon.id, port))).toBe(true);
    expect(await client(mini.url).set('again', '1')).toBe('OK');
    expect((await attache.configVars(mini.dev.apiKey, mini.app.name)).REDIS_URL).toBe(mini.url);

    const premium = await redis('supervise-ha', 'redis:premium-0');
    await client(premium.url).set('kept', 'yes');
    await attache.waitUntil('the standby to be linked', async () => ((await info(premium.dev.apiKey, premium.addon.id)).replication.link_up ? true : undefined));
    const dirs = entries(premium.addon.id);
    const standbyPort = Number(dirs.find((d) => d.startsWith('node-') && d !== `node-${portOf(premium.url)}`)!.slice('node-'.length));
    const sentinelPort = Number(dirs.find((d) => d.startsWith('sentinel-'))!.slice('sentinel-'.length));
    const [standbyPid, sentinel] = [nodePid(premium.addon.id, standbyPort), sentinelPid(premium.addon.id, sentinelPort)];
    await Promise.all([kill9(standbyPid), kill9(sentinel)]);
    await attache.waitUntil(
      'the standby and the sentinel to run again',
      async () => {
        const [standbyNow, sentinelNow] = [nodePid(premium.addon.id, standbyPort), sentinelPid(premium.addon.id, sentinelPort)];
        return standbyNow !== standbyPid && alive(standbyNow) && sentinelNow !== sentinel && alive(sentinelNow) ? true : undefined;
      },
      10_000,
    );
    const back = await attache.waitUntil('the standby to be linked again', async () => {
      const shown = await info(premium.dev.apiKey, premium.addon.id);
      return shown.replication.link_up ? shown : undefined;
    });
    expect(back).toMatchObject({ role: 'master', keys: 1, replication: { replicas: 1, link_up: true }, last_failover_at: null });
    expect(await client(withPort(premium.url, standbyPort)).get('kept')).toBe('yes');
    expect((await attache.configVars(premium.dev.apiKey, premium.app.name)).REDIS_URL).toBe(premium.url);
  });

  it('lets only the billing app’s members manage it: strangers get 403, members of an attached app read info but not credentials', async () => {
    const { dev, addon, url } = await redis('access');
    const stranger = await attache.createAccount('stranger');
    const member = await attache.createAccount('member');
    const attachedApp = await attache.createApp(dev.apiKey);
    await attache.client(dev.apiKey).post(`/apps/${attachedApp.name}/collaborators`).send({ user: member.email }).expect(201);
    await attache.client(dev.apiKey).post('/addon-attachments').send({ addon: addon.name, app: attachedApp.name, name: 'CACHE' }).expect(201);

    const outsider = attache.client(stranger.apiKey);
    for (const [what, call] of [
      ['info', () => outsider.get(`/addons/${addon.id}/redis`)],
      ['credentials', () => outsider.get(`/addons/${addon.id}/redis/credentials`)],
      ['rotate', () => outsider.post(`/addons/${addon.id}/redis/credentials/rotate`)],
      ['configure', () => outsider.patch(`/addons/${addon.id}/redis`).send({ timeout: 5 })],
      ['failover', () => outsider.post(`/addons/${addon.id}/redis/failover`)],
    ] as const) {
      const response = await call();
      expect({ what, status: response.status, id: response.body.id }).toEqual({ what, status: 403, id: 'forbidden' });
    }

    const viewer = attache.client(member.apiKey);
    const shown = await viewer.get(`/addons/${addon.name}/redis`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ addon: { id: addon.id }, plan: { name: 'redis:mini' }, role: 'master' });
    expect(JSON.stringify(shown.body)).not.toContain(passwordOf(url));
    for (const [what, call] of [
      ['credentials', () => viewer.get(`/addons/${addon.name}/redis/credentials`)],
      ['rotate', () => viewer.post(`/addons/${addon.name}/redis/credentials/rotate`)],
      ['configure', () => viewer.patch(`/addons/${addon.name}/redis`).send({ timeout: 5 })],
    ] as const) {
      const response = await call();
      expect({ what, status: response.status }).toEqual({ what, status: 403 });
    }
    // Nothing changed: the same password, the default timeout.
    expect((await attache.client(dev.apiKey).get(`/addons/${addon.id}/redis/credentials`)).body).toEqual({ url });
    expect((await info(dev.apiKey, addon.id)).timeout).toBe(0);
  });

  it('deprovisioning stops every process, frees the ports and removes the instance’s files', async () => {
    const { dev, app, addon, url } = await redis('deprov', 'redis:premium-0');
    const session = client(url);
    expect(await session.set('k', 'v')).toBe('OK');
    const dirs = entries(addon.id);
    const nodePorts = dirs.filter((d) => d.startsWith('node-')).map((d) => Number(d.slice('node-'.length)));
    const sentinelPort = Number(dirs.find((d) => d.startsWith('sentinel-'))!.slice('sentinel-'.length));
    expect(nodePorts).toHaveLength(2);
    const pids = [...nodePorts.map((port) => nodePid(addon.id, port)), sentinelPid(addon.id, sentinelPort)];
    expect(pids.map(alive)).toEqual([true, true, true]);

    const deleted = await attache.client(dev.apiKey).delete(`/apps/${app.name}/addons/${addon.id}`);
    expect(deleted.status).toBe(200);
    await attache.waitForAddonGone(dev.apiKey, addon.id, 30_000);

    expect(pids.map(alive)).toEqual([false, false, false]);
    for (const port of [...nodePorts, sentinelPort]) expect({ port, probe: await tcpProbe(port) }).toEqual({ port, probe: 'ECONNREFUSED' });
    expect(existsSync(instanceDir(addon.id))).toBe(false);
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({});
    expect((await attache.client(dev.apiKey).get(`/addons/${addon.id}/redis`)).status).toBe(404);
    expect(await errorOf(session.get('k'))).toBeTruthy();
  });
});
