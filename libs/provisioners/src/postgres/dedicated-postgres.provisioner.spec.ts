import { randomBytes } from 'node:crypto';
import { Clock, SecretBox } from '@app/common';
import {
  Addon,
  AddonService,
  DedicatedCluster,
  DedicatedClusterRepository,
  PgClusterDriver,
  PgDedicatedOptions,
  PgDedicatedSources,
  PgPremiumDriver,
  Plan,
  PostgresClusterAdmin,
  Store,
} from '@app/domain';
import { DedicatedPostgresProvisioner } from './dedicated-postgres.provisioner';
import { PgSharedReadOnly } from './pg-shared-read-only';

/** The shared→dedicated move's read-only window: whatever fails after it opens, the shared database is writable again. */
describe('DedicatedPostgresProvisioner.moveFromShared', () => {
  const box = new SecretBox(randomBytes(32));
  const now = new Date('2026-11-26T12:00:00Z');
  const addon = { id: '0b6f3c1e-0000-4000-8000-000000000001', name: 'postgresql-moving-1', appId: 'app-1', options: {} } as unknown as Addon;
  const plan = { name: 'standard-0' } as Plan;
  const service = { slug: 'postgresql' } as AddonService;
  const cluster: DedicatedCluster = {
    addonId: addon.id,
    host: 'local',
    key: 'pg-moving',
    port: 29_999,
    state: 'active',
    origin: 'new',
    sourceAddonId: null,
    following: false,
    recoveryTargetAt: null,
    databaseName: 'd_moving',
    ownerRole: 'u_moving',
    ownerPasswordSealed: box.seal('secret-password'),
    lastBaseBackupAt: null,
    archiveKeepUntil: null,
    createdAt: now,
    updatedAt: now,
    removedAt: null,
  } as DedicatedCluster;

  function provisioner(failBackup: boolean) {
    const readOnly: boolean[] = [];
    const store = {
      postgres: {
        credentials: { listAll: async () => [] },
        databases: { findByAddon: async () => ({ state: 'active', backendId: 'b-1', databaseName: 'shared_db' }) },
        backends: { findById: async () => ({ id: 'b-1', name: 'shared-1', host: '127.0.0.1', port: 5441, adminUser: 'admin', adminPasswordSealed: box.seal('admin-pw'), maintenanceDatabase: 'postgres' }) },
      },
    } as unknown as Store;
    const clusters = { findByAddon: async () => cluster, update: async () => undefined } as unknown as DedicatedClusterRepository;
    const driver = {
      ensure: async () => undefined,
      loadDump: async () => undefined,
      takeBaseBackup: async () => {
        if (failBackup) throw new Error('pg_basebackup failed: No space left on device');
        return { id: 'b', finishedAt: now, bytes: 1 };
      },
    } as unknown as PgClusterDriver;
    const admin = { dump: async () => undefined } as unknown as PostgresClusterAdmin;
    const shared = { set: async (_backend: unknown, _db: string, on: boolean) => void readOnly.push(on) } as unknown as PgSharedReadOnly;
    const options = { rootDir: '/nonexistent', portMin: 29_990, portMax: 29_999, superviseIntervalMs: 1000, baseBackupIntervalMs: 60_000, archiveRetentionMs: 0 } as PgDedicatedOptions;
    const clock = { now: () => now } as Clock;
    const subject = new DedicatedPostgresProvisioner(clusters, driver, {} as PgDedicatedSources, options, box, clock, store, admin, shared, {} as PgPremiumDriver);
    return { subject, readOnly };
  }

  it('leaves the shared database writable when the base backup after the copy fails', async () => {
    const { subject, readOnly } = provisioner(true);
    await expect(subject.moveFromShared({ addon, service, plan })).rejects.toThrow(/No space left/);
    expect(readOnly).toEqual([true, false]);
  });

  it('keeps the shared database read-only once the copy is complete (it is dropped next)', async () => {
    const { subject, readOnly } = provisioner(false);
    const outcome = await subject.moveFromShared({ addon, service, plan });
    expect(outcome.kind).toBe('changed');
    expect(readOnly).toEqual([true]);
  });
});
