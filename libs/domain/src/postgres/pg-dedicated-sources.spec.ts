import { Addon, Plan } from '../shared/models';
import { ProviderRefusedError } from '../shared/ports';
import { Store } from '../shared/store.port';
import { PgClusterDriver } from './pg-cluster-driver.port';
import { DedicatedCluster, PgBaseBackup } from './pg-dedicated.models';
import { DedicatedClusterRepository } from './pg-dedicated.repository';
import { DedicatedSource, PgDedicatedSources } from './pg-dedicated-sources';

const DAY = 24 * 3600_000;
const now = new Date('2026-11-26T12:00:00Z');
const at = (msAgo: number) => new Date(now.getTime() - msAgo);

function sources(backups: PgBaseBackup[]): PgDedicatedSources {
  const driver = { baseBackups: async () => backups } as unknown as PgClusterDriver;
  return new PgDedicatedSources({} as Store, {} as DedicatedClusterRepository, driver);
}
const source = { addon: { name: 'postgresql-curved-12345' } as Addon, plan: { name: 'standard-0' } as Plan, cluster: { key: 'pg-x' } as DedicatedCluster } as DedicatedSource;
const backup = (msAgo: number): PgBaseBackup => ({ id: String(msAgo), finishedAt: at(msAgo), bytes: 1 });

describe('the rollback window of a dedicated source', () => {
  it('starts at the first base backup of a young cluster', async () => {
    expect(await sources([backup(3600_000), backup(60_000)]).window(source, now)).toEqual({ earliest: at(3600_000), latest: now });
  });

  it("is the plan's 4 days once a base backup older than that covers them", async () => {
    expect(await sources([backup(6 * DAY), backup(3 * DAY), backup(DAY)]).window(source, now)).toEqual({ earliest: at(4 * DAY), latest: now });
  });

  it('has no start without a base backup, and refuses every moment then', async () => {
    expect((await sources([]).window(source, now)).earliest).toBeNull();
    await expect(sources([]).checkTarget(source, at(1_000), now)).rejects.toThrow(/has no base backup yet/);
  });

  it('refuses moments before it and after now, naming it', async () => {
    const s = sources([backup(2 * DAY)]);
    await expect(s.checkTarget(source, at(DAY), now)).resolves.toBeUndefined();
    for (const target of [at(3 * DAY), new Date(now.getTime() + 1_000)]) {
      const refusal = s.checkTarget(source, target, now);
      await expect(refusal).rejects.toThrow(ProviderRefusedError);
      await expect(refusal).rejects.toThrow(`outside the rollback window of postgresql-curved-12345: from ${at(2 * DAY).toISOString()} to ${now.toISOString()}.`);
    }
  });
});
