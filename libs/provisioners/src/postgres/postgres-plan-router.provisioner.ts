import { Injectable } from '@nestjs/common';
import {
  Addon,
  AddonService,
  DedicatedClusterRepository,
  DeprovisionOutcome,
  Plan,
  PlanChangeOutcome,
  ProviderRefusedError,
  ProvisionOutcome,
  ProvisionRequest,
  Provisioner,
  Store,
  isDedicatedPlan,
} from '@app/domain';
import { DedicatedPostgresProvisioner } from './dedicated-postgres.provisioner';
import { PostgresProvisioner } from './postgres.provisioner';

/** `postgres` services: shared plans on the shared clusters, dedicated plans on clusters of their own. */
@Injectable()
export class PostgresPlanRouter extends Provisioner {
  constructor(
    private readonly shared: PostgresProvisioner,
    private readonly dedicated: DedicatedPostgresProvisioner,
    private readonly clusters: DedicatedClusterRepository,
    private readonly store: Store,
  ) {
    super();
  }

  provision(request: ProvisionRequest): Promise<ProvisionOutcome> {
    return isDedicatedPlan(request.plan.name) ? this.dedicated.provision(request) : this.shared.provision(request);
  }

  async changePlan(request: { addon: Addon; service: AddonService; plan: Plan }): Promise<PlanChangeOutcome> {
    // The plan the add-on is on decides, not the records: a move that failed half-way leaves a cluster behind a shared add-on.
    const current = await this.store.plans.findById(request.addon.planId);
    const fromDedicated = current !== null && isDedicatedPlan(current.name);
    const toDedicated = isDedicatedPlan(request.plan.name);
    // The shared database stays, closed, until the add-on's switch to the cluster has committed.
    if (!fromDedicated && toDedicated) return this.dedicated.moveFromShared(request);
    if (fromDedicated) {
      await this.dropMovedFrom(request);
      if (!toDedicated) {
        throw new ProviderRefusedError(`Changing ${request.addon.name} from a dedicated plan to the shared postgresql:${request.plan.name} is not available; create a shared add-on and restore a backup of this one into it instead.`);
      }
      return this.dedicated.changePlan(request);
    }
    await this.dedicated.releaseShared(request.addon);
    return this.shared.changePlan(request);
  }

  /**
   * The shared database a move copied from, once the add-on is on its dedicated plan (the switch,
   * with every app's new URL, has committed) and the cluster holding the copy is active.
   */
  private async dropMovedFrom(request: { addon: Addon; service: AddonService }): Promise<void> {
    const [database, cluster] = await Promise.all([this.store.postgres.databases.findByAddon(request.addon.id), this.clusters.findByAddon(request.addon.id)]);
    if (!database || database.state !== 'active' || !cluster || cluster.state !== 'active' || !cluster.lastBaseBackupAt) return;
    await this.shared.deprovision(request);
  }

  async deprovision(request: { addon: Addon; service: AddonService }): Promise<DeprovisionOutcome> {
    const [cluster, database] = await Promise.all([this.clusters.findByAddon(request.addon.id), this.store.postgres.databases.findByAddon(request.addon.id)]);
    if (cluster) await this.dedicated.deprovision(request);
    // A shared database too: never moved, or left by a move that failed.
    if (!cluster || (database && database.state === 'active')) return this.shared.deprovision(request);
    return { kind: 'deprovisioned' };
  }
}
