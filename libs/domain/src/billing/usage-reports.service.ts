import { Injectable } from '@nestjs/common';
import { Clock } from '@app/common';
import { AppAccess } from '../apps/app-access';
import { Store } from '../shared/store.port';
import { BillingMonth, monthBounds, monthOf, previousMonth } from './metering';
import { BillingData, inputsFor, readBillingData } from './billing-inputs';
import { buildInvoiceLines } from './invoice-builder';
import { BillingEntity } from '../teams/teams.models';
import { TeamsService } from '../teams/teams.service';


export interface UsageLine {
  addon: { id: string; name: string };
  app: { id: string; name: string };
  plan: { id: string; name: string };
  /** Whole seconds on the plan in the period so far (null for vendor-reported usage). */
  seconds: number | null;
  /** Metered dimensions (none yet: every line is time on a plan). */
  dimension: string | null;
  quantity: number | null;
  unitPriceCents: number;
  cents: number;
}

export interface UsageReport {
  period: { start: Date; end: Date };
  /** Up to when open plan periods were counted. */
  asOf: Date;
  lines: UsageLine[];
  totalCents: number;
}

/**
 * Live usage and estimated cost of the current month (UTC): per add-on and plan, from the
 * lifecycle log, open periods counted up to the moment of the request. An app's report holds the
 * add-ons it owns (bills), destroyed ones included; an account's or a team's, those of every app
 * it owned during the month, for the time it owned them (an app transferred mid-month is split
 * between its owners by the second). Attachments cost nothing: a shared add-on is on its owning
 * app's bill only.
 */
@Injectable()
export class UsageReports {
  constructor(
    private readonly store: Store,
    private readonly access: AppAccess,
    private readonly teams: TeamsService,
    private readonly clock: Clock,
  ) {}

  /** The app's owner (for a team's app, the team's admins) only: collaborators use the app, its owner pays for it. */
  async forApp(accountId: string, appRef: string): Promise<UsageReport> {
    const app = await this.access.owner(accountId, appRef);
    const now = this.clock.now();
    const month = monthOf(now);
    return this.report(await readBillingData(this.store, { apps: [app] }, month, previousMonth(month)), null, now);
  }

  async forAccount(accountId: string): Promise<UsageReport> {
    return this.forEntity({ kind: 'account', id: accountId });
  }

  /** Any member of the team. */
  async forTeam(accountId: string, teamRef: string): Promise<UsageReport> {
    const { team } = await this.teams.get(accountId, teamRef);
    return this.forEntity({ kind: 'team', id: team.id });
  }

  private async forEntity(entity: BillingEntity): Promise<UsageReport> {
    const now = this.clock.now();
    const month = monthOf(now);
    return this.report(await readBillingData(this.store, { entities: [entity] }, month, previousMonth(month)), entity, now);
  }

  /** The bill of the month so far: the invoice's lines as they would be now, without adjustments. */
  private async report(data: BillingData, entity: BillingEntity | null, now: Date): Promise<UsageReport> {
    const month: BillingMonth = monthOf(now);
    const lines: UsageLine[] = buildInvoiceLines(inputsFor(data, entity, month, previousMonth(month), now)).map((line) => ({
      addon: { id: line.addonId, name: line.addonName },
      app: { id: line.appId, name: line.appName },
      plan: { id: line.planId, name: line.planName },
      seconds: line.seconds,
      dimension: line.dimension,
      quantity: line.quantity === null ? null : Number(line.quantity),
      unitPriceCents: line.unitPriceCents,
      cents: line.cents,
    }));
    return { period: monthBounds(month), asOf: now, lines, totalCents: lines.reduce((sum, l) => sum + l.cents, 0) };
  }
}
