import { Injectable } from '@nestjs/common';
import { InvalidInputError, NotFoundError } from '@app/common';
import { Addon, AddonService, Plan } from '../shared/models';
import { Store } from '../shared/store.port';
import { AddonAccess } from '../addons/addon-access';
import { KafkaCluster, KafkaTenant } from './kafka.models';

/** A first-party Kafka add-on with everything its operations need. */
export interface KafkaAddon {
  addon: Addon;
  service: AddonService;
  plan: Plan;
  tenant: KafkaTenant;
  cluster: KafkaCluster;
}

/** Finds Kafka add-ons for operations, checking the caller's access. */
@Injectable()
export class KafkaAddons {
  constructor(
    private readonly store: Store,
    private readonly access: AddonAccess,
  ) {}

  /** For reads: members of any app the add-on is attached to. */
  async viewable(accountId: string, idOrName: string): Promise<KafkaAddon> {
    return this.load(await this.access.viewable(accountId, idOrName), this.store);
  }

  /** For changes: members of the add-on's billing app. */
  async manageable(accountId: string, idOrName: string): Promise<KafkaAddon> {
    return this.load(await this.access.manageable(accountId, idOrName), this.store);
  }

  /** Inside a transaction, with the add-on and its tenant locked; null unless it is provisioned. */
  async locked(tx: Store, addonId: string): Promise<KafkaAddon | null> {
    const addon = await tx.addons.findByIdForUpdate(addonId);
    if (!addon || addon.state !== 'provisioned') return null;
    await tx.kafka.tenants.findByAddonForUpdate(addonId);
    return this.load(addon, tx);
  }

  private async load(addon: Addon, store: Store): Promise<KafkaAddon> {
    const found = await store.addons.findWithCatalog(addon.id);
    if (!found || found.service.provider !== 'kafka') throw new NotFoundError('add_on', `${addon.name} is not a Kafka add-on.`);
    const tenant = await store.kafka.tenants.findByAddon(addon.id);
    if (addon.state !== 'provisioned' || !tenant || tenant.state !== 'active') {
      throw new InvalidInputError(`${addon.name} is ${addon.state === 'provisioned' ? 'not available' : addon.state}; try again once it is provisioned.`, 'addon_not_ready');
    }
    return { ...found, tenant, cluster: (await store.kafka.clusters.findById(tenant.clusterId))! };
  }
}
