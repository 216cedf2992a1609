import { Addon, AddonService, App, LifecycleEvent, Plan, PlanMeter } from '../shared/models';
import { InvoiceLine, InvoiceLineKind, InvoicedQuantity } from './invoices';
import { meteredAdjustmentCents, meteredCents } from './metered';
import { BillingMonth, PlanPeriod, monthBounds, ownedTimeChargeLines, planPeriods } from './metering';
import { OwnershipInterval, clipPeriods } from './ownership';
import { UsageSum } from './usage-records';

/** Everything one billing entity's invoice for a month is made of, read in bulk beforehand. */
export interface InvoiceInputs {
  month: BillingMonth;
  /** The month before, whose late vendor usage lands on this invoice as adjustments. */
  previousMonth: BillingMonth;
  /** For a bill of the month so far: open plan periods end here (and no adjustments). */
  until?: Date;
  apps: Map<string, App>;
  /** When the entity owned each app. */
  intervals: Map<string, OwnershipInterval[]>;
  addons: Addon[];
  events: Map<string, Pick<LifecycleEvent, 'type' | 'occurredAt' | 'data'>[]>;
  plans: Map<string, Plan>;
  services: Map<string, AddonService>;
  /** Vendor usage of the add-ons in both months, received before the invoice's cutoff. */
  usage: UsageSum[];
  /** What earlier invoices already hold of the previous month's usage. */
  invoiced: InvoicedQuantity[];
}

const KIND_ORDER: Record<InvoiceLineKind, number> = { time: 0, metered: 1, adjustment: 2 };

/**
 * The invoice lines of one billing entity for a month (DESIGN §6):
 * - time on each plan, per add-on, for the seconds the entity owned the add-on's app;
 * - the month's vendor usage per add-on and meter: units above the meter's monthly allowance at
 *   its price, billed to whoever owned the add-on's app at the end of the add-on's month and
 *   priced by the plan it ended the month on;
 * - adjustments: usage of the previous month reported after its invoice, priced as the difference
 *   between the month's amount with it and the amount invoiced.
 * Lines are ordered by app, add-on, kind, plan and dimension; amounts are integer cents.
 */
export function buildInvoiceLines(inputs: InvoiceInputs): InvoiceLine[] {
  const { month, previousMonth } = inputs;
  const lines: Omit<InvoiceLine, 'position'>[] = [];
  const invoiced = new Map(inputs.invoiced.map((q) => [`${q.addonId}\0${q.dimension}`, q.quantity]));
  const usage = new Map<string, UsageSum[]>();
  for (const sum of inputs.usage) usage.set(sum.addonId, [...(usage.get(sum.addonId) ?? []), sum]);

  for (const addon of inputs.addons) {
    const app = inputs.apps.get(addon.appId);
    const intervals = inputs.intervals.get(addon.appId) ?? [];
    if (!app || !intervals.length) continue;
    const periods = planPeriods(inputs.events.get(addon.id) ?? []);
    const base = (plan: Plan, usageMonth: BillingMonth) => ({
      addonId: addon.id,
      addonName: addon.name,
      appId: app.id,
      appName: app.name,
      serviceId: plan.serviceId,
      planId: plan.id,
      planName: planName(plan, inputs.services),
      usageMonth,
    });

    const owned = clipPeriods(periods, intervals);
    for (const line of ownedTimeChargeLines(periods, owned, month, inputs.until)) {
      const plan = inputs.plans.get(line.planId);
      if (!plan) continue;
      const span = spanIn(owned.filter((p) => p.planId === line.planId && p.priceCents === line.priceCents), month, inputs.until);
      lines.push({
        ...base(plan, month),
        kind: 'time',
        periodStart: span.start,
        periodEnd: span.end,
        seconds: line.seconds,
        dimension: null,
        quantity: null,
        unitPriceCents: line.priceCents,
        cents: line.cents,
      });
    }

    for (const sum of usage.get(addon.id) ?? []) {
      if (sum.month !== month && (sum.month !== previousMonth || inputs.until)) continue;
      const ending = lastMoment(periods, sum.month);
      if (!ending || !owns(intervals, ending.at)) continue;
      const priced = meterFor(periods, sum.month, sum.dimension, inputs.plans);
      if (!priced) continue;
      const { plan, meter } = priced;
      const span = monthBounds(sum.month);
      if (sum.month === month) {
        lines.push({
          ...base(plan, month),
          kind: 'metered',
          periodStart: span.start,
          periodEnd: span.end,
          seconds: null,
          dimension: sum.dimension,
          quantity: sum.quantity,
          unitPriceCents: meter.cents_per_unit,
          cents: meteredCents(sum.quantity, meter),
        });
      } else {
        const before = invoiced.get(`${addon.id}\0${sum.dimension}`) ?? 0n;
        if (sum.quantity <= before) continue;
        lines.push({
          ...base(plan, sum.month),
          kind: 'adjustment',
          periodStart: span.start,
          periodEnd: span.end,
          seconds: null,
          dimension: sum.dimension,
          quantity: sum.quantity - before,
          unitPriceCents: meter.cents_per_unit,
          cents: meteredAdjustmentCents(before, sum.quantity, meter),
        });
      }
    }
  }

  return lines
    .sort(
      (a, b) =>
        a.appName.localeCompare(b.appName) ||
        a.addonName.localeCompare(b.addonName) ||
        KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
        a.usageMonth.localeCompare(b.usageMonth) ||
        a.planName.localeCompare(b.planName) ||
        (a.dimension ?? '').localeCompare(b.dimension ?? '') ||
        (a.periodStart?.getTime() ?? 0) - (b.periodStart?.getTime() ?? 0),
    )
    .map((line, i) => ({ ...line, position: i + 1 }));
}

function planName(plan: Plan, services: Map<string, AddonService>): string {
  const service = services.get(plan.serviceId);
  return service ? `${service.slug}:${plan.name}` : plan.name;
}

/** The first and last instants of the periods inside the month. */
function spanIn(periods: PlanPeriod[], month: BillingMonth, until?: Date): { start: Date; end: Date } {
  const bounds = monthBounds(month);
  const cutoff = until && until < bounds.end ? until : bounds.end;
  const starts = periods.map((p) => Math.max(p.start.getTime(), bounds.start.getTime()));
  const ends = periods.map((p) => Math.min((p.end ?? cutoff).getTime(), cutoff.getTime()));
  return { start: new Date(Math.min(...starts)), end: new Date(Math.max(...ends)) };
}

/** The add-on's last second in the month and the period it falls in; null if it did not live in the month. */
function lastMoment(periods: PlanPeriod[], month: BillingMonth): { at: Date; period: PlanPeriod } | null {
  const bounds = monthBounds(month);
  for (let i = periods.length - 1; i >= 0; i--) {
    const period = periods[i];
    const end = Math.min((period.end ?? bounds.end).getTime(), bounds.end.getTime());
    const start = Math.max(period.start.getTime(), bounds.start.getTime());
    if (end > start) return { at: new Date(end - 1000), period };
  }
  return null;
}

function owns(intervals: OwnershipInterval[], at: Date): boolean {
  return intervals.some((i) => (!i.start || i.start <= at) && (!i.end || at < i.end));
}

/** The meter of the dimension on the latest plan of the month that has it. */
function meterFor(periods: PlanPeriod[], month: BillingMonth, dimension: string, plans: Map<string, Plan>): { plan: Plan; meter: PlanMeter } | null {
  const bounds = monthBounds(month);
  const inMonth = periods.filter((p) => p.start < bounds.end && (p.end === null || p.end > bounds.start));
  for (let i = inMonth.length - 1; i >= 0; i--) {
    const plan = plans.get(inMonth[i].planId);
    const meter = (inMonth[i].meters ?? plan?.meters)?.find((m) => m.dimension === dimension);
    if (plan && meter) return { plan, meter };
  }
  return null;
}
