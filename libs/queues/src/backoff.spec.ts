import fc from 'fast-check';
import { cappedJitteredDelay } from './backoff';

describe('cappedJitteredDelay', () => {
  it('stays between half and all of min(cap, base * 2^(n-1))', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 3_600_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, base, cap, r) => {
        const ceiling = Math.min(cap, base * 2 ** (attempt - 1));
        const delay = cappedJitteredDelay(attempt, base, cap, () => r);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
        expect(delay).toBeLessThanOrEqual(Math.ceil(ceiling));
      }),
    );
  });

  it('grows exponentially until the cap', () => {
    const top = (n: number) => cappedJitteredDelay(n, 1000, 60_000, () => 0.999999);
    expect([1, 2, 3, 4].map(top)).toEqual([1000, 2000, 4000, 8000]);
    expect(top(20)).toBe(60_000);
  });
});
