import { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { Page, RangeNotSatisfiableError, RangeSpec, isUuid, nextRangeAfter } from '@app/common';

/**
 * Applies a Heroku Range to a query: bounds in iteration order (for `order=desc` the start is
 * the upper bound), `max` rows, and a `Next-Range` when more rows remain.
 */
export async function paginate<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  spec: RangeSpec,
  columns: Record<string, string>,
  valueOf: (row: T) => string,
): Promise<Page<T>> {
  const column = columns[spec.field];
  const desc = spec.order === 'desc';
  if (spec.start !== undefined) {
    const op = desc ? (spec.startExclusive ? '<' : '<=') : spec.startExclusive ? '>' : '>=';
    qb.andWhere(`${column} ${op} :rangeStart`, { rangeStart: coerce(spec.field, spec.start) });
  }
  if (spec.end !== undefined) {
    const op = desc ? (spec.endExclusive ? '>' : '>=') : spec.endExclusive ? '<' : '<=';
    qb.andWhere(`${column} ${op} :rangeEnd`, { rangeEnd: coerce(spec.field, spec.end) });
  }
  qb.orderBy(column, desc ? 'DESC' : 'ASC').take(spec.max + 1);
  const rows = await qb.getMany();
  if (rows.length <= spec.max) return { items: rows };
  const items = rows.slice(0, spec.max);
  return { items, nextRange: nextRangeAfter(spec, valueOf(items[items.length - 1])) };
}

const MAX_INTEGER = 2_147_483_647;

/** Range bounds come from the client: one the column cannot hold is an unsatisfiable Range (416), not a database error. */
function coerce(field: string, value: string): string | number {
  if (!boundFits(field, value)) throw new RangeNotSatisfiableError(`Invalid Range bound for ${field}: ${value}`);
  if (field === 'version') return Number(value);
  return field === 'created_at' ? new Date(value).toISOString() : value;
}

function boundFits(field: string, value: string): boolean {
  switch (field) {
    case 'version':
      return /^\d{1,10}$/.test(value) && Number(value) <= MAX_INTEGER;
    case 'id':
      return isUuid(value);
    case 'created_at':
      return !Number.isNaN(Date.parse(value));
    default:
      return !value.includes('\u0000');
  }
}
