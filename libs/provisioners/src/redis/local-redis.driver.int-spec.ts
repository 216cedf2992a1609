import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { RedisHostConnection, RedisInstanceSpec } from '@app/domain';
import { LocalRedisDriver, secretFor } from './local-redis.driver';

const password = () => randomBytes(24).toString('base64url');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * LocalRedisDriver with real redis-server processes (and sentinels) in a scratch directory, on
 * ports far from the machine's own Redis. Every claim is checked by connecting as the tenant.
 */
describe('LocalRedisDriver', () => {
  const driver = new LocalRedisDriver();
  const specs: RedisInstanceSpec[] = [];
  const clients: Redis[] = [];
  let dataDir: string;
  let host: RedisHostConnection;
  // Clear of `npm start` (17000s), the e2e harness (20000–27999), the benchmark (30000s) and the kernel's ephemeral ports (32768+).
  let nextPort = 31_000 + Math.floor(Math.random() * 1_500);

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'attache-redis-'));
    host = { id: 'local-test', name: 'local-test', address: '127.0.0.1', dataDir };
  });

  afterAll(async () => {
    for (const client of clients) if (client.status !== 'end') client.disconnect();
    for (const spec of specs) await driver.destroy(spec).catch((error: Error) => console.error(`destroy ${spec.key}: ${error.message}`));
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function freePort(): Promise<number> {
    for (;;) {
      const port = nextPort++;
      if (await driver.isPortFree(host, port)) return port;
    }
  }

  async function newSpec(options: { nodes: 1 | 2; sentinel?: boolean; persistence?: boolean }): Promise<RedisInstanceSpec> {
    const nodePorts: number[] = [];
    for (let i = 0; i < options.nodes; i++) nodePorts.push(await freePort());
    const spec: RedisInstanceSpec = {
      key: `r${randomBytes(5).toString('hex')}`,
      host,
      nodePorts,
      primaryIndex: 0,
      sentinelPort: options.sentinel ? await freePort() : null,
      password: password(),
      internalPassword: password(),
      maxmemoryBytes: 25 * 1024 * 1024,
      maxclients: 20,
      persistence: options.persistence ?? false,
      maxmemoryPolicy: 'noeviction',
      timeoutSeconds: 0,
    };
    specs.push(spec);
    return spec;
  }

  function connect(port: number, username?: string, pw?: string): Redis {
    const client = new Redis({
      host: '127.0.0.1',
      port,
      username,
      password: pw,
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  }

  const admin = (spec: RedisInstanceSpec, port: number) => connect(port, 'admin', secretFor(spec, 'admin'));
  const app = (spec: RedisInstanceSpec, port: number, pw = spec.password) => connect(port, 'app', pw);

  async function errorOf(promise: Promise<unknown>): Promise<string> {
    try {
      await promise;
      return '';
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** The reply to AUTH on a fresh connection: '' when accepted, else the error. */
  async function authError(port: number, ...args: string[]): Promise<string> {
    const client = connect(port);
    try {
      return await errorOf(client.call('AUTH', ...args));
    } finally {
      if (client.status !== 'end') client.disconnect();
    }
  }

  async function replication(spec: RedisInstanceSpec, port: number): Promise<Map<string, string>> {
    const client = admin(spec, port);
    try {
      const text = await client.info('replication');
      return new Map(text.split(/\r?\n/).filter((line) => line.includes(':')).map((line) => line.split(':', 2) as [string, string]));
    } finally {
      client.disconnect();
    }
  }

  async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<number> {
    const started = Date.now();
    while (!(await check().catch(() => false))) {
      if (Date.now() - started > timeoutMs) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(100);
    }
    return Date.now() - started;
  }

  const nodeDir = (spec: RedisInstanceSpec, port: number) => join(dataDir, spec.key, `node-${port}`);
  const pidOf = (dir: string, file: string) => Number(readFileSync(join(dir, file), 'utf8').trim());
  const nodePid = (spec: RedisInstanceSpec, port: number) => pidOf(nodeDir(spec, port), 'redis.pid');
  const sentinelPid = (spec: RedisInstanceSpec, port: number) => pidOf(join(dataDir, spec.key, `sentinel-${port}`), 'sentinel.pid');

  /** Running, and not a zombie: pid 1 here does not reap the daemons it inherits. */
  function alive(pid: number): boolean {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
    } catch {
      return false;
    }
  }

  async function kill9(spec: RedisInstanceSpec, port: number): Promise<void> {
    const pid = nodePid(spec, port);
    process.kill(pid, 'SIGKILL');
    await waitFor(`pid ${pid} to exit`, async () => !alive(pid), 5_000);
  }

  it('gives each instance its own server, with `default` off and `app` kept from administering it', async () => {
    const a = await newSpec({ nodes: 1 });
    const b = await newSpec({ nodes: 1 });
    // Concurrent calls for one instance are serialised; the second adopts what the first started.
    await Promise.all([driver.ensure(a), driver.ensure(a), driver.ensure(b)]);
    const [portA] = a.nodePorts;
    const [portB] = b.nodePorts;
    expect(new Set(readdirSync(join(dataDir, a.key)).filter((name) => name.startsWith('node-')))).toEqual(new Set([`node-${portA}`]));
    // A second start would have failed to bind and left no pidfile behind.
    expect(alive(nodePid(a, portA))).toBe(true);

    const tenantA = app(a, portA);
    expect(await tenantA.set('secret', 'a-only')).toBe('OK');
    expect(await tenantA.get('secret')).toBe('a-only');

    expect(await authError(portB, 'app', a.password)).toMatch(/^WRONGPASS/);
    expect(await authError(portB, 'admin', secretFor(a, 'admin'))).toMatch(/^WRONGPASS/);
    const tenantB = app(b, portB);
    expect(await tenantB.get('secret')).toBeNull();
    expect(await tenantB.dbsize()).toBe(0);

    // No credentials, or the `default` user: refused.
    const anonymous = connect(portA);
    expect(await errorOf(anonymous.get('secret'))).toMatch(/^NOAUTH/);
    expect(await authError(portA, a.password)).toMatch(/^WRONGPASS/);
    expect(await authError(portA, 'default', a.password)).toMatch(/^WRONGPASS/);
    expect(await authError(portA, 'default', '')).toMatch(/^WRONGPASS/);

    for (const command of [
      ['CONFIG', 'GET', 'maxmemory'],
      ['CONFIG', 'SET', 'maxmemory', '0'],
      ['SHUTDOWN', 'NOSAVE'],
      ['ACL', 'LIST'],
      ['ACL', 'SETUSER', 'app', 'nopass'],
      ['REPLICAOF', '127.0.0.1', String(portB)],
      ['MIGRATE', '127.0.0.1', '6379', 'secret', '0', '1000'],
    ]) {
      expect([command.join(' '), await errorOf(tenantA.call(command[0], ...command.slice(1)))]).toEqual([command.join(' '), expect.stringMatching(/^NOPERM/)]);
    }
    // What clients need on connect and tenants expect from their own server still works.
    expect(await tenantA.info('memory')).toContain('used_memory:');
    expect(await tenantA.keys('*')).toEqual(['secret']);
    expect(await tenantA.call('ACL', 'WHOAMI')).toBe('app');

    // No plaintext password on disk.
    const files = ['redis.conf', 'users.acl'].map((file) => readFileSync(join(nodeDir(a, portA), file), 'utf8')).join('\n');
    expect(files).not.toContain(a.password);
    expect(files).toContain(createHash('sha256').update(a.password).digest('hex'));
  });

  it('keeps acknowledged writes across a SIGKILL of the node (AOF) and restarts it through ensure', async () => {
    const spec = await newSpec({ nodes: 1, persistence: true });
    await driver.ensure(spec);
    const [port] = spec.nodePorts;
    const tenant = app(spec, port);
    const pipeline = tenant.pipeline();
    for (let i = 0; i < 1000; i++) pipeline.set(`k${i}`, String(i));
    await pipeline.exec();
    expect(await tenant.incrby('counter', 1000)).toBe(1000);
    expect(existsSync(join(nodeDir(spec, port), 'appendonlydir'))).toBe(true);

    const pidBefore = nodePid(spec, port);
    await kill9(spec, port);
    await driver.ensure(spec);
    expect(nodePid(spec, port)).not.toBe(pidBefore);

    const after = app(spec, port);
    expect(await after.dbsize()).toBe(1001);
    expect(await after.get('k999')).toBe('999');
    expect(await after.get('counter')).toBe('1000');
  });

  it('fails over to the standby when the primary dies under writes, and brings the old primary back as its replica', async () => {
    const spec = await newSpec({ nodes: 2, sentinel: true, persistence: true });
    await driver.ensure(spec);
    const [oldPort, newPort] = spec.nodePorts;
    expect(await driver.currentPrimary(spec)).toBe(0);
    expect((await replication(spec, newPort)).get('master_link_status')).toBe('up');

    const writer = app(spec, oldPort);
    const acknowledged: number[] = [];
    let attempted = 0;
    const writes = (async () => {
      for (;;) {
        const n = ++attempted;
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
    process.kill(nodePid(spec, oldPort), 'SIGKILL');
    await writes;

    // The supervisor's ensure in the meantime must not restart the dead primary in place.
    await driver.ensure(spec);
    expect(await driver.isPortFree(host, oldPort)).toBe(true);

    await waitFor('the sentinel to name the standby', async () => (await driver.currentPrimary(spec)) === 1, 30_000);
    const failoverMs = Date.now() - killedAt;

    const promoted = app(spec, newPort);
    const present = new Set((await promoted.lrange('seq', 0, -1)).map(Number));
    const missing = acknowledged.filter((n) => !present.has(n));
    console.log(
      `failover: sentinel named the new primary ${failoverMs} ms after SIGKILL (down-after 2000 ms); ` +
        `${acknowledged.length} writes acknowledged, ${missing.length} of them missing on the new primary` +
        (missing.length > 0 ? ` (seq ${missing[0]}..${missing[missing.length - 1]})` : ''),
    );
    expect(failoverMs).toBeLessThan(30_000);
    expect(await promoted.rpush('seq', 'after-failover')).toBeGreaterThan(0);

    await driver.ensure({ ...spec, primaryIndex: 1 });
    await waitFor('the old primary to replicate the new one', async () => {
      const info = await replication(spec, oldPort);
      return info.get('role') === 'slave' && info.get('master_port') === String(newPort) && info.get('master_link_status') === 'up';
    });
    const replica = app(spec, oldPort);
    await waitFor('the write after failover on the old primary', async () => (await replica.lrange('seq', -1, -1))[0] === 'after-failover');
    expect(await errorOf(replica.set('x', '1'))).toMatch(/^READONLY/);
  });

  it('rotates the app password: old one refused, its connections closed, new one kept across a restart', async () => {
    const spec = await newSpec({ nodes: 1, persistence: true });
    await driver.ensure(spec);
    const [port] = spec.nodePorts;
    const before = app(spec, port);
    await before.set('k', 'v');
    const closed = new Promise<void>((resolve) => before.once('end', () => resolve()));

    const newPassword = password();
    await driver.addPassword(spec, newPassword);
    // Until the new password is everywhere, both work and nothing is disconnected.
    expect(await app(spec, port, newPassword).get('k')).toBe('v');
    expect(await app(spec, port).get('k')).toBe('v');
    expect(await before.get('k')).toBe('v');
    await driver.retireOtherPasswords(spec, newPassword);
    await waitFor('the old connection to be closed', async () => before.status === 'end', 5_000);
    await closed;
    expect(await authError(port, 'app', spec.password)).toMatch(/^WRONGPASS/);
    expect(await app(spec, port, newPassword).get('k')).toBe('v');
    const acl = readFileSync(join(nodeDir(spec, port), 'users.acl'), 'utf8');
    expect(acl).not.toContain(newPassword);
    expect(acl).toContain(createHash('sha256').update(newPassword).digest('hex'));

    const rotated = { ...spec, password: newPassword };
    await kill9(rotated, port);
    await driver.ensure(rotated);
    expect(await app(spec, port, newPassword).get('k')).toBe('v');
    expect(await authError(port, 'app', spec.password)).toMatch(/^WRONGPASS/);
  });

  it('swaps roles on a manual failover, and reports info from the primary', async () => {
    const spec = await newSpec({ nodes: 2, sentinel: true, persistence: true });
    await driver.ensure(spec);
    const [first, second] = spec.nodePorts;
    const tenant = app(spec, first);
    for (let i = 0; i < 10; i++) await tenant.set(`k${i}`, 'x'.repeat(100));

    const info = await driver.info(spec);
    expect(info).toEqual({
      role: 'master',
      usedMemoryBytes: expect.any(Number),
      maxmemoryBytes: spec.maxmemoryBytes,
      connectedClients: expect.any(Number),
      maxclients: spec.maxclients,
      opsPerSecond: expect.any(Number),
      keys: 10,
      persistence: { aofEnabled: true, lastWriteStatus: 'ok' },
      replication: { replicas: 1, lagBytes: expect.any(Number), linkUp: true },
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
    });
    expect(info.usedMemoryBytes).toBeGreaterThan(500_000);
    expect(info.connectedClients).toBeGreaterThanOrEqual(1);
    expect(info.replication.lagBytes).toBeGreaterThanOrEqual(0);

    // A writer on the old primary throughout: the sentinel promotes with REPLICAOF NO ONE, so what
    // the old primary acknowledges between that and its demotion is lost.
    const writer = app(spec, first);
    const acknowledged: number[] = [];
    let stop = false;
    const writes = (async () => {
      for (let n = 1; !stop; n++) {
        try {
          await writer.rpush('seq', String(n));
          acknowledged.push(n);
        } catch {
          await sleep(10);
        }
      }
    })();
    await sleep(200);
    const startedAt = Date.now();
    expect(await driver.failover(spec)).toBe(1);
    const failoverMs = Date.now() - startedAt;
    stop = true;
    await writes;
    const present = new Set((await app(spec, second).lrange('seq', 0, -1)).map(Number));
    const missing = acknowledged.filter((n) => !present.has(n));
    console.log(
      `manual failover: done after ${failoverMs} ms; ${acknowledged.length} writes acknowledged by the old primary, ` +
        `${missing.length} of them missing on the new primary`,
    );
    expect((await replication(spec, second)).get('role')).toBe('master');
    await waitFor('the old primary to be demoted', async () => {
      const old = await replication(spec, first);
      return old.get('role') === 'slave' && old.get('master_port') === String(second) && old.get('master_link_status') === 'up';
    });
    expect(await driver.currentPrimary(spec)).toBe(1);
    const swapped = { ...spec, primaryIndex: 1 };
    expect(await app(spec, second).set('after', '1')).toBe('OK');
    expect((await driver.info(swapped)).keys).toBe(12);
  });

  it('applies configuration live and keeps it across a restart', async () => {
    const spec = await newSpec({ nodes: 1 });
    await driver.ensure(spec);
    const [port] = spec.nodePorts;
    const changed: RedisInstanceSpec = {
      ...spec,
      maxmemoryBytes: 50 * 1024 * 1024,
      maxclients: 40,
      maxmemoryPolicy: 'allkeys-lru',
      timeoutSeconds: 300,
      persistence: true,
    };
    const settings = async () => {
      const client = admin(spec, port);
      try {
        const reply = (await client.call('CONFIG', 'GET', 'maxmemory', 'maxclients', 'maxmemory-policy', 'timeout', 'appendonly')) as string[];
        const map = new Map<string, string>();
        for (let i = 0; i < reply.length; i += 2) map.set(reply[i], reply[i + 1]);
        return Object.fromEntries([...map.entries()].sort());
      } finally {
        client.disconnect();
      }
    };
    // The plan's 40 clients, and the ones Attache keeps for itself.
    const expected = { appendonly: 'yes', maxclients: '46', maxmemory: String(50 * 1024 * 1024), 'maxmemory-policy': 'allkeys-lru', timeout: '300' };

    const pid = nodePid(spec, port);
    await driver.configure(changed);
    expect(nodePid(spec, port)).toBe(pid);
    expect(await settings()).toEqual(expected);
    expect(readFileSync(join(nodeDir(spec, port), 'redis.conf'), 'utf8')).toMatch(/^maxmemory 50mb$/m);

    await kill9(changed, port);
    await driver.ensure(changed);
    expect(await settings()).toEqual(expected);
  });

  it('moves from mini to premium and back without losing data', async () => {
    const mini = await newSpec({ nodes: 1 });
    await driver.ensure(mini);
    const [primaryPort] = mini.nodePorts;
    const tenant = app(mini, primaryPort);
    for (let i = 0; i < 100; i++) await tenant.set(`k${i}`, String(i));

    const premium: RedisInstanceSpec = { ...mini, nodePorts: [primaryPort, await freePort()], sentinelPort: await freePort(), persistence: true };
    specs.push(premium);
    const primaryPid = nodePid(mini, primaryPort);
    await driver.configure(premium);
    await driver.ensure(premium);
    const standbyPort = premium.nodePorts[1];
    expect(nodePid(premium, primaryPort)).toBe(primaryPid);
    await waitFor('the standby to hold the data', async () => (await app(premium, standbyPort).dbsize()) === 100);
    expect(await app(premium, standbyPort).get('k99')).toBe('99');
    expect(await driver.currentPrimary(premium)).toBe(0);
    expect((await driver.info(premium)).persistence.aofEnabled).toBe(true);

    const standbyPid = nodePid(premium, standbyPort);
    const sentinelPidBefore = sentinelPid(premium, premium.sentinelPort as number);
    const back: RedisInstanceSpec = { ...premium, nodePorts: [primaryPort], sentinelPort: null, persistence: false };
    await driver.configure(back);
    await driver.ensure(back);
    expect([alive(standbyPid), alive(sentinelPidBefore), alive(primaryPid)]).toEqual([false, false, true]);
    expect(await driver.isPortFree(host, standbyPort)).toBe(true);
    expect(await driver.isPortFree(host, premium.sentinelPort as number)).toBe(true);
    expect(readdirSync(join(dataDir, mini.key)).filter((name) => !name.startsWith('.'))).toEqual([`node-${primaryPort}`]);
    expect(await app(back, primaryPort).dbsize()).toBe(100);
    expect(await driver.currentPrimary(back)).toBeNull();
  });

  it('promotes the standby when a downgrade keeps it rather than the primary', async () => {
    const premium = await newSpec({ nodes: 2, sentinel: true, persistence: true });
    await driver.ensure(premium);
    const [primaryPort, standbyPort] = premium.nodePorts;
    await app(premium, primaryPort).set('k', 'v');
    await waitFor('the standby to hold the key', async () => (await app(premium, standbyPort).get('k')) === 'v');

    const mini: RedisInstanceSpec = { ...premium, nodePorts: [standbyPort], sentinelPort: null };
    await driver.ensure(mini);
    expect((await replication(mini, standbyPort)).get('role')).toBe('master');
    expect(await app(mini, standbyPort).set('k2', 'v2')).toBe('OK');
    expect(await app(mini, standbyPort).get('k')).toBe('v');
    expect(await driver.isPortFree(host, primaryPort)).toBe(true);
  });

  it('destroys every process, port and file of an instance, idempotently', async () => {
    const spec = await newSpec({ nodes: 2, sentinel: true, persistence: true });
    await driver.ensure(spec);
    const ports = [...spec.nodePorts, spec.sentinelPort as number];
    const pids = [...spec.nodePorts.map((port) => nodePid(spec, port)), sentinelPid(spec, spec.sentinelPort as number)];
    expect(pids.map(alive)).toEqual([true, true, true]);

    await driver.destroy(spec);
    expect(pids.map(alive)).toEqual([false, false, false]);
    for (const port of ports) expect(await driver.isPortFree(host, port)).toBe(true);
    expect(existsSync(join(dataDir, spec.key))).toBe(false);

    await driver.destroy(spec);
    expect(existsSync(join(dataDir, spec.key))).toBe(false);
    // A caller still holding the old spec cannot bring it back.
    await expect(driver.ensure(spec)).rejects.toThrow(/was destroyed/);
    expect(existsSync(join(dataDir, spec.key))).toBe(false);
    for (const port of ports) expect(await driver.isPortFree(host, port)).toBe(true);
  });

  it('adopts a running node whose pidfile is gone instead of starting a second one', async () => {
    const spec = await newSpec({ nodes: 1, persistence: false });
    await driver.ensure(spec);
    const [port] = spec.nodePorts;
    const pid = nodePid(spec, port);
    rmSync(join(nodeDir(spec, port), 'redis.pid'));
    await driver.ensure(spec);
    expect(nodePid(spec, port)).toBe(pid);
    expect(alive(pid)).toBe(true);
    await driver.destroy(spec);
    expect(alive(pid)).toBe(false);
  });

  it('keeps the tenant off the sentinel’s channel, where a forged hello would redirect the sentinel', async () => {
    const spec = await newSpec({ nodes: 2, sentinel: true, persistence: true });
    await driver.ensure(spec);
    const tenant = app(spec, spec.nodePorts[spec.primaryIndex]);
    const forged = `127.0.0.1,${spec.sentinelPort},${'a'.repeat(40)},100,${spec.key},127.0.0.1,1,100`;
    await expect(tenant.publish('__sentinel__:hello', forged)).rejects.toThrow(/NOPERM/);
    // Its own channels, keyspace notifications' included, stay open to it.
    expect(await tenant.publish('orders', 'x')).toBe(0);
    expect(await tenant.publish('__keyspace@0__:k', 'x')).toBe(0);
    expect(await driver.currentPrimary(spec)).toBe(spec.primaryIndex);
    await driver.destroy(spec);
  });
});
