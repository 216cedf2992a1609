import { LifecycleEvent, LifecycleEventType, PlanMeter } from '../shared/models';

/**
 * Time-based metering (DESIGN §6): an add-on accrues from its provisioning request to its
 * deprovisioning request, per second, at the monthly price of the plan it is on, prorated over the
 * seconds of the calendar month (UTC). Everything here is pure: periods come from the add-on's
 * lifecycle events, amounts from periods.
 *
 * Rounding rule: one line per add-on, plan, price and month; its seconds are summed first, then
 * `price × seconds ÷ seconds in the month` is rounded half up to a whole cent, and capped at the
 * monthly price. Splitting a period therefore never changes an amount.
 */

/** A stretch of time an add-on spent on one plan at one price; `end` null while it lasts. */
export interface PlanPeriod {
  planId: string;
  priceCents: number;
  /** The plan's meters when the period began (frozen like the price); absent in older logs. */
  meters?: PlanMeter[];
  /** Whole seconds (UTC), as the meter counts them. */
  start: Date;
  end: Date | null;
}

export interface TimeChargeLine {
  planId: string;
  priceCents: number;
  seconds: number;
  cents: number;
}

/** `YYYY-MM` (UTC). */
export type BillingMonth = string;

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function isBillingMonth(value: string): value is BillingMonth {
  return MONTH.test(value);
}

/** The month's first instant and the next month's, UTC. */
export function monthBounds(month: BillingMonth): { start: Date; end: Date } {
  const match = MONTH.exec(month);
  if (!match) throw new Error(`Not a month: ${month}`);
  const [year, index] = [Number(match[1]), Number(match[2]) - 1];
  return { start: new Date(Date.UTC(year, index, 1)), end: new Date(Date.UTC(year, index + 1, 1)) };
}

export function monthOf(at: Date): BillingMonth {
  return `${at.getUTCFullYear()}-${String(at.getUTCMonth() + 1).padStart(2, '0')}`;
}

export function secondsInMonth(month: BillingMonth): number {
  const { start, end } = monthBounds(month);
  return (end.getTime() - start.getTime()) / 1000;
}

const wholeSecond = (at: Date) => new Date(Math.floor(at.getTime() / 1000) * 1000);

/**
 * The plan periods an add-on's events describe, oldest first. A failed provision costs nothing;
 * a plan change starts a new period when it takes effect (`addon.plan_changed`, with the price
 * the add-on is billed from then on); the deprovisioning request ends the last one.
 */
export function planPeriods(events: Pick<LifecycleEvent, 'type' | 'occurredAt' | 'data'>[]): PlanPeriod[] {
  // A failed provision costs nothing, whatever else its log holds.
  if (events.some((e) => e.type === 'addon.provision_failed')) return [];
  const periods: PlanPeriod[] = [];
  let open: PlanPeriod | null = null;
  const close = (at: Date) => {
    if (!open) return;
    open.end = wholeSecond(at) < open.start ? open.start : wholeSecond(at);
    periods.push(open);
    open = null;
  };
  for (const event of events) {
    switch (event.type) {
      case 'addon.provision_requested':
        if (open || periods.length) break;
        open = { planId: String(event.data.plan_id), priceCents: Number(event.data.price_cents), ...frozenMeters(event.data), start: wholeSecond(event.occurredAt), end: null };
        break;
      case 'addon.plan_changed':
        if (!open) break;
        close(event.occurredAt);
        open = { planId: String(event.data.to_plan_id), priceCents: Number(event.data.price_cents), ...frozenMeters(event.data), start: periods[periods.length - 1].end!, end: null };
        break;
      case 'addon.deprovision_requested':
        close(event.occurredAt);
        return periods.filter((p) => p.end!.getTime() > p.start.getTime());
    }
  }
  if (open) periods.push(open);
  return periods.filter((p) => p.end === null || p.end.getTime() > p.start.getTime());
}

const frozenMeters = (data: Record<string, unknown>): { meters?: PlanMeter[] } => (Array.isArray(data.meters) ? { meters: data.meters as PlanMeter[] } : {});

/** `price × seconds ÷ monthSeconds`, rounded half up to a cent, never above the price. Exact (integer arithmetic). */
export function prorate(priceCents: number, seconds: number, monthSeconds: number): number {
  if (seconds <= 0 || priceCents <= 0) return 0;
  const p = BigInt(priceCents);
  const s = BigInt(seconds);
  const m = BigInt(monthSeconds);
  const rounded = (2n * p * s + m) / (2n * m);
  return Number(rounded < p ? rounded : p);
}

/**
 * The time lines of a month: per plan and price, the seconds of the periods inside the month (an
 * open period runs to `until`, or to the month's end) and their amount. Lines without seconds are
 * left out.
 */
export function timeChargeLines(periods: PlanPeriod[], month: BillingMonth, until?: Date): TimeChargeLine[] {
  const bounds = monthBounds(month);
  const cutoff = until && until < bounds.end ? wholeSecond(until) : bounds.end;
  const monthSeconds = secondsInMonth(month);
  const lines = new Map<string, TimeChargeLine>();
  for (const period of periods) {
    const start = Math.max(period.start.getTime(), bounds.start.getTime());
    const end = Math.min((period.end ?? cutoff).getTime(), cutoff.getTime());
    if (end <= start) continue;
    const key = `${period.planId}\0${period.priceCents}`;
    const line = lines.get(key) ?? { planId: period.planId, priceCents: period.priceCents, seconds: 0, cents: 0 };
    line.seconds += (end - start) / 1000;
    lines.set(key, line);
  }
  return [...lines.values()].map((line) => ({ ...line, seconds: Math.min(line.seconds, monthSeconds), cents: prorate(line.priceCents, line.seconds, monthSeconds) }));
}

/**
 * The time lines of the part of an add-on's month that one owner had (`owned`, cut from `all` by
 * ownership). Each share is priced by where it falls in the add-on's time on that plan and price
 * (`prorate` at its last second minus `prorate` at its first), so the owners' shares of a month
 * add up to exactly what the whole month costs: never a cent more than the cap, never a cent lost.
 */
export function ownedTimeChargeLines(all: PlanPeriod[], owned: PlanPeriod[], month: BillingMonth, until?: Date): TimeChargeLine[] {
  const bounds = monthBounds(month);
  const cutoff = (until && until < bounds.end ? wholeSecond(until) : bounds.end).getTime();
  const monthSeconds = secondsInMonth(month);
  const inMonth = (p: PlanPeriod) => ({
    start: Math.max(p.start.getTime(), bounds.start.getTime()),
    end: Math.min((p.end ?? new Date(cutoff)).getTime(), cutoff),
  });
  const key = (p: PlanPeriod) => `${p.planId}\0${p.priceCents}`;
  const lines = new Map<string, TimeChargeLine>();
  for (const part of owned) {
    const { start, end } = inMonth(part);
    if (end <= start) continue;
    // Seconds on this plan and price in the month before instant t.
    const before = (t: number) =>
      all
        .filter((p) => key(p) === key(part))
        .map(inMonth)
        .reduce((sum, p) => sum + Math.max(0, Math.min(p.end, t) - p.start) / 1000, 0);
    const line = lines.get(key(part)) ?? { planId: part.planId, priceCents: part.priceCents, seconds: 0, cents: 0 };
    line.seconds += (end - start) / 1000;
    line.cents += prorate(part.priceCents, before(end), monthSeconds) - prorate(part.priceCents, before(start), monthSeconds);
    lines.set(key(part), line);
  }
  return [...lines.values()];
}

/** The events the meter reads (DESIGN §6): nothing else changes what an add-on costs. */
export const METERED_EVENTS: LifecycleEventType[] = ['addon.provision_requested', 'addon.provision_failed', 'addon.plan_changed', 'addon.deprovision_requested'];

export const previousMonth = (month: BillingMonth): BillingMonth => monthOf(new Date(monthBounds(month).start.getTime() - 1));
