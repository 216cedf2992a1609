import { Addon, AddonService, Plan } from '../shared/models';
import { PlanChangeOutcome, Provisioner, ProvisionerRegistry } from '../shared/ports';
import { Store } from '../shared/store.port';
import { DedicatedCluster } from './pg-dedicated.models';
import { DedicatedClusterRepository } from './pg-dedicated.repository';
import { PgMoveLeftovers } from './pg-move-leftovers';

const plans: Record<string, Pick<Plan, 'id' | 'name'>> = {
  essential: { id: 'p-essential', name: 'essential-0' },
  standard: { id: 'p-standard', name: 'standard-0' },
};

/** Add-ons that each still have a running cluster, and the plan changes the sweep asks for. */
function setUp(addons: Pick<Addon, 'id' | 'state' | 'planId' | 'pendingPlanId'>[], failing: string[] = []) {
  const asked: { addonId: string; plan: string }[] = [];
  const store = {
    addons: { findById: async (id: string) => ({ serviceId: 's-pg', ...addons.find((a) => a.id === id)! }) },
    plans: { findById: async (id: string) => Object.values(plans).find((p) => p.id === id) ?? null },
    services: { findById: async () => ({ id: 's-pg', provider: 'postgres' }) },
  } as unknown as Store;
  const clusters = { listActive: async () => addons.map((a) => ({ addonId: a.id }) as DedicatedCluster) } as unknown as DedicatedClusterRepository;
  const provisioner = {
    changePlan: async (request: { addon: Addon; service: AddonService; plan: Plan }): Promise<PlanChangeOutcome> => {
      if (failing.includes(request.addon.id)) throw new Error('the shared cluster is restarting');
      asked.push({ addonId: request.addon.id, plan: request.plan.name });
      return { kind: 'changed', config: null, message: null };
    },
  } as unknown as Provisioner;
  const registry: ProvisionerRegistry = { forService: () => provisioner, prefetch: async () => undefined, prepare: () => undefined };
  return { sweep: new PgMoveLeftovers(store, clusters, registry), asked };
}

describe('PgMoveLeftovers', () => {
  it('settles add-ons left on their shared plan with a running cluster, and only those', async () => {
    const { sweep, asked } = setUp([
      { id: 'gave-up', state: 'provisioned', planId: plans.essential.id, pendingPlanId: null },
      { id: 'moving', state: 'provisioned', planId: plans.essential.id, pendingPlanId: plans.standard.id },
      { id: 'moved', state: 'provisioned', planId: plans.standard.id, pendingPlanId: null },
      { id: 'destroying', state: 'deprovisioning', planId: plans.essential.id, pendingPlanId: null },
    ]);
    expect(await sweep.run()).toEqual({ settled: 1, failed: 0 });
    expect(asked).toEqual([{ addonId: 'gave-up', plan: 'essential-0' }]);
  });

  it('counts a provider that fails and goes on with the others', async () => {
    const { sweep, asked } = setUp(
      [
        { id: 'a', state: 'provisioned', planId: plans.essential.id, pendingPlanId: null },
        { id: 'b', state: 'provisioned', planId: plans.essential.id, pendingPlanId: null },
      ],
      ['a'],
    );
    expect(await sweep.run()).toEqual({ settled: 1, failed: 1 });
    expect(asked).toEqual([{ addonId: 'b', plan: 'essential-0' }]);
  });
});
