import { Injectable } from '@nestjs/common';
import { Clock, SecretBox } from '@app/common';
import {
  Addon,
  AddonService,
  BackendConnection,
  BackupFiles,
  DeprovisionOutcome,
  POSTGRES_URL_VAR,
  Plan,
  PlanChangeOutcome,
  PostgresClusterAdmin,
  ProviderRefusedError,
  ProviderUnavailableError,
  ProvisionHeadStart,
  ProvisionOutcome,
  ProvisionPreparation,
  ProvisionRequest,
  Provisioner,
  Store,
  TenantPlacement,
  essentialLimits,
  isEssentialPlan,
  newDatabasePassword,
  openBackend,
  postgresUrl,
  storageLimitBytes,
  tenantNames,
  tenantRecords,
  PostgresOptions,
  formatBytes,
} from '@app/domain';

/**
 * Shared-plan PostgreSQL: a database and roles on the least loaded registered cluster. Each
 * step records what it is about to create before creating it, so a retry finishes the same
 * tenant and deprovision knows everything there is to drop.
 */
@Injectable()
export class PostgresProvisioner extends Provisioner {
  private readonly hardened = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly admin: PostgresClusterAdmin,
    private readonly files: BackupFiles,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly options: PostgresOptions,
  ) {
    super();
  }

  async provision(request: ProvisionRequest): Promise<ProvisionOutcome> {
    const { addon, plan } = request;
    if (!isEssentialPlan(plan.name)) throw new ProviderRefusedError(`postgresql:${plan.name} is not available yet.`);
    const { backend, password, passwordSealed } = await this.placeTenant(addon, request.prefetched?.postgresPlacement);
    await this.hardenOnce(backend);
    const names = tenantNames(addon.id);
    // Derived while the add-on's creation committed, if for the password its records hold.
    const prepared = request.prepared?.postgresOwner;
    const ownerVerifier = prepared?.passwordSealed === passwordSealed ? prepared.verifier : undefined;
    // The URL is known already: the add-on's records are written while the tenant is made.
    const ready = this.admin.createTenant(backend, {
      ...names,
      ownerPassword: password,
      ownerVerifier,
      connectionLimit: essentialLimits(plan).connections,
    });
    ready.catch(() => undefined); // awaited by the caller, which may still be busy when it fails
    return {
      kind: 'provisioned',
      providerId: names.database,
      config: { [POSTGRES_URL_VAR]: postgresUrl(backend, names.ownerRole, password, names.database) },
      message: null,
      ready,
    };
  }

  /** The owner verifier for a head start's password, derived while the add-on's creation commits. */
  prepare(headStart: ProvisionHeadStart): ProvisionPreparation | undefined {
    const passwordSealed = headStart.postgresOwnerPasswordSealed;
    if (!passwordSealed) return undefined;
    const verifier = Promise.resolve().then(() => this.admin.passwordVerifier(this.box.open(passwordSealed)));
    verifier.catch(() => undefined); // the provision derives it itself then
    return { postgresOwner: { passwordSealed, verifier } };
  }

  async changePlan(request: { addon: Addon; service: AddonService; plan: Plan }): Promise<PlanChangeOutcome> {
    const { addon, plan } = request;
    if (!isEssentialPlan(plan.name)) throw new ProviderRefusedError(`Changing to postgresql:${plan.name} is not available yet.`);
    const database = await this.store.postgres.databases.findByAddon(addon.id);
    if (!database || database.state !== 'active') throw new ProviderUnavailableError(`${addon.name} has no database yet.`);
    const limit = storageLimitBytes(plan, this.options.storageScale);
    if (database.storageBytes !== null && database.storageBytes > limit) {
      throw new ProviderRefusedError(
        `${addon.name} holds ${formatBytes(database.storageBytes)}, more than the ${formatBytes(limit)} postgresql:${plan.name} allows; delete data first.`,
      );
    }
    const backend = await this.connection(database.backendId);
    await this.admin.setConnectionLimit(backend, database.databaseName, essentialLimits(plan).connections);
    return { kind: 'changed', config: null, message: null };
  }

  /**
   * The shared tenant a dedicated-plan add-on moves into, placed like a new essential database
   * (or the one an earlier attempt placed), once its data (`usage`: the size and the sessions the
   * dedicated database has) fits `plan`. The records are committed before the tenant is made; the
   * tenant is empty until the move restores into it. An add-on that was on a shared plan before
   * gets its tenant anew. Returns where it is and the URL its apps get at the switch.
   */
  async placeForMove(addon: Addon, plan: Plan, usage: { bytes: number; sessions: number }): Promise<{ backend: BackendConnection; url: string }> {
    if (!isEssentialPlan(plan.name)) throw new ProviderRefusedError(`postgresql:${plan.name} is not a shared plan.`);
    const limit = storageLimitBytes(plan, this.options.storageScale);
    if (usage.bytes > limit) {
      throw new ProviderRefusedError(
        `${addon.name} holds ${formatBytes(usage.bytes)}, more than the ${formatBytes(limit)} postgresql:${plan.name} allows, so it was not moved; delete data first, or choose a larger plan.`,
      );
    }
    const connections = essentialLimits(plan).connections;
    if (usage.sessions > connections) {
      throw new ProviderRefusedError(
        `${addon.name} has ${usage.sessions} connections open, more than the ${connections} postgresql:${plan.name} allows, so it was not moved; use fewer connections first.`,
      );
    }
    await this.reviveDropped(addon);
    const { backend, password } = await this.placeTenant(addon);
    await this.hardenOnce(backend);
    const names = tenantNames(addon.id);
    await this.admin.createTenant(backend, { ...names, ownerPassword: password, connectionLimit: connections });
    return { backend, url: postgresUrl(backend, names.ownerRole, password, names.database) };
  }

  /**
   * Drops the tenant of a move back to a shared plan that gave up: the add-on stays on its
   * dedicated plan, whose logical backups are kept.
   */
  async dropMoveTenant(addon: Addon): Promise<void> {
    await this.dropTenant(addon, false);
  }

  async deprovision(request: { addon: Addon; service: AddonService }): Promise<DeprovisionOutcome> {
    const { addon } = request;
    await this.dropTenant(addon, addon.cleanupPending);
    // Backups hold the tenant's data: they go with it.
    await this.store.postgres.backups.deleteAllForAddon(addon.id);
    await this.files.removeAll(addon.id);
    return { kind: 'deprovisioned' };
  }

  private async dropTenant(addon: Addon, evenIfDropped: boolean): Promise<void> {
    const database = await this.store.postgres.databases.findByAddon(addon.id);
    // A cleanup drops again whatever the record says: a destroy racing the provision may have
    // recorded the database dropped before the tenant was made.
    if (database && (database.state === 'active' || evenIfDropped)) {
      const backend = await this.connection(database.backendId);
      const names = tenantNames(addon.id);
      const credentialRoles = (await this.store.postgres.credentials.listAll(addon.id)).map((c) => c.roleName);
      const roles = [...new Set([...credentialRoles.filter((r) => r !== names.ownerRole), names.ownerRole, names.groupRole])];
      await this.admin.dropTenant(backend, database.databaseName, roles);
      await this.store.transaction(async (tx) => {
        const now = this.clock.now();
        await tx.postgres.databases.update(addon.id, { state: 'dropped', droppedAt: now, updatedAt: now });
        for (const credential of await tx.postgres.credentials.listAll(addon.id)) {
          if (credential.state === 'destroyed' && credential.roleDroppedAt) continue;
          await tx.postgres.credentials.update(credential.id, {
            state: 'destroyed',
            destroyedAt: credential.destroyedAt ?? now,
            roleDroppedAt: now,
            pendingPasswordSealed: null,
            pendingSince: null,
          });
        }
      });
    }
  }

  /**
   * A database record the add-on had on a shared plan before (dropped when it moved to a dedicated
   * one) made active again on the least loaded backend, with a new owner credential, in one
   * transaction: `placeTenant` then finds it as a retry would. Its creation time is now, which
   * tells it from the database a move to a dedicated plan copies from (older than the cluster).
   */
  private async reviveDropped(addon: Addon): Promise<void> {
    const found = await this.store.postgres.databases.findByAddon(addon.id);
    if (!found || found.state !== 'dropped') return;
    const full = await this.store.transaction(async (tx) => {
      const database = await tx.postgres.databases.findByAddon(addon.id);
      if (!database || database.state !== 'dropped') return false;
      const backend = await tx.postgres.backends.lockLeastLoaded();
      if (!backend) return true;
      const now = this.clock.now();
      const records = tenantRecords(addon.id, this.box.seal(newDatabasePassword()), now);
      await tx.postgres.databases.update(addon.id, { ...records.database, backendId: backend.id });
      await tx.postgres.credentials.create(records.owner);
      return false;
    });
    if (full) throw new ProviderUnavailableError('No shared PostgreSQL cluster has room for another database.');
  }

  /**
   * The add-on's backend and owner password: found (placed with the add-on, or by an earlier
   * attempt) or placed now. Either way the records are committed before this returns, so the
   * cluster never holds a tenant Attache does not know about.
   */
  private async placeTenant(addon: Addon, found?: TenantPlacement | null): Promise<{ backend: BackendConnection; password: string; passwordSealed: string }> {
    const password = newDatabasePassword();
    // Usually placed with the add-on already: found (read with the add-on, or now), and placed only if not.
    const { database, owner } = tenantRecords(addon.id, this.box.seal(password), this.clock.now());
    const existing = found === undefined ? await this.store.postgres.databases.findPlacement(addon.id, owner.name) : found;
    const placement = existing ?? (await this.store.postgres.databases.place(database, owner));
    switch (placement.kind) {
      case 'placed':
        return { backend: openBackend(placement.backend, this.box), password, passwordSealed: owner.passwordSealed };
      case 'existing':
        if (placement.state !== 'active' || !placement.ownerPasswordSealed) throw new ProviderRefusedError(`${addon.name}'s database was already dropped.`);
        if (!placement.backend) throw new ProviderUnavailableError(`The PostgreSQL backend of ${addon.name} is not registered.`);
        return {
          backend: openBackend(placement.backend, this.box),
          password: this.box.open(placement.ownerPasswordSealed),
          passwordSealed: placement.ownerPasswordSealed,
        };
      case 'full':
        throw new ProviderUnavailableError('No shared PostgreSQL cluster has room for another database.');
    }
  }

  private async connection(backendId: string): Promise<BackendConnection> {
    const backend = await this.store.postgres.backends.findById(backendId);
    if (!backend) throw new ProviderUnavailableError(`PostgreSQL backend ${backendId} is not registered.`);
    return openBackend(backend, this.box);
  }

  private async hardenOnce(backend: BackendConnection): Promise<void> {
    if (this.hardened.has(backend.id)) return;
    await this.admin.harden(backend);
    this.hardened.add(backend.id);
  }
}
