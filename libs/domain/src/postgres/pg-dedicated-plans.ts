import { Plan } from '../shared/models';

/** What each dedicated plan gives: its own cluster, with a rollback window. */
export interface DedicatedPlanShape {
  rollbackWindowMs: number;
  connections: number;
  /** A streaming standby that pg_auto_failover promotes when the primary dies. */
  standby?: boolean;
}

const DAY_MS = 24 * 3600_000;

const DEDICATED_PLANS: Record<string, DedicatedPlanShape> = {
  'standard-0': { rollbackWindowMs: 4 * DAY_MS, connections: 120 },
  'standard-1': { rollbackWindowMs: 4 * DAY_MS, connections: 400 },
  'premium-0': { rollbackWindowMs: 7 * DAY_MS, connections: 120, standby: true },
};

export const isDedicatedPlan = (planName: string): boolean => planName in DEDICATED_PLANS;

export function dedicatedPlanShape(plan: Pick<Plan, 'name'>): DedicatedPlanShape {
  const shape = DEDICATED_PLANS[plan.name];
  if (!shape) throw new Error(`postgresql:${plan.name} is not a dedicated plan.`);
  return shape;
}

/** The plan keeps a standby (and a failover monitor). */
export const hasStandby = (planName: string): boolean => DEDICATED_PLANS[planName]?.standby === true;
