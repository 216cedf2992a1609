import { Injectable } from '@nestjs/common';
import { Clock, DomainError, ForbiddenError, InvalidInputError, NotFoundError } from '@app/common';
import { Plan } from '../shared/models';
import { Store } from '../shared/store.port';
import { METERED_EVENTS, PlanPeriod, planPeriods } from './metering';
import { NewUsageRecord, UsageRecord } from './usage-records';

/** At most this many records per report (one statement each way). */
export const MAX_USAGE_BATCH = 1000;
export const MAX_RECORD_ID_LENGTH = 128;
/** Vendors' clocks drift: a record may be this far in the future (Stripe allows 5 minutes too). */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;

/** A record as the vendor sent it, unchecked: every field is checked here, so a refusal names the record. */
export interface UsageRecordInput {
  /** The vendor's id, 1 to 128 characters. */
  id?: unknown;
  dimension?: unknown;
  /** A non-negative safe integer. */
  quantity?: unknown;
  /** ISO 8601 date and time with a zone (`Z` or `±hh:mm`). */
  timestamp?: unknown;
}

export interface ReportedUsageRecord {
  /** The record as stored: for a duplicate, the first report of its id, whatever the repeat said. */
  record: UsageRecord;
  /** The record id was stored already (or earlier in the same report); nothing new was stored. */
  duplicate: boolean;
}

export interface UsageReportResult {
  /** In the order reported. */
  records: ReportedUsageRecord[];
  accepted: number;
  duplicates: number;
}

/** Why one record of a report was refused. */
export interface UsageRecordError {
  /** The record's position in the report. */
  index: number;
  /** Null if the record has no valid id. */
  recordId: string | null;
  code: string;
  message: string;
}

/** Some records of a report break a rule: none of them was stored. */
export class UsageRecordsInvalidError extends DomainError {
  constructor(
    readonly errors: UsageRecordError[],
    reported: number,
  ) {
    const codes = new Set(errors.map((e) => e.code));
    super('invalid', codes.size === 1 ? errors[0].code : 'invalid_usage_records', summary(errors, reported));
  }
}

/**
 * Vendor-reported usage of metered plans (DESIGN §6; reference billing §7.3). A report is
 * checked as a whole — every record must name a meter of the plan its add-on was on at its
 * timestamp, within the add-on's lifetime and an open month — and then stored in one statement,
 * or not at all. Record ids are the vendor's, unique per service: a repeat is answered with the
 * record as first stored and flagged a duplicate, as AWS Marketplace does, even when it differs.
 * The work per report is a fixed handful of queries, whatever its size.
 */
@Injectable()
export class UsageIngestion {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /**
   * With the vendor's own credentials rather than the add-on's token, which is revoked once the
   * add-on is gone: usage from before its end can still arrive while its month is open.
   */
  async reportAsVendor(actor: { kind: 'account'; accountId: string } | { kind: 'service'; serviceId: string }, slug: string, addonId: string, inputs: UsageRecordInput[]): Promise<UsageReportResult> {
    const [service, addon] = await Promise.all([this.store.services.findByIdOrSlug(slug), this.store.addons.findById(addonId)]);
    if (!service) throw new NotFoundError('add_on_service');
    const allowed = actor.kind === 'account' ? service.ownerAccountId === actor.accountId : service.id === actor.serviceId;
    if (!allowed) throw new ForbiddenError(`You do not publish ${service.slug}.`);
    if (!addon || addon.serviceId !== service.id) throw new NotFoundError('add_on');
    return this.report(addonId, inputs);
  }

  async report(addonId: string, inputs: UsageRecordInput[]): Promise<UsageReportResult> {
    if (inputs.length === 0 || inputs.length > MAX_USAGE_BATCH) {
      throw new InvalidInputError(`A usage report holds 1 to ${MAX_USAGE_BATCH} records, not ${inputs.length}.`);
    }
    const now = this.clock.now();
    const [addon, events] = await Promise.all([this.store.addons.findById(addonId), this.store.events.listForAddons([addonId], METERED_EVENTS)]);
    if (!addon) throw new NotFoundError('add_on');
    const periods = planPeriods(events.get(addonId) ?? []);
    const plans = new Map((await this.store.plans.findByIds([...new Set(periods.map((p) => p.planId))])).map((plan) => [plan.id, plan]));
    const rules = new Rules(now, periods, plans);

    const fresh: { index: number; record: NewUsageRecord }[] = [];
    const refused: UsageRecordError[] = [];
    inputs.forEach((input, index) => {
      const checked = rules.check(input);
      if ('code' in checked) refused.push({ index, recordId: validRecordId(input.id) ? input.id : null, ...checked });
      else fresh.push({ index, record: { serviceId: addon.serviceId, addonId, ...checked } });
    });

    const stored = new Map<string, UsageRecord>();
    if (refused.length) {
      // A repeat is answered with the record first stored even if it would be refused now (its
      // month has closed since, its content differs): retrying a report never turns into an error.
      const freshIds = new Set(fresh.map((f) => f.record.recordId));
      const lookup = refused.flatMap((r) => (r.recordId === null ? [] : [r.recordId]));
      if (lookup.length) for (const record of await this.store.usage.findByIds(addon.serviceId, lookup)) stored.set(record.recordId, record);
      const errors = refused.filter((r) => r.recordId === null || (!stored.has(r.recordId) && !freshIds.has(r.recordId)));
      if (errors.length) throw new UsageRecordsInvalidError(errors, inputs.length);
    }

    const added = new Map((await this.store.usage.addBatch(fresh.map((f) => f.record))).map((record) => [record.recordId, record]));
    // Of two fresh records with one id, the insert stores the first (addBatch's contract).
    const insertedAt = new Map<string, number>();
    for (const { index, record } of fresh) if (added.has(record.recordId) && !insertedAt.has(record.recordId)) insertedAt.set(record.recordId, index);
    // Ids neither new nor read above were stored before (or by a concurrent report): read them back.
    const unread = [...new Set(fresh.map((f) => f.record.recordId).filter((id) => !added.has(id) && !stored.has(id)))];
    if (unread.length) for (const record of await this.store.usage.findByIds(addon.serviceId, unread)) stored.set(record.recordId, record);

    const records = inputs.map((input, index): ReportedUsageRecord => {
      const id = input.id as string;
      const record = added.get(id) ?? stored.get(id);
      if (!record) throw new Error(`usage record ${id} of service ${addon.serviceId} was neither stored nor found`);
      return { record, duplicate: insertedAt.get(id) !== index };
    });
    const accepted = insertedAt.size;
    return { records, accepted, duplicates: records.length - accepted };
  }
}

type Checked = Omit<NewUsageRecord, 'serviceId' | 'addonId'> | { code: string; message: string };

/** The rules one record must pass, given the add-on's plan periods at the time of the report. */
class Rules {
  /** Months before this one are closed: usage is accepted until the end of the month after its own. */
  private readonly earliestOpen: Date;

  constructor(
    private readonly now: Date,
    private readonly periods: PlanPeriod[],
    private readonly plans: Map<string, Plan>,
  ) {
    this.earliestOpen = monthStart(now, -1);
  }

  check(input: UsageRecordInput): Checked {
    const { id, dimension, quantity, timestamp } = input;
    if (!validRecordId(id)) {
      return { code: 'invalid_record_id', message: `A record id is a string of 1 to ${MAX_RECORD_ID_LENGTH} characters (without NUL).` };
    }
    if (typeof quantity !== 'number' || !Number.isSafeInteger(quantity) || quantity < 0) {
      return { code: 'invalid_quantity', message: `The quantity must be a non-negative integer of at most ${Number.MAX_SAFE_INTEGER}.` };
    }
    if (typeof dimension !== 'string') return { code: 'invalid_dimension', message: 'The dimension must be a string: a meter of the add-on’s plan.' };
    const occurredAt = parseTimestamp(timestamp);
    if (!occurredAt) {
      return { code: 'invalid_timestamp', message: 'The timestamp must be an ISO 8601 date and time with a zone, such as 2026-11-20T14:30:00Z.' };
    }
    if (occurredAt.getTime() > this.now.getTime() + MAX_FUTURE_SKEW_MS) {
      return { code: 'timestamp_in_future', message: `The timestamp ${occurredAt.toISOString()} is more than ${MAX_FUTURE_SKEW_MS / 60_000} minutes in the future.` };
    }
    if (occurredAt < this.earliestOpen) {
      const month = monthLabel(occurredAt);
      return {
        code: 'period_closed',
        message:
          `The usage of ${month} can no longer be reported: a month stays open until the end of the month after it, ` +
          `so ${month} closed at ${monthStart(occurredAt, 2).toISOString()}. ` +
          `The earliest open month is ${monthLabel(this.earliestOpen)}, open until ${monthStart(this.now, 1).toISOString()}.`,
      };
    }
    // The meter counts whole seconds (metering.ts): a record belongs to the second it falls in.
    const second = Math.floor(occurredAt.getTime() / 1000) * 1000;
    const period = this.periods.find((p) => p.start.getTime() <= second && (p.end === null || second < p.end.getTime()));
    if (!period) return { code: 'outside_addon_lifetime', message: this.outsideLifetime(occurredAt) };
    const plan = this.plans.get(period.planId);
    const meters = (period.meters ?? plan?.meters ?? []).map((m) => m.dimension);
    if (!meters.includes(dimension)) {
      const known = meters.length ? `its meters are ${meters.join(', ')}` : 'it has no meters';
      return {
        code: 'unknown_dimension',
        message: `${JSON.stringify(dimension)} is not a meter of the plan ${plan?.name ?? period.planId} the add-on was on at ${occurredAt.toISOString()}: ${known}.`,
      };
    }
    return { recordId: id, dimension, quantity, occurredAt };
  }

  private outsideLifetime(at: Date): string {
    if (!this.periods.length) return `The add-on was never provisioned, so it has no usage at ${at.toISOString()}.`;
    const start = this.periods[0].start.toISOString();
    const end = this.periods[this.periods.length - 1].end;
    const lifetime = end ? `from its provisioning request at ${start} to its deprovisioning request at ${end.toISOString()}` : `since its provisioning request at ${start}`;
    return `${at.toISOString()} is outside the add-on's lifetime: it is billed ${lifetime}.`;
  }
}

/** PostgreSQL text cannot hold NUL. */
const validRecordId = (id: unknown): id is string => typeof id === 'string' && id.length >= 1 && id.length <= MAX_RECORD_ID_LENGTH && !id.includes('\u0000');

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/i;

/** An ISO 8601 date-time with a zone, or null; unlike `Date.parse`, 30 February is not 2 March. */
export function parseTimestamp(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const match = TIMESTAMP.exec(value);
  if (!match) return null;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = match.slice(1).map((part) => (part === undefined ? 0 : Number(part)));
  const daysInMonth = new Date(monthStart(utcDate(year, month - 1), 1).getTime() - 1).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return null;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : at;
}

/** Midnight UTC of the given day; unlike `Date.UTC`, years 0 to 99 are not read as 1900 to 1999. */
function utcDate(year: number, monthIndex: number, day = 1): Date {
  const at = new Date(0);
  at.setUTCFullYear(year, monthIndex, day);
  return at;
}

/** The first instant of the month `offset` months from the one `at` falls in (UTC). */
function monthStart(at: Date, offset = 0): Date {
  return utcDate(at.getUTCFullYear(), at.getUTCMonth() + offset);
}

/** `YYYY-MM`, as metering.ts names months. */
const monthLabel = (at: Date) => `${String(at.getUTCFullYear()).padStart(4, '0')}-${String(at.getUTCMonth() + 1).padStart(2, '0')}`;

function summary(errors: UsageRecordError[], reported: number): string {
  if (reported === 1) return errors[0].message;
  const shown = errors.slice(0, 3).map((e) => `records[${e.index}]${e.recordId === null ? '' : ` (${e.recordId})`}: ${e.message}`);
  const more = errors.length > shown.length ? `; and ${errors.length - shown.length} more` : '';
  return `${errors.length} of ${reported} usage records are invalid, so none was stored. ${shown.join('; ')}${more}`;
}
