import { Injectable, Logger } from '@nestjs/common';
import { Clock, ConflictError, InvalidInputError, NotFoundError, SecretBox, newId, randomToken } from '@app/common';
import { Addon } from '../shared/models';
import { Store } from '../shared/store.port';
import { AddonConfigProjector } from '../addons/addon-config.projector';
import { PostgresAddon, PostgresAddons } from './postgres-addons';
import { postgresUrl } from './postgres-backends.service';
import { PostgresClusterAdmin, tenantNames } from './postgres-cluster.port';
import { refuseDuringPgMove } from './pg-plan-moves';
import { OWNER_CREDENTIAL, PostgresCredential } from './postgres.models';

const CREDENTIAL_NAME_RE = /^[a-z][a-z0-9_]{0,29}$/;
/** `owner` is what Heroku now calls the default credential: kept free so it never means two things. */
const RESERVED_CREDENTIAL_NAMES = [OWNER_CREDENTIAL, 'owner'];
export const CREDENTIAL_NAMESPACE_PREFIX = 'credential:';
export const POSTGRES_URL_VAR = 'POSTGRESQL_URL';
/** A credential change (or role drop) pending longer than this was interrupted. */
const REPAIR_AFTER_MS = 60_000;

/** Passwords are long and alphanumeric, so they sit in URLs unescaped. */
export const newDatabasePassword = (): string => randomToken(48);

/**
 * The login roles of a PostgreSQL add-on. A password change is written down as pending before
 * the cluster changes; the cluster change and its publication to every attached app then happen
 * with the add-on locked, so concurrent changes apply in order. A crash in between leaves the
 * change pending, and `repairPending` finishes it.
 */
@Injectable()
export class PostgresCredentialsUseCase {
  private readonly logger = new Logger(PostgresCredentialsUseCase.name);

  constructor(
    private readonly store: Store,
    private readonly addons: PostgresAddons,
    private readonly admin: PostgresClusterAdmin,
    private readonly projector: AddonConfigProjector,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  async list(accountId: string, addonRef: string): Promise<{ target: PostgresAddon; credentials: PostgresCredential[] }> {
    const target = await this.addons.manageable(accountId, addonRef);
    return { target, credentials: await this.store.postgres.credentials.listActive(target.addon.id) };
  }

  /** The credential and its connection URL (shown to members of the billing app only). */
  async get(accountId: string, addonRef: string, name: string): Promise<{ target: PostgresAddon; credential: PostgresCredential; url: string }> {
    const target = await this.addons.manageable(accountId, addonRef);
    const credential = await this.find(target.addon.id, name);
    return { target, credential, url: this.urlFor(target, credential) };
  }

  /** A login role that can connect to the database and do nothing else until the owner grants it rights. */
  async create(accountId: string, addonRef: string, name: string): Promise<{ target: PostgresAddon; credential: PostgresCredential; url: string }> {
    const target = await this.addons.manageable(accountId, addonRef);
    if (!CREDENTIAL_NAME_RE.test(name) || RESERVED_CREDENTIAL_NAMES.includes(name)) {
      throw new InvalidInputError(
        `Invalid credential name "${name}": use 1 to 30 lowercase letters, digits and underscores, starting with a letter (not ${RESERVED_CREDENTIAL_NAMES.join(' or ')}).`,
      );
    }
    const password = this.box.seal(newDatabasePassword());
    const now = this.clock.now();
    const credential: PostgresCredential = {
      id: newId(),
      addonId: target.addon.id,
      name,
      roleName: `${tenantNames(target.addon.id).ownerRole}_${randomToken(8).toLowerCase()}`,
      // The same sealed value in both: a change that is a creation, not a rotation.
      passwordSealed: password,
      pendingPasswordSealed: password,
      pendingSince: now,
      state: 'active',
      createdAt: now,
      rotatedAt: null,
      destroyedAt: null,
      roleDroppedAt: null,
    };
    await this.store.transaction(async (tx) => {
      await this.lockProvisioned(tx, target);
      if (await tx.postgres.credentials.findActive(target.addon.id, name)) {
        throw new ConflictError('credential_exists', `${target.addon.name} already has a credential named ${name}.`);
      }
      await tx.postgres.credentials.create(credential);
    });
    const [created] = await this.finishPending(target, [credential.id]);
    if (!created) throw new InvalidInputError(`${target.addon.name} is being destroyed; its credentials cannot change now.`, 'addon_not_ready');
    return { target, credential: created, url: this.urlFor(target, created) };
  }

  /** New passwords for one credential (or all, when `name` is null); their sessions end; every attached app gets the new URL in one release. */
  async rotate(accountId: string, addonRef: string, name: string | null): Promise<PostgresCredential[]> {
    const target = await this.addons.manageable(accountId, addonRef);
    const ids = await this.store.transaction(async (tx) => {
      await this.lockProvisioned(tx, target);
      const credentials = name === null ? await tx.postgres.credentials.listActive(target.addon.id) : [await this.find(target.addon.id, name, tx)];
      const now = this.clock.now();
      for (const credential of credentials) {
        await tx.postgres.credentials.update(credential.id, { pendingPasswordSealed: this.box.seal(newDatabasePassword()), pendingSince: now });
      }
      return credentials.map((c) => c.id);
    });
    const rotated = await this.finishPending(target, ids);
    if (rotated.length === 0) throw new InvalidInputError(`${target.addon.name} is being destroyed; its credentials cannot change now.`, 'addon_not_ready');
    return rotated;
  }

  async destroy(accountId: string, addonRef: string, name: string): Promise<PostgresCredential> {
    const target = await this.addons.manageable(accountId, addonRef);
    if (name === OWNER_CREDENTIAL) throw new InvalidInputError(`The ${OWNER_CREDENTIAL} credential owns the database and cannot be destroyed.`);
    const destroyed = await this.store.transaction(async (tx) => {
      const addon = await this.lockProvisioned(tx, target);
      const credential = await this.find(addon.id, name, tx);
      const namespace = `${CREDENTIAL_NAMESPACE_PREFIX}${name}`;
      const attached = (await tx.attachments.listForAddon(addon.id)).filter((a) => a.namespace === namespace);
      if (attached.length > 0) {
        throw new ConflictError('credential_attached', `Credential ${name} is attached as ${attached.map((a) => a.name).join(', ')}; detach it first.`);
      }
      const now = this.clock.now();
      await tx.postgres.credentials.update(credential.id, { state: 'destroyed', destroyedAt: now, pendingPasswordSealed: null, pendingSince: null });
      await this.publish(tx, addon, target, now, `Destroy credential ${name} of ${addon.name}`);
      return { ...credential, state: 'destroyed' as const, destroyedAt: now, pendingPasswordSealed: null, pendingSince: null };
    });
    // After the commit, so the URL is gone from every app first. If this fails, `repairPending` drops the role later.
    await this.dropRole(target, destroyed);
    return { ...destroyed, roleDroppedAt: this.clock.now() };
  }

  /**
   * The worker's maintenance run: finishes credential changes and role drops that a crash (or a
   * cluster error) interrupted. Only those pending for a while are taken, so a change still in
   * progress finishes itself.
   */
  async repairPending(limit = 100): Promise<number> {
    const olderThan = new Date(this.clock.now().getTime() - REPAIR_AFTER_MS);
    let repaired = 0;
    const byAddon = new Map<string, string[]>();
    for (const credential of await this.store.postgres.credentials.listPendingRotation(olderThan, limit)) {
      byAddon.set(credential.addonId, [...(byAddon.get(credential.addonId) ?? []), credential.id]);
    }
    for (const [addonId, ids] of byAddon) {
      const target = await this.addons.byId(addonId);
      if (!target) continue;
      repaired += await this.attempt(addonId, async () => (await this.finishPending(target, ids)).length);
    }
    for (const credential of await this.store.postgres.credentials.listDropPending(olderThan, limit)) {
      const target = await this.addons.byId(credential.addonId);
      // Without its database the role went with the tenant (deprovision sweeps every role of it).
      if (!target) continue;
      repaired += await this.attempt(credential.addonId, async () => (await this.dropRole(target, credential), 1));
    }
    return repaired;
  }

  /** The config vars the add-on exports: the owner's URL, and each named credential's under its namespace. */
  async publish(tx: Store, addon: Addon, target: Pick<PostgresAddon, 'service' | 'backend' | 'database'>, now: Date, description: string): Promise<void> {
    const credentials = await tx.postgres.credentials.listActive(addon.id);
    const url = (c: PostgresCredential) => postgresUrl(target.backend, c.roleName, this.box.open(c.passwordSealed), target.database.databaseName);
    const owner = credentials.find((c) => c.name === OWNER_CREDENTIAL);
    const config = owner ? { [POSTGRES_URL_VAR]: url(owner) } : this.projector.readConfig(addon);
    const namespaced: Record<string, Record<string, string>> = {};
    for (const c of credentials) if (c.name !== OWNER_CREDENTIAL) namespaced[`${CREDENTIAL_NAMESPACE_PREFIX}${c.name}`] = { [POSTGRES_URL_VAR]: url(c) };
    const patch = { configSealed: this.projector.sealConfig(config), namespaceConfigSealed: this.projector.sealNamespaceConfigs(namespaced), updatedAt: now };
    await tx.addons.update(addon.id, patch);
    await this.projector.projectAll(tx, { ...addon, ...patch }, target.service, config, description, now);
  }

  /**
   * Applies the pending passwords of these credentials on the cluster and publishes them, all
   * with the add-on locked: a later change waits, so the cluster and the apps end with the same
   * password. Returns the credentials as they now are.
   */
  private finishPending(target: PostgresAddon, ids: string[]): Promise<PostgresCredential[]> {
    return this.store.transaction(async (tx) => {
      const addon = await tx.addons.findByIdForUpdate(target.addon.id);
      if (!addon || addon.state !== 'provisioned') return [];
      const database = await tx.postgres.databases.findByAddon(addon.id);
      const now = this.clock.now();
      const result: PostgresCredential[] = [];
      const changed: string[] = [];
      const rotated: string[] = [];
      for (const credential of (await tx.postgres.credentials.listActive(addon.id)).filter((c) => ids.includes(c.id))) {
        if (!credential.pendingPasswordSealed) {
          result.push(credential);
          continue;
        }
        const creating = credential.rotatedAt === null && credential.passwordSealed === credential.pendingPasswordSealed;
        const password = this.box.open(credential.pendingPasswordSealed);
        if (creating && credential.name !== OWNER_CREDENTIAL) {
          await this.admin.createCredentialRole(target.backend, target.database.databaseName, credential.roleName, password);
          // A restricted database keeps its named credentials logged off until it is lifted.
          if (database?.restrictedAt) await this.admin.restrict(target.backend, tenantNames(addon.id), [credential.roleName]);
        }
        await this.admin.setPassword(target.backend, credential.roleName, password);
        const patch = { passwordSealed: credential.pendingPasswordSealed, pendingPasswordSealed: null, pendingSince: null, rotatedAt: creating ? null : now };
        await tx.postgres.credentials.update(credential.id, patch);
        result.push({ ...credential, ...patch });
        changed.push(credential.name);
        if (!creating) rotated.push(credential.name);
      }
      if (changed.length === 0) return result;
      await this.publish(tx, addon, target, now, `Update credentials of ${addon.name} (${changed.join(', ')})`);
      if (rotated.length > 0) {
        await tx.events.append({ type: 'addon.credentials_rotated', addonId: addon.id, appId: addon.appId, occurredAt: now, data: { credentials: rotated } });
      }
      return result;
    });
  }

  private async dropRole(target: PostgresAddon, credential: PostgresCredential): Promise<void> {
    await this.admin.dropCredentialRole(target.backend, target.database.databaseName, credential.roleName, target.database.groupRole);
    await this.store.postgres.credentials.update(credential.id, { roleDroppedAt: this.clock.now() });
  }

  private async attempt(addonId: string, work: () => Promise<number>): Promise<number> {
    try {
      return await work();
    } catch (error) {
      this.logger.warn({ addonId, err: (error as Error).message }, 'could not finish a credential change; will retry');
      return 0;
    }
  }

  /**
   * Locks the add-on; credentials change only while it is provisioned (a destroy may be under
   * way) and not moving to a dedicated plan: the cluster has none of the shared database's roles,
   * and a change publishes the shared database's URLs, which after the switch would send the apps
   * back to a database about to be dropped.
   */
  private async lockProvisioned(tx: Store, target: PostgresAddon): Promise<Addon> {
    const { addon } = target;
    const locked = await tx.addons.findByIdForUpdate(addon.id);
    if (!locked || locked.state !== 'provisioned') throw new InvalidInputError(`${addon.name} is ${locked?.state ?? 'gone'}; its credentials cannot change now.`, 'addon_not_ready');
    await refuseDuringPgMove(tx, target.service, locked, 'its credentials can change');
    return locked;
  }

  private async find(addonId: string, name: string, store: Store = this.store): Promise<PostgresCredential> {
    const credential = await store.postgres.credentials.findActive(addonId, name);
    if (!credential) throw new NotFoundError('credential', `Couldn't find credential ${name}.`);
    return credential;
  }

  private urlFor(target: PostgresAddon, credential: PostgresCredential): string {
    return postgresUrl(target.backend, credential.roleName, this.box.open(credential.passwordSealed), target.database.databaseName);
  }
}
