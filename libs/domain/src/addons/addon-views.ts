import { Addon, AddonService, App, Attachment, Plan, Region } from '../shared/models';
import { Store } from '../shared/store.port';
import { aliasedVarName } from './naming.rules';

/** An add-on with what every response about it needs. */
export interface AddonView {
  addon: Addon;
  service: AddonService;
  plan: Plan;
  pendingPlan: Plan | null;
  app: App;
  region: Region;
  /** Provider var names exposed to the owning app (alias-prefixed). */
  configVarNames: string[];
}

export interface AttachmentView {
  attachment: Attachment;
  app: App;
  addon: Addon;
  addonApp: App;
  service: AddonService;
  plan: Plan;
}

/** Loads the related rows for many add-ons or attachments with a handful of queries. */
export class ViewLoader {
  constructor(private readonly store: Store) {}

  async addons(addons: Addon[]): Promise<AddonView[]> {
    if (addons.length === 0) return [];
    const planIds = new Set<string>();
    for (const a of addons) {
      planIds.add(a.planId);
      if (a.pendingPlanId) planIds.add(a.pendingPlanId);
    }
    const [services, plans, apps, regions, attachments] = await Promise.all([
      this.store.services.findByIds([...new Set(addons.map((a) => a.serviceId))]),
      this.store.plans.findByIds([...planIds]),
      this.store.apps.findByIds([...new Set(addons.map((a) => a.appId))]),
      this.store.regions.list(),
      Promise.all(addons.map((a) => this.store.attachments.listForAddon(a.id))),
    ]);
    const byId = <T extends { id: string }>(rows: T[]) => new Map(rows.map((r) => [r.id, r]));
    const serviceById = byId(services);
    const planById = byId(plans);
    const appById = byId(apps);
    const regionById = byId(regions);
    return addons.map((addon, i) => {
      const service = serviceById.get(addon.serviceId)!;
      const owning = attachments[i].find((att) => att.appId === addon.appId);
      return {
        addon,
        service,
        plan: planById.get(addon.planId)!,
        pendingPlan: addon.pendingPlanId ? (planById.get(addon.pendingPlanId) ?? null) : null,
        app: appById.get(addon.appId)!,
        region: regionById.get(addon.regionId)!,
        configVarNames: owning ? service.configVars.map((v) => aliasedVarName(owning.name, v, service.configVarsPrefix)) : [],
      };
    });
  }

  async addon(addon: Addon): Promise<AddonView> {
    return (await this.addons([addon]))[0];
  }

  async attachments(attachments: Attachment[]): Promise<AttachmentView[]> {
    if (attachments.length === 0) return [];
    const addons = await this.store.addons.findByIds([...new Set(attachments.map((a) => a.addonId))]);
    const addonById = new Map(addons.map((a) => [a.id, a]));
    const [apps, services, plans] = await Promise.all([
      this.store.apps.findByIds([...new Set([...attachments.map((a) => a.appId), ...addons.map((a) => a.appId)])]),
      this.store.services.findByIds([...new Set(addons.map((a) => a.serviceId))]),
      this.store.plans.findByIds([...new Set(addons.map((a) => a.planId))]),
    ]);
    const appById = new Map(apps.map((a) => [a.id, a]));
    const serviceById = new Map(services.map((s) => [s.id, s]));
    const planById = new Map(plans.map((p) => [p.id, p]));
    return attachments.map((attachment) => {
      const addon = addonById.get(attachment.addonId)!;
      return {
        attachment,
        app: appById.get(attachment.appId)!,
        addon,
        addonApp: appById.get(addon.appId)!,
        service: serviceById.get(addon.serviceId)!,
        plan: planById.get(addon.planId)!,
      };
    });
  }
}

