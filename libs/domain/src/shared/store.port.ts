import { Page, RangeSpec } from '@app/common';
import {
  Account,
  Addon,
  AddonService,
  AddonState,
  App,
  Attachment,
  ConfigVar,
  LifecycleEvent,
  LifecycleEventType,
  Manifest,
  Plan,
  Region,
  Release,
} from './models';
import { PostgresStore } from '../postgres/postgres.repositories';
import { RedisStore } from '../redis/redis.repositories';
import { KafkaStore } from '../kafka/kafka.repositories';
import { UsageRecordRepository } from '../billing/usage-records';
import { TeamRepository } from '../teams/teams.repository';
import { BillingEntity } from '../teams/teams.models';
import { AppTransfer } from '../billing/ownership';
import { InvoiceRepository } from '../billing/invoices';

export interface AccountRepository {
  create(input: { email: string; name?: string | null; isOperator?: boolean }): Promise<Account>;
  findById(id: string): Promise<Account | null>;
  findByEmail(email: string): Promise<Account | null>;
  addApiKey(accountId: string, tokenHash: string, label: string): Promise<void>;
  findByApiKeyHash(tokenHash: string): Promise<Account | null>;
}

export interface RegionRepository {
  list(): Promise<Region[]>;
  findByIdOrName(idOrName: string): Promise<Region | null>;
  findDefault(): Promise<Region>;
}

export interface ServiceRepository {
  /** Published services, plus unpublished ones owned by `viewerId`. */
  listVisible(viewerId: string | null, range: RangeSpec): Promise<Page<AddonService>>;
  /** The services the account publishes; with null, every vendor's service (not first-party ones). */
  listOwnedBy(accountId: string | null): Promise<AddonService[]>;
  findByIdOrSlug(idOrSlug: string): Promise<AddonService | null>;
  /** The service by id or slug and, in the same read, its plan by id or name (null if it has no such plan). */
  findWithPlan(serviceIdOrSlug: string, planIdOrName: string): Promise<{ service: AddonService; plan: Plan | null } | null>;
  findById(id: string): Promise<AddonService | null>;
  findByIds(ids: string[]): Promise<AddonService[]>;
  /** Locks the service row for the rest of the transaction (manifest pushes). */
  findByIdOrSlugForUpdate(idOrSlug: string): Promise<AddonService | null>;
  save(service: AddonService): Promise<AddonService>;
  /** Changes only the given columns, so concurrent changes to other columns are not undone. */
  update(id: string, patch: Partial<AddonService>): Promise<void>;
}

export interface PlanRepository {
  listByService(serviceId: string, range: RangeSpec): Promise<Page<Plan>>;
  allByService(serviceId: string): Promise<Plan[]>;
  findById(id: string): Promise<Plan | null>;
  findByIds(ids: string[]): Promise<Plan[]>;
  findByServiceAndIdOrName(serviceId: string, idOrName: string): Promise<Plan | null>;
  save(plan: Plan): Promise<Plan>;
}

export interface ManifestRepository {
  add(manifest: Manifest): Promise<Manifest>;
  list(serviceId: string, range: RangeSpec): Promise<Page<Manifest>>;
  findById(serviceId: string, id: string): Promise<Manifest | null>;
}

export interface AppRepository {
  create(app: App): Promise<App>;
  findLiveByIdOrName(idOrName: string): Promise<App | null>;
  /** The live app and whether the account owns or collaborates on it, in one read. */
  findLiveWithAccess(idOrName: string, accountId: string): Promise<{ app: App; member: boolean } | null>;
  findById(id: string): Promise<App | null>;
  findByIds(ids: string[]): Promise<App[]>;
  listVisible(accountId: string, range: RangeSpec): Promise<Page<App>>;
  /** Apps the entity owns now (an account: its personal apps): live ones, and those deleted at or after `deletedSince`. */
  listOwnedBy(entity: BillingEntity, deletedSince: Date): Promise<App[]>;
  /** `listOwnedBy` for several entities at once. */
  listOwnedByAny(entities: BillingEntity[], deletedSince: Date): Promise<App[]>;
  isNameTaken(name: string): Promise<boolean>;
  update(id: string, patch: Partial<Pick<App, 'name' | 'ownerAccountId' | 'ownerTeamId' | 'deletedAt' | 'updatedAt'>>): Promise<void>;
  /** Serializes writers of one app (releases, config vars) for the rest of the transaction. */
  lock(id: string): Promise<void>;
  /** `lock`, and in the same read the app's attachment aliases and config var names. */
  lockForAttachment(id: string): Promise<{ aliases: string[]; configVars: { name: string; attachmentId: string | null }[] }>;
  hasAccess(appId: string, accountId: string): Promise<boolean>;
  addCollaborator(appId: string, accountId: string): Promise<void>;
  removeCollaborator(appId: string, accountId: string): Promise<boolean>;
  listCollaborators(appId: string): Promise<Account[]>;
}

export interface ReleaseRepository {
  /** Appends the app's next version. Call with the app locked. */
  append(appId: string, description: string, at: Date): Promise<Release>;
  /**
   * Sets and removes the app's config vars (`set` and `unset` name different vars) and appends
   * the release that records it, in one write. Call with the app locked. Inside a transaction the
   * write may be answered only at its commit (which then fails if the write did).
   */
  appendWithConfigChange(change: ConfigChange, description: string, at: Date): Promise<void>;
  list(appId: string, range: RangeSpec): Promise<Page<Release>>;
  findByIdOrVersion(appId: string, idOrVersion: string): Promise<Release | null>;
}

export interface ConfigChange {
  appId: string;
  set: Omit<ConfigVar, 'appId'>[];
  unset: string[];
}

export interface ConfigVarRepository {
  listForApp(appId: string): Promise<ConfigVar[]>;
  upsert(vars: ConfigVar[]): Promise<void>;
  delete(appId: string, names: string[]): Promise<void>;
  deleteByAttachment(attachmentId: string): Promise<ConfigVar[]>;
  listByAttachment(attachmentId: string): Promise<ConfigVar[]>;
}

/** An attachment as a config change finds it, its app locked: see `AttachmentRepository.lockAppsForAddon`. */
export interface LockedAttachment {
  attachment: Attachment;
  vars: ConfigVar[];
  takenByOthers: string[];
}

export interface AddonRepository {
  /**
   * Inserts the add-on unless another one (in any state) has its name: then false, and the
   * transaction goes on unharmed. The unique index decides, so concurrent creates cannot both win.
   */
  createIfNameFree(addon: Addon): Promise<boolean>;
  findById(id: string): Promise<Addon | null>;
  findByIds(ids: string[]): Promise<Addon[]>;
  /** The add-on with its service and current plan, in one read. */
  findWithCatalog(id: string): Promise<{ addon: Addon; service: AddonService; plan: Plan } | null>;
  /**
   * Marks the add-on as being created by this transaction until it ends: `Store.readOnceCreated`
   * waits for it. Lets the creator enqueue work on the add-on before it commits.
   */
  holdCreation(id: string): Promise<void>;
  findByIdOrName(idOrName: string): Promise<Addon | null>;
  /** Locks the row for the rest of the transaction, so state transitions never race. */
  findByIdForUpdate(id: string): Promise<Addon | null>;
  update(id: string, patch: Partial<Addon>): Promise<void>;
  /**
   * Applies `patch` only if the add-on is in `state`, locking it like `findByIdForUpdate`, and
   * returns it as updated; null if it is in another state or does not exist.
   */
  updateIfInState(id: string, state: AddonState, patch: Partial<Addon>): Promise<Addon | null>;
  isNameTaken(name: string): Promise<boolean>;
  /** Live add-ons owned by the app or attached to it. */
  listForApp(appId: string, range: RangeSpec): Promise<Page<Addon>>;
  /** Live add-ons attached to any app the account can access. */
  listVisible(accountId: string, range: RangeSpec): Promise<Page<Addon>>;
  listOwnedByApp(appId: string): Promise<Addon[]>;
  /** Add-ons the apps own (bill), in any state, except those last changed before `since` and gone since. */
  listBilledTo(appIds: string[], since: Date): Promise<Addon[]>;
  countLiveOnApp(appId: string, serviceId: string): Promise<number>;
  /** Add-ons in a transitional state not touched since `olderThan`. */
  findStuck(olderThan: Date, limit: number): Promise<Addon[]>;
  findAsyncPastDeadline(now: Date, limit: number): Promise<Addon[]>;
}

export interface AttachmentRepository {
  /** Inside a transaction the insert may be answered only at its commit (which then fails if the insert did). */
  create(attachment: Attachment): Promise<Attachment>;
  findById(id: string): Promise<Attachment | null>;
  findByAppAndName(appId: string, name: string): Promise<Attachment | null>;
  listForAddon(addonId: string): Promise<Attachment[]>;
  /**
   * The add-on's attachments with the config vars each owns, and the names of its app's vars that
   * other attachments own (which it must not take), locking their apps (in app id order, so
   * concurrent writers never deadlock) — everything a config change needs in one read.
   */
  lockAppsForAddon(addonId: string): Promise<LockedAttachment[]>;
  listForApp(appId: string, range: RangeSpec): Promise<Page<Attachment>>;
  listVisible(accountId: string, range: RangeSpec): Promise<Page<Attachment>>;
  namesOnApp(appId: string): Promise<string[]>;
  delete(id: string): Promise<void>;
}

export interface EventRepository {
  append(event: LifecycleEvent): Promise<void>;
  /** The add-ons' events of the given types, per add-on in the order they were appended. */
  listForAddons(addonIds: string[], types: LifecycleEventType[]): Promise<Map<string, LifecycleEvent[]>>;
  /** `app.transferred` events, oldest first: of the given apps, or those the entity was a side of. */
  listTransfers(filter: { appIds: string[] } | { entity: BillingEntity } | { entities: BillingEntity[] }): Promise<AppTransfer[]>;
}

export interface OAuthGrantRecord {
  id: string;
  addonId: string;
  codeHash: string;
  expiresAt: Date;
  exchangedAt: Date | null;
}

export interface OAuthTokenRecord {
  id: string;
  addonId: string;
  accessHash: string;
  refreshHash: string;
  accessExpiresAt: Date;
  revokedAt: Date | null;
}

export interface OAuthRepository {
  createGrant(grant: OAuthGrantRecord): Promise<void>;
  findGrantByCodeHashForUpdate(codeHash: string): Promise<OAuthGrantRecord | null>;
  markGrantExchanged(id: string, at: Date): Promise<void>;
  createToken(token: OAuthTokenRecord): Promise<void>;
  findTokenByAccessHash(accessHash: string): Promise<OAuthTokenRecord | null>;
  findTokenByRefreshHashForUpdate(refreshHash: string): Promise<OAuthTokenRecord | null>;
  revokeToken(id: string, at: Date): Promise<void>;
  revokeAllForAddon(addonId: string, at: Date): Promise<void>;
}

/**
 * Everything the domain reads and writes, as one port. `transaction` hands the callback a
 * Store bound to one database transaction: all writes inside commit or roll back together.
 */
export abstract class Store {
  abstract readonly accounts: AccountRepository;
  abstract readonly regions: RegionRepository;
  abstract readonly services: ServiceRepository;
  abstract readonly plans: PlanRepository;
  abstract readonly manifests: ManifestRepository;
  abstract readonly apps: AppRepository;
  abstract readonly releases: ReleaseRepository;
  abstract readonly configVars: ConfigVarRepository;
  abstract readonly addons: AddonRepository;
  abstract readonly attachments: AttachmentRepository;
  abstract readonly events: EventRepository;
  abstract readonly oauth: OAuthRepository;
  abstract readonly postgres: PostgresStore;
  abstract readonly redis: RedisStore;
  abstract readonly kafka: KafkaStore;
  abstract readonly usage: UsageRecordRepository;
  abstract readonly teams: TeamRepository;
  abstract readonly invoices: InvoiceRepository;
  abstract transaction<T>(work: (tx: Store) => Promise<T>): Promise<T>;
  /**
   * Inside a transaction: sends the writes held for its commit (the events appended so far) now,
   * so that a commit after a long wait sends nothing else. Nothing outside one.
   */
  abstract sendHeldWrites(): void;
  /**
   * Runs `reads` once any transaction creating the add-on (see `AddonRepository.holdCreation`) has
   * ended, so they see its outcome: committed, or nothing after a rollback. The wait and the reads
   * go out together on one connection, in one round trip; `reads` may only read.
   */
  abstract readOnceCreated<T>(addonId: string, reads: (tx: Store) => Promise<T>): Promise<T>;
}
