import fc from 'fast-check';
import { meteredAdjustmentCents, meteredCents } from './metered';

const meter = (cents_per_unit: number, included: number) => ({ cents_per_unit, included });

// Prices and allowances as manifests declare them; quantities up to where amounts stay exact.
const meters = fc.record({ cents_per_unit: fc.integer({ min: 0, max: 10_000 }), included: fc.integer({ min: 0, max: 1_000_000_000 }) });
const quantities = fc.bigInt({ min: 0n, max: 2n ** 38n });

describe('metered pricing', () => {
  it('bills the units above the allowance at the price per unit', () => {
    expect(meteredCents(0, meter(3, 1000))).toBe(0);
    expect(meteredCents(1000, meter(3, 1000))).toBe(0);
    expect(meteredCents(1001, meter(3, 1000))).toBe(3);
    expect(meteredCents(2500, meter(3, 1000))).toBe(4500);
    expect(meteredCents(7, meter(0, 0))).toBe(0);
    expect(meteredCents(7, meter(25, 0))).toBe(175);
  });

  it('is exact beyond 2^53 units, and refuses an amount it could not bill exactly', () => {
    expect(meteredCents(2n ** 53n + 1n, meter(3, Number.MAX_SAFE_INTEGER))).toBe(6);
    expect(meteredAdjustmentCents(2n ** 60n, 2n ** 60n + 5n, meter(2, 0))).toBe(10);
    expect(() => meteredCents(2n ** 60n, meter(100, 0))).toThrow(RangeError);
    expect(() => meteredCents(-1, meter(1, 0))).toThrow(RangeError);
    expect(() => meteredCents(1.5, meter(1, 0))).toThrow(RangeError);
  });

  it('prices late usage as the difference, so an allowance is used up once', () => {
    // 800 units invoiced (under the 1000 allowance), then 500 more arrive: 300 are billable.
    expect(meteredAdjustmentCents(800, 1300, meter(2, 1000))).toBe(600);
    expect(meteredAdjustmentCents(1300, 1300, meter(2, 1000))).toBe(0);
  });

  it('is never negative', () => {
    fc.assert(fc.property(quantities, meters, (q, m) => meteredCents(q, m) >= 0));
  });

  it('never decreases as usage grows', () => {
    fc.assert(fc.property(quantities, quantities, meters, (a, b, m) => meteredCents(a, m) <= meteredCents(a + b, m)));
  });

  it('adds up: the amount invoiced plus the adjustment for late usage is the amount of the whole month', () => {
    fc.assert(
      fc.property(quantities, quantities, meters, (a, b, m) => {
        const adjustment = meteredAdjustmentCents(a, a + b, m);
        return adjustment >= 0 && meteredCents(a, m) + adjustment === meteredCents(a + b, m);
      }),
    );
  });

  it('takes numbers and bigints alike', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 1 }), fc.nat(), (q, price, included) => {
        const m = meter(price, included);
        return meteredCents(q, m) === meteredCents(BigInt(q), m);
      }),
    );
  });
});
