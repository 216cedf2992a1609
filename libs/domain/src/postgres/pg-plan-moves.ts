import { ConflictError, RangeSpec } from '@app/common';
import { Addon, AddonService, Plan } from '../shared/models';
import { Store } from '../shared/store.port';
import { isDedicatedPlan } from './pg-dedicated-plans';

/**
 * Where a PostgreSQL add-on stands in a move between a shared plan and a dedicated one (the data
 * copied by dump and restore). `copying`: the add-on is still on the plan it moves off, the other
 * one pending. `switched` (a move to a dedicated plan only): the add-on is on the dedicated plan
 * and its apps have the cluster's URL, but the change stays pending until the shared database is
 * dropped. A move back to a shared plan has no such stage its apps could notice: the cluster it
 * leaves is removed by the change's second run, or by the add-on's next change. Null: no move.
 */
export type PgMoveStage = 'copying' | 'switched' | null;

/** A change from `from` to `to` moves the add-on's data between a shared PostgreSQL plan and a dedicated one, either way. */
export const isPgMove = (service: Pick<AddonService, 'provider'>, from: Pick<Plan, 'name'> | null, to: Pick<Plan, 'name'> | null): boolean =>
  service.provider === 'postgres' && from !== null && to !== null && isDedicatedPlan(from.name) !== isDedicatedPlan(to.name);

export async function pgMoveStage(store: Store, service: Pick<AddonService, 'provider'>, addon: Addon): Promise<PgMoveStage> {
  if (service.provider !== 'postgres' || !addon.pendingPlanId) return null;
  const [current, pending] = await Promise.all([store.plans.findById(addon.planId), store.plans.findById(addon.pendingPlanId)]);
  if (isPgMove(service, current, pending)) return 'copying';
  if (addon.pendingPlanId !== addon.planId || !current || !isDedicatedPlan(current.name)) return null;
  const database = await store.postgres.databases.findByAddon(addon.id);
  return database?.state === 'active' ? 'switched' : null;
}

/**
 * Refuses a change to the shared database while a move is under way: its copy is checked only
 * against the tenant's writes made before the seal, and whatever reaches it after the switch is
 * dropped with it (a rotated password would even send the apps back to it). `what` ends the
 * sentence: "its credentials can change", "it can be restored into".
 */
export async function refuseDuringPgMove(store: Store, service: Pick<AddonService, 'provider' | 'slug'>, addon: Addon, what: string): Promise<void> {
  if ((await pgMoveStage(store, service, addon)) === null) return;
  const target = (await store.plans.findById(addon.pendingPlanId!))!;
  throw new ConflictError('plan_change_in_progress', `${addon.name} is moving to ${service.slug}:${target.name}; ${what} once the move has finished.`);
}

/** Restores listed when looking for one still under way: the newest, since unfinished ones are given up after hours. */
const RECENT_RESTORES: RangeSpec = { field: 'created_at', startExclusive: false, endExclusive: false, max: 1000, order: 'desc' };

/**
 * Refuses a move while a change made on the shared database is still under way: a credential
 * being created, rotated or dropped (finished with the add-on unlocked, so it could land during
 * the copy), or a restore, which writes as Attache's superuser and could do so after the seal.
 */
export async function refusePgMoveWhileBusy(store: Store, service: Pick<AddonService, 'slug'>, addon: Addon, plan: Pick<Plan, 'name'>): Promise<void> {
  const target = `${service.slug}:${plan.name}`;
  const credentials = (await store.postgres.credentials.listAll(addon.id)).filter(
    (c) => (c.state === 'active' && c.pendingPasswordSealed !== null) || (c.state === 'destroyed' && c.roleDroppedAt === null),
  );
  if (credentials.length > 0) {
    throw new ConflictError(
      'credential_change_in_progress',
      `${addon.name} has a credential change under way (${credentials.map((c) => c.name).join(', ')}); move it to ${target} once that has finished.`,
    );
  }
  const restores = (await store.postgres.restores.listForAddon(addon.id, RECENT_RESTORES)).items.filter((r) => r.state === 'pending' || r.state === 'running');
  if (restores.length > 0) {
    throw new ConflictError('restore_in_progress', `${addon.name} is being restored from a backup; move it to ${target} once the restore has finished.`);
  }
}
