import fc from 'fast-check';
import { BillingEntity } from '../teams/teams.models';
import { ownedTimeChargeLines, timeChargeLines } from './metering';
import { AppTransfer, clipPeriods, ownershipIntervals } from './ownership';

const alice: BillingEntity = { kind: 'account', id: 'alice' };
const team: BillingEntity = { kind: 'team', id: 'team' };
const at = (iso: string) => new Date(iso);
const transfer = (iso: string, from: BillingEntity, to: BillingEntity): AppTransfer => ({ appId: 'app', at: at(iso), from, to });

describe('app ownership over time', () => {
  it('follows transfers: before the first, the app was its sender’s; after the last, its owner’s now', () => {
    const transfers = [transfer('2026-11-10T00:00:00.500Z', alice, team), transfer('2026-11-20T00:00:00Z', team, alice)];
    expect(ownershipIntervals(alice, transfers, alice)).toEqual([
      { start: null, end: at('2026-11-10T00:00:00Z') },
      { start: at('2026-11-20T00:00:00Z'), end: null },
    ]);
    expect(ownershipIntervals(alice, transfers, team)).toEqual([{ start: at('2026-11-10T00:00:00Z'), end: at('2026-11-20T00:00:00Z') }]);
    expect(ownershipIntervals(team, [], team)).toEqual([{ start: null, end: null }]);
    expect(ownershipIntervals(team, [], alice)).toEqual([]);
  });

  it('splits a month at a transfer so that the shares add up to the cap, not a cent over (101 ¢, halved)', () => {
    const periods = [{ planId: 'p', priceCents: 101, start: at('2026-11-01T00:00:00Z'), end: null }];
    const transfers = [transfer('2026-11-16T00:00:00Z', alice, team)];
    const cents = (entity: BillingEntity) =>
      ownedTimeChargeLines(periods, clipPeriods(periods, ownershipIntervals(team, transfers, entity)), '2026-11').reduce((sum, l) => sum + l.cents, 0);
    expect(cents(alice) + cents(team)).toBe(101);
  });

  it('splits an add-on’s bill between the owners by the second, nothing lost or counted twice (property)', () => {
    const NOV = Date.UTC(2026, 10, 1) / 1000;
    const second = fc.integer({ min: NOV, max: NOV + 30 * 86_400 - 1 });
    fc.assert(
      fc.property(
        fc.uniqueArray(second, { minLength: 2, maxLength: 6 }).map((xs) => xs.sort((a, b) => a - b)),
        fc.integer({ min: 0, max: 100_000 }),
        ([start, ...cuts], price) => {
          // Ownership alternates alice → team → alice … at each cut; the add-on runs from `start` to the end of the month.
          const owners = cuts.map((_, i) => (i % 2 === 0 ? team : alice));
          const transfers = cuts.map((cut, i) => transfer(new Date(cut * 1000).toISOString(), i === 0 ? alice : owners[i - 1], owners[i]));
          const current = owners.length ? owners[owners.length - 1] : alice;
          const periods = [{ planId: 'p', priceCents: price, start: new Date(start * 1000), end: null }];
          const share = (entity: BillingEntity) =>
            ownedTimeChargeLines(periods, clipPeriods(periods, ownershipIntervals(current, transfers, entity)), '2026-11').reduce(
              (sum, l) => ({ seconds: sum.seconds + l.seconds, cents: sum.cents + l.cents }),
              { seconds: 0, cents: 0 },
            );
          const whole = timeChargeLines(periods, '2026-11')[0] ?? { seconds: 0, cents: 0 };
          // The owners' shares add up to the whole month: seconds and, with one rounding, cents.
          expect(share(alice).seconds + share(team).seconds).toBe(whole.seconds);
          expect(share(alice).cents + share(team).cents).toBe(whole.cents);
        },
      ),
    );
  });
});
