// Fixtures of the TypeOrmStore integration specs (libs/persistence/src/repositories/*.int-spec.ts).
// They live here, not beside the specs, because the production build (tsconfig.build.json)
// compiles every .ts under libs/ except specs, and these call jest's hooks and `expect`.
import { DataSource } from 'typeorm';
import { newId } from '@app/common';
import { Addon, AddonService, App, Plan, Store } from '@app/domain';
import { TypeOrmStore, createDataSource } from '@app/persistence';
import { createTestDatabase } from './test-database';

/** What the fixture's service is; the rest is that of a published GA service with no vendor secrets. */
export type ServiceFields = Pick<AddonService, 'slug' | 'humanName' | 'provider' | 'configVarsPrefix' | 'defaultAlias' | 'configVars' | 'baseUrl'>;
/** What the fixture's plan is; the rest is that of the service's public default monthly plan. */
export type PlanFields = Pick<Plan, 'name' | 'humanName' | 'priceCents'>;

export interface StoreFixtureOptions {
  poolSize: number;
  /** The stem of the owning account's unique e-mail address. */
  emailStem: string;
  service: ServiceFields;
  plan: PlanFields;
}

/** A private migrated database, a store on it, and an account owning one service with one plan. */
export interface StoreFixture {
  dataSource: DataSource;
  store: TypeOrmStore;
  accountId: string;
  service: AddonService;
  plan: Plan;
}

/** A store fixture with one app, and add-ons of the fixture's plan created on it. */
export interface AppStoreFixture extends StoreFixture {
  app: App;
  /** An add-on named `<stem>-<uuid>` on the fixture's app, provisioned and stored under its free name. */
  newAddon: () => Promise<Addon>;
}

/**
 * Registers hooks on the enclosing `describe` that set up a {@link StoreFixture} before its tests
 * and drop the database after them. The returned object is filled in by the first `beforeAll`, so
 * read it in hooks and tests, not while the `describe` is being defined.
 */
export function useStoreFixture(options: StoreFixtureOptions): StoreFixture {
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  const fixture = {} as StoreFixture;

  beforeAll(async () => {
    database = await createTestDatabase();
    fixture.dataSource = await createDataSource({ database: { url: database.url, poolSize: options.poolSize } }).initialize();
    fixture.store = new TypeOrmStore(fixture.dataSource.manager);
    fixture.accountId = (await fixture.store.accounts.create({ email: `${options.emailStem}-${newId()}@example.test` })).id;
    const now = new Date();
    fixture.service = await fixture.store.services.save({
      id: newId(),
      ...options.service,
      ownerAccountId: fixture.accountId,
      state: 'ga',
      published: true,
      requires: ['many_per_app'],
      regions: ['*'],
      ssoUrl: null,
      passwordSealed: null,
      ssoSaltSealed: null,
      timeoutMs: null,
      clientSecretHash: null,
      currentManifestId: null,
      createdAt: now,
      updatedAt: now,
    });
    fixture.plan = await fixture.store.plans.save({
      id: newId(),
      serviceId: fixture.service.id,
      ...options.plan,
      description: '',
      priceUnit: 'month',
      isDefault: true,
      state: 'public',
      meters: [],
      createdAt: now,
      updatedAt: now,
    });
  });

  afterAll(async () => {
    await fixture.dataSource?.destroy();
    await database?.drop();
  });

  return fixture;
}

/** {@link useStoreFixture} plus one app of the account, on which `newAddon` creates add-ons named `<addonStem>-<uuid>`. */
export function useAppStoreFixture(options: StoreFixtureOptions & { addonStem: string }): AppStoreFixture {
  const fixture = useStoreFixture(options) as AppStoreFixture;

  beforeAll(async () => {
    fixture.app = await createApp(fixture);
  });

  fixture.newAddon = async () => {
    const addon = addonOf(fixture, fixture.app, { name: `${options.addonStem}-${newId()}` });
    expect(await fixture.store.addons.createIfNameFree(addon)).toBe(true);
    return addon;
  };

  return fixture;
}

/** A new app of the fixture's account in the default region. */
export async function createApp({ store, accountId }: StoreFixture): Promise<App> {
  const now = new Date();
  const region = await store.regions.findDefault();
  return store.apps.create({ id: newId(), name: `app-${newId().slice(0, 12)}`, ownerAccountId: accountId, ownerTeamId: null, regionId: region.id, createdAt: now, updatedAt: now, deletedAt: null });
}

/** An add-on row (not stored) of the fixture's plan on `app`: provisioned, billed the plan's price, with no plan change, config or options unless `extra` says so. */
export function addonOf({ service, plan }: StoreFixture, app: App, extra: Pick<Addon, 'name'> & Partial<Addon>): Addon {
  const now = new Date();
  return {
    id: newId(),
    serviceId: service.id,
    planId: plan.id,
    appId: app.id,
    regionId: app.regionId,
    state: 'provisioned',
    billedPriceCents: plan.priceCents,
    billedPriceUnit: plan.priceUnit,
    pendingPlanId: null,
    planChangeSeq: 0,
    providerId: null,
    configSealed: null,
    namespaceConfigSealed: null,
    options: {},
    provisionMessage: null,
    failureReason: null,
    planChangeError: null,
    asyncDeadlineAt: null,
    cleanupPending: false,
    createdAt: now,
    updatedAt: now,
    provisionedAt: now,
    deprovisionRequestedAt: null,
    deprovisionedAt: null,
    ...extra,
  };
}

/** `stem` made unique with a short random suffix, for names that other tests in the database must not share. */
export const unique = (stem: string) => `${stem}-${newId().slice(0, 8)}`;

/** A gate a test opens by hand, to hold a transaction open at a known point. */
export const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
};

/** Sessions of this database waiting on a row lock taken with FOR UPDATE. */
export const blockedSessions = async (dataSource: DataSource): Promise<number> =>
  Number(
    (
      await dataSource.query(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'`,
      )
    )[0].n,
  );

/** Polls `condition` until it holds, failing after `timeoutMs`. */
export async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Creates an add-on the way the api does, in a transaction that holds its creation lock and stays
 * open until `end` is called: `write` runs in it, then it commits or rolls back. `done` settles
 * when it has ended (never rejects).
 */
export async function openCreation(
  store: TypeOrmStore,
  addon: Addon,
  outcome: 'commit' | 'rollback',
  write: (tx: Store) => Promise<void> = async () => undefined,
): Promise<{ end: () => void; done: Promise<void> }> {
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  let written!: () => void;
  const writtenYet = new Promise<void>((resolve) => (written = resolve));
  const done = store
    .transaction(async (tx) => {
      await tx.addons.holdCreation(addon.id);
      await tx.addons.createIfNameFree(addon);
      await write(tx);
      written();
      await ended;
      if (outcome === 'rollback') throw new Error('rolled back');
    })
    .then(
      () => undefined,
      () => undefined,
    );
  await writtenYet;
  return { end, done };
}

/** Whether `promise` settles within `ms`: long enough for a read that does not wait to be answered many times over. */
export async function settlesWithin(promise: Promise<unknown>, ms = 300): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return settled;
}
