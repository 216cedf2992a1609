import { newId } from '@app/common';
import { DedicatedCluster, DedicatedHost } from '@app/domain';
import { useAppStoreFixture } from '../../../../test/support/store-fixtures';
import { PostgresDedicatedHosts1764830000000 } from '../migrations/1764830000000-postgres-dedicated-hosts';
import { TypeOrmDedicatedClusters } from './postgres-dedicated-cluster.typeorm-repository';

const fixtureOptions = (emailStem: string) => ({
  poolSize: 10,
  emailStem,
  addonStem: 'dedicated',
  service: { slug: `svc-${newId().slice(0, 8)}`, humanName: 'Service', provider: 'http' as const, configVarsPrefix: 'SVC', defaultAlias: 'SVC', configVars: ['SVC_URL'], baseUrl: 'http://127.0.0.1:1' },
  plan: { name: 'basic', humanName: 'Basic', priceCents: 500 },
});

const cluster = (addonId: string, host: string, port: number): DedicatedCluster => {
  const now = new Date();
  return {
    addonId, host, key: `k_${newId().replace(/-/g, '')}`, port, state: 'active', origin: 'new', sourceAddonId: null, following: false,
    recoveryTargetAt: null, databaseName: 'd', ownerRole: 'u', ownerPasswordSealed: 'sealed', lastBaseBackupAt: null, archiveKeepUntil: null,
    createdAt: now, updatedAt: now, removedAt: null,
  };
};

/** A record before placement: no host, no port. */
const unplaced = (addonId: string): Omit<DedicatedCluster, 'host' | 'port'> => {
  const { host: _host, port: _port, ...rest } = cluster(addonId, '', 0);
  return rest;
};

const hostRow = (name: string, portMin: number, capacity: number, state: DedicatedHost['state'] = 'active'): DedicatedHost => {
  const now = new Date();
  return { name, driver: 'local', address: '127.0.0.1', portMin, portMax: portMin + 19, capacity, state, createdAt: now, updatedAt: now };
};

const anyPortFree = async () => true;

/** Dedicated clusters' ports and hosts on a real PostgreSQL (migrations 1764790000000, 1764795000000, 1764830000000). */
describe('TypeOrmDedicatedClusters', () => {
  const fixture = useAppStoreFixture(fixtureOptions('dedicated-ports'));
  let repo: TypeOrmDedicatedClusters;
  beforeAll(async () => {
    repo = new TypeOrmDedicatedClusters(fixture.dataSource.manager);
  });

  // Only the hosts a test registers take its clusters: every host drains before each test.
  beforeEach(async () => {
    for (const { host } of await repo.listHostsWithLoad()) await repo.setHostState(host.name, 'draining', new Date());
  });

  const suffix = () => newId().slice(0, 8);

  it('gives concurrent premium clusters disjoint ports, and no new cluster a port a premium cluster holds', async () => {
    const host = (await repo.upsertHost(hostRow(`host-${suffix()}`, 40000, 10))).name;
    const [a, b] = [await fixture.newAddon(), await fixture.newAddon()];
    expect(await repo.createIfPortFree(cluster(a.id, host, 40000))).toBe(true);
    expect(await repo.createIfPortFree(cluster(b.id, host, 40001))).toBe(true);

    const candidates = [40002, 40003, 40004, 40005];
    const [portsA, portsB] = await Promise.all([
      repo.reservePremiumPorts(a.id, host, 40000, candidates),
      repo.reservePremiumPorts(b.id, host, 40001, candidates),
    ]);
    expect(portsA).toHaveLength(3);
    expect(portsB).toHaveLength(3);
    expect(new Set([...portsA!, ...portsB!]).size).toBe(6);
    expect((await repo.findByAddon(a.id))!.premiumPorts).toEqual(portsA);

    const c = await fixture.newAddon();
    expect(await repo.createIfPortFree(cluster(c.id, host, portsA![0]))).toBe(false);
    expect(await repo.reservePremiumPorts(c.id, host, 40009, candidates)).toBeNull();
    expect(await repo.createIfPortFree(cluster(c.id, host, 40006))).toBe(true);
    expect((await repo.portsInUse(host)).sort()).toEqual([40000, 40001, 40002, 40003, 40004, 40005, 40006]);
  });

  it('places concurrent clusters on the least loaded active host with room, never over a capacity, and refuses once every host is full', async () => {
    const tag = suffix();
    const [small, large] = [await repo.upsertHost(hostRow(`a-${tag}`, 41000, 2)), await repo.upsertHost(hostRow(`b-${tag}`, 41100, 4))];
    const addons = await Promise.all(Array.from({ length: 7 }, () => fixture.newAddon()));

    const placed = await Promise.all(addons.map((addon) => repo.place(unplaced(addon.id), anyPortFree)));
    const onHost = (name: string) => placed.filter((c) => c?.host === name);
    expect({ small: onHost(small.name).length, large: onHost(large.name).length, refused: placed.filter((c) => c === null).length }).toEqual({ small: 2, large: 4, refused: 1 });
    expect(onHost(small.name).map((c) => c!.port).sort()).toEqual([41000, 41001]);
    expect(onHost(large.name).map((c) => c!.port).sort()).toEqual([41100, 41101, 41102, 41103]);
    for (const c of placed.filter((p) => p !== null)) expect(await repo.findByAddon(c!.addonId)).toEqual(expect.objectContaining(c));

    const loads = await repo.listHostsWithLoad();
    expect(loads.filter(({ host }) => host.name.endsWith(tag)).map(({ host, clusters }) => [host.name, clusters])).toEqual([
      [small.name, 2],
      [large.name, 4],
    ]);
    const late = await fixture.newAddon();
    expect(await repo.createIfPortFree(cluster(late.id, small.name, 41005))).toBe(false);
    expect(await repo.place(unplaced(late.id), anyPortFree)).toBeNull();

    // A removed cluster frees its place.
    const leaving = onHost(large.name)[0]!;
    await repo.update(leaving.addonId, { state: 'removed', port: null });
    expect(await repo.place(unplaced(late.id), anyPortFree)).toEqual(expect.objectContaining({ host: large.name, port: leaving.port }));
  });

  it('prefers the host with the lower share of its capacity in use, passes over ports something listens on, and returns the cluster an add-on has', async () => {
    const tag = suffix();
    const [busy, roomy] = [await repo.upsertHost(hostRow(`a-${tag}`, 42000, 2)), await repo.upsertHost(hostRow(`b-${tag}`, 42100, 10))];
    const first = await fixture.newAddon();
    expect(await repo.createIfPortFree(cluster(first.id, busy.name, 42000))).toBe(true);

    const next = await fixture.newAddon();
    const listening = new Set([42100, 42101]);
    const record = unplaced(next.id);
    const placed = await repo.place(record, async (host, port) => !(host.name === roomy.name && listening.has(port)));
    expect(placed).toEqual({ ...record, host: roomy.name, port: 42102 });
    expect(await repo.place(unplaced(next.id), anyPortFree)).toEqual(await repo.findByAddon(next.id));
  });

  it('places nothing on a draining host until it is active again, and keeps its clusters meanwhile', async () => {
    const tag = suffix();
    const [kept, drained] = [await repo.upsertHost(hostRow(`a-${tag}`, 43000, 1)), await repo.upsertHost(hostRow(`b-${tag}`, 43100, 5))];
    const before = await fixture.newAddon();
    expect(await repo.place(unplaced(before.id), anyPortFree)).toEqual(expect.objectContaining({ host: kept.name }));

    expect(await repo.setHostState(drained.name, 'draining', new Date())).toEqual(expect.objectContaining({ name: drained.name, state: 'draining' }));
    const during = await fixture.newAddon();
    expect(await repo.place(unplaced(during.id), anyPortFree)).toBeNull();
    expect(await repo.createIfPortFree(cluster(during.id, drained.name, 43100))).toBe(false);
    expect(await repo.findByAddon(before.id)).toEqual(expect.objectContaining({ host: kept.name, state: 'active' }));

    await repo.setHostState(drained.name, 'active', new Date());
    expect(await repo.place(unplaced(during.id), anyPortFree)).toEqual(expect.objectContaining({ host: drained.name, port: 43100 }));
    expect(await repo.setHostState(`missing-${tag}`, 'draining', new Date())).toBeNull();
  });

  it('forgets a cluster only once it is purged, and the add-on can then have a cluster again on the port it freed', async () => {
    const host = (await repo.upsertHost(hostRow(`host-${suffix()}`, 46000, 10))).name;
    const addon = await fixture.newAddon();
    expect(await repo.createIfPortFree(cluster(addon.id, host, 46000))).toBe(true);

    expect(await repo.forget(addon.id)).toBe(false);
    await repo.update(addon.id, { state: 'removed', port: null });
    expect(await repo.forget(addon.id)).toBe(false);
    await repo.update(addon.id, { state: 'purged' });
    expect(await repo.forget(addon.id)).toBe(true);
    expect(await repo.findByAddon(addon.id)).toBeNull();
    expect(await repo.forget(addon.id)).toBe(false);

    expect(await repo.createIfPortFree(cluster(addon.id, host, 46000))).toBe(true);
    expect((await repo.findByAddon(addon.id))!.state).toBe('active');
  });

  it('keeps a host’s registration time when it is registered again', async () => {
    const first = await repo.upsertHost(hostRow(`c-${suffix()}`, 44000, 3));
    const again = await repo.upsertHost({ ...first, address: '127.0.0.2', capacity: 9, createdAt: new Date(first.createdAt.getTime() + 60_000), updatedAt: new Date(first.updatedAt.getTime() + 60_000) });
    expect(again).toEqual({ ...first, address: '127.0.0.2', capacity: 9, updatedAt: new Date(first.updatedAt.getTime() + 60_000) });
    expect(await repo.findHost(first.name)).toEqual(again);
  });
});

/** Migration PostgresDedicatedHosts1764830000000 on a database with clusters of an earlier release. */
describe('PostgresDedicatedHosts1764830000000', () => {
  const fixture = useAppStoreFixture(fixtureOptions('dedicated-hosts-migration'));
  const migration = new PostgresDedicatedHosts1764830000000();

  it('registers the local host over every port its clusters hold and assigns them to it; down is refused while a cluster runs elsewhere', async () => {
    const runner = fixture.dataSource.createQueryRunner();
    try {
      await migration.down(runner);
      const [a, b] = [await fixture.newAddon(), await fixture.newAddon()];
      const insert = (c: DedicatedCluster) =>
        runner.query(
          `INSERT INTO postgres_dedicated_clusters (addon_id, host, key, port, state, origin, database_name, owner_role, owner_password_sealed, created_at, updated_at, premium_ports)
           VALUES ($1, $2, $3, $4, 'active', 'new', 'd', 'u', 'sealed', now(), now(), $5)`,
          [c.addonId, c.host, c.key, c.port, c.premiumPorts ?? null],
        );
      await insert(cluster(a.id, 'local', 18000));
      await insert({ ...cluster(b.id, 'local', 18001), premiumPorts: [18002, 18001, 18003] });

      await migration.up(runner);
      const repo = new TypeOrmDedicatedClusters(fixture.dataSource.manager);
      expect(await repo.listHostsWithLoad()).toEqual([
        { host: expect.objectContaining({ name: 'local', driver: 'local', address: '127.0.0.1', portMin: 15400, portMax: 18003, capacity: 200, state: 'active' }), clusters: 2 },
      ]);
      await expect(repo.createIfPortFree(cluster((await fixture.newAddon()).id, 'elsewhere', 18010))).rejects.toThrow(/not registered/);

      await repo.upsertHost(hostRow('elsewhere', 45000, 5));
      const c = await fixture.newAddon();
      expect(await repo.createIfPortFree(cluster(c.id, 'elsewhere', 45000))).toBe(true);
      await expect(migration.down(runner)).rejects.toThrow(/other than local/);
      await repo.update(c.id, { state: 'removed', port: null });
      await migration.down(runner);
      await migration.up(runner);
      expect((await repo.findHost('local'))!.portMax).toBe(18003);
      expect(await repo.findHost('elsewhere')).toBeNull();
    } finally {
      await runner.release();
    }
  });
});
