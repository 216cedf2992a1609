import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { SecretBox, SystemClock, newId } from '@app/common';
import { Addon, Plan, ProvisionRequest, RedisHost, RedisHosts, RedisInstanceSpec, RedisSpareRefills, RedisSpares, redisSpec } from '@app/domain';
import { gate, unique, useAppStoreFixture, waitFor } from '../../../../test/support/store-fixtures';
import { LocalRedisDriver, secretFor } from './local-redis.driver';
import { RedisProvisioner } from './redis.provisioner';

class CountingRefills extends RedisSpareRefills {
  requests = 0;
  request(): void {
    this.requests++;
  }
}

/** A driver whose claim setup never finishes: the worker died between the claim's commit and the node's setup. */
class CrashingDriver extends LocalRedisDriver {
  override claimSpare(): Promise<void> {
    return new Promise<void>(() => undefined);
  }
}

/** A driver whose claim setup waits at a gate: whatever happens meanwhile happens mid-setup. */
class GatedDriver extends LocalRedisDriver {
  readonly reached = gate();
  readonly proceed = gate();
  override async claimSpare(spec: RedisInstanceSpec): Promise<void> {
    this.reached.open();
    await this.proceed.opened;
    return super.claimSpare(spec);
  }
}

/** A driver whose claim setup fails, as a spare that refuses Attache's credentials does. */
class RefusingDriver extends LocalRedisDriver {
  override claimSpare(): Promise<void> {
    return Promise.reject(new Error('refused'));
  }
}

/** A driver whose destroy waits at a gate before it starts. */
class SlowDestroyDriver extends LocalRedisDriver {
  readonly reached = gate();
  readonly proceed = gate();
  override async destroy(spec: Parameters<LocalRedisDriver['destroy']>[0]): Promise<void> {
    this.reached.open();
    await this.proceed.opened;
    return super.destroy(spec);
  }
}

/**
 * Spare mini nodes with real redis-server processes and a real PostgreSQL: the pool's upkeep,
 * claims by provisions (and their retries), and what a tenant of a claimed spare can do.
 */
describe('Redis spare nodes', () => {
  // Before the fixture's own, so the database is still there: jest runs afterAll hooks in the order they are declared.
  afterAll(async () => {
    const { store } = fixture;
    for (const instance of await store.redis.instances.listActive()) {
      await driver.destroy(redisSpec(instance, host, box)).catch((error: Error) => console.error(error.message));
    }
    for (const spare of await store.redis.spares.list()) {
      await driver.destroy({ key: spare.key, host: sparesOf(0).spec(spare, host).host, nodePorts: [spare.port], sentinelPort: null }).catch(() => undefined);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  const fixture = useAppStoreFixture({
    poolSize: 8,
    emailStem: 'redis-spares',
    service: {
      slug: `attache-redis-spares-${newId().slice(0, 8)}`,
      humanName: 'Attache Redis',
      provider: 'redis',
      configVarsPrefix: 'REDIS',
      defaultAlias: 'REDIS',
      configVars: ['REDIS_URL'],
      baseUrl: null,
    },
    plan: { name: 'mini', humanName: 'Mini', priceCents: 300 },
    addonStem: 'redis-spares',
  });
  const driver = new LocalRedisDriver();
  const box = new SecretBox(randomBytes(32));
  const clock = new SystemClock();
  const clients: Redis[] = [];
  let dataDir: string;
  let host: RedisHost;

  const sparesOf = (count: number) => new RedisSpares(fixture.store, driver, box, clock, { sparesPerHost: count });
  const provisionerWith = (count: number, refills?: RedisSpareRefills, withDriver: LocalRedisDriver = driver) =>
    new RedisProvisioner(fixture.store, withDriver, box, clock, { sparesPerHost: count }, refills);

  beforeAll(async () => {
    Logger.overrideLogger(['error']);
    dataDir = mkdtempSync(join(tmpdir(), 'attache-redis-spares-'));
    // Clear of `npm start` (17000s), the e2e harness (20000–27999), the benchmark (30000s), the driver's spec (31000–32499) and the ephemeral ports.
    const portMin = 28_000 + randomInt(0, 9) * 100;
    const now = new Date();
    host = await fixture.store.redis.hosts.upsertByName({
      id: newId(),
      name: unique('spares'),
      driver: 'local',
      address: '127.0.0.1',
      portMin,
      portMax: portMin + 99,
      dataDir,
      capacity: 50,
      state: 'active',
      createdAt: now,
      updatedAt: now,
    });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) if (client.status !== 'end') client.disconnect();
  });


  const plan = (name: string): Plan => ({ ...fixture.plan, name });
  const request = (addon: Addon, planName = 'mini'): ProvisionRequest => ({
    addon,
    service: fixture.service,
    plan: plan(planName),
    region: { id: addon.regionId } as ProvisionRequest['region'],
    oauthGrant: null,
    callbackUrl: 'http://127.0.0.1/unused',
  });
  const provisioningAddon = async (): Promise<Addon> => {
    const addon = await fixture.newAddon();
    await fixture.store.addons.update(addon.id, { state: 'provisioning' });
    return { ...addon, state: 'provisioning' };
  };

  const pidOf = (key: string, port: number): number | null => {
    const file = join(dataDir, key, `node-${port}`, 'redis.pid');
    if (!existsSync(file)) return null;
    const pid = Number(readFileSync(file, 'utf8').trim());
    return alive(pid) ? pid : null;
  };
  const unclaimed = async () => (await fixture.store.redis.spares.list()).filter((s) => s.hostId === host.id && (s.state === 'ready' || s.state === 'starting'));

  function connect(port: number, username?: string, password?: string): Redis {
    const client = new Redis({ host: '127.0.0.1', port, username, password, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 1, retryStrategy: () => null });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  }
  const tenant = (url: string) => {
    const parsed = new URL(url);
    return connect(Number(parsed.port), parsed.username, decodeURIComponent(parsed.password));
  };
  const admin = (spec: RedisInstanceSpec) => connect(spec.nodePorts[0], 'admin', secretFor(spec, 'admin'));
  const errorOf = (promise: Promise<unknown>) => promise.then(() => '', (error: Error) => error.message);
  const specOf = async (addonId: string) => redisSpec((await fixture.store.redis.instances.findByAddon(addonId))!, host, box);

  /** Every user's rules as the admin sees them, passwords left out (the order of commands within a rule is Redis's own). */
  const aclRules = async (spec: RedisInstanceSpec) =>
    ((await admin(spec).call('ACL', 'LIST')) as string[]).map((line) => line.replace(/ #[0-9a-f]{64}/g, ' #hash').split(' ').sort().join(' ')).sort();
  /** Alive and not a zombie (daemons are reparented to pid 1, which in a container may never reap them). */
  const alive = (pid: number | null): boolean => {
    if (pid === null) return false;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
    } catch {
      return false;
    }
  };

  it('fills the pool with ready spares that hold their ports and have no tenant', async () => {
    const spares = sparesOf(2);
    const upkeep = await spares.maintain();
    expect(upkeep.started).toBe(2);
    const pool = await unclaimed();
    expect(pool.map((s) => s.state)).toEqual(['ready', 'ready']);
    const held = await fixture.store.redis.ports.taken(host.id);
    for (const spare of pool) {
      expect(held.has(spare.port)).toBe(true);
      expect(pidOf(spare.key, spare.port)).not.toBeNull();
      // No `app` user yet: nobody but Attache can log in.
      expect(await errorOf(connect(spare.port, 'app', 'anything').ping())).toMatch(/WRONGPASS|invalid/i);
    }
    // A second pass has nothing to do.
    expect(await spares.maintain()).toEqual({ started: 0, restarted: 0, discarded: 0, forgotten: 0 });
    // What `attache redis:hosts` shows.
    const load = (await new RedisHosts(fixture.store, clock).listWithLoad()).find((row) => row.host.id === host.id);
    expect(load).toMatchObject({ instances: 0, spares: { ready: 2, starting: 0 } });
  });

  it('provisions a mini on a ready spare, starting no process on the way, and asks for a refill', async () => {
    const spares = sparesOf(2);
    await spares.maintain();
    const before = await unclaimed();
    const pids = new Map(before.map((s) => [s.key, pidOf(s.key, s.port)]));
    const refills = new CountingRefills();
    const addon = await provisioningAddon();

    const outcome = await provisionerWith(2, refills).provision(request(addon));

    const instance = (await fixture.store.redis.instances.findByAddon(addon.id))!;
    expect(pids.has(instance.key)).toBe(true);
    // The very process that was the spare, and it started nothing else.
    expect(pidOf(instance.key, instance.nodePorts[0])).toBe(pids.get(instance.key));
    expect(readFileSync(join(dataDir, instance.key, `node-${instance.nodePorts[0]}`, 'redis.log'), 'utf8').match(/Redis is starting/g)).toHaveLength(1);
    expect(refills.requests).toBe(1);
    expect(await fixture.store.redis.ports.heldBy(addon.id)).toEqual(instance.nodePorts);
    expect((await fixture.store.redis.spares.findClaimedBy(addon.id))?.key).toBe(instance.key);

    const url = outcome.kind === 'provisioned' ? outcome.config.REDIS_URL : '';
    const client = tenant(url);
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
    expect(await client.call('ACL', 'WHOAMI')).toBe('app');
    // The plan's limits, live and in the file a restart reads.
    const spec = await specOf(addon.id);
    expect(await admin(spec).call('CONFIG', 'GET', 'maxclients')).toEqual(['maxclients', String(20 + 6)]);
    expect(readFileSync(join(dataDir, instance.key, `node-${instance.nodePorts[0]}`, 'users.acl'), 'utf8')).toMatch(/^user app on #[0-9a-f]{64} ~\* /m);

    // The refill: one new spare, and the finished claim forgotten once the add-on is provisioned.
    await fixture.store.addons.update(addon.id, { state: 'provisioned' });
    const upkeep = await spares.maintain();
    expect(upkeep).toMatchObject({ started: 1, forgotten: 1 });
    expect((await unclaimed()).length).toBe(2);
    expect(await fixture.store.redis.spares.findClaimedBy(addon.id)).toBeNull();
  });

  it('never gives one spare to two concurrent provisions', async () => {
    await sparesOf(2).maintain();
    const pool = await unclaimed();
    const addons = await Promise.all([provisioningAddon(), provisioningAddon(), provisioningAddon(), provisioningAddon()]);
    const provisioner = provisionerWith(2);
    const outcomes = await Promise.all(addons.map((addon) => provisioner.provision(request(addon))));
    const instances = await Promise.all(addons.map(async (addon) => (await fixture.store.redis.instances.findByAddon(addon.id))!));

    expect(new Set(instances.map((i) => i.key)).size).toBe(4);
    expect(new Set(instances.map((i) => i.nodePorts[0])).size).toBe(4);
    // Both spares taken, once each; the other two started fresh.
    expect(instances.filter((i) => pool.some((s) => s.key === i.key))).toHaveLength(2);
    expect(instances.filter((i) => i.key.startsWith('r_'))).toHaveLength(2);
    // Each tenant reaches its own node only.
    const urls = outcomes.map((o) => (o.kind === 'provisioned' ? o.config.REDIS_URL : ''));
    for (const [k, url] of urls.entries()) {
      await tenant(url).set('owner', addons[k].id);
      const other = new URL(urls[(k + 1) % urls.length]);
      const parsed = new URL(url);
      expect(await errorOf(connect(Number(other.port), 'app', decodeURIComponent(parsed.password)).get('owner'))).toMatch(/WRONGPASS|invalid/i);
    }
    for (const [k, url] of urls.entries()) expect(await tenant(url).get('owner')).toBe(addons[k].id);
  });

  it('skips a spare the upkeep holds (restarting it) and claims the next one', async () => {
    await sparesOf(2).maintain();
    const [held, other] = await unclaimed();
    const release = gate();
    let locked!: () => void;
    const lockedNow = new Promise<void>((resolve) => (locked = resolve));
    const holding = fixture.store.transaction(async (tx) => {
      expect(await tx.redis.spares.lockUnclaimed(held.id)).not.toBeNull();
      locked();
      await release.opened;
    });
    await lockedNow;
    try {
      const addon = await provisioningAddon();
      await provisionerWith(2).provision(request(addon));
      expect((await fixture.store.redis.instances.findByAddon(addon.id))!.key).toBe(other.key);
      expect((await unclaimed()).map((s) => s.key)).toContain(held.key);
    } finally {
      release.open();
      await holding;
    }
  });

  it('finishes a claim whose setup a crash interrupted, on the retry, on the same spare', async () => {
    await sparesOf(2).maintain();
    const addon = await provisioningAddon();
    void provisionerWith(2, undefined, new CrashingDriver()).provision(request(addon));
    await waitFor(async () => (await fixture.store.redis.spares.findClaimedBy(addon.id)) !== null);
    const claimed = (await fixture.store.redis.spares.findClaimedBy(addon.id))!;
    const pid = pidOf(claimed.key, claimed.port);
    // The claim committed with the instance; the node has no tenant yet.
    const recorded = (await fixture.store.redis.instances.findByAddon(addon.id))!;
    expect(recorded.key).toBe(claimed.key);
    expect(await errorOf(connect(claimed.port, 'app', box.open(recorded.passwordSealed)).ping())).toMatch(/WRONGPASS|invalid/i);

    const outcome = await provisionerWith(2).provision(request(addon));

    expect((await fixture.store.redis.instances.findByAddon(addon.id))!.key).toBe(claimed.key);
    expect(pidOf(claimed.key, claimed.port)).toBe(pid);
    const client = tenant(outcome.kind === 'provisioned' ? outcome.config.REDIS_URL : '');
    expect(await client.ping()).toBe('PONG');
    // And again: the setup is idempotent.
    await provisionerWith(2).provision(request(addon));
    expect(await tenant(outcome.kind === 'provisioned' ? outcome.config.REDIS_URL : '').ping()).toBe('PONG');
  });

  it('discards a claimed spare that cannot be set up and starts a fresh node instead', async () => {
    await sparesOf(2).maintain();
    const [victim] = await unclaimed();
    // Attache's own admin no longer opens it: the claim's setup must fail.
    const victimSpec = { ...sparesOf(0).spec(victim, host) };
    const spareAdmin = connect(victim.port, 'admin', secretFor(victimSpec, 'admin'));
    await spareAdmin.call('ACL', 'SETUSER', 'admin', 'resetpass', `>${randomBytes(16).toString('hex')}`);
    const victimPid = pidOf(victim.key, victim.port);
    // The oldest ready spare is claimed first.
    const addon = await provisioningAddon();
    const outcome = await provisionerWith(2).provision(request(addon));

    const instance = (await fixture.store.redis.instances.findByAddon(addon.id))!;
    expect(instance.key).toBe(`r_${addon.id.replace(/-/g, '')}`);
    expect(instance.nodePorts).toEqual([victim.port]);
    expect(existsSync(join(dataDir, victim.key))).toBe(false);
    expect(victimPid !== null && pidOf(instance.key, victim.port) !== victimPid).toBe(true);
    expect(await fixture.store.redis.spares.findClaimedBy(addon.id)).toBeNull();
    expect(await tenant(outcome.kind === 'provisioned' ? outcome.config.REDIS_URL : '').ping()).toBe('PONG');
  });

  it('starts a claimed spare that died before the upkeep noticed as the instance, on its own key and port', async () => {
    await sparesOf(2).maintain();
    const [dead] = await unclaimed();
    const deadPid = pidOf(dead.key, dead.port)!;
    process.kill(deadPid, 'SIGKILL');
    await waitFor(async () => !alive(deadPid));
    const addon = await provisioningAddon();

    const outcome = await provisionerWith(2).provision(request(addon));

    const instance = (await fixture.store.redis.instances.findByAddon(addon.id))!;
    expect([instance.key, instance.nodePorts]).toEqual([dead.key, [dead.port]]);
    const pid = pidOf(instance.key, dead.port);
    expect(pid !== null && pid !== deadPid).toBe(true);
    const client = tenant(outcome.kind === 'provisioned' ? outcome.config.REDIS_URL : '');
    expect(await client.call('ACL', 'WHOAMI')).toBe('app');
    expect(await client.config('GET', 'maxclients').catch((error: Error) => error.message)).toMatch(/NOPERM/);
  });

  it('gives the tenant of a claimed spare exactly the rights of a fresh mini', async () => {
    await sparesOf(2).maintain();
    const [onSpare, fresh] = [await provisioningAddon(), await provisioningAddon()];
    const withSpare = await provisionerWith(2).provision(request(onSpare));
    const withoutSpare = await provisionerWith(0).provision(request(fresh));
    const [spareSpec, freshSpec] = [await specOf(onSpare.id), await specOf(fresh.id)];
    expect(spareSpec.key.startsWith('s_')).toBe(true);
    expect(freshSpec.key.startsWith('r_')).toBe(true);

    // The same users with the same rules, passwords aside, and the same limits.
    expect(await aclRules(spareSpec)).toEqual(await aclRules(freshSpec));
    for (const name of ['maxmemory', 'maxclients', 'maxmemory-policy', 'timeout', 'appendonly', 'save']) {
      expect(await admin(spareSpec).call('CONFIG', 'GET', name)).toEqual(await admin(freshSpec).call('CONFIG', 'GET', name));
    }
    for (const outcome of [withSpare, withoutSpare]) {
      const url = outcome.kind === 'provisioned' ? outcome.config.REDIS_URL : '';
      const client = tenant(url);
      const port = Number(new URL(url).port);
      expect(await errorOf(client.call('ACL', 'LIST'))).toMatch(/NOPERM/);
      expect(await errorOf(client.call('CONFIG', 'SET', 'maxmemory', '0'))).toMatch(/NOPERM/);
      expect(await errorOf(client.call('MIGRATE', '127.0.0.1', '1', 'k', '0', '1000'))).toMatch(/NOPERM/);
      expect(await errorOf(client.call('SUBSCRIBE', '__sentinel__:hello'))).toMatch(/NOPERM/);
      expect(await errorOf(connect(port).call('AUTH', 'default', ''))).toMatch(/WRONGPASS|disabled|invalid/i);
    }
  });

  it('keeps the data of a mini on a claimed spare through an upgrade to premium', async () => {
    await sparesOf(2).maintain();
    const addon = await provisioningAddon();
    const outcome = await provisionerWith(2).provision(request(addon));
    const url = outcome.kind === 'provisioned' ? outcome.config.REDIS_URL : '';
    await tenant(url).set('kept', 'yes');
    await fixture.store.addons.update(addon.id, { state: 'provisioned' });

    await provisionerWith(2).changePlan({ addon, service: fixture.service, plan: plan('premium-0') });

    const instance = (await fixture.store.redis.instances.findByAddon(addon.id))!;
    expect(instance.key.startsWith('s_')).toBe(true);
    expect(instance.nodePorts).toHaveLength(2);
    expect(instance.sentinelPort).not.toBeNull();
    expect(await tenant(url).get('kept')).toBe('yes');
    expect(await admin(redisSpec(instance, host, box)).call('CONFIG', 'GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    await provisionerWith(2).deprovision({ addon, service: fixture.service });
  });

  it('restarts a spare whose process died, and discards spares beyond the target', async () => {
    const spares = sparesOf(2);
    await spares.maintain();
    const [dead] = await unclaimed();
    process.kill(pidOf(dead.key, dead.port)!, 'SIGKILL');
    await waitFor(async () => pidOf(dead.key, dead.port) === null || !(await driver.isSpareHealthy(spares.spec(dead, host))));
    expect((await spares.maintain()).restarted).toBe(1);
    expect(pidOf(dead.key, dead.port)).not.toBeNull();

    // A lower target (or a draining host) stops the extra spares and frees their ports and files.
    const pool = await unclaimed();
    expect((await sparesOf(0).maintain()).discarded).toBe(pool.length);
    expect(await unclaimed()).toHaveLength(0);
    const held = await fixture.store.redis.ports.taken(host.id);
    for (const spare of pool) {
      expect(held.has(spare.port)).toBe(false);
      expect(await driver.isPortFree(spares.spec(spare, host).host, spare.port)).toBe(true);
      expect(existsSync(join(dataDir, spare.key))).toBe(false);
    }
    await spares.maintain();
    expect(await unclaimed()).toHaveLength(2);
    await fixture.store.redis.hosts.upsertByName({ ...host, state: 'draining', updatedAt: new Date() });
    try {
      await spares.maintain();
      expect(await unclaimed()).toHaveLength(0);
    } finally {
      await fixture.store.redis.hosts.upsertByName({ ...host, state: 'active', updatedAt: new Date() });
    }
  });

  it('starts no fresh node for an add-on deprovisioned while its claimed spare was being set up', async () => {
    await sparesOf(2).maintain();
    const addon = await provisioningAddon();
    const gated = new GatedDriver();
    const provision = provisionerWith(2, undefined, gated).provision(request(addon));
    const failed = errorOf(provision);
    await gated.reached.opened;
    const instance = (await fixture.store.redis.instances.findByAddon(addon.id))!;
    expect(instance.key.startsWith('s_')).toBe(true);

    await provisionerWith(2).deprovision({ addon, service: fixture.service });
    gated.proceed.open();

    expect(await failed).toMatch(/destroyed/);
    const freshKey = `r_${addon.id.replace(/-/g, '')}`;
    expect(pidOf(freshKey, instance.nodePorts[0])).toBeNull();
    expect(existsSync(join(dataDir, freshKey))).toBe(false);
    expect(await driver.isPortFree(redisSpec(instance, host, box).host, instance.nodePorts[0])).toBe(true);
    const after = (await fixture.store.redis.instances.findByAddon(addon.id))!;
    expect([after.state, after.key]).toEqual(['destroyed', instance.key]);
    expect(await fixture.store.redis.ports.heldBy(addon.id)).toEqual([]);
  });

  it('stops the fresh node a failed spare setup started while a deprovision was stopping the spare', async () => {
    await sparesOf(2).maintain();
    const addon = await provisioningAddon();
    const gated = new SlowDestroyDriver();
    // The claim commits; the deprovision reads the instance on the spare and starts stopping it.
    void provisionerWith(2, undefined, new CrashingDriver()).provision(request(addon));
    await waitFor(async () => (await fixture.store.redis.spares.findClaimedBy(addon.id)) !== null);
    const onSpare = (await fixture.store.redis.instances.findByAddon(addon.id))!;
    const deprovision = provisionerWith(2, undefined, gated).deprovision({ addon, service: fixture.service });
    await gated.reached.opened;
    // Meanwhile a retry finds the spare refusing its setup and starts a fresh node on its port.
    await provisionerWith(2, undefined, new RefusingDriver()).provision(request(addon));
    const fresh = (await fixture.store.redis.instances.findByAddon(addon.id))!;
    expect(fresh.key).toBe(`r_${addon.id.replace(/-/g, '')}`);
    expect(pidOf(fresh.key, onSpare.nodePorts[0])).not.toBeNull();

    gated.proceed.open();
    await deprovision;

    expect(pidOf(fresh.key, onSpare.nodePorts[0])).toBeNull();
    expect(pidOf(onSpare.key, onSpare.nodePorts[0])).toBeNull();
    expect(await driver.isPortFree(redisSpec(onSpare, host, box).host, onSpare.nodePorts[0])).toBe(true);
    expect((await fixture.store.redis.instances.findByAddon(addon.id))?.state).toBe('destroyed');
  });

  it('leaves no process, port, file or spare row behind when a mini on a spare is deprovisioned', async () => {
    await sparesOf(2).maintain();
    const addon = await provisioningAddon();
    await provisionerWith(2).provision(request(addon));
    const instance = (await fixture.store.redis.instances.findByAddon(addon.id))!;
    const pid = pidOf(instance.key, instance.nodePorts[0]);
    expect(instance.key.startsWith('s_')).toBe(true);

    await provisionerWith(2).deprovision({ addon, service: fixture.service });

    expect(pid).not.toBeNull();
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(dataDir, instance.key))).toBe(false);
    expect(await driver.isPortFree(redisSpec(instance, host, box).host, instance.nodePorts[0])).toBe(true);
    expect(await fixture.store.redis.ports.heldBy(addon.id)).toEqual([]);
    expect(await fixture.store.redis.spares.findClaimedBy(addon.id)).toBeNull();
    expect((await fixture.store.redis.instances.findByAddon(addon.id))?.state).toBe('destroyed');
  });
});
