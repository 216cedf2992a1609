import { InvalidInputError } from './domain-error';

/** A parsed Heroku `Range` header: `<field> [start]..[end][; max=N, order=asc|desc]`. */
export interface RangeSpec {
  field: string;
  start?: string;
  startExclusive: boolean;
  end?: string;
  endExclusive: boolean;
  max: number;
  order: 'asc' | 'desc';
}

export interface Page<T> {
  items: T[];
  /** Value for `Next-Range` when the list was truncated. */
  nextRange?: string;
}

export const DEFAULT_PAGE_SIZE = 200;
export const MAX_PAGE_SIZE = 1000;

export class RangeNotSatisfiableError extends InvalidInputError {
  constructor(message: string) {
    super(message, 'requested_range_not_satisfiable');
  }
}

export function parseRange(header: string | undefined, fields: readonly string[], defaultField: string): RangeSpec {
  const fallback: RangeSpec = {
    field: defaultField,
    start: undefined,
    end: undefined,
    startExclusive: false,
    endExclusive: false,
    max: DEFAULT_PAGE_SIZE,
    order: 'asc',
  };
  if (header === undefined || header.trim() === '') return fallback;
  const [rangePart, ...optionParts] = header.split(';');
  const match = /^\s*([a-z_]+)\s*(.*)$/i.exec(rangePart);
  if (!match) throw new RangeNotSatisfiableError(`Invalid Range header: ${header}`);
  const field = match[1];
  if (!fields.includes(field)) {
    throw new RangeNotSatisfiableError(`Range is not supported on '${field}'. Supported: ${fields.join(', ')}.`);
  }
  const spec: RangeSpec = { ...fallback, field };
  const bounds = match[2].trim();
  if (bounds !== '') {
    const dots = bounds.indexOf('..');
    if (dots < 0) throw new RangeNotSatisfiableError(`Invalid Range header: ${header}`);
    let start = bounds.slice(0, dots).trim();
    let end = bounds.slice(dots + 2).trim();
    if (start.startsWith(']')) {
      spec.startExclusive = true;
      start = start.slice(1).trim();
    }
    if (end.endsWith('[')) {
      spec.endExclusive = true;
      end = end.slice(0, -1).trim();
    }
    if (start !== '') spec.start = start;
    if (end !== '') spec.end = end;
  }
  for (const option of optionParts.join(';').split(',')) {
    const trimmed = option.trim();
    if (trimmed === '') continue;
    const [key, value] = trimmed.split('=').map((s) => s.trim());
    if (key === 'max') {
      const max = Number(value);
      if (!Number.isInteger(max) || max < 1) throw new RangeNotSatisfiableError(`Invalid Range max: ${value}`);
      spec.max = Math.min(max, MAX_PAGE_SIZE);
    } else if (key === 'order') {
      if (value !== 'asc' && value !== 'desc') throw new RangeNotSatisfiableError(`Invalid Range order: ${value}`);
      spec.order = value;
    } else {
      throw new RangeNotSatisfiableError(`Unknown Range option: ${key}`);
    }
  }
  return spec;
}

/** The `Next-Range` value that continues after `lastValue`. */
export function nextRangeAfter(spec: RangeSpec, lastValue: string): string {
  return `${spec.field} ]${lastValue}..; max=${spec.max}, order=${spec.order}`;
}
