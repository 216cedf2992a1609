import { Clock } from '@app/common';

/** A clock held where a test puts it (`at`), for the meter's and the invoices' arithmetic. */
export class FixedClock extends Clock {
  constructor(public at: Date) {
    super();
  }

  now(): Date {
    return this.at;
  }
}
