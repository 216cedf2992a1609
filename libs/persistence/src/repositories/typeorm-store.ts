import { Brackets, EntityManager, In } from 'typeorm';
import { Page, RangeSpec, newId } from '@app/common';
import {
  Account,
  AccountRepository,
  Addon,
  AddonRepository,
  AddonService,
  App,
  AppRepository,
  Attachment,
  AttachmentRepository,
  ConfigVar,
  ConfigVarRepository,
  EventRepository,
  LifecycleEvent,
  Manifest,
  ManifestRepository,
  OAuthGrantRecord,
  OAuthRepository,
  OAuthTokenRecord,
  Plan,
  PlanRepository,
  Region,
  RegionRepository,
  Release,
  ReleaseRepository,
  ServiceRepository,
  Store,
} from '@app/domain';
import {
  AccountEntity,
  AddonEntity,
  AddonServiceEntity,
  ApiKeyEntity,
  AppEntity,
  AttachmentEntity,
  CollaboratorEntity,
  ConfigVarEntity,
  ManifestEntity,
  OAuthGrantEntity,
  OAuthTokenEntity,
  PlanEntity,
  RegionEntity,
  ReleaseEntity,
} from '../entities';
import { paginate } from './paginate';

const byNameOrId = { id: 'x.id', name: 'x.name' };
const isUuid = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
/** PostgreSQL text cannot hold NUL: a lookup by such a (client-supplied) name finds nothing instead of failing. */
const storable = (value: string) => !value.includes('\u0000');
const MAX_INTEGER = 2_147_483_647;

class TypeOrmAccounts implements AccountRepository {
  constructor(private readonly m: EntityManager) {}
  async create(input: { email: string; name?: string | null; isOperator?: boolean }): Promise<Account> {
    const now = new Date();
    const account: Account = { id: newId(), email: input.email, name: input.name ?? null, isOperator: input.isOperator ?? false, createdAt: now, updatedAt: now };
    await this.m.insert(AccountEntity, account);
    return account;
  }
  findById(id: string) {
    return isUuid(id) ? this.m.findOneBy(AccountEntity, { id }) : Promise.resolve(null);
  }
  findByEmail(email: string) {
    if (!storable(email)) return Promise.resolve(null);
    return this.m.createQueryBuilder(AccountEntity, 'a').where('lower(a.email) = lower(:email)', { email }).getOne();
  }
  async addApiKey(accountId: string, tokenHash: string, label: string): Promise<void> {
    await this.m.insert(ApiKeyEntity, { id: newId(), accountId, tokenHash, label, createdAt: new Date() });
  }
  findByApiKeyHash(tokenHash: string) {
    return this.m
      .createQueryBuilder(AccountEntity, 'a')
      .innerJoin(ApiKeyEntity, 'k', 'k.account_id = a.id')
      .where('k.token_hash = :tokenHash', { tokenHash })
      .getOne();
  }
}

class TypeOrmRegions implements RegionRepository {
  constructor(private readonly m: EntityManager) {}
  list(): Promise<Region[]> {
    return this.m.find(RegionEntity, { order: { name: 'ASC' } });
  }
  async findByIdOrName(idOrName: string) {
    if (!storable(idOrName)) return null;
    return this.m.findOneBy(RegionEntity, isUuid(idOrName) ? { id: idOrName } : { name: idOrName });
  }
  async findDefault(): Promise<Region> {
    return (await this.m.findOneBy(RegionEntity, { name: 'us' }))!;
  }
}

class TypeOrmServices implements ServiceRepository {
  constructor(private readonly m: EntityManager) {}
  listVisible(viewerId: string | null, range: RangeSpec): Promise<Page<AddonService>> {
    const qb = this.m.createQueryBuilder(AddonServiceEntity, 'x').where(
      new Brackets((w) => {
        w.where('x.published');
        if (viewerId) w.orWhere('x.owner_account_id = :viewerId', { viewerId });
      }),
    );
    return paginate(qb, range, { id: 'x.id', name: 'x.slug' }, (s) => (range.field === 'id' ? s.id : s.slug));
  }
  findByIdOrSlug(idOrSlug: string) {
    if (!storable(idOrSlug)) return Promise.resolve(null);
    return this.m.findOneBy(AddonServiceEntity, isUuid(idOrSlug) ? { id: idOrSlug } : { slug: idOrSlug });
  }
  findById(id: string) {
    return this.m.findOneBy(AddonServiceEntity, { id });
  }
  findByIds(ids: string[]): Promise<AddonService[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.m.findBy(AddonServiceEntity, { id: In(ids) });
  }
  async save(service: AddonService): Promise<AddonService> {
    await this.m.upsert(AddonServiceEntity, service, ['id']);
    return service;
  }
}

class TypeOrmPlans implements PlanRepository {
  constructor(private readonly m: EntityManager) {}
  listByService(serviceId: string, range: RangeSpec): Promise<Page<Plan>> {
    const qb = this.m.createQueryBuilder(PlanEntity, 'x').where('x.service_id = :serviceId', { serviceId });
    if (range.field === 'name' && range.start === undefined) qb.addOrderBy('x.price_cents');
    return paginate(qb, range, byNameOrId, (p) => (range.field === 'id' ? p.id : p.name));
  }
  allByService(serviceId: string): Promise<Plan[]> {
    return this.m.find(PlanEntity, { where: { serviceId }, order: { priceCents: 'ASC', name: 'ASC' } });
  }
  findById(id: string) {
    return isUuid(id) ? this.m.findOneBy(PlanEntity, { id }) : Promise.resolve(null);
  }
  findByIds(ids: string[]): Promise<Plan[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.m.findBy(PlanEntity, { id: In(ids) });
  }
  findByServiceAndIdOrName(serviceId: string, idOrName: string) {
    if (!storable(idOrName)) return Promise.resolve(null);
    return this.m.findOneBy(PlanEntity, isUuid(idOrName) ? { serviceId, id: idOrName } : { serviceId, name: idOrName });
  }
  async save(plan: Plan): Promise<Plan> {
    // Clear the old default first: the partial unique index allows one default per service.
    if (plan.isDefault) {
      await this.m
        .createQueryBuilder()
        .update(PlanEntity)
        .set({ isDefault: false })
        .where('service_id = :serviceId AND id <> :id AND is_default', { serviceId: plan.serviceId, id: plan.id })
        .execute();
    }
    await this.m.upsert(PlanEntity, plan, ['id']);
    return plan;
  }
}

class TypeOrmManifests implements ManifestRepository {
  constructor(private readonly m: EntityManager) {}
  async add(manifest: Manifest): Promise<Manifest> {
    await this.m.insert(ManifestEntity, manifest);
    return manifest;
  }
  list(serviceId: string, range: RangeSpec): Promise<Page<Manifest>> {
    const qb = this.m.createQueryBuilder(ManifestEntity, 'x').where('x.service_id = :serviceId', { serviceId });
    return paginate(qb, range, { id: 'x.id', created_at: 'x.created_at' }, (r) => (range.field === 'id' ? r.id : r.createdAt.toISOString()));
  }
  findById(serviceId: string, id: string) {
    return isUuid(id) ? this.m.findOneBy(ManifestEntity, { serviceId, id }) : Promise.resolve(null);
  }
}

class TypeOrmApps implements AppRepository {
  constructor(private readonly m: EntityManager) {}
  async create(app: App): Promise<App> {
    await this.m.insert(AppEntity, app);
    return app;
  }
  findLiveByIdOrName(idOrName: string) {
    if (!storable(idOrName)) return Promise.resolve(null);
    const qb = this.m.createQueryBuilder(AppEntity, 'a').where('a.deleted_at IS NULL');
    if (isUuid(idOrName)) qb.andWhere('a.id = :idOrName', { idOrName });
    else qb.andWhere('a.name = :idOrName', { idOrName });
    return qb.getOne();
  }
  findById(id: string) {
    return this.m.findOneBy(AppEntity, { id });
  }
  findByIds(ids: string[]): Promise<App[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.m.findBy(AppEntity, { id: In(ids) });
  }
  listVisible(accountId: string, range: RangeSpec): Promise<Page<App>> {
    const qb = this.m
      .createQueryBuilder(AppEntity, 'x')
      .where('x.deleted_at IS NULL')
      .andWhere(
        '(x.owner_account_id = :accountId OR EXISTS (SELECT 1 FROM collaborators c WHERE c.app_id = x.id AND c.account_id = :accountId))',
        { accountId },
      );
    return paginate(qb, range, byNameOrId, (a) => (range.field === 'id' ? a.id : a.name));
  }
  async isNameTaken(name: string): Promise<boolean> {
    return (await this.m.createQueryBuilder(AppEntity, 'a').where('a.name = :name AND a.deleted_at IS NULL', { name }).getCount()) > 0;
  }
  async update(id: string, patch: Partial<Pick<App, 'name' | 'deletedAt' | 'updatedAt'>>): Promise<void> {
    await this.m.update(AppEntity, { id }, patch);
  }
  async lock(id: string): Promise<void> {
    await this.m.query('SELECT 1 FROM apps WHERE id = $1 FOR UPDATE', [id]);
  }
  async hasAccess(appId: string, accountId: string): Promise<boolean> {
    const rows: unknown[] = await this.m.query(
      `SELECT 1 FROM apps a WHERE a.id = $1 AND a.deleted_at IS NULL AND (a.owner_account_id = $2
         OR EXISTS (SELECT 1 FROM collaborators c WHERE c.app_id = a.id AND c.account_id = $2))`,
      [appId, accountId],
    );
    return rows.length > 0;
  }
  async addCollaborator(appId: string, accountId: string): Promise<void> {
    await this.m.createQueryBuilder().insert().into(CollaboratorEntity).values({ appId, accountId, createdAt: new Date() }).orIgnore().execute();
  }
  async removeCollaborator(appId: string, accountId: string): Promise<boolean> {
    return ((await this.m.delete(CollaboratorEntity, { appId, accountId })).affected ?? 0) > 0;
  }
  listCollaborators(appId: string): Promise<Account[]> {
    return this.m
      .createQueryBuilder(AccountEntity, 'a')
      .innerJoin(CollaboratorEntity, 'c', 'c.account_id = a.id')
      .where('c.app_id = :appId', { appId })
      .orderBy('a.email')
      .getMany();
  }
}

class TypeOrmReleases implements ReleaseRepository {
  constructor(private readonly m: EntityManager) {}
  async append(appId: string, description: string, at: Date): Promise<Release> {
    const [row]: { next: number }[] = await this.m.query(
      'SELECT COALESCE(MAX(version), 0) + 1 AS next FROM releases WHERE app_id = $1',
      [appId],
    );
    const release: Release = { id: newId(), appId, version: Number(row.next), description, createdAt: at };
    await this.m.insert(ReleaseEntity, release);
    return release;
  }
  list(appId: string, range: RangeSpec): Promise<Page<Release>> {
    const qb = this.m.createQueryBuilder(ReleaseEntity, 'x').where('x.app_id = :appId', { appId });
    return paginate(qb, range, { id: 'x.id', version: 'x.version' }, (r) => (range.field === 'id' ? r.id : String(r.version)));
  }
  findByIdOrVersion(appId: string, idOrVersion: string) {
    if (isUuid(idOrVersion)) return this.m.findOneBy(ReleaseEntity, { appId, id: idOrVersion });
    const version = Number(idOrVersion);
    // Out of the column's range (or not a version at all) is simply not found.
    return Number.isInteger(version) && Math.abs(version) <= MAX_INTEGER ? this.m.findOneBy(ReleaseEntity, { appId, version }) : Promise.resolve(null);
  }
}

class TypeOrmConfigVars implements ConfigVarRepository {
  constructor(private readonly m: EntityManager) {}
  listForApp(appId: string): Promise<ConfigVar[]> {
    return this.m.findBy(ConfigVarEntity, { appId });
  }
  async upsert(vars: ConfigVar[]): Promise<void> {
    if (vars.length > 0) await this.m.upsert(ConfigVarEntity, vars, ['appId', 'name']);
  }
  async delete(appId: string, names: string[]): Promise<void> {
    if (names.length > 0) await this.m.delete(ConfigVarEntity, { appId, name: In(names) });
  }
  async deleteByAttachment(attachmentId: string): Promise<ConfigVar[]> {
    const vars = await this.listByAttachment(attachmentId);
    await this.m.delete(ConfigVarEntity, { attachmentId });
    return vars;
  }
  listByAttachment(attachmentId: string): Promise<ConfigVar[]> {
    return this.m.findBy(ConfigVarEntity, { attachmentId });
  }
}

class TypeOrmAddons implements AddonRepository {
  constructor(private readonly m: EntityManager) {}
  async create(addon: Addon): Promise<Addon> {
    await this.m.insert(AddonEntity, addon);
    return addon;
  }
  findById(id: string) {
    return isUuid(id) ? this.m.findOneBy(AddonEntity, { id }) : Promise.resolve(null);
  }
  findByIds(ids: string[]): Promise<Addon[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.m.findBy(AddonEntity, { id: In(ids) });
  }
  findByIdOrName(idOrName: string) {
    if (!storable(idOrName)) return Promise.resolve(null);
    return this.m.findOneBy(AddonEntity, isUuid(idOrName) ? { id: idOrName } : { name: idOrName });
  }
  findByIdForUpdate(id: string) {
    return this.m.createQueryBuilder(AddonEntity, 'a').setLock('pessimistic_write').where('a.id = :id', { id }).getOne();
  }
  async update(id: string, patch: Partial<Addon>): Promise<void> {
    await this.m.update(AddonEntity, { id }, patch);
  }
  async isNameTaken(name: string): Promise<boolean> {
    return (await this.m.countBy(AddonEntity, { name })) > 0;
  }
  listForApp(appId: string, range: RangeSpec): Promise<Page<Addon>> {
    const qb = this.m
      .createQueryBuilder(AddonEntity, 'x')
      .where("x.state <> 'deprovisioned'")
      .andWhere('(x.app_id = :appId OR EXISTS (SELECT 1 FROM addon_attachments t WHERE t.addon_id = x.id AND t.app_id = :appId))', { appId });
    return paginate(qb, range, byNameOrId, (a) => (range.field === 'id' ? a.id : a.name));
  }
  listVisible(accountId: string, range: RangeSpec): Promise<Page<Addon>> {
    const qb = this.m
      .createQueryBuilder(AddonEntity, 'x')
      .where("x.state <> 'deprovisioned'")
      .andWhere(
        `EXISTS (SELECT 1 FROM apps a WHERE a.deleted_at IS NULL
           AND (a.id = x.app_id OR a.id IN (SELECT t.app_id FROM addon_attachments t WHERE t.addon_id = x.id))
           AND (a.owner_account_id = :accountId OR EXISTS (SELECT 1 FROM collaborators c WHERE c.app_id = a.id AND c.account_id = :accountId)))`,
        { accountId },
      );
    return paginate(qb, range, byNameOrId, (a) => (range.field === 'id' ? a.id : a.name));
  }
  listOwnedByApp(appId: string): Promise<Addon[]> {
    return this.m.createQueryBuilder(AddonEntity, 'a').where("a.app_id = :appId AND a.state <> 'deprovisioned'", { appId }).getMany();
  }
  countLiveOnApp(appId: string, serviceId: string): Promise<number> {
    return this.m
      .createQueryBuilder(AddonEntity, 'a')
      .where("a.app_id = :appId AND a.service_id = :serviceId AND a.state IN ('provisioning', 'provisioned')", { appId, serviceId })
      .getCount();
  }
  findStuck(olderThan: Date, limit: number): Promise<Addon[]> {
    return this.m
      .createQueryBuilder(AddonEntity, 'a')
      .where("(a.state IN ('provisioning', 'deprovisioning') OR a.pending_plan_id IS NOT NULL OR a.cleanup_pending)")
      .andWhere('a.updated_at < :olderThan', { olderThan })
      .orderBy('a.updated_at')
      .take(limit)
      .getMany();
  }
  findAsyncPastDeadline(now: Date, limit: number): Promise<Addon[]> {
    return this.m
      .createQueryBuilder(AddonEntity, 'a')
      .where("a.state = 'provisioning' AND a.async_deadline_at IS NOT NULL AND a.async_deadline_at < :now", { now })
      .take(limit)
      .getMany();
  }
  listByServiceIds(serviceIds: string[], range: RangeSpec): Promise<Page<Addon>> {
    const qb = this.m.createQueryBuilder(AddonEntity, 'x').where("x.service_id IN (:...serviceIds) AND x.state <> 'deprovisioned'", { serviceIds });
    return paginate(qb, range, byNameOrId, (a) => (range.field === 'id' ? a.id : a.name));
  }
}

class TypeOrmAttachments implements AttachmentRepository {
  constructor(private readonly m: EntityManager) {}
  async create(attachment: Attachment): Promise<Attachment> {
    await this.m.insert(AttachmentEntity, attachment);
    return attachment;
  }
  findById(id: string) {
    return isUuid(id) ? this.m.findOneBy(AttachmentEntity, { id }) : Promise.resolve(null);
  }
  findByAppAndName(appId: string, name: string) {
    if (!storable(name)) return Promise.resolve(null);
    return this.m.findOneBy(AttachmentEntity, { appId, name });
  }
  listForAddon(addonId: string): Promise<Attachment[]> {
    return this.m.find(AttachmentEntity, { where: { addonId }, order: { createdAt: 'ASC' } });
  }
  listForApp(appId: string, range: RangeSpec): Promise<Page<Attachment>> {
    const qb = this.m.createQueryBuilder(AttachmentEntity, 'x').where('x.app_id = :appId', { appId });
    return paginate(qb, range, byNameOrId, (a) => (range.field === 'id' ? a.id : a.name));
  }
  listVisible(accountId: string, range: RangeSpec): Promise<Page<Attachment>> {
    const qb = this.m
      .createQueryBuilder(AttachmentEntity, 'x')
      .innerJoin(AppEntity, 'a', 'a.id = x.app_id AND a.deleted_at IS NULL')
      .where('(a.owner_account_id = :accountId OR EXISTS (SELECT 1 FROM collaborators c WHERE c.app_id = a.id AND c.account_id = :accountId))', {
        accountId,
      });
    return paginate(qb, range, byNameOrId, (a) => (range.field === 'id' ? a.id : a.name));
  }
  async namesOnApp(appId: string): Promise<string[]> {
    return (await this.m.find(AttachmentEntity, { where: { appId }, select: { name: true } })).map((a) => a.name);
  }
  async delete(id: string): Promise<void> {
    await this.m.delete(AttachmentEntity, { id });
  }
}

class TypeOrmEvents implements EventRepository {
  constructor(private readonly m: EntityManager) {}
  async append(event: LifecycleEvent): Promise<void> {
    await this.m.query('INSERT INTO lifecycle_events (type, addon_id, app_id, occurred_at, data) VALUES ($1, $2, $3, $4, $5)', [
      event.type,
      event.addonId ?? null,
      event.appId ?? null,
      event.occurredAt,
      JSON.stringify(event.data),
    ]);
  }
}

class TypeOrmOAuth implements OAuthRepository {
  constructor(private readonly m: EntityManager) {}
  async createGrant(grant: OAuthGrantRecord): Promise<void> {
    await this.m.insert(OAuthGrantEntity, grant);
  }
  findGrantByCodeHashForUpdate(codeHash: string) {
    return this.m.createQueryBuilder(OAuthGrantEntity, 'g').setLock('pessimistic_write').where('g.code_hash = :codeHash', { codeHash }).getOne();
  }
  async markGrantExchanged(id: string, at: Date): Promise<void> {
    await this.m.update(OAuthGrantEntity, { id }, { exchangedAt: at });
  }
  async createToken(token: OAuthTokenRecord): Promise<void> {
    await this.m.insert(OAuthTokenEntity, token);
  }
  findTokenByAccessHash(accessHash: string) {
    return this.m.findOneBy(OAuthTokenEntity, { accessHash });
  }
  findTokenByRefreshHashForUpdate(refreshHash: string) {
    return this.m.createQueryBuilder(OAuthTokenEntity, 't').setLock('pessimistic_write').where('t.refresh_hash = :refreshHash', { refreshHash }).getOne();
  }
  async revokeToken(id: string, at: Date): Promise<void> {
    await this.m.update(OAuthTokenEntity, { id }, { revokedAt: at });
  }
  async revokeAllForAddon(addonId: string, at: Date): Promise<void> {
    await this.m.createQueryBuilder().update(OAuthTokenEntity).set({ revokedAt: at }).where('addon_id = :addonId AND revoked_at IS NULL', { addonId }).execute();
  }
}

/** The Store port on TypeORM; `transaction` rebinds every repository to the transaction's manager. */
export class TypeOrmStore extends Store {
  readonly accounts: AccountRepository;
  readonly regions: RegionRepository;
  readonly services: ServiceRepository;
  readonly plans: PlanRepository;
  readonly manifests: ManifestRepository;
  readonly apps: AppRepository;
  readonly releases: ReleaseRepository;
  readonly configVars: ConfigVarRepository;
  readonly addons: AddonRepository;
  readonly attachments: AttachmentRepository;
  readonly events: EventRepository;
  readonly oauth: OAuthRepository;

  constructor(private readonly manager: EntityManager) {
    super();
    this.accounts = new TypeOrmAccounts(manager);
    this.regions = new TypeOrmRegions(manager);
    this.services = new TypeOrmServices(manager);
    this.plans = new TypeOrmPlans(manager);
    this.manifests = new TypeOrmManifests(manager);
    this.apps = new TypeOrmApps(manager);
    this.releases = new TypeOrmReleases(manager);
    this.configVars = new TypeOrmConfigVars(manager);
    this.addons = new TypeOrmAddons(manager);
    this.attachments = new TypeOrmAttachments(manager);
    this.events = new TypeOrmEvents(manager);
    this.oauth = new TypeOrmOAuth(manager);
  }

  transaction<T>(work: (tx: Store) => Promise<T>): Promise<T> {
    // Nested calls join the open transaction instead of starting another.
    if (this.manager.queryRunner?.isTransactionActive) return work(this);
    return this.manager.transaction((manager) => work(new TypeOrmStore(manager)));
  }
}
