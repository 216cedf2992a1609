import { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { Page, RangeSpec, nextRangeAfter } from '@app/common';

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

function coerce(field: string, value: string): string | number {
  return field === 'version' ? Number(value) : value;
}
