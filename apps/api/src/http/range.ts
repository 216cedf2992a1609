import { Response } from 'express';
import { Page, RangeSpec, parseRange } from '@app/common';

export const rangeFrom = (header: string | undefined, fields: readonly string[], defaultField = fields[0]): RangeSpec =>
  parseRange(header, fields, defaultField);

/** Sends a list with Heroku's pagination headers: 206 and `Next-Range` when truncated. */
export function sendPage<T, R>(response: Response, page: Page<T>, fields: readonly string[], map: (item: T) => R): R[] {
  response.setHeader('Accept-Ranges', fields.join(', '));
  if (page.nextRange) {
    response.status(206);
    response.setHeader('Next-Range', page.nextRange);
  } else {
    response.status(200);
  }
  return page.items.map(map);
}
