import { Injectable } from '@nestjs/common';
import { ForbiddenError, InvalidInputError, NotFoundError } from '@app/common';
import { AddonService } from '../shared/models';
import { Store } from '../shared/store.port';
import { BillingOptions } from './invoicing.service';
import { BillingMonth, isBillingMonth } from './metering';

export interface PayoutLine {
  service: { id: string; slug: string };
  plan: { id: string; name: string };
  grossCents: number;
  platformShareCents: number;
  netCents: number;
}

export interface PayoutReport {
  month: BillingMonth;
  /** False while the month's invoices are not all written: the figures can still grow. */
  complete: boolean;
  platformSharePercent: number;
  lines: PayoutLine[];
  grossCents: number;
  platformShareCents: number;
  netCents: number;
}

/**
 * What vendors' add-ons earned in a month, from the month's invoices (adjustments included):
 * gross, the platform's share and the net, per service and plan. The share is rounded half up
 * to a cent on each line; totals are the sums of the lines. First-party services have no vendor.
 */
@Injectable()
export class PayoutReports {
  constructor(
    private readonly store: Store,
    private readonly options: BillingOptions,
  ) {}

  /** Every service the account publishes. */
  async forAccount(accountId: string, month: string): Promise<PayoutReport> {
    const services = await this.store.services.listOwnedBy(accountId);
    return this.report(this.checkMonth(month), services);
  }

  /** One service, for its vendor (its owner account, or the service's own credentials). */
  async forService(actor: { kind: 'account'; accountId: string } | { kind: 'service'; serviceId: string }, slug: string, month: string): Promise<PayoutReport> {
    const service = await this.store.services.findByIdOrSlug(slug);
    if (!service) throw new NotFoundError('add_on_service');
    const allowed = actor.kind === 'account' ? service.ownerAccountId === actor.accountId : service.id === actor.serviceId;
    if (!allowed) throw new ForbiddenError(`You do not publish ${service.slug}.`);
    return this.report(this.checkMonth(month), [service]);
  }

  /** Every vendor's earnings of the month (finance). */
  async all(month: string): Promise<PayoutReport> {
    return this.report(this.checkMonth(month), await this.store.services.listOwnedBy(null));
  }

  private checkMonth(month: string): BillingMonth {
    if (!isBillingMonth(month)) throw new InvalidInputError('month is YYYY-MM.');
    return month;
  }

  private async report(month: BillingMonth, services: AddonService[]): Promise<PayoutReport> {
    const vendorServices = services.filter((s) => s.ownerAccountId !== null);
    const slugs = new Map(vendorServices.map((s) => [s.id, s.slug]));
    const totals = await this.store.invoices.totalsByPlan(
      month,
      vendorServices.map((s) => s.id),
    );
    const basisPoints = BigInt(Math.round(this.options.platformSharePercent * 100));
    const lines = totals.map((t): PayoutLine => {
      const share = Number((BigInt(t.cents) * basisPoints + 5000n) / 10000n);
      return {
        service: { id: t.serviceId, slug: slugs.get(t.serviceId) ?? t.serviceId },
        plan: { id: t.planId, name: t.planName },
        grossCents: t.cents,
        platformShareCents: share,
        netCents: t.cents - share,
      };
    });
    const sum = (pick: (l: PayoutLine) => number) => lines.reduce((total, l) => total + pick(l), 0);
    return {
      month,
      complete: await this.store.invoices.runCompleted(month),
      platformSharePercent: this.options.platformSharePercent,
      lines,
      grossCents: sum((l) => l.grossCents),
      platformShareCents: sum((l) => l.platformShareCents),
      netCents: sum((l) => l.netCents),
    };
  }
}
