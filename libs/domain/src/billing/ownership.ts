import { BillingEntity, sameEntity } from '../teams/teams.models';
import { PlanPeriod } from './metering';

/** An app changing hands (`app.transferred`): the new owner pays from `at` on. */
export interface AppTransfer {
  appId: string;
  at: Date;
  from: BillingEntity;
  to: BillingEntity;
}

/** A stretch of time an entity owned an app; open ends are unbounded. */
export interface OwnershipInterval {
  start: Date | null;
  end: Date | null;
}

const wholeSecond = (at: Date) => new Date(Math.floor(at.getTime() / 1000) * 1000);

/**
 * When `entity` owned the app, from its transfers (oldest first) and its owner now. Before the
 * first transfer, the app was its `from`'s.
 */
export function ownershipIntervals(current: BillingEntity, transfers: AppTransfer[], entity: BillingEntity): OwnershipInterval[] {
  const owners: { owner: BillingEntity; start: Date | null }[] = [{ owner: transfers[0]?.from ?? current, start: null }];
  for (const transfer of transfers) owners.push({ owner: transfer.to, start: wholeSecond(transfer.at) });
  const intervals: OwnershipInterval[] = [];
  owners.forEach(({ owner, start }, i) => {
    if (!sameEntity(owner, entity)) return;
    const end = owners[i + 1]?.start ?? null;
    if (start && end && end <= start) return;
    const last = intervals[intervals.length - 1];
    // Back to the same owner at the same second: one stretch.
    if (last && last.end && start && last.end.getTime() === start.getTime()) last.end = end;
    else intervals.push({ start, end });
  });
  return intervals;
}

/** The parts of the periods inside the intervals. */
export function clipPeriods(periods: PlanPeriod[], intervals: OwnershipInterval[]): PlanPeriod[] {
  const clipped: PlanPeriod[] = [];
  for (const period of periods) {
    for (const interval of intervals) {
      const start = interval.start && interval.start > period.start ? interval.start : period.start;
      const ends = [period.end, interval.end].filter((d): d is Date => d !== null);
      const end = ends.length ? new Date(Math.min(...ends.map((d) => d.getTime()))) : null;
      if (end && end <= start) continue;
      clipped.push({ ...period, start, end });
    }
  }
  return clipped;
}
