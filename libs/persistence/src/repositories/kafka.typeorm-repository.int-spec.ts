import { DataSource } from 'typeorm';
import { newId } from '@app/common';
import { KafkaCluster, KafkaTenant, KafkaTopicSample } from '@app/domain';
import { blockedSessions, gate, unique, useAppStoreFixture, waitFor } from '../../../../test/support/store-fixtures';
import { describeLeastLoadedPlacement } from '../../../../test/support/least-loaded-placement';
import { TypeOrmStore } from './typeorm-store';

/** The first-party Kafka repositories on a real PostgreSQL: clusters and placement, tenants, topic samples. */
describe('TypeOrmStore.kafka', () => {
  const fixture = useAppStoreFixture({
    poolSize: 6,
    emailStem: 'kafka',
    service: {
      slug: `attache-kafka-${newId().slice(0, 8)}`,
      humanName: 'Attache Kafka',
      provider: 'kafka',
      configVarsPrefix: 'KAFKA',
      defaultAlias: 'KAFKA',
      configVars: ['KAFKA_URL'],
      baseUrl: null,
    },
    plan: { name: 'basic-0', humanName: 'Basic 0', priceCents: 0 },
    addonStem: 'kafka',
  });
  let dataSource: DataSource;
  let store: TypeOrmStore;
  const { newAddon } = fixture;

  beforeAll(() => {
    ({ dataSource, store } = fixture);
  });

  const newCluster = async (name: string, capacity: number, state: KafkaCluster['state'] = 'active'): Promise<KafkaCluster> => {
    const now = new Date();
    return store.kafka.clusters.upsertByName({
      id: newId(),
      name,
      bootstrapServers: '127.0.0.1:9092',
      adminUser: 'attache',
      adminPasswordSealed: 'sealed-admin',
      capacity,
      state,
      createdAt: now,
      updatedAt: now,
    });
  };

  const tenantOf = (addonId: string, clusterId: string, extra: Partial<KafkaTenant> = {}): KafkaTenant => {
    const now = new Date();
    const stem = `t${newId().replace(/-/g, '').slice(0, 12)}`;
    return {
      addonId,
      clusterId,
      state: 'active',
      prefix: `${stem}.`,
      username: stem,
      passwordSealed: 'sealed-password',
      pendingPasswordSealed: null,
      pendingSince: null,
      createdAt: now,
      updatedAt: now,
      destroyedAt: null,
      ...extra,
    };
  };

  const sampleOf = (addonId: string, topic: string, sampledAt: Date, base: number): KafkaTopicSample => ({
    addonId,
    topic,
    sampledAt,
    endOffsets: base + 100,
    startOffsets: base,
    sizeBytes: base * 10,
    committedOffsets: base + 50,
  });

  /** `count` tenants on the cluster, each with its own add-on. */
  const place = async (cluster: KafkaCluster, count: number, state: KafkaTenant['state'] = 'active'): Promise<void> => {
    for (let i = 0; i < count; i++) {
      await store.kafka.tenants.create(tenantOf((await newAddon()).id, cluster.id, { state, destroyedAt: state === 'destroyed' ? new Date() : null }));
    }
  };

  describe('clusters', () => {
    it('registers a cluster, and updates it by name keeping its id and registration time', async () => {
      const name = unique('upsert');
      const first = await newCluster(name, 10);
      expect(await store.kafka.clusters.findById(first.id)).toEqual(first);
      const updatedAt = new Date(first.updatedAt.getTime() + 60_000);
      const again = await store.kafka.clusters.upsertByName({
        ...first,
        id: newId(),
        bootstrapServers: 'kafka-1.internal:9092,kafka-2.internal:9092',
        adminUser: 'admin',
        adminPasswordSealed: 'sealed-admin-2',
        capacity: 20,
        state: 'draining',
        createdAt: new Date(first.createdAt.getTime() + 60_000),
        updatedAt,
      });
      expect(again).toEqual({
        ...first,
        bootstrapServers: 'kafka-1.internal:9092,kafka-2.internal:9092',
        adminUser: 'admin',
        adminPasswordSealed: 'sealed-admin-2',
        capacity: 20,
        state: 'draining',
        updatedAt,
      });
      expect(await store.kafka.clusters.findById(first.id)).toEqual(again);
      expect(await store.kafka.clusters.findByName(name)).toEqual(again);
      expect((await store.kafka.clusters.list()).filter((c) => c.name === name)).toEqual([again]);
      expect(await store.kafka.clusters.findById('not-a-uuid')).toBeNull();
      expect(await store.kafka.clusters.findById(newId())).toBeNull();
      expect(await store.kafka.clusters.findByName(unique('missing'))).toBeNull();
      expect(await store.kafka.clusters.findByName('no\u0000such')).toBeNull();
    });

    it('lists clusters by name', async () => {
      const stem = unique('list');
      const b = await newCluster(`${stem}-b`, 1, 'draining');
      const a = await newCluster(`${stem}-a`, 1, 'draining');
      expect((await store.kafka.clusters.list()).filter((c) => c.name.startsWith(stem))).toEqual([a, b]);
    });

    it('refuses a negative capacity', async () => {
      await expect(newCluster(unique('negative'), -1)).rejects.toMatchObject({ code: '23514' });
    });

    it('counts the active tenants of each cluster', async () => {
      const a = await newCluster(unique('count-a'), 10, 'draining');
      const b = await newCluster(unique('count-b'), 10, 'draining');
      const empty = await newCluster(unique('count-empty'), 10, 'draining');
      await place(a, 2);
      await place(a, 1, 'destroyed');
      await place(b, 1);
      const counts = await store.kafka.clusters.countActiveTenants();
      expect(counts.get(a.id)).toBe(2);
      expect(counts.get(b.id)).toBe(1);
      expect(counts.has(empty.id)).toBe(false);
    });
  });

  describeLeastLoadedPlacement(() => fixture, {
    backend: 'cluster',
    residents: 'tenants',
    table: 'kafka_clusters',
    register: newCluster,
    place: (cluster, count, gone) => place(cluster, count, gone ? 'destroyed' : 'active'),
    lockLeastLoaded: (tx) => tx.kafka.clusters.lockLeastLoaded(),
    placeIn: async (tx, clusterId) => tx.kafka.tenants.create(tenantOf((await newAddon()).id, clusterId)),
    countActive: () => store.kafka.clusters.countActiveTenants(),
  });

  describe('tenants', () => {
    it('stores a tenant and finds it by add-on', async () => {
      const cluster = await newCluster(unique('tenants'), 10, 'draining');
      const addon = await newAddon();
      const created = tenantOf(addon.id, cluster.id);
      await store.kafka.tenants.create(created);
      expect(await store.kafka.tenants.findByAddon(addon.id)).toEqual(created);
      expect((await store.kafka.tenants.listActive()).find((t) => t.addonId === addon.id)).toEqual(created);
      expect(await store.transaction((tx) => tx.kafka.tenants.findByAddonForUpdate(addon.id))).toEqual(created);

      expect(await store.kafka.tenants.findByAddon('not-a-uuid')).toBeNull();
      expect(await store.kafka.tenants.findByAddon(newId())).toBeNull();
      expect(await store.transaction((tx) => tx.kafka.tenants.findByAddonForUpdate('not-a-uuid'))).toBeNull();
      expect(await store.transaction((tx) => tx.kafka.tenants.findByAddonForUpdate(newId()))).toBeNull();
    });

    it('refuses a tenant whose add-on or cluster does not exist', async () => {
      const cluster = await newCluster(unique('orphans'), 10, 'draining');
      await expect(store.kafka.tenants.create(tenantOf(newId(), cluster.id))).rejects.toMatchObject({ code: '23503' });
      await expect(store.kafka.tenants.create(tenantOf((await newAddon()).id, newId()))).rejects.toMatchObject({ code: '23503' });
    });

    it('locks the tenant row for the rest of the transaction', async () => {
      const cluster = await newCluster(unique('tenant-lock'), 10, 'draining');
      const addon = await newAddon();
      await store.kafka.tenants.create(tenantOf(addon.id, cluster.id));
      const locked = gate();
      const release = gate();
      const first = store.transaction(async (tx) => {
        await tx.kafka.tenants.findByAddonForUpdate(addon.id);
        locked.open();
        await release.opened;
        await tx.kafka.tenants.update(addon.id, { passwordSealed: 'sealed-after-lock' });
      });
      await locked.opened;
      let secondDone = false;
      const second = store.transaction((tx) => tx.kafka.tenants.findByAddonForUpdate(addon.id)).then((t) => {
        secondDone = true;
        return t;
      });
      await waitFor(async () => (await blockedSessions(dataSource)) > 0);
      expect(secondDone).toBe(false);
      release.open();
      await first;
      // The second read waited for the first to commit, and sees its write.
      expect((await second)?.passwordSealed).toBe('sealed-after-lock');
    });

    it('changes only the given columns', async () => {
      const cluster = await newCluster(unique('update'), 10, 'draining');
      const addon = await newAddon();
      const created = tenantOf(addon.id, cluster.id);
      await store.kafka.tenants.create(created);
      const pendingSince = new Date();
      await store.kafka.tenants.update(addon.id, { pendingPasswordSealed: 'sealed-next', pendingSince, updatedAt: pendingSince });
      const rotating = { ...created, pendingPasswordSealed: 'sealed-next', pendingSince, updatedAt: pendingSince };
      expect(await store.kafka.tenants.findByAddon(addon.id)).toEqual(rotating);

      // Nulls are written; undefined fields and an empty patch change nothing.
      await store.kafka.tenants.update(addon.id, { passwordSealed: 'sealed-next', pendingPasswordSealed: null, pendingSince: null, state: undefined });
      await store.kafka.tenants.update(addon.id, {});
      const rotated = { ...rotating, passwordSealed: 'sealed-next', pendingPasswordSealed: null, pendingSince: null };
      expect(await store.kafka.tenants.findByAddon(addon.id)).toEqual(rotated);

      const destroyedAt = new Date();
      await store.kafka.tenants.update(addon.id, { state: 'destroyed', destroyedAt });
      expect(await store.kafka.tenants.findByAddon(addon.id)).toEqual({ ...rotated, state: 'destroyed', destroyedAt });
      expect((await store.kafka.tenants.listActive()).some((t) => t.addonId === addon.id)).toBe(false);
      await store.kafka.tenants.update('not-a-uuid', { state: 'destroyed' });
    });

    it('lists active tenants in creation order', async () => {
      const cluster = await newCluster(unique('active'), 10, 'draining');
      const t0 = Date.now();
      const [a, b, c] = [await newAddon(), await newAddon(), await newAddon()];
      const older = tenantOf(b.id, cluster.id, { createdAt: new Date(t0 - 2000) });
      const newer = tenantOf(a.id, cluster.id, { createdAt: new Date(t0 - 1000) });
      const gone = tenantOf(c.id, cluster.id, { createdAt: new Date(t0 - 1500), state: 'destroyed', destroyedAt: new Date(t0) });
      for (const t of [newer, gone, older]) await store.kafka.tenants.create(t);
      const ours = (await store.kafka.tenants.listActive()).filter((t) => t.clusterId === cluster.id);
      expect(ours).toEqual([older, newer]);
    });

    it('refuses a second tenant with a prefix or username already used, even by a destroyed tenant on another cluster', async () => {
      const one = await newCluster(unique('names-one'), 10, 'draining');
      const two = await newCluster(unique('names-two'), 10, 'draining');
      const holder = tenantOf((await newAddon()).id, one.id, { state: 'destroyed', destroyedAt: new Date() });
      await store.kafka.tenants.create(holder);

      const samePrefix = tenantOf((await newAddon()).id, two.id, { prefix: holder.prefix });
      await expect(
        store.transaction(async (tx) => {
          await tx.kafka.tenants.create(samePrefix);
        }),
      ).rejects.toMatchObject({ code: '23505', constraint: 'kafka_tenants_prefix_key' });
      expect(await store.kafka.tenants.findByAddon(samePrefix.addonId)).toBeNull();

      const sameUsername = tenantOf((await newAddon()).id, two.id, { username: holder.username });
      await expect(store.kafka.tenants.create(sameUsername)).rejects.toMatchObject({ code: '23505', constraint: 'kafka_tenants_username_key' });
      expect(await store.kafka.tenants.findByAddon(sameUsername.addonId)).toBeNull();

      // Fresh names are accepted.
      const fresh = tenantOf(samePrefix.addonId, two.id);
      await store.kafka.tenants.create(fresh);
      expect(await store.kafka.tenants.findByAddon(fresh.addonId)).toEqual(fresh);
    });

    it('says whether a prefix or username has been used by any tenant, in any state', async () => {
      const cluster = await newCluster(unique('taken'), 10, 'draining');
      const active = tenantOf((await newAddon()).id, cluster.id);
      const destroyed = tenantOf((await newAddon()).id, cluster.id, { state: 'destroyed', destroyedAt: new Date() });
      await store.kafka.tenants.create(active);
      await store.kafka.tenants.create(destroyed);
      const free = tenantOf(newId(), cluster.id);

      expect(await store.kafka.tenants.nameTaken(free.prefix, free.username)).toBe(false);
      expect(await store.kafka.tenants.nameTaken(active.prefix, free.username)).toBe(true);
      expect(await store.kafka.tenants.nameTaken(free.prefix, active.username)).toBe(true);
      expect(await store.kafka.tenants.nameTaken(destroyed.prefix, free.username)).toBe(true);
      expect(await store.kafka.tenants.nameTaken(free.prefix, destroyed.username)).toBe(true);
      expect(await store.kafka.tenants.nameTaken(active.prefix, active.username)).toBe(true);
      // A prefix is not a username, nor the other way round.
      expect(await store.kafka.tenants.nameTaken(active.username, active.prefix)).toBe(false);
      expect(await store.kafka.tenants.nameTaken('no\u0000such', free.username)).toBe(false);
      expect(await store.kafka.tenants.nameTaken('no\u0000such', active.username)).toBe(true);
    });

    it('lists tenants with a rotation pending since before the cut-off, oldest first, up to the limit', async () => {
      const cluster = await newCluster(unique('pending'), 10, 'draining');
      // Far in the past, so rotations of other tests (if any) sort after these.
      const t0 = Date.UTC(2001, 0, 1);
      const rotation = (minutes: number) => ({ pendingPasswordSealed: `next-${minutes}`, pendingSince: new Date(t0 + minutes * 60_000) });
      const [a, b, c, d] = [await newAddon(), await newAddon(), await newAddon(), await newAddon()];
      const oldest = tenantOf(a.id, cluster.id, rotation(0));
      const older = tenantOf(b.id, cluster.id, rotation(1));
      const recent = tenantOf(c.id, cluster.id, rotation(10));
      const settled = tenantOf(d.id, cluster.id);
      for (const t of [recent, settled, older, oldest]) await store.kafka.tenants.create(t);

      const cutOff = new Date(t0 + 5 * 60_000);
      expect(await store.kafka.tenants.listPendingRotation(cutOff, 10)).toEqual([oldest, older]);
      expect(await store.kafka.tenants.listPendingRotation(cutOff, 1)).toEqual([oldest]);
      // Strictly before the cut-off: a rotation begun at that instant may still be finishing.
      expect(await store.kafka.tenants.listPendingRotation(oldest.pendingSince!, 10)).toEqual([]);
      const all = await store.kafka.tenants.listPendingRotation(new Date(t0 + 60 * 60_000), 10);
      expect(all).toEqual([oldest, older, recent]);

      await store.kafka.tenants.update(a.id, { passwordSealed: 'next-0', pendingPasswordSealed: null, pendingSince: null });
      expect(await store.kafka.tenants.listPendingRotation(cutOff, 10)).toEqual([older]);
    });
  });

  describe('samples', () => {
    it('stores samples with counters beyond 32 bits as numbers, and finds the earliest per topic since an instant', async () => {
      const [addon, other] = [await newAddon(), await newAddon()];
      const t0 = Date.UTC(2030, 0, 1);
      const at = (minutes: number) => new Date(t0 + minutes * 60_000);
      const ordersOld = sampleOf(addon.id, 'orders', at(0), 1);
      const ordersFirst = sampleOf(addon.id, 'orders', at(5), 5_000_000_000);
      const ordersLater = sampleOf(addon.id, 'orders', at(6), 6_000_000_000);
      const eventsFirst = sampleOf(addon.id, 'events', at(7), 7);
      const eventsLater = sampleOf(addon.id, 'events', at(8), 8);
      const elsewhere = sampleOf(other.id, 'orders', at(5), 9);
      await store.kafka.samples.add([ordersLater, eventsLater, ordersOld, elsewhere]);
      await store.kafka.samples.add([ordersFirst, eventsFirst]);
      await store.kafka.samples.add([]);

      const earliest = await store.kafka.samples.earliestSince(addon.id, at(5));
      expect(earliest).toEqual([eventsFirst, ordersFirst]);
      expect(typeof earliest[1].endOffsets).toBe('number');
      expect(earliest[1].sizeBytes).toBe(50_000_000_000);
      // At or after: a sample taken at the instant itself counts.
      expect(await store.kafka.samples.earliestSince(addon.id, at(5.5))).toEqual([eventsFirst, ordersLater]);
      expect(await store.kafka.samples.earliestSince(addon.id, at(-1))).toEqual([eventsFirst, ordersOld]);
      expect(await store.kafka.samples.earliestSince(addon.id, at(9))).toEqual([]);
      expect(await store.kafka.samples.earliestSince(other.id, at(0))).toEqual([elsewhere]);
      expect(await store.kafka.samples.earliestSince(newId(), at(0))).toEqual([]);
      expect(await store.kafka.samples.earliestSince('not-a-uuid', at(0))).toEqual([]);
    });

    it('keeps the first of two samples of one topic at one instant', async () => {
      const addon = await newAddon();
      const sampledAt = new Date(Date.UTC(2031, 0, 1));
      const first = sampleOf(addon.id, 'orders', sampledAt, 1);
      await store.kafka.samples.add([first]);
      await store.kafka.samples.add([sampleOf(addon.id, 'orders', sampledAt, 2), sampleOf(addon.id, 'events', sampledAt, 3)]);
      expect(await store.kafka.samples.earliestSince(addon.id, sampledAt)).toEqual([sampleOf(addon.id, 'events', sampledAt, 3), first]);
    });

    it('refuses a sample of an add-on that does not exist', async () => {
      await expect(store.kafka.samples.add([sampleOf(newId(), 'orders', new Date(), 1)])).rejects.toMatchObject({ code: '23503' });
    });

    it('prunes samples taken before an instant, and says how many', async () => {
      const addon = await newAddon();
      // Long before the samples of the other tests, so only these are pruned.
      const t0 = Date.UTC(1990, 0, 1);
      const at = (minutes: number) => new Date(t0 + minutes * 60_000);
      await store.kafka.samples.add([
        sampleOf(addon.id, 'orders', at(0), 1),
        sampleOf(addon.id, 'events', at(1), 2),
        sampleOf(addon.id, 'orders', at(2), 3),
        sampleOf(addon.id, 'orders', at(3), 4),
      ]);
      expect(await store.kafka.samples.prune(at(0))).toBe(0);
      // Strictly before: the sample taken at the instant stays.
      expect(await store.kafka.samples.prune(at(2))).toBe(2);
      expect(await store.kafka.samples.earliestSince(addon.id, at(0))).toEqual([sampleOf(addon.id, 'orders', at(2), 3)]);
      expect(await store.kafka.samples.prune(at(2))).toBe(0);
      expect(await store.kafka.samples.prune(at(4))).toBe(2);
      expect(await store.kafka.samples.earliestSince(addon.id, at(0))).toEqual([]);
    });
  });

  describe('transactions', () => {
    it('binds the repositories to the transaction, so a rollback undoes their writes', async () => {
      const cluster = await newCluster(unique('rollback'), 10, 'draining');
      const addon = await newAddon();
      const tenant = tenantOf(addon.id, cluster.id);
      const sample = sampleOf(addon.id, 'orders', new Date(), 1);
      await expect(
        store.transaction(async (tx) => {
          await tx.kafka.tenants.create(tenant);
          await tx.kafka.samples.add([sample]);
          expect(await tx.kafka.tenants.findByAddon(addon.id)).toEqual(tenant);
          expect(await store.kafka.tenants.findByAddon(addon.id)).toBeNull();
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await store.kafka.tenants.findByAddon(addon.id)).toBeNull();
      expect(await store.kafka.tenants.nameTaken(tenant.prefix, tenant.username)).toBe(false);
      expect(await store.kafka.samples.earliestSince(addon.id, new Date(0))).toEqual([]);
    });
  });
});
