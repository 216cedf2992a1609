import fc from 'fast-check';
import { LifecycleEvent } from '../shared/models';
import { PlanPeriod, monthBounds, monthOf, planPeriods, prorate, secondsInMonth, timeChargeLines } from './metering';

const at = (iso: string) => new Date(iso);
type Event = Pick<LifecycleEvent, 'type' | 'occurredAt' | 'data'>;
const requested = (iso: string, plan = 'basic', price = 3000): Event => ({
  type: 'addon.provision_requested',
  occurredAt: at(iso),
  data: { plan_id: plan, price_cents: price },
});
const changed = (iso: string, plan: string, price: number): Event => ({ type: 'addon.plan_changed', occurredAt: at(iso), data: { to_plan_id: plan, price_cents: price } });
const destroyed = (iso: string): Event => ({ type: 'addon.deprovision_requested', occurredAt: at(iso), data: {} });
const DAY = 24 * 3600;

describe('calendar months', () => {
  it('have 28, 29, 30 or 31 days of seconds, in UTC', () => {
    expect(secondsInMonth('2026-02')).toBe(28 * DAY);
    expect(secondsInMonth('2028-02')).toBe(29 * DAY);
    expect(secondsInMonth('2026-11')).toBe(30 * DAY);
    expect(secondsInMonth('2026-12')).toBe(31 * DAY);
    expect(monthBounds('2026-12')).toEqual({ start: at('2026-12-01T00:00:00Z'), end: at('2027-01-01T00:00:00Z') });
    expect(monthOf(at('2026-11-30T23:59:59.999Z'))).toBe('2026-11');
    expect(() => monthBounds('2026-13')).toThrow('Not a month');
  });
});

describe('plan periods from lifecycle events', () => {
  it('run from the provisioning request to the deprovisioning request, split by plan changes, in whole seconds', () => {
    const periods = planPeriods([
      requested('2026-11-10T08:00:00.700Z', 'basic', 3000),
      { type: 'addon.provisioned', occurredAt: at('2026-11-10T08:00:05Z'), data: {} },
      changed('2026-11-15T00:00:00Z', 'pro', 9000),
      changed('2026-11-20T12:00:00.300Z', 'basic', 3500),
      destroyed('2026-11-25T00:00:00Z'),
      { type: 'addon.deprovisioned', occurredAt: at('2026-11-25T00:00:09Z'), data: {} },
    ]);
    expect(periods).toEqual([
      { planId: 'basic', priceCents: 3000, start: at('2026-11-10T08:00:00Z'), end: at('2026-11-15T00:00:00Z') },
      { planId: 'pro', priceCents: 9000, start: at('2026-11-15T00:00:00Z'), end: at('2026-11-20T12:00:00Z') },
      { planId: 'basic', priceCents: 3500, start: at('2026-11-20T12:00:00Z'), end: at('2026-11-25T00:00:00Z') },
    ]);
  });

  it('are none for a failed provision, and open while the add-on lasts', () => {
    expect(planPeriods([requested('2026-11-10T08:00:00Z'), { type: 'addon.provision_failed', occurredAt: at('2026-11-10T08:01:00Z'), data: {} }])).toEqual([]);
    expect(planPeriods([requested('2026-11-10T08:00:00Z')])).toEqual([{ planId: 'basic', priceCents: 3000, start: at('2026-11-10T08:00:00Z'), end: null }]);
  });
});

describe('time charge lines', () => {
  it('prorate a mid-month provision and destroy over the month’s seconds', () => {
    const periods = planPeriods([requested('2026-11-10T00:00:00Z', 'basic', 3000), destroyed('2026-11-20T00:00:00Z')]);
    expect(timeChargeLines(periods, '2026-11')).toEqual([{ planId: 'basic', priceCents: 3000, seconds: 10 * DAY, cents: 1000 }]);
  });

  it('price an upgrade and a downgrade by the time on each plan, one line per plan and price', () => {
    const periods = planPeriods([
      requested('2026-11-01T00:00:00Z', 'basic', 3000),
      changed('2026-11-11T00:00:00Z', 'pro', 9000),
      changed('2026-11-21T00:00:00Z', 'basic', 3000),
    ]);
    expect(timeChargeLines(periods, '2026-11')).toEqual([
      { planId: 'basic', priceCents: 3000, seconds: 20 * DAY, cents: 2000 },
      { planId: 'pro', priceCents: 9000, seconds: 10 * DAY, cents: 3000 },
    ]);
  });

  it('cap a whole month at the monthly price, and split a period across a month boundary', () => {
    const periods = planPeriods([requested('2026-01-16T00:00:00Z', 'basic', 3100)]);
    expect(timeChargeLines(periods, '2026-01')).toEqual([{ planId: 'basic', priceCents: 3100, seconds: 16 * DAY, cents: 1600 }]);
    expect(timeChargeLines(periods, '2026-02')).toEqual([{ planId: 'basic', priceCents: 3100, seconds: 28 * DAY, cents: 3100 }]);
    expect(timeChargeLines(periods, '2028-02')).toEqual([{ planId: 'basic', priceCents: 3100, seconds: 29 * DAY, cents: 3100 }]);
    expect(timeChargeLines(periods, '2025-12')).toEqual([]);
  });

  it('run an open period up to the moment asked, and round half up', () => {
    const periods = planPeriods([requested('2026-11-01T00:00:00Z', 'basic', 1)]);
    // Half of 1 cent is rounded up; a little less than half is not.
    expect(timeChargeLines(periods, '2026-11', at('2026-11-16T00:00:00Z'))[0].cents).toBe(1);
    expect(timeChargeLines(periods, '2026-11', at('2026-11-15T23:59:59Z'))[0].cents).toBe(0);
    expect(prorate(3000, 15 * DAY, 30 * DAY)).toBe(1500);
  });

  // Periods of one plan inside November, at any second.
  const NOV = monthBounds('2026-11');
  const second = fc.integer({ min: NOV.start.getTime() / 1000, max: NOV.end.getTime() / 1000 - 1 });
  const price = fc.integer({ min: 0, max: 10_000_000 });
  const sortedSeconds = (n: number) => fc.uniqueArray(second, { minLength: n, maxLength: n }).map((xs) => xs.sort((a, b) => a - b));

  it('never charge more than the monthly price (property)', () => {
    fc.assert(
      fc.property(price, fc.array(sortedSeconds(2), { maxLength: 5 }), (cents, spans) => {
        const periods: PlanPeriod[] = spans.map(([s, e]) => ({ planId: 'p', priceCents: cents, start: new Date(s * 1000), end: new Date(e * 1000) }));
        for (const line of timeChargeLines(periods, '2026-11')) expect(line.cents).toBeLessThanOrEqual(cents);
      }),
    );
  });

  it('are additive: splitting a period anywhere changes no amount (property)', () => {
    fc.assert(
      fc.property(price, sortedSeconds(3), (cents, [s, cut, e]) => {
        const whole: PlanPeriod[] = [{ planId: 'p', priceCents: cents, start: new Date(s * 1000), end: new Date(e * 1000) }];
        const split: PlanPeriod[] = [
          { planId: 'p', priceCents: cents, start: new Date(s * 1000), end: new Date(cut * 1000) },
          { planId: 'p', priceCents: cents, start: new Date(cut * 1000), end: new Date(e * 1000) },
        ];
        expect(timeChargeLines(split, '2026-11')).toEqual(timeChargeLines(whole, '2026-11'));
      }),
    );
  });

  it('are monotone in time: a later moment never costs less (property)', () => {
    fc.assert(
      fc.property(price, sortedSeconds(3), (cents, [s, t1, t2]) => {
        const periods: PlanPeriod[] = [{ planId: 'p', priceCents: cents, start: new Date(s * 1000), end: null }];
        const total = (t: number) => timeChargeLines(periods, '2026-11', new Date(t * 1000)).reduce((sum, l) => sum + l.cents, 0);
        expect(total(t2)).toBeGreaterThanOrEqual(total(t1));
      }),
    );
  });

  it('split across months exactly: the seconds of each month add up to the period (property)', () => {
    const year = fc.integer({ min: 2024, max: 2030 });
    fc.assert(
      fc.property(year, fc.integer({ min: 0, max: 11 }), fc.integer({ min: 1, max: 80 * DAY }), fc.integer({ min: 0, max: 27 * DAY }), (y, m, length, offset) => {
        const start = new Date(Date.UTC(y, m, 1) + offset * 1000);
        const end = new Date(start.getTime() + length * 1000);
        const periods: PlanPeriod[] = [{ planId: 'p', priceCents: 1000, start, end }];
        const months = [0, 1, 2, 3].map((k) => monthOf(new Date(Date.UTC(y, m + k, 1))));
        const seconds = months.flatMap((month) => timeChargeLines(periods, month)).reduce((sum, l) => sum + l.seconds, 0);
        expect(seconds).toBe(length);
      }),
    );
  });
});
