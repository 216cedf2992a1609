import { Injectable } from '@nestjs/common';
import { ForbiddenError, NotFoundError, Page, RangeSpec } from '@app/common';
import { AddonService } from '../shared/models';
import { Store } from '../shared/store.port';
import { VendorActor } from './vendor-actor';
import { VendorInstall, VendorInstallRepository } from './vendor-installs.repository';

/** `GET /api/v3/addons/{slug}/apps` (reference §3.6): every app a vendor's add-ons are attached to. */
@Injectable()
export class VendorInstalls {
  constructor(
    private readonly store: Store,
    private readonly installs: VendorInstallRepository,
  ) {}

  async list(actor: VendorActor, slug: string, range: RangeSpec): Promise<{ service: AddonService; page: Page<VendorInstall> }> {
    const service = await this.store.services.findByIdOrSlug(slug);
    if (!service) throw new NotFoundError('add_on_service');
    const allowed = actor.kind === 'account' ? service.ownerAccountId === actor.accountId : service.id === actor.serviceId;
    if (!allowed) throw new ForbiddenError(`You do not publish ${service.slug}.`);
    return { service, page: await this.installs.listForService(service.id, range) };
  }
}
