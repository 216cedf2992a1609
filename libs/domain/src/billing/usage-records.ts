import { BillingMonth } from './metering';

/**
 * One usage record a vendor reported for an add-on (DESIGN §6, metered plans): `quantity` units
 * of a plan meter's `dimension` at `occurredAt`. The vendor's `recordId` is unique per service,
 * which makes reporting idempotent: a record id is stored once, whatever a repeat says.
 */
export interface UsageRecord {
  serviceId: string;
  /** The vendor's id of the record, 1 to 128 characters. */
  recordId: string;
  addonId: string;
  dimension: string;
  /** A non-negative safe integer. */
  quantity: number;
  occurredAt: Date;
  /**
   * Set by the database: the start of the transaction that stored the record. Invoices use it as
   * a watermark, so usage reported after an invoice is billed as an adjustment.
   */
  receivedAt: Date;
}

/** A record to store; the database sets `receivedAt`. */
export type NewUsageRecord = Omit<UsageRecord, 'receivedAt'>;

/** The usage of one add-on and dimension in one calendar month (UTC). */
export interface UsageSum {
  addonId: string;
  dimension: string;
  month: BillingMonth;
  /** Exact: a sum of records may exceed 2^53. */
  quantity: bigint;
}

/** Vendor-reported usage records. */
export interface UsageRecordRepository {
  /**
   * Stores, in one statement, the records whose (service, record id) is not stored yet; a record
   * id already stored (or repeated within `records`, after its first occurrence) is skipped, not
   * an error. Returns the records that were new, as stored: their number is how many were new.
   */
  addBatch(records: NewUsageRecord[]): Promise<UsageRecord[]>;

  /** The stored records of the service with these record ids (in no particular order). */
  findByIds(serviceId: string, recordIds: string[]): Promise<UsageRecord[]>;

  /**
   * Sums per add-on, dimension and calendar month (UTC) of the add-ons' records that occurred in
   * [`occurredFrom`, `occurredTo`) and, when given, were received in [`receivedFrom`,
   * `receivedBefore`): an invoice takes what was received before its watermark, a later
   * adjustment what was received since. Aggregated by the database, ordered by add-on, dimension
   * and month.
   */
  sumsFor(addonIds: string[], occurredFrom: Date, occurredTo: Date, receivedBefore?: Date, receivedFrom?: Date): Promise<UsageSum[]>;
}
