import { newId } from '@app/common';
import { DedicatedCluster } from '@app/domain';
import { useAppStoreFixture } from '../../../../test/support/store-fixtures';
import { TypeOrmDedicatedClusters } from './postgres-dedicated-cluster.typeorm-repository';

/** Port choices for dedicated clusters on a real PostgreSQL (migrations 1764790000000, 1764795000000). */
describe('TypeOrmDedicatedClusters ports', () => {
  const fixture = useAppStoreFixture({
    poolSize: 6,
    emailStem: 'dedicated-ports',
    addonStem: 'dedicated',
    service: { slug: `svc-${newId().slice(0, 8)}`, humanName: 'Service', provider: 'http', configVarsPrefix: 'SVC', defaultAlias: 'SVC', configVars: ['SVC_URL'], baseUrl: 'http://127.0.0.1:1' },
    plan: { name: 'basic', humanName: 'Basic', priceCents: 500 },
  });
  let repo: TypeOrmDedicatedClusters;
  beforeAll(() => {
    repo = new TypeOrmDedicatedClusters(fixture.dataSource.manager);
  });

  const cluster = (addonId: string, host: string, port: number): DedicatedCluster => {
    const now = new Date();
    return {
      addonId, host, key: `k_${newId().replace(/-/g, '')}`, port, state: 'active', origin: 'new', sourceAddonId: null, following: false,
      recoveryTargetAt: null, databaseName: 'd', ownerRole: 'u', ownerPasswordSealed: 'sealed', lastBaseBackupAt: null, archiveKeepUntil: null,
      createdAt: now, updatedAt: now, removedAt: null,
    };
  };

  it('gives concurrent premium clusters disjoint ports, and no new cluster a port a premium cluster holds', async () => {
    const host = `host-${newId().slice(0, 8)}`;
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
});
