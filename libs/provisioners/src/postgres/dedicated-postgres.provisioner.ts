import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { PgSharedReadOnly } from './pg-shared-read-only';
import type { PostgresProvisioner } from './postgres.provisioner';
import { Clock, SecretBox } from '@app/common';
import {
  Addon,
  AddonService,
  BackendConnection,
  DedicatedCluster,
  DedicatedClusterRepository,
  DedicatedHost,
  DeprovisionOutcome,
  POSTGRES_URL_VAR,
  PgClusterAccess,
  PgClusterDriver,
  PgClusterOrigin,
  PgDedicatedOptions,
  PgDedicatedSources,
  PgClusterSpec,
  PgPremiumDriver,
  Plan,
  PostgresClusterAdmin,
  PostgresDatabase,
  Store,
  openBackend,
  PlanChangeOutcome,
  ProviderRefusedError,
  ProviderUnavailableError,
  ProvisionOutcome,
  ProvisionRequest,
  Provisioner,
  dedicatedPlanShape,
  dedicatedSpec,
  hasStandby,
  essentialLimits,
  isDedicatedPlan,
  isEssentialPlan,
  premiumSpec,
  newDatabasePassword,
  parseDedicatedRequest,
  placeDedicatedCluster,
  postgresUrl,
  tenantNames,
} from '@app/domain';

/** The URL apps get: the host's address, and `sslmode=require` for a cluster that accepts tenants over TLS only. */
function tenantUrl(host: DedicatedHost, port: number, spec: PgClusterSpec, access: PgClusterAccess): string {
  const url = postgresUrl({ host: host.address, port }, spec.ownerRole, spec.ownerPassword, spec.database);
  return access.tls ? `${url}?sslmode=require` : url;
}

/**
 * Dedicated-plan PostgreSQL: its own cluster per add-on, placed on a registered host with room
 * (placeDedicatedCluster). The cluster's record (host, port, key, owner password, where its data
 * comes from) is committed before anything runs, so a retry builds the same cluster on the same
 * host and deprovision knows what to stop.
 */
@Injectable()
export class DedicatedPostgresProvisioner extends Provisioner {
  constructor(
    private readonly clusters: DedicatedClusterRepository,
    private readonly driver: PgClusterDriver,
    private readonly sources: PgDedicatedSources,
    private readonly options: PgDedicatedOptions,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly store: Store,
    private readonly admin: PostgresClusterAdmin,
    private readonly readOnly: PgSharedReadOnly,
    private readonly premium: PgPremiumDriver,
  ) {
    super();
  }

  async provision(request: ProvisionRequest): Promise<ProvisionOutcome> {
    const { addon, plan } = request;
    if (!isDedicatedPlan(plan.name)) throw new ProviderRefusedError(`postgresql:${plan.name} is not a dedicated plan.`);
    let cluster = await this.clusters.findByAddon(addon.id);
    if (cluster && cluster.state !== 'active') throw new ProviderRefusedError(`${addon.name}'s cluster was already removed.`);
    if (hasStandby(plan.name)) return this.provisionPremium(addon, plan, cluster);
    cluster ??= await this.place(addon);
    const host = await this.hostOf(cluster);
    const spec = { ...dedicatedSpec(cluster, this.box), connectionLimit: dedicatedPlanShape(plan).connections, address: host.address };
    const { origin, sharedSource } = await this.origin(cluster);
    const access = await this.driver.ensure(spec, origin);
    // The first base backup marks the copy as done: a retry after it does not load the dump again.
    if (sharedSource && !cluster.lastBaseBackupAt) await this.copyShared(sharedSource, spec);
    if (!cluster.following && !cluster.lastBaseBackupAt) {
      const backup = await this.driver.takeBaseBackup(spec);
      await this.clusters.update(addon.id, { lastBaseBackupAt: backup.finishedAt, updatedAt: this.clock.now() });
    }
    return { kind: 'provisioned', providerId: cluster.key, config: { [POSTGRES_URL_VAR]: tenantUrl(host, spec.port, spec, access) }, message: null };
  }

  async changePlan(request: { addon: Addon; service: AddonService; plan: Plan }): Promise<PlanChangeOutcome> {
    const { addon, plan } = request;
    if (!isDedicatedPlan(plan.name)) throw new ProviderRefusedError(`Changing ${addon.name} from a dedicated plan to postgresql:${plan.name} is not available yet.`);
    const cluster = await this.clusters.findByAddon(addon.id);
    if (!cluster || cluster.state !== 'active') throw new ProviderUnavailableError(`${addon.name} has no cluster yet.`);
    if (Boolean(cluster.premiumPorts) !== hasStandby(plan.name)) {
      throw new ProviderRefusedError(
        `Changing ${addon.name} between a plan with a standby and one without is not available; create a postgresql:${plan.name} add-on, copy the data (pg_dump and pg_restore), and destroy this one.`,
      );
    }
    // The rollback window is read from the plan when needed; the connection limit changes in place (a follower keeps its primary's).
    if (!cluster.following) await this.driver.setConnectionLimit(dedicatedSpec(cluster, this.box), dedicatedPlanShape(plan).connections);
    return { kind: 'changed', config: null, message: null };
  }

  /**
   * A shared-plan add-on moving to a dedicated plan: a cluster of its own is made and the shared
   * database is copied into it within a checked window (PgSharedReadOnly): writes made during the
   * copy refuse the move, and the database is writable again; otherwise it stays closed to the
   * tenant, and the new URL is returned for every attached app. The caller switches the add-on,
   * and only then drops the shared database. Every attempt before the switch copies afresh, since
   * only a copy checked in its own window is known to hold every write.
   */
  async moveFromShared(request: { addon: Addon; service: AddonService; plan: Plan }): Promise<PlanChangeOutcome> {
    const { addon, plan } = request;
    if (hasStandby(plan.name)) throw new ProviderRefusedError(`Moving ${addon.name} to postgresql:${plan.name} is not available; move it to a standard plan first.`);
    await this.refuseNamedCredentials(addon, plan);
    const database = await this.store.postgres.databases.findByAddon(addon.id);
    let cluster = await this.clusters.findByAddon(addon.id);
    if (cluster && cluster.state !== 'active') throw new ProviderRefusedError(`${addon.name}'s dedicated cluster was already removed.`);
    const copying = database !== null && database.state === 'active';
    // Without its shared database only the cluster holds the data (dropped before its switch by an earlier version of the move).
    if (!copying && !cluster?.lastBaseBackupAt) throw new ProviderUnavailableError(`${addon.name} has no database yet.`);
    cluster ??= await placeDedicatedCluster(this.clusters, this.driver, this.clusterRecord(addon.id, this.clock.now()));
    const host = await this.hostOf(cluster);
    const spec = { ...dedicatedSpec(cluster, this.box), connectionLimit: dedicatedPlanShape(plan).connections, address: host.address };
    const access = await this.driver.ensure(spec, { kind: 'new' });
    if (copying) await this.copyInWindow(addon, plan, database, spec);
    return { kind: 'changed', config: { [POSTGRES_URL_VAR]: tenantUrl(host, spec.port, spec, access) }, message: null };
  }

  /**
   * A standard-plan add-on moving back to a shared plan, when its data fits there: a shared tenant
   * is placed (`shared.placeForMove`, which checks the database's real size and sessions against
   * the plan) and the cluster's database is copied into it within a checked window on the cluster
   * (PgSharedReadOnly, sealed on the tenant's login role). Writes made during the copy refuse the
   * move, and the cluster is writable and open again; otherwise it stays closed to the tenant, and
   * the shared URL is returned for every attached app. The caller switches the add-on, and only
   * then removes the cluster (its archive kept, as a destroy does). Every attempt copies afresh.
   */
  async moveToShared(request: { addon: Addon; service: AddonService; plan: Plan }, shared: Pick<PostgresProvisioner, 'placeForMove'>): Promise<PlanChangeOutcome> {
    const { addon, plan } = request;
    const current = await this.store.plans.findById(addon.planId);
    if (!current || !isDedicatedPlan(current.name)) throw new ProviderRefusedError(`${addon.name} is not on a dedicated plan.`);
    if (hasStandby(current.name)) {
      throw new ProviderRefusedError(
        `Moving ${addon.name} from postgresql:${current.name} to postgresql:${plan.name} is not available: a premium formation's standby can take writes over at any failover, which a move's checked window does not cover. Create a postgresql:${plan.name} add-on and restore a backup of this one into it instead.`,
      );
    }
    const cluster = await this.clusters.findByAddon(addon.id);
    if (!cluster || cluster.state !== 'active' || cluster.port === null) throw new ProviderUnavailableError(`${addon.name} has no cluster yet.`);
    if (cluster.following) throw new ProviderRefusedError(`${addon.name} follows another database; unfollow it before moving it to postgresql:${plan.name}.`);
    await this.refuseDependents(addon, plan);
    await this.refuseNamedCredentials(addon, plan);
    const source = this.superuserOf(cluster);
    const target = await shared.placeForMove(addon, plan, await this.readOnly.usage(source, cluster.databaseName));
    const seal = { role: cluster.ownerRole };
    const connectionLimit = dedicatedPlanShape(current).connections;
    const dir = await mkdtemp(join(tmpdir(), 'attache-move-back-'));
    try {
      const opened = await this.readOnly.open(source, cluster.databaseName);
      const file = join(dir, 'cluster.dump');
      await this.admin.dump(source, cluster.databaseName, file);
      await this.admin.restore(target.backend, tenantNames(addon.id), file);
      const sealed = await this.readOnly.seal(source, cluster.databaseName, seal);
      await this.refuseNamedCredentials(addon, plan);
      if (sealed !== opened) {
        throw new ProviderRefusedError(
          `${addon.name} was written to while its data was being copied (a session turned read-only mode off), so it was not moved: it stays on postgresql:${current.name}, writable, with every write. Stop writing to it and change the plan again.`,
        );
      }
    } catch (error) {
      await this.readOnly.release(source, cluster.databaseName, connectionLimit, seal).catch(() => undefined);
      throw error;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return { kind: 'changed', config: { [POSTGRES_URL_VAR]: target.url }, message: null };
  }

  /** The cluster of an add-on staying on its dedicated plan writable and open again, as a move back to a shared plan that gave up may have left it. */
  async releaseCluster(addon: Addon, plan: Plan): Promise<void> {
    const cluster = await this.clusters.findByAddon(addon.id);
    if (!cluster || cluster.state !== 'active' || cluster.port === null || cluster.premiumPorts || cluster.following) return;
    await this.readOnly.release(this.superuserOf(cluster), cluster.databaseName, dedicatedPlanShape(plan).connections, { role: cluster.ownerRole });
  }

  /**
   * The shared database of an add-on that stays on its shared plan made writable and open again,
   * in case a move left it read-only or closed (one that gave up after its last check, or crashed).
   * Not while a move is pending: its window must stay as it is.
   */
  async releaseShared(addon: Addon): Promise<void> {
    const [current, database, cluster] = await Promise.all([
      this.store.addons.findById(addon.id),
      this.store.postgres.databases.findByAddon(addon.id),
      this.clusters.findByAddon(addon.id),
    ]);
    if (!current || !cluster || !database || database.state !== 'active') return;
    const [plan, pending] = await Promise.all([this.store.plans.findById(current.planId), current.pendingPlanId ? this.store.plans.findById(current.pendingPlanId) : null]);
    if (!plan || !isEssentialPlan(plan.name) || (pending && isDedicatedPlan(pending.name))) return;
    await this.readOnly.release(await this.backendOf(database), database.databaseName, essentialLimits(plan).connections);
  }

  async deprovision(request: { addon: Addon; service: AddonService }): Promise<DeprovisionOutcome> {
    const { addon } = request;
    const cluster = await this.clusters.findByAddon(addon.id);
    if (cluster && cluster.state === 'active') {
      if (cluster.premiumPorts) await this.premium.remove({ key: cluster.key, monitorPort: cluster.premiumPorts[0], nodePorts: [cluster.premiumPorts[1], cluster.premiumPorts[2]] });
      else if (cluster.port !== null) await this.driver.remove({ key: cluster.key, port: cluster.port });
      const now = this.clock.now();
      await this.clusters.update(addon.id, {
        state: 'removed',
        port: null,
        following: false,
        removedAt: now,
        archiveKeepUntil: new Date(now.getTime() + this.options.archiveRetentionMs),
        updatedAt: now,
      });
    }
    return { kind: 'deprovisioned' };
  }

  /**
   * A premium add-on: a new, empty database on a pg_auto_failover formation (monitor, primary,
   * standby) on three ports of its host's range, recorded before anything runs. `port` is the node
   * that is primary; the first base backup marks the formation as complete. Its members accept
   * tenants without TLS (the premium driver has no TLS yet).
   */
  private async provisionPremium(addon: Addon, plan: Plan, found: DedicatedCluster | null): Promise<ProvisionOutcome> {
    if (parseDedicatedRequest(addon.options).kind !== 'new') throw new ProviderRefusedError(`postgresql:${plan.name} starts with an empty database; create forks, rollbacks and followers on a standard plan.`);
    let cluster = found ?? (await placeDedicatedCluster(this.clusters, this.driver, this.clusterRecord(addon.id, this.clock.now())));
    const host = await this.hostOf(cluster);
    if (!cluster.premiumPorts) {
      // The recorded port is the first node's; the monitor and the second node take the next free ones of its host's range.
      // Candidates free on the host; the repository takes two no cluster holds, under the host's port lock.
      const inUse = new Set(await this.clusters.portsInUse(host.name));
      const candidates: number[] = [];
      for (let candidate = host.portMin; candidate <= host.portMax && candidates.length < 8; candidate++) {
        if (!inUse.has(candidate) && (await this.driver.isPortFree(candidate))) candidates.push(candidate);
      }
      const premiumPorts = await this.clusters.reservePremiumPorts(addon.id, host.name, cluster.port!, candidates);
      if (!premiumPorts) throw new ProviderUnavailableError(`Every port of dedicated PostgreSQL host ${host.name} is in use.`);
      cluster = { ...cluster, premiumPorts };
    }
    const spec = { ...premiumSpec(cluster, this.box), connectionLimit: dedicatedPlanShape(plan).connections };
    await this.premium.ensure(spec);
    const state = await this.premium.state(spec);
    const port = state.primaryPort ?? spec.port;
    if (port !== cluster.port) await this.clusters.update(addon.id, { port, updatedAt: this.clock.now() });
    if (!cluster.lastBaseBackupAt) {
      const backup = await this.driver.takeBaseBackup({ ...spec, port });
      await this.clusters.update(addon.id, { lastBaseBackupAt: backup.finishedAt, updatedAt: this.clock.now() });
    }
    return { kind: 'provisioned', providerId: cluster.key, config: { [POSTGRES_URL_VAR]: tenantUrl(host, port, spec, { tls: false }) }, message: null };
  }

  /**
   * Records the add-on's cluster on a host with room: what its data comes from (checked now: the
   * source, and a rollback's moment against the source's window) and its owner.
   */
  private async place(addon: Addon): Promise<DedicatedCluster> {
    const request = parseDedicatedRequest(addon.options);
    const now = this.clock.now();
    let source = null;
    let target: Date | null = null;
    if (request.kind === 'fork') {
      source = await this.sources.resolveAny(addon.appId, request.source);
    } else if (request.kind !== 'new') {
      source = await this.sources.resolve(addon.appId, request.source);
      if (request.kind === 'rollback') {
        target = 'to' in request ? request.to : new Date(now.getTime() - request.byMs);
        await this.sources.checkTarget(source, target, now);
      }
    }
    // A fork, follower or rollback has its source's roles and database; the password becomes its own (a follower shares its primary's).
    // A shared-plan source is copied by dump and restore into a new database of the add-on's own names.
    return placeDedicatedCluster(
      this.clusters,
      this.driver,
      this.clusterRecord(addon.id, now, {
        origin: request.kind,
        sourceAddonId: source?.addon.id ?? null,
        following: request.kind === 'follow',
        recoveryTargetAt: target,
        ...(source?.cluster ? { databaseName: source.cluster.databaseName, ownerRole: source.cluster.ownerRole } : {}),
        ...(request.kind === 'follow' && source?.cluster ? { ownerPasswordSealed: source.cluster.ownerPasswordSealed } : {}),
      }),
    );
  }

  /** A new cluster's record, before its host and port: an empty database of the add-on's own names and a fresh password unless `fields` say otherwise. */
  private clusterRecord(addonId: string, now: Date, fields: Partial<Omit<DedicatedCluster, 'host' | 'port'>> = {}): Omit<DedicatedCluster, 'host' | 'port'> {
    const names = tenantNames(addonId);
    return {
      addonId,
      key: `pg-${addonId.replace(/-/g, '').toLowerCase()}`,
      state: 'active',
      origin: 'new',
      sourceAddonId: null,
      following: false,
      recoveryTargetAt: null,
      databaseName: names.database,
      ownerRole: names.ownerRole,
      ownerPasswordSealed: this.box.seal(newDatabasePassword()),
      lastBaseBackupAt: null,
      archiveKeepUntil: null,
      createdAt: now,
      updatedAt: now,
      removedAt: null,
      ...fields,
    };
  }

  /** The registered host the cluster runs on (every cluster names one). */
  private async hostOf(cluster: DedicatedCluster): Promise<DedicatedHost> {
    const host = await this.clusters.findHost(cluster.host);
    if (!host) throw new ProviderUnavailableError(`Dedicated PostgreSQL host ${cluster.host} is not registered.`);
    return host;
  }

  /**
   * Where the cluster's data comes from, rebuilt from its record (a retry after a crash builds the
   * same). A fork of a shared-plan database starts empty and is filled by `copyShared`.
   */
  private async origin(cluster: DedicatedCluster): Promise<{ origin: PgClusterOrigin; sharedSource: string | null }> {
    if (cluster.origin === 'new' || !cluster.sourceAddonId) return { origin: { kind: 'new' }, sharedSource: null };
    const source = await this.clusters.findByAddon(cluster.sourceAddonId);
    if (!source && cluster.origin === 'fork') return { origin: { kind: 'new' }, sharedSource: cluster.sourceAddonId };
    if (!source || source.state === 'purged') throw new ProviderRefusedError('The source database is gone.');
    const sourceSpec = source.state === 'active' && source.port !== null ? dedicatedSpec(source, this.box) : null;
    if (cluster.origin === 'rollback') return { origin: { kind: 'rollback', sourceKey: source.key, target: cluster.recoveryTargetAt!, source: sourceSpec }, sharedSource: null };
    if (!sourceSpec) throw new ProviderRefusedError('The source database is no longer running.');
    return { origin: { kind: cluster.origin, source: sourceSpec }, sharedSource: null };
  }

  /** pg_dump of the shared-plan database, loaded into the new cluster as its tenant. */
  private async copyShared(sourceAddonId: string, spec: PgClusterSpec): Promise<void> {
    const database = await this.store.postgres.databases.findByAddon(sourceAddonId);
    if (!database || database.state !== 'active') throw new ProviderRefusedError('The source database is gone.');
    const backend = await this.store.postgres.backends.findById(database.backendId);
    if (!backend) throw new ProviderUnavailableError(`PostgreSQL backend ${database.backendId} is not registered.`);
    // The dump holds the tenant's data: a directory only Attache's user can read, removed at once.
    const dir = await mkdtemp(join(tmpdir(), 'attache-fork-'));
    try {
      const file = join(dir, 'source.dump');
      await this.admin.dump(openBackend(backend, this.box), database.databaseName, file);
      await this.driver.loadDump(spec, file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * The copy within the shared database's window: opened (read-only by default, sessions ended,
   * write mark), dumped, loaded, backed up, then sealed (closed, sessions ended, second mark). Any
   * failure, or a write found between the marks, releases the database before the error goes up.
   */
  private async copyInWindow(addon: Addon, plan: Plan, database: PostgresDatabase, spec: PgClusterSpec): Promise<void> {
    const current = await this.store.plans.findById(addon.planId);
    if (!current || !isEssentialPlan(current.name)) throw new ProviderRefusedError(`${addon.name} is not on a shared plan; only shared plans move to postgresql:${plan.name}.`);
    const connectionLimit = essentialLimits(current).connections;
    const backend = await this.backendOf(database);
    const dir = await mkdtemp(join(tmpdir(), 'attache-move-'));
    try {
      const opened = await this.readOnly.open(backend, database.databaseName);
      const file = join(dir, 'source.dump');
      await this.admin.dump(backend, database.databaseName, file);
      await this.driver.loadDump(spec, file, { replace: true });
      const backup = await this.driver.takeBaseBackup(spec);
      await this.clusters.update(addon.id, { lastBaseBackupAt: backup.finishedAt, updatedAt: this.clock.now() });
      const sealed = await this.readOnly.seal(backend, database.databaseName);
      // A credential made during the copy has no role on the cluster.
      await this.refuseNamedCredentials(addon, plan);
      if (sealed !== opened) {
        throw new ProviderRefusedError(
          `${addon.name} was written to while its data was being copied (a session turned read-only mode off), so it was not moved: it stays on postgresql:${current.name}, writable, with every write. Stop writing to it and change the plan again.`,
        );
      }
    } catch (error) {
      await this.readOnly.release(backend, database.databaseName, connectionLimit).catch(() => undefined);
      throw error;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Followers would lose their primary, and clusters still being made from it their source. */
  private async refuseDependents(addon: Addon, plan: Plan): Promise<void> {
    const dependents = (await this.clusters.listDependents(addon.id)).filter((c) => c.following || !c.lastBaseBackupAt);
    if (dependents.length === 0) return;
    const names = await Promise.all(dependents.map(async (c) => (await this.store.addons.findById(c.addonId))?.name ?? c.addonId));
    throw new ProviderRefusedError(
      `${addon.name} has followers or forks still being made (${names.sort().join(', ')}); unfollow or destroy them before moving it to postgresql:${plan.name}.`,
    );
  }

  /**
   * Attache's superuser on the cluster, over its socket (the local driver's layout): the move back
   * to a shared plan dumps as it and holds the window with it, as it does on the shared clusters.
   */
  private superuserOf(cluster: DedicatedCluster): BackendConnection {
    return {
      id: cluster.key,
      name: cluster.key,
      host: join(this.options.rootDir, cluster.key, 'socket'),
      port: cluster.port!,
      user: 'postgres',
      password: '',
      maintenanceDatabase: 'postgres',
    };
  }

  private async refuseNamedCredentials(addon: Addon, plan: Plan): Promise<void> {
    const named = (await this.store.postgres.credentials.listAll(addon.id)).filter((c) => c.state === 'active' && c.name !== 'default');
    if (named.length > 0) throw new ProviderRefusedError(`${addon.name} has named credentials (${named.map((c) => c.name).join(', ')}); destroy them before moving to postgresql:${plan.name}.`);
  }

  private async backendOf(database: PostgresDatabase): Promise<BackendConnection> {
    const backend = await this.store.postgres.backends.findById(database.backendId);
    if (!backend) throw new ProviderUnavailableError(`PostgreSQL backend ${database.backendId} is not registered.`);
    return openBackend(backend, this.box);
  }
}
