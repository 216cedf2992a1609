import { Injectable } from '@nestjs/common';
import { Clock } from '@app/common';
import { AppAccess } from '../apps/app-access';
import { App, LifecycleEventType } from '../shared/models';
import { Store } from '../shared/store.port';
import { BillingMonth, monthBounds, monthOf, planPeriods, timeChargeLines } from './metering';

/** The events the meter reads (DESIGN §6): nothing else changes what an add-on costs. */
export const METERED_EVENTS: LifecycleEventType[] = ['addon.provision_requested', 'addon.provision_failed', 'addon.plan_changed', 'addon.deprovision_requested'];

export interface UsageLine {
  addon: { id: string; name: string };
  app: { id: string; name: string };
  plan: { id: string; name: string };
  /** Whole seconds on the plan in the period so far. */
  seconds: number;
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
 * add-ons it owns (bills), destroyed ones included; an account's, those of every app it owns.
 * Attachments cost nothing: a shared add-on is on its owning app's report only.
 */
@Injectable()
export class UsageReports {
  constructor(
    private readonly store: Store,
    private readonly access: AppAccess,
    private readonly clock: Clock,
  ) {}

  /** The app's owner only: collaborators use the app, its owner pays for it. */
  async forApp(accountId: string, appRef: string): Promise<UsageReport> {
    const app = await this.access.owner(accountId, appRef);
    return this.report([app], this.clock.now());
  }

  async forAccount(accountId: string): Promise<UsageReport> {
    const now = this.clock.now();
    const apps = await this.store.apps.listOwnedBy(accountId, monthBounds(monthOf(now)).start);
    return this.report(apps, now);
  }

  private async report(apps: App[], now: Date): Promise<UsageReport> {
    const month: BillingMonth = monthOf(now);
    const period = monthBounds(month);
    const appsById = new Map(apps.map((app) => [app.id, app]));
    const addons = await this.store.addons.listBilledTo([...appsById.keys()], period.start);
    const events = await this.store.events.listForAddons(
      addons.map((a) => a.id),
      METERED_EVENTS,
    );
    const charged = addons.flatMap((addon) =>
      timeChargeLines(planPeriods(events.get(addon.id) ?? []), month, now).map((line) => ({ addon, line })),
    );
    const plans = new Map((await this.store.plans.findByIds([...new Set(charged.map((c) => c.line.planId))])).map((p) => [p.id, p]));
    const services = new Map((await this.store.services.findByIds([...new Set([...plans.values()].map((p) => p.serviceId))])).map((s) => [s.id, s]));
    const planName = (planId: string) => {
      const plan = plans.get(planId);
      const service = plan ? services.get(plan.serviceId) : undefined;
      return plan && service ? `${service.slug}:${plan.name}` : planId;
    };
    const lines: UsageLine[] = charged.map(({ addon, line }) => ({
      addon: { id: addon.id, name: addon.name },
      app: { id: addon.appId, name: appsById.get(addon.appId)?.name ?? addon.appId },
      plan: { id: line.planId, name: planName(line.planId) },
      seconds: line.seconds,
      dimension: null,
      quantity: null,
      unitPriceCents: line.priceCents,
      cents: line.cents,
    }));
    return { period, asOf: now, lines, totalCents: lines.reduce((sum, l) => sum + l.cents, 0) };
  }
}
