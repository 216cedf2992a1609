import { Plan } from '../shared/models';

/** What each shared ("essential") plan allows. */
export interface EssentialLimits {
  connections: number;
  storageGb: number;
}

const ESSENTIAL_LIMITS: Record<string, EssentialLimits> = {
  'essential-0': { connections: 20, storageGb: 1 },
  'essential-1': { connections: 20, storageGb: 10 },
  'essential-2': { connections: 40, storageGb: 32 },
};

export const isEssentialPlan = (planName: string): boolean => planName in ESSENTIAL_LIMITS;

export function essentialLimits(plan: Pick<Plan, 'name'>): EssentialLimits {
  const limits = ESSENTIAL_LIMITS[plan.name];
  if (!limits) throw new Error(`postgresql:${plan.name} is not a shared plan.`);
  return limits;
}

/** The storage limit in bytes, scaled (tests run with limits in megabytes). */
export const storageLimitBytes = (plan: Pick<Plan, 'name'>, scale: number): number =>
  Math.round(essentialLimits(plan).storageGb * 1024 ** 3 * scale);

/** `12.3 MB`: binary units, as PostgreSQL's pg_size_pretty prints them. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
