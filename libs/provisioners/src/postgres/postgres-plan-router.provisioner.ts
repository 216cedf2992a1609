import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@app/common';
import {
  Addon,
  AddonService,
  DedicatedCluster,
  DedicatedClusterRepository,
  DeprovisionOutcome,
  PgClusterDriver,
  Plan,
  PlanChangeOutcome,
  PostgresDatabase,
  ProviderRefusedError,
  ProvisionHeadStart,
  ProvisionOutcome,
  ProvisionPreparation,
  ProvisionRequest,
  Provisioner,
  Store,
  isDedicatedPlan,
} from '@app/domain';
import { DedicatedPostgresProvisioner } from './dedicated-postgres.provisioner';
import { withMachineLock } from './machine-lock';
import { PostgresProvisioner } from './postgres.provisioner';

/** How often a move looks whether its add-on is being destroyed meanwhile. */
const DESTROY_WATCH_MS = 500;

/** The machine lock a move from a shared plan holds for its whole run, and deprovision and the drop after its switch take too. */
export const pgMoveLockName = (addonId: string): string => `pg-move:${addonId}`;

/**
 * The cluster an add-on moved off to a shared plan, rather than one a move to a dedicated plan made:
 * a move back places its shared database after the cluster was made, a move there the other way.
 */
const movedOffCluster = (cluster: DedicatedCluster, database: PostgresDatabase): boolean => database.createdAt.getTime() > cluster.createdAt.getTime();

/** `postgres` services: shared plans on the shared clusters, dedicated plans on clusters of their own. */
@Injectable()
export class PostgresPlanRouter extends Provisioner {
  private readonly logger = new Logger(PostgresPlanRouter.name);

  constructor(
    private readonly shared: PostgresProvisioner,
    private readonly dedicated: DedicatedPostgresProvisioner,
    private readonly clusters: DedicatedClusterRepository,
    private readonly store: Store,
    private readonly driver: PgClusterDriver,
    private readonly clock: Clock,
  ) {
    super();
  }

  provision(request: ProvisionRequest): Promise<ProvisionOutcome> {
    return isDedicatedPlan(request.plan.name) ? this.dedicated.provision(request) : this.shared.provision(request);
  }

  /** Head starts come only with shared plans. */
  prepare(headStart: ProvisionHeadStart): ProvisionPreparation | undefined {
    return this.shared.prepare(headStart);
  }

  async changePlan(request: { addon: Addon; service: AddonService; plan: Plan }): Promise<PlanChangeOutcome> {
    // The plan the add-on is on decides, not the records: a move that failed half-way leaves a cluster behind a shared add-on.
    const current = await this.store.plans.findById(request.addon.planId);
    const fromDedicated = current !== null && isDedicatedPlan(current.name);
    const toDedicated = isDedicatedPlan(request.plan.name);
    // The database moved off stays, closed, until the add-on's switch to its new home has committed.
    if (!fromDedicated && toDedicated) return this.move(request);
    if (fromDedicated && !toDedicated) return this.moveBack(request);
    if (fromDedicated) {
      await withMachineLock(pgMoveLockName(request.addon.id), () => this.dropMovedFrom(request));
      return this.dedicated.changePlan(request);
    }
    await this.dedicated.releaseShared(request.addon);
    await withMachineLock(pgMoveLockName(request.addon.id), () => this.discardMoveCluster(request.addon, request.service));
    return this.shared.changePlan(request);
  }

  /**
   * The cluster behind an add-on on a shared plan, which the add-on's changes run here once more.
   * One a move to a dedicated plan made and gave up for good (refused, or its last attempt failed)
   * is stopped and deleted with its archive and record, so no idle cluster is left behind the
   * shared database and a later move starts afresh. One the add-on moved off to a shared plan (it
   * is older than the add-on's shared database) is removed as a destroy removes it: its archive
   * is kept for the retention. Not while a move to a dedicated plan is pending (it reuses the
   * cluster) nor once the add-on is being destroyed (its deprovision removes the cluster).
   */
  private async discardMoveCluster(addon: Addon, service: AddonService): Promise<void> {
    const [current, cluster, database] = await Promise.all([
      this.store.addons.findById(addon.id),
      this.clusters.findByAddon(addon.id),
      this.store.postgres.databases.findByAddon(addon.id),
    ]);
    if (!current || current.state !== 'provisioned' || !cluster || cluster.state === 'removed') return;
    const [plan, pending] = await Promise.all([this.store.plans.findById(current.planId), current.pendingPlanId ? this.store.plans.findById(current.pendingPlanId) : null]);
    if (!plan || isDedicatedPlan(plan.name) || (pending && isDedicatedPlan(pending.name))) return;
    if (database && movedOffCluster(cluster, database)) await this.dedicated.deprovision({ addon: current, service });
    else await this.discard(cluster);
  }

  /** Each step is idempotent and the record goes last, so a retry after a crash finishes the rest. */
  private async discard(cluster: DedicatedCluster): Promise<void> {
    if (cluster.state === 'active' && cluster.port !== null) await this.driver.remove({ key: cluster.key, port: cluster.port });
    // Nothing to keep: the cluster never held the add-on's data but a copy of it.
    await this.driver.purgeArchive(cluster.key);
    const now = this.clock.now();
    await this.clusters.update(cluster.addonId, { state: 'purged', port: null, removedAt: cluster.removedAt ?? now, archiveKeepUntil: null, updatedAt: now });
    await this.clusters.forget(cluster.addonId);
  }

  /**
   * The shared database a move copied from, once the add-on is on its dedicated plan (the switch,
   * with every app's new URL, has committed) and the cluster holding the copy is active.
   */
  private async dropMovedFrom(request: { addon: Addon; service: AddonService; plan: Plan }): Promise<void> {
    const [database, cluster] = await Promise.all([this.store.postgres.databases.findByAddon(request.addon.id), this.clusters.findByAddon(request.addon.id)]);
    if (!database || database.state !== 'active' || !cluster || cluster.state !== 'active' || !cluster.lastBaseBackupAt) return;
    if (!movedOffCluster(cluster, database)) {
      await this.shared.deprovision(request);
      return;
    }
    // A move back to a shared plan that gave up: the cluster keeps the data and is opened again first, then its copy goes.
    await this.dedicated.releaseCluster(request.addon, request.plan);
    await this.shared.dropMoveTenant(request.addon);
  }

  /**
   * A move back to a shared plan, under the same move lock as a move to a dedicated plan (see
   * `move`): a destroy meanwhile waits for it, then removes the cluster and the shared tenant.
   */
  private moveBack(request: { addon: Addon; service: AddonService; plan: Plan }): Promise<PlanChangeOutcome> {
    return withMachineLock(pgMoveLockName(request.addon.id), async () => {
      if (await this.destroying(request.addon.id)) throw new ProviderRefusedError(`${request.addon.name} is being destroyed; it was not moved.`);
      return this.dedicated.moveToShared(request, this.shared);
    });
  }

  /** Not while a move runs (see `move`): what it records by its end is removed too. */
  async deprovision(request: { addon: Addon; service: AddonService }): Promise<DeprovisionOutcome> {
    return withMachineLock(pgMoveLockName(request.addon.id), async () => {
      const [cluster, database] = await Promise.all([this.clusters.findByAddon(request.addon.id), this.store.postgres.databases.findByAddon(request.addon.id)]);
      if (cluster) await this.dedicated.deprovision(request);
      // A shared database too: never moved, or left by a move that failed.
      if (!cluster || (database && database.state === 'active')) return this.shared.deprovision(request);
      return { kind: 'deprovisioned' };
    });
  }

  /**
   * A move from a shared plan runs holding its add-on's move lock, which deprovision takes too, so
   * a destroy cannot orphan the move's cluster: its deprovision runs either before the move, which
   * then makes nothing, or after it, when the cluster is recorded and so removed with the rest.
   * The kernel frees the lock of a worker that dies. A destroy during the move does not wait for
   * the copy to end: the move watches its add-on and removes its cluster at once, which cuts the
   * copy short (and releases the shared database, dropped next by the deprovision).
   */
  private move(request: { addon: Addon; service: AddonService; plan: Plan }): Promise<PlanChangeOutcome> {
    return withMachineLock(pgMoveLockName(request.addon.id), async () => {
      if (await this.destroying(request.addon.id)) throw new ProviderRefusedError(`${request.addon.name} is being destroyed; it was not moved.`);
      // A discard of an earlier move's cluster that a crash cut short is finished first: this move makes its own.
      const left = await this.clusters.findByAddon(request.addon.id);
      if (left && left.state !== 'active') await this.discard(left);
      const watch = this.removeOnDestroy(request);
      try {
        return await this.dedicated.moveFromShared(request);
      } finally {
        await watch.stop();
      }
    });
  }

  /** Until stopped, removes the add-on's dedicated cluster once the add-on is being destroyed. */
  private removeOnDestroy(request: { addon: Addon; service: AddonService }): { stop: () => Promise<void> } {
    let stopped = false;
    let check = Promise.resolve();
    const timer = setInterval(() => {
      check = check
        .then(async () => {
          if (!stopped && (await this.destroying(request.addon.id))) await this.dedicated.deprovision(request);
        })
        .catch((error: Error) => this.logger.warn({ addonId: request.addon.id, err: error.message }, 'the cluster of a move whose add-on is being destroyed could not be removed yet'));
    }, DESTROY_WATCH_MS);
    return {
      stop: async () => {
        stopped = true;
        clearInterval(timer);
        await check;
      },
    };
  }

  private async destroying(addonId: string): Promise<boolean> {
    const addon = await this.store.addons.findById(addonId);
    return !addon || addon.state !== 'provisioned';
  }
}
