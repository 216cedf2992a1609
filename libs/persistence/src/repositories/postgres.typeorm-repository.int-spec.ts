import { DataSource } from 'typeorm';
import { RangeSpec, newId, parseRange } from '@app/common';
import { PostgresBackend, PostgresBackup, PostgresCredential, PostgresDatabase } from '@app/domain';
import { addonOf, blockedSessions, gate, unique, useAppStoreFixture, waitFor } from '../../../../test/support/store-fixtures';
import { describeLeastLoadedPlacement } from '../../../../test/support/least-loaded-placement';
import { TypeOrmStore } from './typeorm-store';

/** The first-party PostgreSQL repositories on a real PostgreSQL: placement, backup numbering, credentials. */
describe('TypeOrmStore.postgres', () => {
  const fixture = useAppStoreFixture({
    poolSize: 6,
    emailStem: 'pg',
    service: {
      slug: `attache-postgresql-${newId().slice(0, 8)}`,
      humanName: 'Attache PostgreSQL',
      provider: 'postgres',
      configVarsPrefix: 'DATABASE',
      defaultAlias: 'DATABASE',
      configVars: ['DATABASE_URL'],
      baseUrl: null,
    },
    plan: { name: 'essential-0', humanName: 'Essential 0', priceCents: 500 },
    addonStem: 'postgresql',
  });
  let dataSource: DataSource;
  let store: TypeOrmStore;
  const { newAddon } = fixture;

  beforeAll(() => {
    ({ dataSource, store } = fixture);
  });

  const newBackend = async (name: string, capacity: number, state: PostgresBackend['state'] = 'active'): Promise<PostgresBackend> => {
    const now = new Date();
    return store.postgres.backends.upsertByName({
      id: newId(),
      name,
      host: '127.0.0.1',
      port: 5432,
      adminUser: 'postgres',
      adminPasswordSealed: 'sealed',
      maintenanceDatabase: 'postgres',
      capacity,
      state,
      createdAt: now,
      updatedAt: now,
    });
  };

  const newDatabase = (addonId: string, backendId: string, state: PostgresDatabase['state'] = 'active'): PostgresDatabase => {
    const now = new Date();
    return {
      addonId,
      backendId,
      databaseName: `db_${addonId.replace(/-/g, '')}`,
      groupRole: `g_${addonId.replace(/-/g, '')}`,
      state,
      storageBytes: null,
      measuredAt: null,
      overLimitSince: null,
      restrictedAt: null,
      backupHourUtc: null,
      createdAt: now,
      updatedAt: now,
      droppedAt: state === 'dropped' ? now : null,
    };
  };

  /** `count` tenant databases on the backend, each with its own add-on. */
  const place = async (backend: PostgresBackend, count: number, state: PostgresDatabase['state'] = 'active'): Promise<void> => {
    for (let i = 0; i < count; i++) await store.postgres.databases.create(newDatabase((await newAddon()).id, backend.id, state));
  };

  const backupOf = (addonId: string, kind: PostgresBackup['kind'], extra: Partial<PostgresBackup> = {}): Omit<PostgresBackup, 'number'> => ({
    id: newId(),
    addonId,
    kind,
    state: 'pending',
    scheduledFor: null,
    sizeBytes: null,
    error: null,
    createdAt: new Date(),
    startedAt: null,
    finishedAt: null,
    ...extra,
  });

  const credentialOf = (addonId: string, name: string, extra: Partial<PostgresCredential> = {}): PostgresCredential => ({
    id: newId(),
    addonId,
    name,
    roleName: `r_${newId().replace(/-/g, '').slice(0, 16)}`,
    passwordSealed: 'sealed',
    pendingPasswordSealed: null,
    pendingSince: null,
    state: 'active',
    createdAt: new Date(),
    rotatedAt: null,
    destroyedAt: null,
    roleDroppedAt: null,
    ...extra,
  });

  describe('backends', () => {
    it('registers a backend, and updates it by name keeping its id and registration time', async () => {
      const name = unique('upsert');
      const first = await newBackend(name, 10);
      expect(await store.postgres.backends.findById(first.id)).toEqual(first);
      const again = await store.postgres.backends.upsertByName({
        ...first,
        id: newId(),
        host: 'db.internal',
        capacity: 20,
        state: 'draining',
        createdAt: new Date(first.createdAt.getTime() + 60_000),
        updatedAt: new Date(first.updatedAt.getTime() + 60_000),
      });
      expect(again).toEqual({ ...first, host: 'db.internal', capacity: 20, state: 'draining', updatedAt: new Date(first.updatedAt.getTime() + 60_000) });
      expect(await store.postgres.backends.findByName(name)).toEqual(again);
      expect((await store.postgres.backends.list()).filter((b) => b.name === name)).toEqual([again]);
      expect(await store.postgres.backends.findById('not-a-uuid')).toBeNull();
      expect(await store.postgres.backends.findByName('no\u0000such')).toBeNull();
    });

    it('counts the active databases of each backend', async () => {
      const a = await newBackend(unique('count-a'), 10, 'draining');
      const b = await newBackend(unique('count-b'), 10, 'draining');
      const empty = await newBackend(unique('count-empty'), 10, 'draining');
      await place(a, 2);
      await place(a, 1, 'dropped');
      await place(b, 1);
      const counts = await store.postgres.backends.countActiveDatabases();
      expect(counts.get(a.id)).toBe(2);
      expect(counts.get(b.id)).toBe(1);
      expect(counts.has(empty.id)).toBe(false);
    });
  });

  describeLeastLoadedPlacement(() => fixture, {
    backend: 'backend',
    residents: 'databases',
    table: 'postgres_backends',
    register: newBackend,
    place: (backend, count, gone) => place(backend, count, gone ? 'dropped' : 'active'),
    lockLeastLoaded: (tx) => tx.postgres.backends.lockLeastLoaded(),
    placeIn: async (tx, backendId) => tx.postgres.databases.create(newDatabase((await newAddon()).id, backendId)),
    countActive: () => store.postgres.backends.countActiveDatabases(),
  });

  describe('placing tenants', () => {
    // Placement considers every active backend in the database: each test starts with none.
    beforeEach(async () => {
      await dataSource.query(`UPDATE postgres_backends SET state = 'draining'`);
    });

    /** What `place` is given for an add-on: its database (the backend left to placement) and owner credential. */
    const tenantOf = (addonId: string) => {
      const { backendId: _, ...database } = newDatabase(addonId, newId());
      return { database, owner: credentialOf(addonId, 'default', { passwordSealed: `sealed-${newId()}` }) };
    };
    const placeTenant = (tenant: ReturnType<typeof tenantOf>) => store.postgres.databases.place(tenant.database, tenant.owner);

    it('places a tenant on the least loaded backend and records its database and owner credential', async () => {
      const fuller = await newBackend(unique('place-fuller'), 4);
      const emptier = await newBackend(unique('place-emptier'), 4);
      await place(fuller, 2);
      await place(emptier, 1);
      const addon = await newAddon();
      const tenant = tenantOf(addon.id);
      expect(await placeTenant(tenant)).toEqual({ kind: 'placed', backend: emptier });
      expect(await store.postgres.databases.findByAddon(addon.id)).toEqual({ ...tenant.database, backendId: emptier.id });
      expect(await store.postgres.credentials.findActive(addon.id, 'default')).toEqual(tenant.owner);
      expect((await store.postgres.backends.countActiveDatabases()).get(emptier.id)).toBe(2);
    });

    it('finds the tenant a first placement recorded, writing nothing, wherever the load is now', async () => {
      const first = await newBackend(unique('again-a'), 4);
      const addon = await newAddon();
      const tenant = tenantOf(addon.id);
      expect(await placeTenant(tenant)).toEqual({ kind: 'placed', backend: first });
      const second = await newBackend(unique('again-b'), 100);
      await place(first, 2);
      // A retry generates a new password and credential id: the recorded ones win.
      const retry = tenantOf(addon.id);
      const existing = { kind: 'existing', state: 'active', backend: first, ownerPasswordSealed: tenant.owner.passwordSealed };
      expect(await store.postgres.databases.findPlacement(addon.id, 'default')).toEqual(existing);
      expect(await placeTenant(retry)).toEqual(existing);
      expect(await store.postgres.credentials.listAll(addon.id)).toEqual([tenant.owner]);
      const counts = await store.postgres.backends.countActiveDatabases();
      expect([counts.get(first.id), counts.has(second.id)]).toEqual([3, false]);
    });

    it('reports a dropped database, or one without an active owner credential, as it is', async () => {
      const backend = await newBackend(unique('dropped'), 4);
      const addon = await newAddon();
      const tenant = tenantOf(addon.id);
      await placeTenant(tenant);
      await store.postgres.credentials.update(tenant.owner.id, { state: 'destroyed', destroyedAt: new Date() });
      expect(await placeTenant(tenantOf(addon.id))).toEqual({ kind: 'existing', state: 'active', backend, ownerPasswordSealed: null });
      await store.postgres.databases.update(addon.id, { state: 'dropped', droppedAt: new Date() });
      expect(await placeTenant(tenantOf(addon.id))).toEqual({ kind: 'existing', state: 'dropped', backend, ownerPasswordSealed: null });
      expect(await store.postgres.databases.findPlacement(addon.id, 'default')).toEqual({ kind: 'existing', state: 'dropped', backend, ownerPasswordSealed: null });
      expect(await store.postgres.databases.findPlacement((await newAddon()).id, 'default')).toBeNull();
      expect(await store.postgres.databases.findPlacement('not-a-uuid', 'default')).toBeNull();
    });

    it('places nothing when every active backend is full, or none is active', async () => {
      const addon = await newAddon();
      expect(await placeTenant(tenantOf(addon.id))).toEqual({ kind: 'full' });
      const full = await newBackend(unique('place-full'), 1);
      await place(full, 1);
      await newBackend(unique('place-draining'), 10, 'draining');
      expect(await placeTenant(tenantOf(addon.id))).toEqual({ kind: 'full' });
      expect(await store.postgres.databases.findByAddon(addon.id)).toBeNull();
      expect(await store.postgres.credentials.listAll(addon.id)).toEqual([]);
    });

    it('writes nothing when a record cannot be written', async () => {
      await newBackend(unique('place-fails'), 4);
      const addon = await newAddon();
      const tenant = tenantOf(addon.id);
      // The credential's id is taken: its insert fails after the database's.
      const taken = credentialOf((await newAddon()).id, 'default');
      await store.postgres.credentials.create(taken);
      await expect(store.postgres.databases.place(tenant.database, { ...tenant.owner, id: taken.id })).rejects.toThrow(/duplicate key/);
      expect(await store.postgres.databases.findByAddon(addon.id)).toBeNull();
      expect(await placeTenant(tenant)).toMatchObject({ kind: 'placed' });
    });

    it('joins an open transaction instead of committing on its own', async () => {
      const backend = await newBackend(unique('place-joins'), 4);
      const addon = await newAddon();
      await expect(
        store.transaction(async (tx) => {
          expect(await tx.postgres.databases.place(tenantOf(addon.id).database, tenantOf(addon.id).owner)).toEqual({ kind: 'placed', backend });
          expect(await store.postgres.databases.findByAddon(addon.id)).toBeNull();
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await store.postgres.databases.findByAddon(addon.id)).toBeNull();
    });

    it('places nothing for an add-on without a row, and leaves the caller’s transaction usable', async () => {
      const backend = await newBackend(unique('no-addon-row'), 4);
      const later = addonOf(fixture, fixture.app, { name: `postgresql-${newId()}` });
      const tenant = tenantOf(later.id);
      await store.transaction(async (tx) => {
        // As when the add-on's insert, pipelined ahead, was refused (its name taken).
        expect(await tx.postgres.databases.place(tenant.database, tenant.owner)).toEqual({ kind: 'full' });
        await tx.addons.createIfNameFree(later);
        expect(await tx.postgres.databases.place(tenant.database, tenant.owner)).toEqual({ kind: 'placed', backend });
      });
      expect(await store.postgres.databases.findByAddon(later.id)).toEqual({ ...tenant.database, backendId: backend.id });
    });

    it('finds a recorded tenant without waiting on the backends’ locks', async () => {
      await newBackend(unique('no-wait'), 4);
      const addon = await newAddon();
      const tenant = tenantOf(addon.id);
      await placeTenant(tenant);
      const holding = gate();
      const release = gate();
      const held = store.transaction(async (tx) => {
        await tx.postgres.backends.lockLeastLoaded();
        holding.open();
        await release.opened;
      });
      await holding.opened;
      try {
        expect(await placeTenant(tenantOf(addon.id))).toMatchObject({ kind: 'existing', ownerPasswordSealed: tenant.owner.passwordSealed });
      } finally {
        release.open();
        await held;
      }
    });

    it('makes concurrent placements take turns, so each counts the ones before it', async () => {
      const stem = unique('place-race');
      const a = await newBackend(`${stem}-a`, 2);
      const b = await newBackend(`${stem}-b`, 1);
      // Six connections in the pool: the holder, four placements and the check of who is blocked.
      const addons = [await newAddon(), await newAddon(), await newAddon()];
      // Held by another transaction, the backends' locks make every placement wait and then go in turn.
      const holding = gate();
      const release = gate();
      const held = store.transaction(async (tx) => {
        await tx.postgres.backends.lockLeastLoaded();
        holding.open();
        await release.opened;
      });
      await holding.opened;
      const placements = addons.map((addon) => placeTenant(tenantOf(addon.id)));
      // The same add-on twice as well: one record.
      const twice = placeTenant(tenantOf(addons[0].id));
      await waitFor(async () => (await blockedSessions(dataSource)) >= 4);
      release.open();
      await held;
      const results = await Promise.all([...placements, twice]);
      expect(results.filter((r) => r.kind === 'placed')).toHaveLength(3);
      expect(results.filter((r) => r.kind === 'existing')).toHaveLength(1);
      const counts = await store.postgres.backends.countActiveDatabases();
      expect([counts.get(a.id), counts.get(b.id)]).toEqual([2, 1]);
      expect(await placeTenant(tenantOf((await newAddon()).id))).toEqual({ kind: 'full' });
    });
  });

  describe('databases', () => {
    it('stores a tenant database, with byte counts beyond 32 bits as numbers', async () => {
      const backend = await newBackend(unique('databases'), 10, 'draining');
      const addon = await newAddon();
      const created = newDatabase(addon.id, backend.id);
      await store.postgres.databases.create(created);
      expect(await store.postgres.databases.findByAddon(addon.id)).toEqual(created);

      const measuredAt = new Date();
      await store.postgres.databases.update(addon.id, { storageBytes: 5_000_000_123, measuredAt, backupHourUtc: 3 });
      await store.postgres.databases.update(addon.id, {});
      const updated = await store.postgres.databases.findByAddon(addon.id);
      expect(updated).toEqual({ ...created, storageBytes: 5_000_000_123, measuredAt, backupHourUtc: 3 });
      expect(typeof updated?.storageBytes).toBe('number');
      expect((await store.postgres.databases.listActive()).find((d) => d.addonId === addon.id)).toEqual(updated);

      await store.postgres.databases.update(addon.id, { state: 'dropped', droppedAt: new Date() });
      expect((await store.postgres.databases.listActive()).some((d) => d.addonId === addon.id)).toBe(false);
      expect(await store.postgres.databases.findByAddon('not-a-uuid')).toBeNull();
      expect(await store.postgres.databases.findByAddon(newId())).toBeNull();
    });
  });

  describe('credentials', () => {
    it('finds active credentials by name, lists active and all, in creation order', async () => {
      const addon = await newAddon();
      const t0 = Date.now();
      const owner = credentialOf(addon.id, 'default', { createdAt: new Date(t0) });
      const analyst = credentialOf(addon.id, 'analyst', { createdAt: new Date(t0 + 1) });
      const oldReporter = credentialOf(addon.id, 'reporter', { createdAt: new Date(t0 + 2) });
      for (const c of [owner, analyst, oldReporter]) await store.postgres.credentials.create(c);
      const destroyedAt = new Date(t0 + 3);
      await store.postgres.credentials.update(oldReporter.id, { state: 'destroyed', destroyedAt });
      // The name is free again once destroyed.
      const reporter = credentialOf(addon.id, 'reporter', { createdAt: new Date(t0 + 4) });
      await store.postgres.credentials.create(reporter);

      expect(await store.postgres.credentials.findActive(addon.id, 'analyst')).toEqual(analyst);
      expect(await store.postgres.credentials.findActive(addon.id, 'reporter')).toEqual(reporter);
      expect(await store.postgres.credentials.findActive(addon.id, 'nobody')).toBeNull();
      expect(await store.postgres.credentials.findActive(addon.id, 'no\u0000body')).toBeNull();
      expect(await store.postgres.credentials.listActive(addon.id)).toEqual([owner, analyst, reporter]);
      expect(await store.postgres.credentials.listAll(addon.id)).toEqual([owner, analyst, { ...oldReporter, state: 'destroyed', destroyedAt }, reporter]);
      expect(await store.postgres.credentials.listActive((await newAddon()).id)).toEqual([]);
    });

    it('lists credentials with an unfinished rotation', async () => {
      const addon = await newAddon();
      const rotating = credentialOf(addon.id, 'default');
      const settled = credentialOf(addon.id, 'analyst');
      await store.postgres.credentials.create(rotating);
      await store.postgres.credentials.create(settled);
      const pendingSince = new Date(Date.now() - 120_000);
      await store.postgres.credentials.update(rotating.id, { pendingPasswordSealed: 'next', pendingSince });

      const later = new Date();
      const pending = await store.postgres.credentials.listPendingRotation(later, 1000);
      expect(pending).toContainEqual({ ...rotating, pendingPasswordSealed: 'next', pendingSince });
      expect(pending.some((c) => c.id === settled.id)).toBe(false);
      expect(await store.postgres.credentials.listPendingRotation(later, 1)).toHaveLength(1);
      // A change younger than the cut-off may still be finishing in another process.
      expect((await store.postgres.credentials.listPendingRotation(new Date(pendingSince.getTime() - 1), 1000)).some((c) => c.id === rotating.id)).toBe(false);

      const rotatedAt = new Date();
      await store.postgres.credentials.update(rotating.id, { passwordSealed: 'next', pendingPasswordSealed: null, pendingSince: null, rotatedAt });
      expect((await store.postgres.credentials.listPendingRotation(later, 1000)).some((c) => c.id === rotating.id)).toBe(false);
      expect(await store.postgres.credentials.findActive(addon.id, 'default')).toEqual({ ...rotating, passwordSealed: 'next', rotatedAt });
    });
  });

  describe('backups', () => {
    it('numbers backups one after another, per add-on and kind', async () => {
      const addon = await newAddon();
      const other = await newAddon();
      const b1 = await store.postgres.backups.create(backupOf(addon.id, 'manual'));
      const b2 = await store.postgres.backups.create(backupOf(addon.id, 'manual'));
      const a1 = await store.postgres.backups.create(backupOf(addon.id, 'scheduled', { scheduledFor: '2025-06-01' }));
      const o1 = await store.postgres.backups.create(backupOf(other.id, 'manual'));
      expect([b1.number, b2.number, a1.number, o1.number]).toEqual([1, 2, 1, 1]);
      expect(await store.postgres.backups.findById(b2.id)).toEqual(b2);
      expect(await store.postgres.backups.findByAddonAndNumber(addon.id, 'scheduled', 1)).toEqual(a1);
      expect(await store.postgres.backups.findByAddonAndNumber(addon.id, 'manual', 3)).toBeNull();
      expect(await store.postgres.backups.findByAddonAndNumber(addon.id, 'manual', 2 ** 40)).toBeNull();
      expect(await store.postgres.backups.findByAddonAndNumber('b001', 'manual', 1)).toBeNull();

      // Numbers keep going after deletions of older backups.
      await store.postgres.backups.delete(b1.id);
      expect((await store.postgres.backups.create(backupOf(addon.id, 'manual'))).number).toBe(3);
      expect(await store.postgres.backups.findById(b1.id)).toBeNull();
    });

    it('gives concurrent creates distinct numbers, in and out of transactions', async () => {
      const addon = await newAddon();
      const created = await Promise.all([
        ...Array.from({ length: 8 }, () => store.postgres.backups.create(backupOf(addon.id, 'manual'))),
        ...Array.from({ length: 8 }, () => store.transaction((tx) => tx.postgres.backups.create(backupOf(addon.id, 'manual')))),
      ]);
      expect(created.map((b) => b.number).sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      for (const backup of created) expect(await store.postgres.backups.findById(backup.id)).toEqual(backup);
    });

    it('holds the number until the creating transaction ends, and a rollback frees it', async () => {
      const addon = await newAddon();
      await expect(
        store.transaction(async (tx) => {
          expect((await tx.postgres.backups.create(backupOf(addon.id, 'manual'))).number).toBe(1);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect((await store.postgres.backups.create(backupOf(addon.id, 'manual'))).number).toBe(1);
    });

    it('creates one scheduled backup per day', async () => {
      const addon = await newAddon();
      const first = await store.postgres.backups.createScheduledIfAbsent(backupOf(addon.id, 'scheduled', { scheduledFor: '2025-06-01' }));
      expect(first).toMatchObject({ number: 1, scheduledFor: '2025-06-01' });
      expect(await store.postgres.backups.createScheduledIfAbsent(backupOf(addon.id, 'scheduled', { scheduledFor: '2025-06-01' }))).toBeNull();
      // The transaction goes on unharmed after a day that was already taken.
      const next = await store.transaction(async (tx) => {
        expect(await tx.postgres.backups.createScheduledIfAbsent(backupOf(addon.id, 'scheduled', { scheduledFor: '2025-06-01' }))).toBeNull();
        return tx.postgres.backups.createScheduledIfAbsent(backupOf(addon.id, 'scheduled', { scheduledFor: '2025-06-02' }));
      });
      expect(next).toMatchObject({ number: 2, scheduledFor: '2025-06-02' });
      // Manual backups on the same day, and other add-ons, are not in the way.
      await store.postgres.backups.create(backupOf(addon.id, 'manual'));
      const other = await newAddon();
      expect(await store.postgres.backups.createScheduledIfAbsent(backupOf(other.id, 'scheduled', { scheduledFor: '2025-06-01' }))).toMatchObject({ number: 1 });

      const racing = await Promise.all(
        Array.from({ length: 6 }, () => store.postgres.backups.createScheduledIfAbsent(backupOf(addon.id, 'scheduled', { scheduledFor: '2025-06-03' }))),
      );
      expect(racing.filter((b) => b !== null)).toEqual([expect.objectContaining({ number: 3, scheduledFor: '2025-06-03' })]);

      await expect(store.postgres.backups.createScheduledIfAbsent(backupOf(addon.id, 'manual'))).rejects.toThrow(/scheduled/);
      await expect(store.postgres.backups.createScheduledIfAbsent(backupOf(addon.id, 'scheduled'))).rejects.toThrow(/scheduled/);
    });

    it('lists the completed backups beyond the newest ones kept, oldest first', async () => {
      const addon = await newAddon();
      const scheduled: PostgresBackup[] = [];
      for (let day = 1; day <= 6; day++) {
        const backup = await store.postgres.backups.create(backupOf(addon.id, 'scheduled', { scheduledFor: `2025-07-0${day}` }));
        const state = day === 5 ? 'failed' : day === 6 ? 'running' : 'completed';
        await store.postgres.backups.update(backup.id, { state });
        scheduled.push({ ...backup, state });
      }
      const manual = await store.postgres.backups.create(backupOf(addon.id, 'manual'));
      await store.postgres.backups.update(manual.id, { state: 'completed' });

      // Completed: 1, 2, 3, 4; the newest two (4, 3) are kept.
      expect(await store.postgres.backups.listExpired(addon.id, 'scheduled', 2)).toEqual([scheduled[0], scheduled[1]]);
      expect(await store.postgres.backups.listExpired(addon.id, 'scheduled', 4)).toEqual([]);
      expect((await store.postgres.backups.listExpired(addon.id, 'scheduled', 0)).map((b) => b.number)).toEqual([1, 2, 3, 4]);
      expect(await store.postgres.backups.listExpired(addon.id, 'manual', 0)).toEqual([{ ...manual, state: 'completed' }]);
      expect(await store.postgres.backups.listExpired(addon.id, 'manual', 1)).toEqual([]);
    });

    it('lists an add-on’s backups newest first, a Range page at a time', async () => {
      const addon = await newAddon();
      const t0 = Date.now();
      const created: PostgresBackup[] = [];
      for (let i = 0; i < 5; i++) {
        created.push(await store.postgres.backups.create(backupOf(addon.id, i % 2 ? 'scheduled' : 'manual', { createdAt: new Date(t0 + i * 1000), scheduledFor: i % 2 ? `2025-08-0${i}` : null })));
      }
      await store.postgres.backups.create(backupOf((await newAddon()).id, 'manual'));
      const newestFirst = [...created].reverse();

      const range: RangeSpec = parseRange('created_at ..; max=2, order=desc', ['created_at', 'id'], 'created_at');
      const seen: PostgresBackup[] = [];
      let page = await store.postgres.backups.listForAddon(addon.id, range);
      seen.push(...page.items);
      while (page.nextRange) {
        page = await store.postgres.backups.listForAddon(addon.id, parseRange(page.nextRange, ['created_at', 'id'], 'created_at'));
        seen.push(...page.items);
      }
      expect(seen).toEqual(newestFirst);
      const all = await store.postgres.backups.listForAddon(addon.id, parseRange(undefined, ['created_at', 'id'], 'created_at'));
      expect(all).toEqual({ items: created });
    });

    it('reads byte counts beyond 32 bits as numbers and days as YYYY-MM-DD, however read', async () => {
      const addon = await newAddon();
      const backup = await store.postgres.backups.create(backupOf(addon.id, 'scheduled', { scheduledFor: '2025-03-30' }));
      const finishedAt = new Date();
      await store.postgres.backups.update(backup.id, { state: 'completed', sizeBytes: 6_000_000_001, finishedAt });
      const stored = { ...backup, state: 'completed' as const, sizeBytes: 6_000_000_001, finishedAt };
      expect(await store.postgres.backups.findById(backup.id)).toEqual(stored);
      expect((await store.postgres.backups.listForAddon(addon.id, parseRange(undefined, ['created_at', 'id'], 'created_at'))).items).toEqual([stored]);
      expect(await store.postgres.backups.listExpired(addon.id, 'scheduled', 0)).toEqual([stored]);
      expect(await store.postgres.backups.deleteAllForAddon(addon.id)).toEqual([stored]);
    });

    it('deletes every backup of an add-on, with their restores, and returns them', async () => {
      const addon = await newAddon();
      const other = await newAddon();
      const manual = await store.postgres.backups.create(backupOf(addon.id, 'manual'));
      const daily = await store.postgres.backups.create(backupOf(addon.id, 'scheduled', { scheduledFor: '2025-09-01' }));
      const kept = await store.postgres.backups.create(backupOf(other.id, 'manual'));
      const restore = { id: newId(), addonId: addon.id, backupId: manual.id, state: 'completed' as const, error: null, createdAt: new Date(), startedAt: null, finishedAt: null };
      await store.postgres.restores.create(restore);

      const deleted = await store.postgres.backups.deleteAllForAddon(addon.id);
      expect(deleted.sort((x, y) => x.kind.localeCompare(y.kind))).toEqual([manual, daily]);
      expect(await store.postgres.backups.findById(manual.id)).toBeNull();
      expect(await store.postgres.restores.findById(restore.id)).toBeNull();
      expect(await store.postgres.backups.findById(kept.id)).toEqual(kept);
      expect(await store.postgres.backups.deleteAllForAddon(addon.id)).toEqual([]);
    });
  });

  describe('restores', () => {
    it('records restores, updates them and lists them per add-on', async () => {
      const addon = await newAddon();
      const backup = await store.postgres.backups.create(backupOf(addon.id, 'manual'));
      const t0 = Date.now();
      const first = { id: newId(), addonId: addon.id, backupId: backup.id, state: 'pending' as const, error: null, createdAt: new Date(t0), startedAt: null, finishedAt: null };
      const second = { ...first, id: newId(), createdAt: new Date(t0 + 1000) };
      await store.postgres.restores.create(first);
      await store.postgres.restores.create(second);
      const startedAt = new Date(t0 + 2000);
      await store.postgres.restores.update(first.id, { state: 'failed', error: 'pg_restore exited with 1', startedAt, finishedAt: startedAt });
      const failed = { ...first, state: 'failed' as const, error: 'pg_restore exited with 1', startedAt, finishedAt: startedAt };
      expect(await store.postgres.restores.findById(first.id)).toEqual(failed);
      expect(await store.postgres.restores.findById('nope')).toBeNull();

      const desc = await store.postgres.restores.listForAddon(addon.id, parseRange('created_at ..; order=desc, max=1', ['created_at', 'id'], 'created_at'));
      expect(desc.items).toEqual([second]);
      expect(desc.nextRange).toBeDefined();
      expect(await store.postgres.restores.listForAddon(addon.id, parseRange(desc.nextRange, ['created_at', 'id'], 'created_at'))).toEqual({ items: [failed] });
    });
  });

  describe('transactions', () => {
    it('binds the repositories to the transaction, so a rollback undoes their writes', async () => {
      const addon = await newAddon();
      const credential = credentialOf(addon.id, 'default');
      await expect(
        store.transaction(async (tx) => {
          await tx.postgres.credentials.create(credential);
          expect(await tx.postgres.credentials.findActive(addon.id, 'default')).toEqual(credential);
          expect(await store.postgres.credentials.findActive(addon.id, 'default')).toBeNull();
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await store.postgres.credentials.findActive(addon.id, 'default')).toBeNull();
    });
  });
});
