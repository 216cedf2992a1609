import { Plan } from '../shared/models';

/** What each Redis plan runs. */
export interface RedisPlanShape {
  maxmemoryBytes: number;
  maxclients: number;
  /** AOF with `appendfsync everysec`. */
  persistence: boolean;
  /** A standby replica and a sentinel that fails over to it. */
  highAvailability: boolean;
}

const MB = 1024 * 1024;

const REDIS_PLANS: Record<string, RedisPlanShape> = {
  mini: { maxmemoryBytes: 25 * MB, maxclients: 20, persistence: false, highAvailability: false },
  'premium-0': { maxmemoryBytes: 50 * MB, maxclients: 40, persistence: true, highAvailability: true },
  'premium-1': { maxmemoryBytes: 100 * MB, maxclients: 80, persistence: true, highAvailability: true },
};

export const isRedisPlan = (planName: string): boolean => planName in REDIS_PLANS;

export function redisPlanShape(plan: Pick<Plan, 'name'>): RedisPlanShape {
  const shape = REDIS_PLANS[plan.name];
  if (!shape) throw new Error(`redis:${plan.name} is not a known plan.`);
  return shape;
}
