import { randomBytes } from 'node:crypto';
import { Clock, SecretBox } from '@app/common';
import { AddonAccess } from '../addons/addon-access';
import { Addon, AddonService, Plan } from '../shared/models';
import { Store } from '../shared/store.port';
import { PgClusterDriver } from './pg-cluster-driver.port';
import { DedicatedCluster, PgArchiveKeep, PgBaseBackup, PgClusterSpec } from './pg-dedicated.models';
import { PgDedicatedOptions } from './pg-dedicated.options';
import { DedicatedClusterRepository } from './pg-dedicated.repository';
import { PgDedicatedService } from './pg-dedicated.service';
import { PgDedicatedSources } from './pg-dedicated-sources';
import { PgPremiumFailovers } from './pg-premium-failovers';

const DAY = 24 * 3600_000;
const now = new Date('2026-11-26T12:00:00Z');
const box = new SecretBox(randomBytes(32));

const cluster = (addonId: string, patch: Partial<DedicatedCluster> = {}): DedicatedCluster => ({
  addonId,
  host: 'local',
  key: `pg-${addonId}`,
  port: 15400,
  state: 'active',
  origin: 'new',
  sourceAddonId: null,
  following: false,
  recoveryTargetAt: null,
  databaseName: 'd_x',
  ownerRole: 'u_x',
  ownerPasswordSealed: box.seal('secret'),
  lastBaseBackupAt: null,
  archiveKeepUntil: null,
  createdAt: now,
  updatedAt: now,
  removedAt: null,
  ...patch,
});

/** The service over in-memory clusters and a driver that records what it is asked. */
function setUp(clusters: DedicatedCluster[], backups: Record<string, PgBaseBackup[]>) {
  const calls: string[] = [];
  const rows = new Map(clusters.map((c) => [c.addonId, { ...c }]));
  const repository = {
    listActive: async () => [...rows.values()].filter((c) => c.state === 'active'),
    listArchivesDue: async (at: Date) => [...rows.values()].filter((c) => c.state === 'removed' && c.archiveKeepUntil !== null && c.archiveKeepUntil <= at),
    listDependents: async (source: string) => [...rows.values()].filter((c) => c.state === 'active' && c.sourceAddonId === source),
    update: async (addonId: string, patch: Partial<DedicatedCluster>) => void rows.set(addonId, { ...rows.get(addonId)!, ...patch }),
  } as unknown as DedicatedClusterRepository;
  const driver = {
    takeBaseBackup: async (spec: PgClusterSpec) => {
      calls.push(`backup ${spec.key}`);
      return { id: 'new', finishedAt: now, bytes: 1 };
    },
    baseBackups: async (key: string) => backups[key] ?? [],
    pruneArchive: async (key: string, keep: PgArchiveKeep) => void calls.push(`prune ${key} ${keep.from.toISOString()} [${keep.replayers.join(' ')}]`),
    isHealthy: async (spec: PgClusterSpec) => !spec.key.startsWith('pg-down'),
    start: async (spec: PgClusterSpec) => {
      calls.push(`start ${spec.key}`);
      return spec.key.startsWith('pg-down-removed') ? 'removed' : 'running';
    },
    purgeArchive: async (key: string) => {
      if (key.startsWith('pg-stuck')) throw new Error(`Cluster ${key} still has its data directory; remove it first.`);
      calls.push(`purge ${key}`);
    },
  } as unknown as PgClusterDriver;
  const store = {
    addons: {
      findById: async (id: string) => ({ id, name: id, state: 'provisioned' }) as Addon,
      // Add-ons named rolling… or new-… are still being provisioned.
      findWithCatalog: async (id: string) => ({ addon: { id, name: id, state: /^(rolling|new-)/.test(id) ? 'provisioning' : 'provisioned' } as Addon, service: { provider: 'postgres' } as AddonService, plan: { name: 'standard-0' } as Plan }),
    },
  } as unknown as Store;
  const options: PgDedicatedOptions = { rootDir: '/x', portMin: 1, portMax: 2, superviseIntervalMs: 1, baseBackupIntervalMs: DAY, archiveRetentionMs: 7 * DAY };
  const clock = { now: () => now } as Clock;
  const service = new PgDedicatedService(store, {} as AddonAccess, repository, driver, new PgDedicatedSources(store, repository, driver), options, box, clock, {} as PgPremiumFailovers);
  return { service, calls, rows };
}

describe('dedicated PostgreSQL archive upkeep', () => {
  it('takes a base backup of each primary whose last one is older than the interval, and prunes to the window', async () => {
    const { service, calls, rows } = setUp(
      [
        cluster('due', { lastBaseBackupAt: new Date(now.getTime() - DAY - 1) }),
        cluster('fresh', { lastBaseBackupAt: new Date(now.getTime() - 3600_000) }),
        cluster('follower', { following: true }),
      ],
      { 'pg-due': [{ id: 'a', finishedAt: new Date(now.getTime() - 5 * DAY), bytes: 1 }], 'pg-fresh': [{ id: 'b', finishedAt: new Date(now.getTime() - 3600_000), bytes: 1 }] },
    );
    expect(await service.maintainArchives()).toEqual({ backups: 1, purged: 0, failed: 0 });
    expect(calls).toEqual([
      'backup pg-due',
      `prune pg-due ${new Date(now.getTime() - 4 * DAY).toISOString()} []`,
      `prune pg-fresh ${new Date(now.getTime() - 3600_000).toISOString()} []`,
    ]);
    expect(rows.get('due')!.lastBaseBackupAt).toEqual(now);
  });

  it("removes a destroyed add-on's archive once its retention is over, not before", async () => {
    const { service, calls, rows } = setUp(
      [
        cluster('gone', { state: 'removed', port: null, archiveKeepUntil: new Date(now.getTime() - 1) }),
        cluster('kept', { state: 'removed', port: null, archiveKeepUntil: new Date(now.getTime() + DAY) }),
      ],
      {},
    );
    expect(await service.maintainArchives()).toEqual({ backups: 0, purged: 1, failed: 0 });
    expect(calls).toEqual(['purge pg-gone']);
    expect(rows.get('gone')!.state).toBe('purged');
    expect(rows.get('kept')!.state).toBe('removed');
  });

  it('goes on purging the other archives when one cannot be purged, and tries that one again next time', async () => {
    const { service, calls, rows } = setUp(
      [
        cluster('stuck', { state: 'removed', port: null, archiveKeepUntil: new Date(now.getTime() - 2) }),
        cluster('gone', { state: 'removed', port: null, archiveKeepUntil: new Date(now.getTime() - 1) }),
      ],
      {},
    );
    expect(await service.maintainArchives()).toEqual({ backups: 0, purged: 1, failed: 1 });
    expect(calls).toEqual(['purge pg-gone']);
    expect(rows.get('stuck')!.state).toBe('removed');
    expect(rows.get('gone')!.state).toBe('purged');
  });
});

describe('dedicated PostgreSQL archive pruning and what depends on an archive', () => {
  const weekOld = { 'pg-primary': [{ id: 'a', finishedAt: new Date(now.getTime() - 7 * DAY), bytes: 1 }] };

  it("keeps the WAL the primary's followers replay, a follower still being made included", async () => {
    const { service, calls } = setUp(
      [
        cluster('primary', { lastBaseBackupAt: now }),
        cluster('follower', { origin: 'follow', sourceAddonId: 'primary', following: true }),
        cluster('new-follower', { origin: 'follow', sourceAddonId: 'primary', following: true, lastBaseBackupAt: null }),
        cluster('promoted', { origin: 'follow', sourceAddonId: 'primary', following: false, lastBaseBackupAt: now }),
        cluster('gone-follower', { origin: 'follow', sourceAddonId: 'primary', following: false, state: 'removed', port: null }),
      ],
      weekOld,
    );
    await service.maintainArchives();
    expect(calls).toEqual([`prune pg-primary ${new Date(now.getTime() - 4 * DAY).toISOString()} [pg-follower pg-new-follower]`]);
  });

  it('keeps the base backup and WAL a rollback still being made restores, even from before the window', async () => {
    const target = new Date(now.getTime() - 4 * DAY - 3600_000);
    const { service, calls } = setUp(
      [
        cluster('primary', { lastBaseBackupAt: now }),
        cluster('rolling', { origin: 'rollback', sourceAddonId: 'primary', recoveryTargetAt: target, lastBaseBackupAt: null }),
        cluster('rolled', { origin: 'rollback', sourceAddonId: 'primary', recoveryTargetAt: new Date(now.getTime() - 6 * DAY), lastBaseBackupAt: now }),
      ],
      weekOld,
    );
    await service.maintainArchives();
    expect(calls).toEqual([`prune pg-primary ${target.toISOString()} []`]);
  });

  it("does not purge a destroyed add-on's archive while a rollback from it is being made, and does once it is done", async () => {
    const { service, calls, rows } = setUp(
      [
        cluster('gone', { state: 'removed', port: null, archiveKeepUntil: new Date(now.getTime() - 1) }),
        cluster('rolling', { origin: 'rollback', sourceAddonId: 'gone', recoveryTargetAt: new Date(now.getTime() - DAY), lastBaseBackupAt: null }),
      ],
      {},
    );
    expect(await service.maintainArchives()).toEqual({ backups: 0, purged: 0, failed: 0 });
    expect(rows.get('gone')!.state).toBe('removed');

    rows.set('rolling', { ...rows.get('rolling')!, lastBaseBackupAt: now });
    calls.length = 0;
    expect(await service.maintainArchives()).toEqual({ backups: 0, purged: 1, failed: 0 });
    expect(calls).toEqual(['purge pg-gone']);
  });
});

describe('dedicated PostgreSQL supervision', () => {
  it('starts a dead cluster, and counts nothing for one whose removal began in another worker', async () => {
    const { service, calls } = setUp([cluster('up'), cluster('down-crashed'), cluster('down-removed')], {});
    expect(await service.supervise()).toEqual({ checked: 3, restarted: 1, failed: 0 });
    expect(calls).toEqual(['start pg-down-crashed', 'start pg-down-removed']);
  });
});
