import { PlanMeter } from '../shared/models';

/**
 * Metered pricing (DESIGN §6, metered plans) of one add-on and dimension over one calendar month:
 * the units above the meter's monthly allowance, at the meter's price per unit. Exact integer
 * arithmetic: quantities are summed in BigInt (a month's sum may exceed 2^53) and an amount that
 * a number cannot hold exactly is refused rather than rounded.
 */

type Meter = Pick<PlanMeter, 'cents_per_unit' | 'included'>;

/** `max(0, quantity − included) × cents_per_unit`, in cents. */
export function meteredCents(quantity: number | bigint, meter: Meter): number {
  return toCents(billable(quantity, meter));
}

/**
 * What late usage adds to a month already invoiced at `previousQuantity`: the month's amount at
 * `newQuantity` minus the amount invoiced, so `meteredCents(a) + meteredAdjustmentCents(a, b) =
 * meteredCents(b)` and an allowance is never counted twice.
 */
export function meteredAdjustmentCents(previousQuantity: number | bigint, newQuantity: number | bigint, meter: Meter): number {
  return toCents(billable(newQuantity, meter) - billable(previousQuantity, meter));
}

function billable(quantity: number | bigint, meter: Meter): bigint {
  const units = integer(quantity, 'quantity');
  if (units < 0n) throw new RangeError(`A quantity cannot be negative: ${quantity}.`);
  const above = units - integer(meter.included, 'included');
  return above > 0n ? above * integer(meter.cents_per_unit, 'cents_per_unit') : 0n;
}

function integer(value: number | bigint, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a safe integer, not ${value}.`);
  return BigInt(value);
}

function toCents(cents: bigint): number {
  if (cents > BigInt(Number.MAX_SAFE_INTEGER) || cents < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`${cents} cents is beyond what can be billed exactly.`);
  }
  return Number(cents);
}
