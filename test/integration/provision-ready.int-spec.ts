// A provider that hands over its config before its resource exists (`ready` in the outcome): the
// worker writes the add-on's provisioned state meanwhile and commits it only once `ready` resolves.
// Real store on a private database; the provider is a stand-in whose `ready` the test settles.
import { randomBytes } from 'node:crypto';
import { SecretBox, SystemClock, newId } from '@app/common';
import {
  Addon,
  AddonConfigProjector,
  DeprovisionOutcome,
  JobDispatcher,
  LifecycleOptions,
  PlanChangeOutcome,
  ProvisionLifecycle,
  ProvisionOutcome,
  Provisioner,
  ProvisionerRegistry,
} from '@app/domain';
import { TypeOrmStore } from '@app/persistence';
import { addonOf, openCreation, settlesWithin, useAppStoreFixture } from '../support/store-fixtures';

/** A provider whose resource is ready when the test says so. */
class SlowProvider extends Provisioner {
  private settle: { resolve: () => void; reject: (error: Error) => void } | null = null;
  settled = false;
  /** How many provisions reached this provider. */
  calls = 0;
  /** Runs before the answer, as if the world changed while the provider worked. */
  meanwhile: ((addon: Addon) => Promise<void>) | null = null;

  async provision(request: { addon: Addon }): Promise<ProvisionOutcome> {
    this.calls++;
    this.settle = null;
    this.settled = false;
    await this.meanwhile?.(request.addon);
    const ready = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject })).finally(() => (this.settled = true));
    ready.catch(() => undefined);
    return { kind: 'provisioned', providerId: `res-${request.addon.id}`, config: { SLOW_URL: `slow://${request.addon.id}` }, message: null, ready };
  }
  /** Forgets the last provision's resource, so that {@link building} waits for the next one. */
  reset(): void {
    this.settle = null;
  }

  /** How to settle the current provision's resource, once the provision has started building it. */
  async building(): Promise<{ resolve: () => void; reject: (error: Error) => void }> {
    while (!this.settle) await new Promise((r) => setTimeout(r, 5));
    return this.settle;
  }
  changePlan(): Promise<PlanChangeOutcome> {
    throw new Error('not used');
  }
  deprovision(): Promise<DeprovisionOutcome> {
    throw new Error('not used');
  }
}

/** Records deprovision requests, and whether the resource was still being built when each came. */
class RecordingJobs extends JobDispatcher {
  deprovisions: { addonId: string; whileBuilding: boolean }[] = [];
  constructor(private readonly provider: SlowProvider) {
    super();
  }
  provision = () => Promise.resolve();
  changePlan = () => Promise.resolve();
  postgresBackup = () => Promise.resolve();
  postgresRestore = () => Promise.resolve();
  deprovision(addonId: string): Promise<void> {
    this.deprovisions.push({ addonId, whileBuilding: !this.provider.settled });
    return Promise.resolve();
  }
}

describe('a provision whose resource is still being built', () => {
  const fixture = useAppStoreFixture({
    poolSize: 4,
    emailStem: 'ready',
    addonStem: 'slow',
    service: { slug: 'slow', humanName: 'Slow', provider: 'http', configVarsPrefix: 'SLOW', defaultAlias: 'SLOW', configVars: ['SLOW_URL'], baseUrl: 'http://127.0.0.1:9' },
    plan: { name: 'basic', humanName: 'Basic', priceCents: 0 },
  });
  const provider = new SlowProvider();
  const jobs = new RecordingJobs(provider);
  let lifecycle: ProvisionLifecycle;
  let store: TypeOrmStore;
  /** A lifecycle that waits for the resource in its transaction for `readyWaitInTransactionMs` at most. */
  const lifecycleWaiting = (readyWaitInTransactionMs?: number, rolledBack: Error[] = []) => {
    const projector = new AddonConfigProjector(new SecretBox(randomBytes(32)));
    const registry: ProvisionerRegistry = { forService: () => provider, prefetch: async () => undefined, prepare: () => undefined };
    const options: LifecycleOptions = { publicUrl: 'http://127.0.0.1:1', asyncDeadlineMs: 60_000, readyWaitInTransactionMs };
    // The store as it is, except that the errors its transactions roll back on are kept.
    const watched = new Proxy(fixture.store, {
      get: (target, property, receiver) =>
        property === 'transaction'
          ? async (work: Parameters<TypeOrmStore['transaction']>[0]) => {
              try {
                return await target.transaction(work);
              } catch (error) {
                rolledBack.push(error as Error);
                throw error;
              }
            }
          : Reflect.get(target, property, receiver),
    });
    return new ProvisionLifecycle(watched, registry, projector, jobs, new SystemClock(), options);
  };

  async function waitFor(what: string, done: () => boolean): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  beforeAll(() => {
    store = fixture.store;
    lifecycle = lifecycleWaiting();
  });

  beforeEach(() => provider.reset());

  /** A provisioning add-on attached to the fixture's app as SLOW. */
  async function provisioningAddon(): Promise<Addon> {
    const addon = addonOf(fixture, fixture.app, { name: `slow-${newId()}`, state: 'provisioning', provisionedAt: null });
    expect(await store.addons.createIfNameFree(addon)).toBe(true);
    const now = new Date();
    await store.attachments.create({ id: newId(), addonId: addon.id, appId: fixture.app.id, name: alias(addon), namespace: null, createdAt: now, updatedAt: now });
    return addon;
  }

  const alias = (addon: Addon) => `SLOW_${addon.id.slice(0, 8).toUpperCase()}`;
  /** The config var the add-on's SLOW_URL becomes on the app. */
  const varName = (addon: Addon) => `${alias(addon)}_URL`;

  /** Waits until the worker's transaction has written the add-on's row (uncommitted): its lock is taken. */
  async function writesSent(addon: Addon): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const [row] = await fixture.dataSource.query(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND c.relname = 'addons' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()`,
      );
      if (row.n > 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`the provision of ${addon.name} never wrote its add-on`);
  }

  describe('a job that arrives before the transaction creating its add-on has ended', () => {
    /** A provisioning add-on attached as SLOW, created in a transaction held open until `end` is called. */
    async function creating(outcome: 'commit' | 'rollback') {
      const addon = addonOf(fixture, fixture.app, { name: `slow-${newId()}`, state: 'provisioning', provisionedAt: null });
      const { end, done } = await openCreation(store, addon, outcome, async (tx) => {
        const now = new Date();
        await tx.attachments.create({ id: newId(), addonId: addon.id, appId: fixture.app.id, name: alias(addon), namespace: null, createdAt: now, updatedAt: now });
      });
      return { addon, end, done };
    }

    it('provisions the add-on once that transaction commits, not before', async () => {
      const { addon, end, done } = await creating('commit');
      const calls = provider.calls;
      const step = lifecycle.provision(addon.id);
      expect(await settlesWithin(step)).toBe(false);
      expect(provider.calls).toBe(calls);
      end();
      await done;
      (await provider.building()).resolve();
      await expect(step).resolves.toBe('done');
      expect((await store.addons.findById(addon.id))!.state).toBe('provisioned');
      expect((await store.configVars.listForApp(fixture.app.id)).map((v) => v.name)).toContain(varName(addon));
    });

    it('does nothing when that transaction rolls back', async () => {
      const { addon, end, done } = await creating('rollback');
      const calls = provider.calls;
      const step = lifecycle.provision(addon.id);
      expect(await settlesWithin(step)).toBe(false);
      end();
      await done;
      await expect(step).resolves.toBe('skipped');
      expect(provider.calls).toBe(calls);
      expect(await store.addons.findById(addon.id)).toBeNull();
    });
  });

  it('commits the provisioned state and the config vars only once the resource is ready', async () => {
    const addon = await provisioningAddon();
    const step = lifecycle.provision(addon.id);
    await writesSent(addon);
    // Written but not committed: nobody else sees it yet.
    expect((await store.addons.findById(addon.id))!.state).toBe('provisioning');
    expect((await store.configVars.listForApp(fixture.app.id)).map((v) => v.name)).not.toContain(varName(addon));

    (await provider.building()).resolve();
    await expect(step).resolves.toBe('done');
    const after = (await store.addons.findById(addon.id))!;
    expect(after.state).toBe('provisioned');
    expect(after.providerId).toBe(`res-${addon.id}`);
    expect((await store.configVars.listForApp(fixture.app.id)).map((v) => v.name)).toContain(varName(addon));
  });

  it('writes nothing when the resource fails, and a retry finishes it', async () => {
    const addon = await provisioningAddon();
    const step = lifecycle.provision(addon.id);
    await writesSent(addon);
    (await provider.building()).reject(new Error('the cluster went away'));
    await expect(step).rejects.toThrow('the cluster went away');
    expect((await store.addons.findById(addon.id))!.state).toBe('provisioning');
    expect((await store.configVars.listForApp(fixture.app.id)).map((v) => v.name)).not.toContain(varName(addon));
    expect((await store.events.listForAddons([addon.id], ['addon.provisioned'])).get(addon.id) ?? []).toEqual([]);

    provider.reset();
    const retry = lifecycle.provision(addon.id);
    await writesSent(addon);
    (await provider.building()).resolve();
    await expect(retry).resolves.toBe('done');
    expect((await store.addons.findById(addon.id))!.state).toBe('provisioned');
  });

  it('asks for the cleanup of an add-on destroyed meanwhile only after the resource is built', async () => {
    const addon = await provisioningAddon();
    // Destroyed while the provider worked: the worker's transaction finds it gone.
    provider.meanwhile = (a) => store.addons.update(a.id, { state: 'deprovisioning', deprovisionRequestedAt: new Date(), updatedAt: new Date() });
    try {
      const step = lifecycle.provision(addon.id);
      // Settled well after the provision found its add-on gone (were the cleanup asked for before, it would show).
      const settle = await provider.building();
      setTimeout(() => settle.resolve(), 300);
      await expect(step).resolves.toBe('skipped');
    } finally {
      provider.meanwhile = null;
    }
    expect(jobs.deprovisions).toEqual([{ addonId: addon.id, whileBuilding: false }]);
    expect((await store.addons.findById(addon.id))!.cleanupPending).toBe(true);
  });

  it('lets the add-on and its apps go while a slow resource is built, and records it once ready', async () => {
    const addon = await provisioningAddon();
    const rolledBack: Error[] = [];
    const step = lifecycleWaiting(100, rolledBack).provision(addon.id);
    await waitFor('the final transaction to give up waiting', () => rolledBack.some((e) => e.constructor.name === 'NotReadyInTime'));
    // Past the wait the transaction is rolled back: the app can be locked, as a config change would.
    await fixture.dataSource.transaction(async (m) => {
      expect(await m.query('SELECT id FROM apps WHERE id = $1 FOR UPDATE NOWAIT', [fixture.app.id])).toEqual([{ id: fixture.app.id }]);
      expect(await m.query('SELECT id FROM addons WHERE id = $1 FOR UPDATE NOWAIT', [addon.id])).toEqual([{ id: addon.id }]);
    });
    expect((await store.addons.findById(addon.id))!.state).toBe('provisioning');
    const readyAt = new Date();
    (await provider.building()).resolve();
    await expect(step).resolves.toBe('done');
    const after = (await store.addons.findById(addon.id))!;
    expect(after.state).toBe('provisioned');
    expect(after.provisionedAt!.getTime()).toBeGreaterThanOrEqual(readyAt.getTime());
    expect((await store.configVars.listForApp(fixture.app.id)).map((v) => v.name)).toContain(varName(addon));
  });
});
