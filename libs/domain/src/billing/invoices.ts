import { Page, RangeSpec } from '@app/common';
import { BillingEntity } from '../teams/teams.models';
import { BillingMonth } from './metering';

export type InvoiceLineKind = 'time' | 'metered' | 'adjustment';

/**
 * One line of an invoice: time on a plan (`seconds`), vendor-reported usage of a meter in the
 * invoice's month (`dimension`, `quantity`), or late usage of an earlier month already invoiced
 * (`adjustment`). Amounts are integer cents; an invoice's total is the sum of its lines.
 */
export interface InvoiceLine {
  position: number;
  kind: InvoiceLineKind;
  addonId: string;
  addonName: string;
  appId: string;
  appName: string;
  serviceId: string;
  planId: string;
  planName: string;
  /** The month the usage belongs to: the invoice's, or an earlier one for an adjustment. */
  usageMonth: BillingMonth;
  periodStart: Date | null;
  periodEnd: Date | null;
  seconds: number | null;
  dimension: string | null;
  quantity: bigint | null;
  /** A plan's monthly price for time lines; a meter's price per unit otherwise. */
  unitPriceCents: number;
  cents: number;
}

/** A billing entity's invoice for a calendar month (UTC): written once, final. */
export interface Invoice {
  id: string;
  /** `<yyyymm>-<a|t>-<the entity's id in hex>`: unique, and the same for a rerun of the same month. */
  number: string;
  entity: BillingEntity;
  month: BillingMonth;
  /** Vendor usage received after this is not on the invoice (it lands on a later one). */
  usageCutoff: Date;
  totalCents: number;
  finalizedAt: Date;
}

export const invoiceNumber = (entity: BillingEntity, month: BillingMonth): string =>
  `${month.replace('-', '')}-${entity.kind === 'team' ? 't' : 'a'}-${entity.id.replace(/-/g, '')}`;

/** Vendor-reported quantity already on invoices, per add-on, dimension and usage month. */
export interface InvoicedQuantity {
  addonId: string;
  dimension: string;
  usageMonth: BillingMonth;
  quantity: bigint;
}

export interface InvoiceRepository {
  /** Whether a run invoiced every entity of the month (later runs of it have nothing to do). */
  runCompleted(month: BillingMonth): Promise<boolean>;
  markRunCompleted(month: BillingMonth, at: Date): Promise<void>;
  /**
   * Writes the invoice and its lines unless the entity already has one for the month (a rerun):
   * true when written. Call inside a transaction.
   */
  insertIfAbsent(invoice: Invoice, lines: InvoiceLine[]): Promise<boolean>;
  /** Which of the entities already have an invoice for the month (`kind:id` keys). */
  invoicedEntities(entities: BillingEntity[], month: BillingMonth): Promise<Set<string>>;
  /**
   * Who may owe something for the month, in a stable order, after `after` (a `kind:id` key) and at
   * most `limit`: the owners (now, and on either side of a transfer) of apps with add-ons that
   * lived in the month or with vendor usage received since `usageSince`.
   */
  candidates(month: BillingMonth, usageSince: Date, after: string | null, limit: number): Promise<BillingEntity[]>;
  invoicedQuantities(addonIds: string[], usageMonth: BillingMonth): Promise<InvoicedQuantity[]>;
  /** The entity's invoices, a Range page at a time (by `month` or `number`). */
  listFor(entity: BillingEntity, range: RangeSpec): Promise<Page<Invoice>>;
  findByNumber(number: string): Promise<{ invoice: Invoice; lines: InvoiceLine[] } | null>;
  /** The month's invoices, in number order, `limit` at a time after `afterNumber`. */
  listMonth(month: BillingMonth, afterNumber: string | null, limit: number): Promise<{ invoice: Invoice; lines: InvoiceLine[] }[]>;
  /** The month's invoice lines summed per service and plan, for the services given. */
  totalsByPlan(month: BillingMonth, serviceIds: string[]): Promise<{ serviceId: string; planId: string; planName: string; cents: number }[]>;
}

export const entityKey = (entity: BillingEntity): string => `${entity.kind}:${entity.id}`;
