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
  ) {
    super();
  }

  provision(request: ProvisionRequest): Promise<ProvisionOutcome> {
    return isDedicatedPlan(request.plan.name) ? this.dedicated.provision(request) : this.shared.provision(request);
  }

  async changePlan(request: { addon: Addon; service: AddonService; plan: Plan }): Promise<PlanChangeOutcome> {
    const cluster = await this.clusters.findByAddon(request.addon.id);
    const fromDedicated = cluster !== null && cluster.state === 'active';
    if (fromDedicated !== isDedicatedPlan(request.plan.name)) {
      throw new ProviderRefusedError(`Changing ${request.addon.name} between shared and dedicated plans is not available yet; fork it onto the new plan instead.`);
    }
    return fromDedicated ? this.dedicated.changePlan(request) : this.shared.changePlan(request);
  }

  async deprovision(request: { addon: Addon; service: AddonService }): Promise<DeprovisionOutcome> {
    const cluster = await this.clusters.findByAddon(request.addon.id);
    return cluster ? this.dedicated.deprovision(request) : this.shared.deprovision(request);
  }
}
