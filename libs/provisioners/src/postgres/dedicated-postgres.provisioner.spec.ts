import { randomBytes } from 'node:crypto';
import { Clock, SecretBox } from '@app/common';
import {
  Addon,
  AddonService,
  DedicatedCluster,
  DedicatedClusterRepository,
  DedicatedHost,
  PgClusterDriver,
  PgClusterSpec,
  PgDedicatedOptions,
  PgDedicatedSources,
  PgPremiumDriver,
  Plan,
  PostgresClusterAdmin,
  ProviderUnavailableError,
  ProvisionRequest,
  Store,
} from '@app/domain';
import { DedicatedPostgresProvisioner } from './dedicated-postgres.provisioner';
import { PgSharedReadOnly } from './pg-shared-read-only';

/** An active cluster made new on the host `local`, as its record reads. */
function dedicatedCluster(fields: Pick<DedicatedCluster, 'addonId' | 'key' | 'port' | 'databaseName' | 'ownerRole' | 'ownerPasswordSealed' | 'createdAt'> & Partial<DedicatedCluster>): DedicatedCluster {
  return {
    host: 'local',
    state: 'active',
    origin: 'new',
    sourceAddonId: null,
    following: false,
    recoveryTargetAt: null,
    lastBaseBackupAt: null,
    archiveKeepUntil: null,
    updatedAt: fields.createdAt,
    removedAt: null,
    ...fields,
  } as DedicatedCluster;
}

/**
 * The shared→dedicated move's checked window: whatever fails after it opens, or a write found
 * between its two marks, the shared database is released (writable and open) again.
 */
describe('DedicatedPostgresProvisioner.moveFromShared', () => {
  const box = new SecretBox(randomBytes(32));
  const now = new Date('2026-11-26T12:00:00Z');
  const addon = { id: '0b6f3c1e-0000-4000-8000-000000000001', name: 'postgresql-moving-1', appId: 'app-1', planId: 'plan-essential', options: {} } as unknown as Addon;
  const plan = { name: 'standard-0' } as Plan;
  const service = { slug: 'postgresql' } as AddonService;
  const cluster = dedicatedCluster({ addonId: addon.id, key: 'pg-moving', port: 29_999, databaseName: 'd_moving', ownerRole: 'u_moving', ownerPasswordSealed: box.seal('secret-password'), createdAt: now });
  const localHost: DedicatedHost = { name: 'local', driver: 'local', address: '127.0.0.1', portMin: 29_990, portMax: 29_999, capacity: 10, state: 'active', createdAt: now, updatedAt: now };

  function provisioner(options: { failBackup?: boolean; written?: boolean; credentialDuringCopy?: boolean } = {}) {
    const window: string[] = [];
    let dumped = false;
    const credentials = () => (dumped && options.credentialDuringCopy ? [{ name: 'analyst', state: 'active' }] : []);
    const store = {
      plans: { findById: async () => ({ name: 'essential-0' }) },
      postgres: {
        credentials: { listAll: async () => credentials() },
        databases: { findByAddon: async () => ({ state: 'active', backendId: 'b-1', databaseName: 'shared_db' }) },
        backends: { findById: async () => ({ id: 'b-1', name: 'shared-1', host: '127.0.0.1', port: 5441, adminUser: 'admin', adminPasswordSealed: box.seal('admin-pw'), maintenanceDatabase: 'postgres' }) },
      },
    } as unknown as Store;
    const clusters = { findByAddon: async () => cluster, findHost: async () => localHost, update: async () => undefined } as unknown as DedicatedClusterRepository;
    const driver = {
      ensure: async () => ({ tls: false }),
      loadDump: async () => undefined,
      takeBaseBackup: async () => {
        if (options.failBackup) throw new Error('pg_basebackup failed: No space left on device');
        return { id: 'b', finishedAt: now, bytes: 1 };
      },
    } as unknown as PgClusterDriver;
    const admin = {
      dump: async () => {
        dumped = true;
      },
    } as unknown as PostgresClusterAdmin;
    const shared = {
      open: async () => (window.push('open'), 'mark-1'),
      seal: async () => (window.push('seal'), options.written ? 'mark-2' : 'mark-1'),
      release: async (_backend: unknown, _db: string, limit: number) => void window.push(`release ${limit}`),
    } as unknown as PgSharedReadOnly;
    const options_ = { rootDir: '/nonexistent', portMin: 29_990, portMax: 29_999, superviseIntervalMs: 1000, baseBackupIntervalMs: 60_000, archiveRetentionMs: 0 } as PgDedicatedOptions;
    const clock = { now: () => now } as Clock;
    const subject = new DedicatedPostgresProvisioner(clusters, driver, {} as PgDedicatedSources, options_, box, clock, store, admin, shared, {} as PgPremiumDriver);
    return { subject, window };
  }

  it('releases the shared database with its plan’s connection limit when the base backup after the copy fails', async () => {
    const { subject, window } = provisioner({ failBackup: true });
    await expect(subject.moveFromShared({ addon, service, plan })).rejects.toThrow(/No space left/);
    expect(window).toEqual(['open', 'release 20']);
  });

  it('refuses the move and releases the shared database when something was written between the marks', async () => {
    const { subject, window } = provisioner({ written: true });
    await expect(subject.moveFromShared({ addon, service, plan })).rejects.toThrow(/written to while its data was being copied .* stays on postgresql:essential-0, writable/);
    expect(window).toEqual(['open', 'seal', 'release 20']);
  });

  it('refuses the move when a named credential was made during the copy (its role would not exist on the cluster)', async () => {
    const { subject, window } = provisioner({ credentialDuringCopy: true });
    await expect(subject.moveFromShared({ addon, service, plan })).rejects.toThrow(/named credentials \(analyst\)/);
    expect(window).toEqual(['open', 'seal', 'release 20']);
  });

  it('keeps the shared database sealed once a checked copy is complete (it is dropped after the switch)', async () => {
    const { subject, window } = provisioner();
    const outcome = await subject.moveFromShared({ addon, service, plan });
    expect(outcome).toEqual({ kind: 'changed', config: { POSTGRESQL_URL: expect.stringContaining('@127.0.0.1:29999/d_moving') }, message: null });
    expect(window).toEqual(['open', 'seal']);
  });
});

/**
 * Placement on the registered hosts: a new cluster is recorded where the repository places it,
 * its URL names that host's address (with sslmode=require when the driver made it with TLS), and
 * no host with room is a clear refusal that is retried.
 */
describe('DedicatedPostgresProvisioner.provision', () => {
  const box = new SecretBox(randomBytes(32));
  const now = new Date('2026-11-26T12:00:00Z');
  const addon = { id: '0b6f3c1e-0000-4000-8000-000000000002', name: 'postgresql-placed-2', appId: 'app-1', planId: 'plan-standard', options: {} } as unknown as Addon;
  const plan = { name: 'standard-0' } as Plan;
  const service = { slug: 'postgresql' } as AddonService;
  const request = { addon, service, plan, region: { name: 'us' }, oauthGrant: null, callbackUrl: '' } as unknown as ProvisionRequest;
  const second: DedicatedHost = { name: 'pg-2', driver: 'local', address: '10.0.0.2', portMin: 16_000, portMax: 16_199, capacity: 5, state: 'active', createdAt: now, updatedAt: now };

  function provisioner(options: { room: boolean; tls: boolean }) {
    let recorded: DedicatedCluster | null = null;
    const ensured: PgClusterSpec[] = [];
    const clusters = {
      findByAddon: async () => recorded,
      place: async (record: Omit<DedicatedCluster, 'host' | 'port'>) => (options.room ? (recorded = { ...record, host: second.name, port: 16_000 }) : null),
      findHost: async (name: string) => (name === second.name ? second : null),
      update: async () => undefined,
    } as unknown as DedicatedClusterRepository;
    const driver = {
      isPortFree: async () => true,
      ensure: async (spec: PgClusterSpec) => (ensured.push(spec), { tls: options.tls }),
      takeBaseBackup: async () => ({ id: 'b', finishedAt: now, bytes: 1 }),
    } as unknown as PgClusterDriver;
    const options_ = { rootDir: '/nonexistent', portMin: 29_990, portMax: 29_999, superviseIntervalMs: 1000, baseBackupIntervalMs: 60_000, archiveRetentionMs: 0 } as PgDedicatedOptions;
    const subject = new DedicatedPostgresProvisioner(
      clusters,
      driver,
      {} as PgDedicatedSources,
      options_,
      box,
      { now: () => now } as Clock,
      {} as Store,
      {} as PostgresClusterAdmin,
      {} as PgSharedReadOnly,
      {} as PgPremiumDriver,
    );
    return { subject, ensured, recorded: () => recorded };
  }

  it('runs the cluster on the host it was placed on and gives apps that host’s address, with sslmode=require under TLS', async () => {
    const { subject, ensured, recorded } = provisioner({ room: true, tls: true });
    const outcome = await subject.provision(request);
    expect(recorded()).toEqual(expect.objectContaining({ addonId: addon.id, host: 'pg-2', port: 16_000 }));
    expect(ensured).toEqual([expect.objectContaining({ port: 16_000, address: '10.0.0.2' })]);
    expect(outcome).toEqual(expect.objectContaining({ kind: 'provisioned', config: { POSTGRESQL_URL: expect.stringMatching(/@10\.0\.0\.2:16000\/[^?]+\?sslmode=require$/) } }));
  });

  it('gives a plain URL for a cluster made without TLS', async () => {
    const { subject } = provisioner({ room: true, tls: false });
    const outcome = await subject.provision(request);
    expect(outcome).toEqual(expect.objectContaining({ config: { POSTGRESQL_URL: expect.stringMatching(/@10\.0\.0\.2:16000\/[a-z0-9_]+$/) } }));
  });

  it('refuses, to be retried, when no registered host has room', async () => {
    const { subject, ensured } = provisioner({ room: false, tls: false });
    const attempt = subject.provision(request);
    await expect(attempt).rejects.toThrow(ProviderUnavailableError);
    await expect(attempt).rejects.toThrow('No dedicated PostgreSQL host has room for another cluster.');
    expect(ensured).toEqual([]);
  });
});

/**
 * The dedicated→shared move: what refuses it before anything is placed or copied, and its checked
 * window on the cluster, sealed on the tenant's login role and released with the dedicated plan's
 * connection limit whenever the move does not go through.
 */
describe('DedicatedPostgresProvisioner.moveToShared', () => {
  const box = new SecretBox(randomBytes(32));
  const now = new Date('2026-11-26T12:00:00Z');
  const addon = { id: '0b6f3c1e-0000-4000-8000-000000000003', name: 'postgresql-back-3', appId: 'app-1', planId: 'plan-standard', options: {} } as unknown as Addon;
  const plan = { name: 'essential-0' } as Plan;
  const service = { slug: 'postgresql' } as AddonService;
  const base = dedicatedCluster({
    addonId: addon.id,
    key: 'pg-back',
    port: 29_998,
    databaseName: 'd_back',
    ownerRole: 'u_back',
    ownerPasswordSealed: box.seal('secret-password'),
    lastBaseBackupAt: now,
    createdAt: now,
  });

  interface Setup {
    current?: string;
    cluster?: Partial<DedicatedCluster>;
    dependents?: Partial<DedicatedCluster>[];
    credentials?: string[];
    written?: boolean;
    failRestore?: boolean;
  }

  function provisioner(setup: Setup = {}) {
    const steps: string[] = [];
    const store = {
      plans: { findById: async () => ({ name: setup.current ?? 'standard-0' }) },
      addons: { findById: async (id: string) => ({ id, name: `postgresql-${id}` }) },
      postgres: { credentials: { listAll: async () => (setup.credentials ?? []).map((name) => ({ name, state: 'active' })) } },
    } as unknown as Store;
    const clusters = {
      findByAddon: async () => ({ ...base, ...setup.cluster }),
      listDependents: async () => (setup.dependents ?? []).map((d) => ({ ...base, ...d })),
    } as unknown as DedicatedClusterRepository;
    const admin = {
      dump: async (backend: { host: string; user: string }, database: string) => void steps.push(`dump ${database} as ${backend.user} on ${backend.host}`),
      restore: async () => {
        if (setup.failRestore) throw new Error('pg_restore failed: out of memory');
        steps.push('restore');
      },
    } as unknown as PostgresClusterAdmin;
    const readOnly = {
      usage: async () => ({ bytes: 8_000_000, sessions: 1 }),
      open: async () => (steps.push('open'), 'mark-1'),
      seal: async (_b: unknown, _d: string, seal: { role?: string }) => (steps.push(`seal ${seal.role}`), setup.written ? 'mark-2' : 'mark-1'),
      release: async (_b: unknown, _d: string, limit: number, seal: { role?: string }) => void steps.push(`release ${seal.role} ${limit}`),
    } as unknown as PgSharedReadOnly;
    const options_ = { rootDir: '/srv/pg', portMin: 29_990, portMax: 29_999, superviseIntervalMs: 1000, baseBackupIntervalMs: 60_000, archiveRetentionMs: 0 } as PgDedicatedOptions;
    const subject = new DedicatedPostgresProvisioner(clusters, {} as PgClusterDriver, {} as PgDedicatedSources, options_, box, { now: () => now } as Clock, store, admin, readOnly, {} as PgPremiumDriver);
    const shared = { placeForMove: async () => (steps.push('place'), { backend: {} as never, url: 'postgres://u:p@127.0.0.1:5441/d' }) };
    return { move: () => subject.moveToShared({ addon, service, plan }, shared), steps };
  }

  it.each<[string, Setup, RegExp]>([
    ['a premium add-on', { current: 'premium-0' }, /from postgresql:premium-0 to postgresql:essential-0 is not available: a premium formation's standby can take writes over/],
    ['a follower', { cluster: { following: true } }, /follows another database; unfollow it/],
    ['an add-on with followers', { dependents: [{ addonId: 'f-1', following: true }] }, /has followers or forks still being made \(postgresql-f-1\)/],
    ['an add-on with a fork still being made', { dependents: [{ addonId: 'k-1', lastBaseBackupAt: null }] }, /has followers or forks still being made \(postgresql-k-1\)/],
    ['an add-on with named credentials', { credentials: ['default', 'analyst'] }, /has named credentials \(analyst\); destroy them/],
  ])('refuses %s before placing or copying anything', async (_what, setup, message) => {
    const { move, steps } = provisioner(setup);
    await expect(move()).rejects.toThrow(message);
    expect(steps).toEqual([]);
  });

  it('dumps as the superuser over the cluster socket, restores into the placed tenant, keeps the cluster sealed on the tenant role and returns the shared URL', async () => {
    const { move, steps } = provisioner();
    expect(await move()).toEqual({ kind: 'changed', config: { POSTGRESQL_URL: 'postgres://u:p@127.0.0.1:5441/d' }, message: null });
    expect(steps).toEqual(['place', 'open', 'dump d_back as postgres on /srv/pg/pg-back/socket', 'restore', 'seal u_back']);
  });

  it('refuses the move and releases the cluster with its plan’s connection limit when something was written between the marks', async () => {
    const { move, steps } = provisioner({ written: true });
    await expect(move()).rejects.toThrow(/written to while its data was being copied .* stays on postgresql:standard-0, writable, with every write/);
    expect(steps.slice(-2)).toEqual(['seal u_back', 'release u_back 120']);
  });

  it('releases the cluster when the restore fails', async () => {
    const { move, steps } = provisioner({ failRestore: true });
    await expect(move()).rejects.toThrow(/out of memory/);
    expect(steps.slice(-1)).toEqual(['release u_back 120']);
  });
});
