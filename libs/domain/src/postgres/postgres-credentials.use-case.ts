import { Injectable, Logger } from '@nestjs/common';
import { Clock, ConflictError, InvalidInputError, NotFoundError, SecretBox, newId, randomToken } from '@app/common';
import { Addon } from '../shared/models';
import { Store } from '../shared/store.port';
import { AddonConfigProjector } from '../addons/addon-config.projector';
import { PostgresAddon, PostgresAddons } from './postgres-addons';
import { postgresUrl } from './postgres-backends.service';
import { PostgresClusterAdmin, tenantNames } from './postgres-cluster.port';
import { OWNER_CREDENTIAL, PostgresCredential } from './postgres.models';

const CREDENTIAL_NAME_RE = /^[a-z][a-z0-9_]{0,29}$/;
/** `owner` is what Heroku now calls the default credential: kept free so it never means two things. */
const RESERVED_CREDENTIAL_NAMES = [OWNER_CREDENTIAL, 'owner'];
export const CREDENTIAL_NAMESPACE_PREFIX = 'credential:';
export const POSTGRES_URL_VAR = 'POSTGRESQL_URL';
/** A credential change pending longer than this was interrupted. */
const PENDING_REPAIR_AFTER_MS = 60_000;

/** Passwords are long and alphanumeric, so they sit in URLs unescaped. */
export const newDatabasePassword = (): string => randomToken(48);

/**
 * The login roles of a PostgreSQL add-on. A password change is written down as pending before
 * the cluster changes and published to every attached app after, so a crash in between is
 * finished by `finishPending` instead of leaving apps with a password the cluster refuses.
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
    const password = newDatabasePassword();
    const credential: PostgresCredential = {
      id: newId(),
      addonId: target.addon.id,
      name,
      roleName: `${tenantNames(target.addon.id).ownerRole}_${randomToken(8).toLowerCase()}`,
      passwordSealed: this.box.seal(password),
      pendingPasswordSealed: this.box.seal(password),
      pendingSince: this.clock.now(),
      state: 'active',
      createdAt: this.clock.now(),
      rotatedAt: null,
      destroyedAt: null,
    };
    await this.store.transaction(async (tx) => {
      await tx.addons.findByIdForUpdate(target.addon.id);
      if (await tx.postgres.credentials.findActive(target.addon.id, name)) {
        throw new ConflictError('credential_exists', `${target.addon.name} already has a credential named ${name}.`);
      }
      await tx.postgres.credentials.create(credential);
    });
    await this.finishPending(target, [credential]);
    return { target, credential: { ...credential, pendingPasswordSealed: null }, url: this.urlFor(target, credential) };
  }

  /** New passwords for one credential (or all, when `name` is null); their sessions end; every attached app gets the new URL in one release. */
  async rotate(accountId: string, addonRef: string, name: string | null): Promise<PostgresCredential[]> {
    const target = await this.addons.manageable(accountId, addonRef);
    const rotating = await this.store.transaction(async (tx) => {
      await tx.addons.findByIdForUpdate(target.addon.id);
      const credentials = name === null ? await tx.postgres.credentials.listActive(target.addon.id) : [await this.find(target.addon.id, name, tx)];
      for (const credential of credentials) {
        credential.pendingPasswordSealed = this.box.seal(newDatabasePassword());
        credential.pendingSince = this.clock.now();
        await tx.postgres.credentials.update(credential.id, { pendingPasswordSealed: credential.pendingPasswordSealed, pendingSince: credential.pendingSince });
      }
      return credentials;
    });
    return this.finishPending(target, rotating);
  }

  async destroy(accountId: string, addonRef: string, name: string): Promise<PostgresCredential> {
    const target = await this.addons.manageable(accountId, addonRef);
    if (name === OWNER_CREDENTIAL) throw new InvalidInputError(`The ${OWNER_CREDENTIAL} credential owns the database and cannot be destroyed.`);
    const destroyed = await this.store.transaction(async (tx) => {
      const addon = (await tx.addons.findByIdForUpdate(target.addon.id))!;
      const credential = await this.find(addon.id, name, tx);
      const namespace = `${CREDENTIAL_NAMESPACE_PREFIX}${name}`;
      const attached = (await tx.attachments.listForAddon(addon.id)).filter((a) => a.namespace === namespace);
      if (attached.length > 0) {
        throw new ConflictError('credential_attached', `Credential ${name} is attached as ${attached.map((a) => a.name).join(', ')}; detach it first.`);
      }
      const now = this.clock.now();
      await tx.postgres.credentials.update(credential.id, { state: 'destroyed', destroyedAt: now, pendingPasswordSealed: null, pendingSince: null });
      await this.publish(tx, addon, target, now, `Destroy credential ${name} of ${addon.name}`);
      return { ...credential, state: 'destroyed' as const, destroyedAt: now };
    });
    // After the commit: a crash here leaves the role, which deprovision still drops (it knows every role the add-on had).
    await this.admin.dropCredentialRole(target.backend, target.database.databaseName, destroyed.roleName, target.database.groupRole);
    return destroyed;
  }

  /**
   * Finishes rotations and creations a crash interrupted (the worker's maintenance run). Only
   * changes pending for a while are taken, so a rotation still in progress is left to finish itself.
   */
  async repairPending(limit = 100): Promise<number> {
    const olderThan = new Date(this.clock.now().getTime() - PENDING_REPAIR_AFTER_MS);
    const pending = await this.store.postgres.credentials.listPendingRotation(olderThan, limit);
    const byAddon = new Map<string, PostgresCredential[]>();
    for (const credential of pending) byAddon.set(credential.addonId, [...(byAddon.get(credential.addonId) ?? []), credential]);
    let repaired = 0;
    for (const [addonId, credentials] of byAddon) {
      const target = await this.addons.byId(addonId);
      if (!target) continue;
      try {
        await this.finishPending(target, credentials);
        repaired += credentials.length;
      } catch (error) {
        this.logger.warn({ addonId, err: (error as Error).message }, 'could not finish a credential change; will retry');
      }
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

  private async finishPending(target: PostgresAddon, credentials: PostgresCredential[]): Promise<PostgresCredential[]> {
    const { databaseName } = target.database;
    for (const credential of credentials) {
      if (!credential.pendingPasswordSealed) continue;
      const password = this.box.open(credential.pendingPasswordSealed);
      if (credential.name !== OWNER_CREDENTIAL) await this.admin.createCredentialRole(target.backend, databaseName, credential.roleName, password);
      await this.admin.setPassword(target.backend, credential.roleName, password);
    }
    return this.store.transaction(async (tx) => {
      const addon = (await tx.addons.findByIdForUpdate(target.addon.id))!;
      const now = this.clock.now();
      const finished: PostgresCredential[] = [];
      const current = new Map((await tx.postgres.credentials.listActive(addon.id)).map((c) => [c.id, c]));
      for (const credential of credentials) {
        // Another change of this credential began meanwhile: it publishes its own password.
        if (!credential.pendingPasswordSealed || current.get(credential.id)?.pendingPasswordSealed !== credential.pendingPasswordSealed) continue;
        const rotated = credential.rotatedAt !== null || credential.passwordSealed !== credential.pendingPasswordSealed;
        const patch = { passwordSealed: credential.pendingPasswordSealed, pendingPasswordSealed: null, pendingSince: null, rotatedAt: rotated ? now : credential.rotatedAt };
        await tx.postgres.credentials.update(credential.id, patch);
        finished.push({ ...credential, ...patch });
      }
      const names = finished.map((c) => c.name).join(', ');
      await this.publish(tx, addon, target, now, `Update credentials of ${addon.name} (${names})`);
      const rotated = finished.filter((c) => c.rotatedAt === now).map((c) => c.name);
      if (rotated.length > 0) {
        await tx.events.append({ type: 'addon.credentials_rotated', addonId: addon.id, appId: addon.appId, occurredAt: now, data: { credentials: rotated } });
      }
      return finished;
    });
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
