import { Injectable, Logger } from '@nestjs/common';
import { ProvisionerRegistry } from '../shared/ports';
import { Store } from '../shared/store.port';
import { isDedicatedPlan } from './pg-dedicated-plans';
import { DedicatedClusterRepository } from './pg-dedicated.repository';

/**
 * What a move to a dedicated plan that gave up can leave behind: after recording its failure, the
 * move asks its provider once to open the shared database again and remove the cluster it made;
 * if that fails (the shared cluster restarting, the worker dying), the database would stay closed
 * or read-only and the cluster idle for good. Each run finds add-ons on a shared plan, with no
 * change pending, that still have a running cluster, and asks their provider for a change to the
 * plan they are on, which does both (and nothing else: every step is idempotent).
 */
@Injectable()
export class PgMoveLeftovers {
  private readonly logger = new Logger(PgMoveLeftovers.name);

  constructor(
    private readonly store: Store,
    private readonly clusters: DedicatedClusterRepository,
    private readonly provisioners: ProvisionerRegistry,
  ) {}

  async run(): Promise<{ settled: number; failed: number }> {
    const result = { settled: 0, failed: 0 };
    for (const cluster of await this.clusters.listActive()) {
      const addon = await this.store.addons.findById(cluster.addonId);
      if (!addon || addon.state !== 'provisioned' || addon.pendingPlanId) continue;
      const plan = await this.store.plans.findById(addon.planId);
      if (!plan || isDedicatedPlan(plan.name)) continue;
      const service = (await this.store.services.findById(addon.serviceId))!;
      try {
        await this.provisioners.forService(service).changePlan({ addon, service, plan });
        result.settled++;
      } catch (error) {
        result.failed++;
        this.logger.warn({ addonId: addon.id, err: (error as Error).message }, 'the shared database and cluster of a move that gave up are not settled yet');
      }
    }
    return result;
  }
}
