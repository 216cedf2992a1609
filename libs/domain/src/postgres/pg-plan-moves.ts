import { Addon, AddonService, Plan } from '../shared/models';
import { Store } from '../shared/store.port';
import { isDedicatedPlan } from './pg-dedicated-plans';

/**
 * Where a PostgreSQL add-on stands in a move from a shared plan to a dedicated one (a cluster of
 * its own, filled by dump and restore). `copying`: the add-on is still on its shared plan, the
 * dedicated one pending. `switched`: the add-on is on the dedicated plan and its apps have the
 * cluster's URL, but the change stays pending until the shared database is dropped. Null: no move.
 */
export type PgMoveStage = 'copying' | 'switched' | null;

/** A change from `from` to `to` moves the add-on off a shared PostgreSQL plan onto a dedicated one. */
export const isPgMove = (service: Pick<AddonService, 'provider'>, from: Pick<Plan, 'name'> | null, to: Pick<Plan, 'name'> | null): boolean =>
  service.provider === 'postgres' && from !== null && to !== null && !isDedicatedPlan(from.name) && isDedicatedPlan(to.name);

export async function pgMoveStage(store: Store, service: Pick<AddonService, 'provider'>, addon: Addon): Promise<PgMoveStage> {
  if (service.provider !== 'postgres' || !addon.pendingPlanId) return null;
  const [current, pending] = await Promise.all([store.plans.findById(addon.planId), store.plans.findById(addon.pendingPlanId)]);
  if (isPgMove(service, current, pending)) return 'copying';
  if (addon.pendingPlanId !== addon.planId || !current || !isDedicatedPlan(current.name)) return null;
  const database = await store.postgres.databases.findByAddon(addon.id);
  return database?.state === 'active' ? 'switched' : null;
}
