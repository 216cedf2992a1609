import { Injectable } from '@nestjs/common';
import { InvalidInputError, NotFoundError, Page, RangeSpec } from '@app/common';
import { AddonService, Plan, Region } from '../shared/models';
import { Store } from '../shared/store.port';

/** Reads of the catalog. Unpublished services are visible to their vendor only. */
@Injectable()
export class CatalogService {
  constructor(private readonly store: Store) {}

  listServices(viewerId: string | null, range: RangeSpec): Promise<Page<AddonService>> {
    return this.store.services.listVisible(viewerId, range);
  }

  async getService(viewerId: string | null, idOrSlug: string): Promise<AddonService> {
    const service = await this.store.services.findByIdOrSlug(idOrSlug);
    if (!service || !this.isVisible(service, viewerId)) throw new NotFoundError('add_on_service', `Couldn't find that add-on service.`);
    return service;
  }

  async listPlans(viewerId: string | null, serviceIdOrSlug: string, range: RangeSpec): Promise<{ service: AddonService; page: Page<Plan> }> {
    const service = await this.getService(viewerId, serviceIdOrSlug);
    const page = await this.store.plans.listByService(service.id, range);
    return { service, page: { ...page, items: page.items.filter((p) => this.planVisible(p, service, viewerId)) } };
  }

  async getPlan(viewerId: string | null, serviceIdOrSlug: string, planIdOrName: string): Promise<{ service: AddonService; plan: Plan }> {
    const service = await this.getService(viewerId, serviceIdOrSlug);
    const name = planIdOrName.startsWith(`${service.slug}:`) ? planIdOrName.slice(service.slug.length + 1) : planIdOrName;
    const plan = await this.store.plans.findByServiceAndIdOrName(service.id, name);
    if (!plan || !this.planVisible(plan, service, viewerId)) throw new NotFoundError('plan', `Couldn't find that plan.`);
    return { service, plan };
  }

  async getPlanById(viewerId: string | null, planId: string): Promise<{ service: AddonService; plan: Plan }> {
    const plan = await this.store.plans.findById(planId);
    const service = plan ? await this.store.services.findById(plan.serviceId) : null;
    if (!plan || !service || !this.isVisible(service, viewerId) || !this.planVisible(plan, service, viewerId)) {
      throw new NotFoundError('plan', `Couldn't find that plan.`);
    }
    return { service, plan };
  }

  /**
   * Resolves what a developer asks to install: `service:plan`, a plan id, or a bare `service`
   * (its default plan). Refuses plans that cannot be installed by this account.
   */
  async resolveInstallablePlan(viewerId: string, reference: string): Promise<{ service: AddonService; plan: Plan }> {
    const ref = reference.trim();
    let found: { service: AddonService; plan: Plan };
    if (/^[0-9a-f-]{36}$/i.test(ref)) {
      found = await this.getPlanById(viewerId, ref);
    } else if (ref.includes(':')) {
      const [serviceSlug, planName] = ref.split(':', 2);
      const { service = null, plan = null } = (await this.store.services.findWithPlan(serviceSlug, planName)) ?? {};
      if (!service || !plan || !this.isVisible(service, viewerId) || !this.planVisible(plan, service, viewerId)) {
        // Heroku answers 422 here, and the CLI keys its hint on this message.
        throw new InvalidInputError(`Couldn't find either the add-on service or the add-on plan "${ref}".`);
      }
      found = { service, plan };
    } else {
      const service = await this.store.services.findByIdOrSlug(ref);
      if (!service || !this.isVisible(service, viewerId)) {
        throw new InvalidInputError(`Couldn't find either the add-on service or the add-on plan "${ref}".`);
      }
      const plan = (await this.store.plans.allByService(service.id)).find((p) => p.isDefault);
      if (!plan) throw new NotFoundError('plan', `${service.slug} has no default plan; name one as ${service.slug}:PLAN.`);
      found = { service, plan };
    }
    if (found.service.state === 'shutdown') throw new InvalidInputError(`${found.service.slug} is shut down and cannot be installed.`);
    if (found.plan.state === 'deprecated') {
      throw new InvalidInputError(`The plan ${found.service.slug}:${found.plan.name} is deprecated and cannot be installed.`);
    }
    return found;
  }

  listRegions(): Promise<Region[]> {
    return this.store.regions.list();
  }

  async getRegion(idOrName: string): Promise<Region> {
    const region = await this.store.regions.findByIdOrName(idOrName);
    if (!region) throw new NotFoundError('region');
    return region;
  }

  isVisible(service: AddonService, viewerId: string | null): boolean {
    return service.published || (viewerId !== null && service.ownerAccountId === viewerId);
  }

  private planVisible(plan: Plan, service: AddonService, viewerId: string | null): boolean {
    return plan.state !== 'private' || (viewerId !== null && service.ownerAccountId === viewerId);
  }
}
