import { DataSource } from 'typeorm';
import { newId } from '@app/common';
import { RedisHost, RedisInstance } from '@app/domain';
import { blockedSessions, gate, unique, useAppStoreFixture, waitFor } from '../../../../test/support/store-fixtures';
import { describeLeastLoadedPlacement } from '../../../../test/support/least-loaded-placement';
import { TypeOrmStore } from './typeorm-store';

/** The first-party Redis repositories on a real PostgreSQL: placement, instances, port holding. */
describe('TypeOrmStore.redis', () => {
  const fixture = useAppStoreFixture({
    poolSize: 6,
    emailStem: 'redis',
    service: {
      slug: `attache-redis-${newId().slice(0, 8)}`,
      humanName: 'Attache Redis',
      provider: 'redis',
      configVarsPrefix: 'REDIS',
      defaultAlias: 'REDIS',
      configVars: ['REDIS_URL'],
      baseUrl: null,
    },
    plan: { name: 'mini', humanName: 'Mini', priceCents: 300 },
    addonStem: 'redis',
  });
  let dataSource: DataSource;
  let store: TypeOrmStore;
  const { newAddon } = fixture;

  beforeAll(() => {
    ({ dataSource, store } = fixture);
  });

  const newHost = async (name: string, capacity: number, state: RedisHost['state'] = 'active'): Promise<RedisHost> => {
    const now = new Date();
    return store.redis.hosts.upsertByName({
      id: newId(),
      name,
      driver: 'local',
      address: '127.0.0.1',
      portMin: 16000,
      portMax: 16999,
      dataDir: `/var/lib/attache/redis/${name}`,
      capacity,
      state,
      createdAt: now,
      updatedAt: now,
    });
  };

  const instanceOf = (addonId: string, hostId: string, extra: Partial<RedisInstance> = {}): RedisInstance => {
    const now = new Date();
    return {
      addonId,
      hostId,
      key: `r_${addonId.replace(/-/g, '')}`,
      state: 'active',
      nodePorts: [16001],
      primaryIndex: 0,
      sentinelPort: null,
      passwordSealed: 'sealed-app',
      pendingPasswordSealed: null,
      pendingSince: null,
      internalPasswordSealed: 'sealed-internal',
      maxmemoryBytes: 25 * 1024 * 1024,
      maxclients: 20,
      persistence: false,
      highAvailability: false,
      maxmemoryPolicy: 'noeviction',
      timeoutSeconds: 300,
      lastFailoverAt: null,
      createdAt: now,
      updatedAt: now,
      destroyedAt: null,
      ...extra,
    };
  };

  /** `count` instances on the host, each with its own add-on. */
  const place = async (host: RedisHost, count: number, state: RedisInstance['state'] = 'active'): Promise<void> => {
    for (let i = 0; i < count; i++) {
      await store.redis.instances.create(instanceOf((await newAddon()).id, host.id, { state, destroyedAt: state === 'destroyed' ? new Date() : null }));
    }
  };

  describe('hosts', () => {
    it('registers a host, and updates it by name keeping its id and registration time', async () => {
      const name = unique('upsert');
      const first = await newHost(name, 10);
      expect(await store.redis.hosts.findById(first.id)).toEqual(first);
      const updatedAt = new Date(first.updatedAt.getTime() + 60_000);
      const again = await store.redis.hosts.upsertByName({
        ...first,
        id: newId(),
        address: 'redis.internal',
        portMin: 20000,
        portMax: 20999,
        capacity: 20,
        state: 'draining',
        createdAt: new Date(first.createdAt.getTime() + 60_000),
        updatedAt,
      });
      expect(again).toEqual({ ...first, address: 'redis.internal', portMin: 20000, portMax: 20999, capacity: 20, state: 'draining', updatedAt });
      expect(await store.redis.hosts.findByName(name)).toEqual(again);
      expect((await store.redis.hosts.list()).filter((h) => h.name === name)).toEqual([again]);
      expect(await store.redis.hosts.findById('not-a-uuid')).toBeNull();
      expect(await store.redis.hosts.findById(newId())).toBeNull();
      expect(await store.redis.hosts.findByName('no\u0000such')).toBeNull();
    });

    it('counts the active instances of each host', async () => {
      const a = await newHost(unique('count-a'), 10, 'draining');
      const b = await newHost(unique('count-b'), 10, 'draining');
      const empty = await newHost(unique('count-empty'), 10, 'draining');
      await place(a, 2);
      await place(a, 1, 'destroyed');
      await place(b, 1);
      const counts = await store.redis.hosts.countActiveInstances();
      expect(counts.get(a.id)).toBe(2);
      expect(counts.get(b.id)).toBe(1);
      expect(counts.has(empty.id)).toBe(false);
    });

    it('locks one host row until the transaction ends', async () => {
      const host = await newHost(unique('lock'), 10, 'draining');
      const other = await newHost(unique('lock-other'), 10, 'draining');
      const locked = gate();
      const release = gate();
      const first = store.transaction(async (tx) => {
        await tx.redis.hosts.lock(host.id);
        locked.open();
        await release.opened;
      });
      await locked.opened;
      // Another host is not held up.
      await store.transaction((tx) => tx.redis.hosts.lock(other.id));
      let secondDone = false;
      const second = store.transaction((tx) => tx.redis.hosts.lock(host.id)).then(() => (secondDone = true));
      await waitFor(async () => (await blockedSessions(dataSource)) > 0);
      expect(secondDone).toBe(false);
      release.open();
      await first;
      await second;
      expect(secondDone).toBe(true);
      await store.transaction((tx) => tx.redis.hosts.lock('not-a-uuid'));
    });
  });

  describeLeastLoadedPlacement(() => fixture, {
    backend: 'host',
    residents: 'instances',
    table: 'redis_hosts',
    register: newHost,
    place: (host, count, gone) => place(host, count, gone ? 'destroyed' : 'active'),
    lockLeastLoaded: (tx) => tx.redis.hosts.lockLeastLoaded(),
    placeIn: async (tx, hostId) => tx.redis.instances.create(instanceOf((await newAddon()).id, hostId)),
    countActive: () => store.redis.hosts.countActiveInstances(),
  });

  describe('instances', () => {
    it('stores an instance, with its ports as numbers and memory beyond 32 bits as a number', async () => {
      const host = await newHost(unique('instances'), 10, 'draining');
      const addon = await newAddon();
      const created = instanceOf(addon.id, host.id, {
        nodePorts: [16010, 16011],
        sentinelPort: 16012,
        maxmemoryBytes: 5_000_000_123,
        persistence: true,
        highAvailability: true,
        maxmemoryPolicy: 'allkeys-lru',
      });
      await store.redis.instances.create(created);
      const found = await store.redis.instances.findByAddon(addon.id);
      expect(found).toEqual(created);
      expect(typeof found?.maxmemoryBytes).toBe('number');
      expect(found?.nodePorts.every((p) => typeof p === 'number')).toBe(true);
      expect((await store.redis.instances.listActive()).find((i) => i.addonId === addon.id)).toEqual(created);
      expect(await store.transaction((tx) => tx.redis.instances.findByAddonForUpdate(addon.id))).toEqual(created);

      expect(await store.redis.instances.findByAddon('not-a-uuid')).toBeNull();
      expect(await store.redis.instances.findByAddon(newId())).toBeNull();
      expect(await store.transaction((tx) => tx.redis.instances.findByAddonForUpdate('not-a-uuid'))).toBeNull();
      expect(await store.transaction((tx) => tx.redis.instances.findByAddonForUpdate(newId()))).toBeNull();
    });

    it('locks the instance row for the rest of the transaction', async () => {
      const host = await newHost(unique('instance-lock'), 10, 'draining');
      const addon = await newAddon();
      await store.redis.instances.create(instanceOf(addon.id, host.id, { nodePorts: [16001, 16002], sentinelPort: 16003 }));
      const locked = gate();
      const release = gate();
      const first = store.transaction(async (tx) => {
        await tx.redis.instances.findByAddonForUpdate(addon.id);
        locked.open();
        await release.opened;
        await tx.redis.instances.update(addon.id, { primaryIndex: 1 });
      });
      await locked.opened;
      const second = store.transaction((tx) => tx.redis.instances.findByAddonForUpdate(addon.id));
      await waitFor(async () => (await blockedSessions(dataSource)) > 0);
      release.open();
      await first;
      // The second read waited for the first to commit, and sees its write.
      expect((await second)?.primaryIndex).toBe(1);
    });

    it('changes only the given columns, arrays and bigints included', async () => {
      const host = await newHost(unique('update'), 10, 'draining');
      const addon = await newAddon();
      const created = instanceOf(addon.id, host.id, { nodePorts: [16020, 16021], sentinelPort: 16022, highAvailability: true });
      await store.redis.instances.create(created);
      const lastFailoverAt = new Date();
      const patch: Partial<RedisInstance> = { primaryIndex: 1, nodePorts: [16023, 16021], maxmemoryBytes: 8_000_000_000, lastFailoverAt, updatedAt: lastFailoverAt };
      await store.redis.instances.update(addon.id, patch);
      await store.redis.instances.update(addon.id, {});
      const updated = { ...created, ...patch };
      expect(await store.redis.instances.findByAddon(addon.id)).toEqual(updated);

      const destroyedAt = new Date();
      await store.redis.instances.update(addon.id, { state: 'destroyed', destroyedAt, sentinelPort: null, highAvailability: false });
      expect(await store.redis.instances.findByAddon(addon.id)).toEqual({ ...updated, state: 'destroyed', destroyedAt, sentinelPort: null, highAvailability: false });
      expect((await store.redis.instances.listActive()).some((i) => i.addonId === addon.id)).toBe(false);
    });

    it('lists active instances in creation order', async () => {
      const host = await newHost(unique('active'), 10, 'draining');
      const t0 = Date.now();
      const [a, b, c] = [await newAddon(), await newAddon(), await newAddon()];
      const older = instanceOf(b.id, host.id, { createdAt: new Date(t0 - 2000) });
      const newer = instanceOf(a.id, host.id, { createdAt: new Date(t0 - 1000) });
      const gone = instanceOf(c.id, host.id, { createdAt: new Date(t0 - 1500), state: 'destroyed', destroyedAt: new Date(t0) });
      for (const i of [newer, gone, older]) await store.redis.instances.create(i);
      const ours = (await store.redis.instances.listActive()).filter((i) => i.hostId === host.id);
      expect(ours).toEqual([older, newer]);
    });

    it('lists instances with a rotation pending since before the cut-off, oldest first, up to the limit', async () => {
      const host = await newHost(unique('pending'), 10, 'draining');
      // Far in the past, so rotations of other tests (if any) sort after these.
      const t0 = Date.UTC(2001, 0, 1);
      const rotation = (minutes: number) => ({ pendingPasswordSealed: `next-${minutes}`, pendingSince: new Date(t0 + minutes * 60_000) });
      const [a, b, c, d] = [await newAddon(), await newAddon(), await newAddon(), await newAddon()];
      const oldest = instanceOf(a.id, host.id, rotation(0));
      const older = instanceOf(b.id, host.id, rotation(1));
      const recent = instanceOf(c.id, host.id, rotation(10));
      const settled = instanceOf(d.id, host.id);
      for (const i of [recent, settled, older, oldest]) await store.redis.instances.create(i);

      const cutOff = new Date(t0 + 5 * 60_000);
      expect(await store.redis.instances.listPendingRotation(cutOff, 10)).toEqual([oldest, older]);
      expect(await store.redis.instances.listPendingRotation(cutOff, 1)).toEqual([oldest]);
      // Strictly before the cut-off: a rotation begun at that instant may still be finishing.
      expect(await store.redis.instances.listPendingRotation(oldest.pendingSince!, 10)).toEqual([]);
      const all = await store.redis.instances.listPendingRotation(new Date(t0 + 60 * 60_000), 10);
      expect(all).toEqual([oldest, older, recent]);

      await store.redis.instances.update(a.id, { passwordSealed: 'next-0', pendingPasswordSealed: null, pendingSince: null });
      expect(await store.redis.instances.listPendingRotation(cutOff, 10)).toEqual([older]);
    });
  });

  describe('ports', () => {
    it('holds ports for an add-on, and releases some or all of them', async () => {
      const host = await newHost(unique('ports'), 10, 'draining');
      const [addon, neighbour] = [await newAddon(), await newAddon()];
      expect(await store.redis.ports.taken(host.id)).toEqual(new Set());
      await store.redis.ports.hold(host.id, addon.id, [16100, 16101, 16102]);
      await store.redis.ports.hold(host.id, neighbour.id, [16103]);
      await store.redis.ports.hold(host.id, neighbour.id, []);
      expect(await store.redis.ports.taken(host.id)).toEqual(new Set([16100, 16101, 16102, 16103]));

      await store.redis.ports.release(addon.id, [16101, 16103]);
      expect(await store.redis.ports.taken(host.id)).toEqual(new Set([16100, 16102, 16103]));
      // An empty list releases nothing; only an omitted one releases all.
      await store.redis.ports.release(addon.id, []);
      expect(await store.redis.ports.taken(host.id)).toEqual(new Set([16100, 16102, 16103]));
      await store.redis.ports.release(addon.id);
      expect(await store.redis.ports.taken(host.id)).toEqual(new Set([16103]));
      await store.redis.ports.release(addon.id);
      await store.redis.ports.release('not-a-uuid');
      expect(await store.redis.ports.taken(host.id)).toEqual(new Set([16103]));
      expect(await store.redis.ports.taken('not-a-uuid')).toEqual(new Set());

      // A released port can be held again.
      await store.redis.ports.hold(host.id, addon.id, [16101]);
      expect(await store.redis.ports.taken(host.id)).toEqual(new Set([16101, 16103]));
    });

    it('refuses a port another add-on holds on the same host, failing the transaction', async () => {
      const host = await newHost(unique('conflict'), 10, 'draining');
      const [holder, latecomer] = [await newAddon(), await newAddon()];
      await store.redis.ports.hold(host.id, holder.id, [16200]);
      await expect(
        store.transaction(async (tx) => {
          await tx.redis.instances.create(instanceOf(latecomer.id, host.id, { nodePorts: [16201, 16200] }));
          await tx.redis.ports.hold(host.id, latecomer.id, [16201, 16200]);
        }),
      ).rejects.toMatchObject({ code: '23505' });
      // Nothing of the failed transaction stays: not the free port, nor the instance.
      expect(await store.redis.ports.taken(host.id)).toEqual(new Set([16200]));
      expect(await store.redis.instances.findByAddon(latecomer.id)).toBeNull();
      // Releasing by the wrong add-on frees nothing.
      await store.redis.ports.release(latecomer.id, [16200]);
      expect(await store.redis.ports.taken(host.id)).toEqual(new Set([16200]));
    });

    it('lets the same port number be held on two hosts', async () => {
      const one = await newHost(unique('port-one'), 10, 'draining');
      const two = await newHost(unique('port-two'), 10, 'draining');
      const [a, b] = [await newAddon(), await newAddon()];
      await store.redis.ports.hold(one.id, a.id, [16300]);
      await store.redis.ports.hold(two.id, b.id, [16300]);
      expect(await store.redis.ports.taken(one.id)).toEqual(new Set([16300]));
      expect(await store.redis.ports.taken(two.id)).toEqual(new Set([16300]));
      await store.redis.ports.release(a.id);
      expect(await store.redis.ports.taken(one.id)).toEqual(new Set());
      expect(await store.redis.ports.taken(two.id)).toEqual(new Set([16300]));
    });
  });

  describe('transactions', () => {
    it('binds the repositories to the transaction, so a rollback undoes their writes', async () => {
      const host = await newHost(unique('rollback'), 10, 'draining');
      const addon = await newAddon();
      const instance = instanceOf(addon.id, host.id);
      await expect(
        store.transaction(async (tx) => {
          await tx.redis.instances.create(instance);
          await tx.redis.ports.hold(host.id, addon.id, instance.nodePorts);
          expect(await tx.redis.instances.findByAddon(addon.id)).toEqual(instance);
          expect(await store.redis.instances.findByAddon(addon.id)).toBeNull();
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await store.redis.instances.findByAddon(addon.id)).toBeNull();
      expect(await store.redis.ports.taken(host.id)).toEqual(new Set());
    });
  });
});
