import { Injectable, Logger } from '@nestjs/common';
import { Clock, InvalidInputError, NotFoundError, Page, RangeSpec, newId } from '@app/common';
import { Store } from '../shared/store.port';
import { BillingEntity } from '../teams/teams.models';
import { TeamsService } from '../teams/teams.service';
import { buildInvoiceLines } from './invoice-builder';
import { Invoice, InvoiceLine, entityKey, invoiceNumber } from './invoices';
import { BillingMonth, isBillingMonth, monthBounds, monthOf, previousMonth } from './metering';
import { inputsFor, readBillingData } from './billing-inputs';

/** Billing settings from configuration. */
export abstract class BillingOptions {
  /** How long after a month ends its invoices wait for late vendor usage. */
  abstract readonly invoiceGraceMs: number;
  /** The platform's share of what vendors' add-ons earn, in percent. */
  abstract readonly platformSharePercent: number;
}

/** Entities invoiced per transaction: bounded memory, and a crash loses at most one batch's work (redone by the rerun). */
export const INVOICE_BATCH = 500;

/**
 * Monthly invoices per billing entity (DESIGN §6): generated after the month closes plus a grace
 * window, written once and final. A run can be repeated or resumed after a crash at any point:
 * an entity's invoice for a month is written in one transaction, and a second one is never
 * written (the unique key on entity and month).
 */
@Injectable()
export class InvoicingService {
  private readonly logger = new Logger(InvoicingService.name);

  constructor(
    private readonly store: Store,
    private readonly teams: TeamsService,
    private readonly options: BillingOptions,
    private readonly clock: Clock,
  ) {}

  /** The latest month whose grace window has passed (what the scheduled job invoices). */
  dueMonth(now = this.clock.now()): BillingMonth {
    return previousMonth(monthOf(new Date(now.getTime() - this.options.invoiceGraceMs)));
  }

  /** Invoices every entity that owes something for the month; `force` skips the grace window (the month must still have ended). */
  async run(month: BillingMonth, force = false): Promise<{ month: BillingMonth; entities: number; written: number; skipped: number }> {
    if (!isBillingMonth(month)) throw new InvalidInputError('month is YYYY-MM.');
    const now = this.clock.now();
    const { end } = monthBounds(month);
    const closesAt = new Date(end.getTime() + (force ? 0 : this.options.invoiceGraceMs));
    if (now < closesAt) throw new InvalidInputError(`${month} can be invoiced from ${closesAt.toISOString()}.`, 'month_open');
    if (await this.store.invoices.runCompleted(month)) return { month, entities: 0, written: 0, skipped: 0 };
    // Months go in order: the previous month's invoices say what of its usage is billed already,
    // and a month invoiced before it would bill that usage twice.
    const previous = previousMonth(month);
    const usageSince = monthBounds(previous).start;
    if (!(await this.store.invoices.runCompleted(previous))) {
      if ((await this.store.invoices.candidates(previous, monthBounds(previousMonth(previous)).start, null, 1)).length > 0) {
        throw new InvalidInputError(`Invoice ${previous} first: ${month}'s invoices depend on it.`, 'previous_month_open');
      }
      await this.store.invoices.markRunCompleted(previous, this.clock.now());
    }
    const result = { month, entities: 0, written: 0, skipped: 0 };
    let after: string | null = null;
    for (;;) {
      const batch = await this.store.invoices.candidates(month, usageSince, after, INVOICE_BATCH);
      if (!batch.length) break;
      after = entityKey(batch[batch.length - 1]);
      result.entities += batch.length;
      const written = await this.invoiceBatch(batch, month, now);
      result.written += written;
      result.skipped += batch.length - written;
    }
    await this.store.invoices.markRunCompleted(month, this.clock.now());
    this.logger.log(result, 'invoiced a month');
    return result;
  }

  /** One transaction: the batch's invoices all land or none does. */
  private async invoiceBatch(entities: BillingEntity[], month: BillingMonth, cutoff: Date): Promise<number> {
    return this.store.transaction(async (tx) => {
      const done = await tx.invoices.invoicedEntities(entities, month);
      const pending = entities.filter((e) => !done.has(entityKey(e)));
      if (!pending.length) return 0;
      const previous = previousMonth(month);
      const data = await readBillingData(tx, { entities: pending }, month, previous, cutoff);
      let written = 0;
      for (const entity of pending) {
        const lines = buildInvoiceLines(inputsFor(data, entity, month, previous));
        if (!lines.length) continue;
        const invoice: Invoice = {
          id: newId(),
          number: invoiceNumber(entity, month),
          entity,
          month,
          usageCutoff: cutoff,
          totalCents: lines.reduce((sum, l) => sum + l.cents, 0),
          finalizedAt: this.clock.now(),
        };
        if (await tx.invoices.insertIfAbsent(invoice, lines)) written++;
      }
      return written;
    });
  }

  /** The account's invoices, a Range page at a time. */
  listForAccount(accountId: string, range: RangeSpec): Promise<Page<Invoice>> {
    return this.store.invoices.listFor({ kind: 'account', id: accountId }, range);
  }

  async listForTeam(accountId: string, teamRef: string, range: RangeSpec): Promise<Page<Invoice>> {
    const { team } = await this.teams.get(accountId, teamRef);
    return this.store.invoices.listFor({ kind: 'team', id: team.id }, range);
  }

  /** One invoice of the account, or of a team it is a member of. */
  async get(accountId: string, number: string, teamRef?: string): Promise<{ invoice: Invoice; lines: InvoiceLine[] }> {
    const entity: BillingEntity = teamRef ? { kind: 'team', id: (await this.teams.get(accountId, teamRef)).team.id } : { kind: 'account', id: accountId };
    const found = await this.store.invoices.findByNumber(number);
    if (!found || found.invoice.entity.kind !== entity.kind || found.invoice.entity.id !== entity.id) throw new NotFoundError('invoice');
    return found;
  }
}
