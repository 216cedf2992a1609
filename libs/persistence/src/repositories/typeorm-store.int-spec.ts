import { DataSource } from 'typeorm';
import { newId } from '@app/common';
import { Addon, AddonService, App, Plan } from '@app/domain';
import { addonOf, createApp, openCreation, settlesWithin, useStoreFixture } from '../../../../test/support/store-fixtures';
import { TypeOrmStore } from './typeorm-store';

/**
 * The store on a real PostgreSQL: pipelined transactions (BEGIN sent with the first statement,
 * the events with COMMIT) and the hand-written statements of the provisioning path.
 */
describe('TypeOrmStore', () => {
  const fixture = useStoreFixture({
    poolSize: 4,
    emailStem: 'store',
    service: {
      slug: `svc-${newId().slice(0, 8)}`,
      humanName: 'Service',
      provider: 'http',
      configVarsPrefix: 'SVC',
      defaultAlias: 'SVC',
      configVars: ['SVC_URL'],
      baseUrl: 'http://127.0.0.1:1',
    },
    plan: { name: 'basic', humanName: 'Basic', priceCents: 500 },
  });
  let dataSource: DataSource;
  let store: TypeOrmStore;
  let service: AddonService;
  let plan: Plan;

  beforeAll(() => {
    ({ dataSource, store, service, plan } = fixture);
  });

  const newApp = (): Promise<App> => createApp(fixture);

  const newAddon = (app: App, name = `svc-${newId()}`): Addon =>
    addonOf(fixture, app, { name, state: 'provisioning', options: { size: 'small' }, provisionedAt: null });

  const eventsOf = async (appId: string) =>
    (await dataSource.query('SELECT type FROM lifecycle_events WHERE app_id = $1 ORDER BY id', [appId])).map((r: { type: string }) => r.type);

  describe('transactions', () => {
    it('commits the writes and the events together', async () => {
      const app = await newApp();
      const result = await store.transaction(async (tx) => {
        await tx.apps.lock(app.id);
        await tx.releases.append(app.id, 'first', new Date());
        await tx.events.append({ type: 'app.renamed', appId: app.id, occurredAt: new Date(), data: { n: 1 } });
        await tx.events.append({ type: 'app.renamed', appId: app.id, occurredAt: new Date(), data: { n: 2 } });
        return 'done';
      });
      expect(result).toBe('done');
      expect((await store.releases.findByIdOrVersion(app.id, '1'))?.description).toBe('first');
      expect(await eventsOf(app.id)).toEqual(['app.renamed', 'app.renamed']);
    });

    it('rolls everything back when the work throws', async () => {
      const app = await newApp();
      await expect(
        store.transaction(async (tx) => {
          await tx.releases.append(app.id, 'lost', new Date());
          await tx.events.append({ type: 'app.renamed', appId: app.id, occurredAt: new Date(), data: {} });
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await store.releases.findByIdOrVersion(app.id, '1')).toBeNull();
      expect(await eventsOf(app.id)).toEqual([]);
    });

    it('rolls everything back when the events, sent with COMMIT, cannot be written', async () => {
      const app = await newApp();
      await expect(
        store.transaction(async (tx) => {
          await tx.releases.append(app.id, 'lost', new Date());
          // Not a uuid: the insert of the events fails, after the work has returned.
          await tx.events.append({ type: 'app.renamed', appId: 'not-a-uuid', occurredAt: new Date(), data: {} });
        }),
      ).rejects.toThrow(/uuid/);
      expect(await store.releases.findByIdOrVersion(app.id, '1')).toBeNull();
    });

    it('does not report a commit when a statement failed inside the work', async () => {
      const app = await newApp();
      await expect(
        store.transaction(async (tx) => {
          await tx.releases.append(app.id, 'lost', new Date());
          await tx.apps.lock('not-a-uuid').catch(() => undefined);
        }),
      ).rejects.toThrow(/ROLLBACK/);
      expect(await store.releases.findByIdOrVersion(app.id, '1')).toBeNull();
    });

    it('leaves the connection clean for the next transaction after a failure', async () => {
      const app = await newApp();
      for (let i = 0; i < 8; i++) {
        await expect(store.transaction(async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
      }
      await store.transaction(async (tx) => {
        await tx.releases.append(app.id, 'after failures', new Date());
      });
      expect((await store.releases.findByIdOrVersion(app.id, '1'))?.description).toBe('after failures');
    });

    const attachmentOf = (addon: Addon, app: App, name: string) => ({ id: newId(), addonId: addon.id, appId: app.id, name, namespace: null, createdAt: new Date(), updatedAt: new Date() });

    it('lets later statements see a write it did not wait for, and commits it', async () => {
      const app = await newApp();
      const addon = newAddon(app);
      await store.addons.createIfNameFree(addon);
      const seen = await store.transaction(async (tx) => {
        await tx.attachments.create(attachmentOf(addon, app, 'SVC'));
        return (await tx.attachments.listForAddon(addon.id)).map((a) => a.name);
      });
      expect(seen).toEqual(['SVC']);
      expect((await store.attachments.listForAddon(addon.id)).map((a) => a.name)).toEqual(['SVC']);
    });

    it('fails and rolls back when a write it did not wait for fails, however late the failure is seen', async () => {
      const app = await newApp();
      const addon = newAddon(app);
      await store.addons.createIfNameFree(addon);
      // No such add-on: the insert breaks a foreign key, answered only with the COMMIT.
      await expect(
        store.transaction(async (tx) => {
          await tx.releases.append(app.id, 'lost', new Date());
          await tx.attachments.create(attachmentOf({ ...addon, id: newId() }, app, 'SVC'));
        }),
      ).rejects.toThrow(/foreign key/);
      expect(await store.releases.findByIdOrVersion(app.id, '1')).toBeNull();
      expect(await store.attachments.listForAddon(addon.id)).toEqual([]);
    });

    it('reports the failed write, not the statement refused behind it', async () => {
      const app = await newApp();
      const addon = newAddon(app);
      await store.addons.createIfNameFree(addon);
      await expect(
        store.transaction(async (tx) => {
          await tx.attachments.create(attachmentOf({ ...addon, id: newId() }, app, 'SVC'));
          // Refused because the transaction failed already ("current transaction is aborted").
          await tx.releases.append(app.id, 'lost', new Date());
        }),
      ).rejects.toThrow(/foreign key/);
      expect(await store.releases.findByIdOrVersion(app.id, '1')).toBeNull();
      // The connection is clean afterwards.
      await store.transaction((tx) => tx.attachments.create(attachmentOf(addon, app, 'SVC')));
      expect((await store.attachments.listForAddon(addon.id)).map((a) => a.name)).toEqual(['SVC']);
    });
  });

  describe('the provisioning path', () => {
    it('creates an add-on only under a free name, and the transaction goes on', async () => {
      const app = await newApp();
      const first = newAddon(app);
      expect(await store.addons.createIfNameFree(first)).toBe(true);
      const created = await store.transaction(async (tx) => {
        const taken = await tx.addons.createIfNameFree(newAddon(app, first.name));
        const other = newAddon(app);
        return { taken, free: await tx.addons.createIfNameFree(other), other };
      });
      expect(created.taken).toBe(false);
      expect(created.free).toBe(true);
      expect(await store.addons.findById(created.other.id)).toEqual(created.other);
      expect(await store.addons.findById(first.id)).toEqual(first);
    });

    it('reads an add-on with its catalog, and a service with its plan', async () => {
      const app = await newApp();
      const addon = newAddon(app);
      await store.addons.createIfNameFree(addon);
      expect(await store.addons.findWithCatalog(addon.id)).toEqual({ addon, service, plan });
      expect(await store.services.findWithPlan(service.slug, 'basic')).toEqual({ service, plan });
      expect(await store.services.findWithPlan(service.id, plan.id)).toEqual({ service, plan });
      expect(await store.services.findWithPlan(service.slug, 'platinum')).toEqual({ service, plan: null });
      expect(await store.services.findWithPlan('no-such-service', 'basic')).toBeNull();
    });

    describe('an add-on read while the transaction creating it is open', () => {
      it('is found once that transaction commits, not before', async () => {
        const addon = newAddon(await newApp());
        const { end, done } = await openCreation(store, addon, 'commit');
        expect(await store.addons.findWithCatalog(addon.id)).toBeNull();
        const read = store.readOnceCreated(addon.id, (tx) => tx.addons.findWithCatalog(addon.id));
        expect(await settlesWithin(read)).toBe(false);
        end();
        await done;
        expect(await read).toEqual({ addon, service, plan });
      });

      it('is not found when that transaction rolls back', async () => {
        const addon = newAddon(await newApp());
        const { end, done } = await openCreation(store, addon, 'rollback');
        const read = store.readOnceCreated(addon.id, (tx) => tx.addons.findWithCatalog(addon.id));
        expect(await settlesWithin(read)).toBe(false);
        end();
        await done;
        expect(await read).toBeNull();
        expect(await store.addons.findById(addon.id)).toBeNull();
      });

      it('does not wait for anything once the add-on exists, or for an id nothing creates', async () => {
        const app = await newApp();
        const addon = newAddon(app);
        await store.addons.createIfNameFree(addon);
        expect(await store.readOnceCreated(addon.id, (tx) => tx.addons.findWithCatalog(addon.id))).toEqual({ addon, service, plan });
        expect(await store.readOnceCreated(newId(), (tx) => tx.addons.findWithCatalog(newId()))).toBeNull();
        expect(await store.readOnceCreated('not-a-uuid', (tx) => tx.addons.findWithCatalog('not-a-uuid'))).toBeNull();
      });
    });

    it('updates an add-on only in the expected state', async () => {
      const app = await newApp();
      const addon = newAddon(app);
      await store.addons.createIfNameFree(addon);
      const at = new Date();
      const updated = await store.addons.updateIfInState(addon.id, 'provisioning', { state: 'provisioned', providerId: 'p-1', provisionedAt: at, updatedAt: at });
      expect(updated).toEqual({ ...addon, state: 'provisioned', providerId: 'p-1', provisionedAt: at, updatedAt: at });
      expect(await store.addons.updateIfInState(addon.id, 'provisioning', { cleanupPending: true })).toBeNull();
      expect(await store.addons.updateIfInState(newId(), 'provisioning', { cleanupPending: true })).toBeNull();
      expect(await store.addons.findById(addon.id)).toEqual(updated);
    });

    it('sets and removes config vars with the release that records them', async () => {
      const app = await newApp();
      const addon = newAddon(app);
      await store.addons.createIfNameFree(addon);
      const attachment = await store.attachments.create({ id: newId(), addonId: addon.id, appId: app.id, name: 'SVC', namespace: null, createdAt: new Date(), updatedAt: new Date() });
      await store.configVars.upsert([{ appId: app.id, name: 'OLD', valueSealed: 'o', attachmentId: null }]);
      await store.transaction(async (tx) => {
        const [locked] = await tx.attachments.lockAppsForAddon(addon.id);
        expect(locked).toEqual({ attachment, vars: [], takenByOthers: [] });
        await tx.releases.append(app.id, 'first', new Date());
        await tx.releases.appendWithConfigChange(
          { appId: app.id, set: [{ name: 'SVC_URL', valueSealed: 'sealed', attachmentId: attachment.id }], unset: ['OLD'] },
          'Add svc',
          new Date(),
        );
      });
      expect(await store.releases.findByIdOrVersion(app.id, '2')).toMatchObject({ appId: app.id, version: 2, description: 'Add svc' });
      expect(await store.configVars.listForApp(app.id)).toEqual([{ appId: app.id, name: 'SVC_URL', valueSealed: 'sealed', attachmentId: attachment.id }]);
      const [locked] = await store.transaction((tx) => tx.attachments.lockAppsForAddon(addon.id));
      expect(locked.vars).toEqual([{ appId: app.id, name: 'SVC_URL', valueSealed: 'sealed', attachmentId: attachment.id }]);
    });

    it("never lets a config change take a var another attachment owns, and tells the change which those are", async () => {
      const app = await newApp();
      const [a, b] = [newAddon(app), newAddon(app)];
      for (const addon of [a, b]) await store.addons.createIfNameFree(addon);
      const now = new Date();
      const onA = await store.attachments.create({ id: newId(), addonId: a.id, appId: app.id, name: 'DB', namespace: null, createdAt: now, updatedAt: now });
      const onB = await store.attachments.create({ id: newId(), addonId: b.id, appId: app.id, name: 'DB_REPLICA', namespace: null, createdAt: now, updatedAt: now });
      await store.configVars.upsert([
        { appId: app.id, name: 'DB_REPLICA_URL', valueSealed: 'b-url', attachmentId: onB.id },
        { appId: app.id, name: 'PLAIN', valueSealed: 'mine', attachmentId: null },
      ]);

      await store.transaction(async (tx) => {
        const [locked] = await tx.attachments.lockAppsForAddon(a.id);
        expect(locked.takenByOthers).toEqual(['DB_REPLICA_URL']);
        // A's provider added a key whose var under A's alias is B's: the write leaves B's var as it is.
        await tx.releases.appendWithConfigChange(
          {
            appId: app.id,
            set: [
              { name: 'DB_URL', valueSealed: 'a-url', attachmentId: onA.id },
              { name: 'DB_REPLICA_URL', valueSealed: 'a-replica', attachmentId: onA.id },
            ],
            unset: [],
          },
          'Update a',
          new Date(),
        );
      });
      expect(await store.configVars.listForApp(app.id)).toEqual(
        expect.arrayContaining([
          { appId: app.id, name: 'DB_URL', valueSealed: 'a-url', attachmentId: onA.id },
          { appId: app.id, name: 'DB_REPLICA_URL', valueSealed: 'b-url', attachmentId: onB.id },
          { appId: app.id, name: 'PLAIN', valueSealed: 'mine', attachmentId: null },
        ]),
      );
    });
  });
});
