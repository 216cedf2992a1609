import { randomBytes } from 'node:crypto';
import { Clock, SecretBox } from '@app/common';
import { Addon, AddonService, BackupFiles, Plan, PostgresBackend, PostgresClusterAdmin, PostgresOptions, ProvisionRequest, Region, Store } from '@app/domain';
import { PostgresProvisioner } from './postgres.provisioner';

/**
 * The owner verifier a provision job's head start lets the worker derive while the add-on's
 * creation commits: used for the password the add-on's records hold, and for no other.
 */
describe('PostgresProvisioner head start', () => {
  const box = new SecretBox(randomBytes(32));
  const now = new Date('2026-11-26T12:00:00Z');
  const backend: PostgresBackend = {
    id: '7a1d5c1e-0000-4000-8000-00000000000b',
    name: 'shared-1',
    host: '127.0.0.1',
    port: 5441,
    adminUser: 'postgres',
    adminPasswordSealed: box.seal('admin-password'),
    maintenanceDatabase: 'postgres',
    capacity: 10,
    state: 'active',
    createdAt: now,
    updatedAt: now,
  } as PostgresBackend;
  const addon = { id: '0b6f3c1e-0000-4000-8000-000000000001', name: 'postgresql-early-1' } as Addon;
  const plan = { name: 'essential-0' } as Plan;

  function setUp() {
    const created: { ownerPassword: string; ownerVerifier?: Promise<string> }[] = [];
    const admin = {
      harden: async () => undefined,
      passwordVerifier: async (password: string) => `verifier-of:${password}`,
      createTenant: async (_backend: unknown, tenant: { ownerPassword: string; ownerVerifier?: Promise<string> }) => {
        created.push(tenant);
      },
    } as unknown as PostgresClusterAdmin;
    const clock = { now: () => now } as Clock;
    const provisioner = new PostgresProvisioner({} as Store, admin, {} as BackupFiles, box, clock, { storageScale: 1 } as PostgresOptions);
    /** A provision of an add-on whose records hold `recordedSealed`, from a job whose head start gave `headStartSealed`. */
    const provision = (recordedSealed: string, headStartSealed: string) => {
      const prepared = provisioner.prepare({ postgresOwnerPasswordSealed: headStartSealed });
      const request: ProvisionRequest = {
        addon,
        service: { slug: 'postgresql' } as AddonService,
        plan,
        region: {} as Region,
        oauthGrant: null,
        callbackUrl: 'http://127.0.0.1:1/addons/x',
        prefetched: { postgresPlacement: { kind: 'existing', state: 'active', backend, ownerPasswordSealed: recordedSealed } },
        prepared,
      };
      return provisioner.provision(request);
    };
    return { created, provision };
  }

  it('creates the owner with the verifier derived from the head start, when the records hold that password', async () => {
    const { created, provision } = setUp();
    const recorded = 'recorded-password-1';
    // The api seals the password once, for the records and the head start alike.
    const sealed = box.seal(recorded);
    const outcome = await provision(sealed, sealed);
    expect(created).toHaveLength(1);
    expect(created[0].ownerPassword).toBe(recorded);
    expect(await created[0].ownerVerifier).toBe(`verifier-of:${recorded}`);
    expect(outcome).toMatchObject({ kind: 'provisioned', config: { POSTGRESQL_URL: expect.stringContaining(`:${recorded}@127.0.0.1:5441/`) } });
  });

  it('derives nothing ahead for a password the records do not hold', async () => {
    const { created, provision } = setUp();
    // Even the same password, sealed again: only the value the records were written with counts.
    await provision(box.seal('recorded-password-2'), box.seal('recorded-password-2'));
    expect(created).toHaveLength(1);
    expect(created[0].ownerPassword).toBe('recorded-password-2');
    expect(created[0].ownerVerifier).toBeUndefined();
  });
});
