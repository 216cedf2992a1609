import { Injectable } from '@nestjs/common';
import { InvalidInputError, NotFoundError } from '@app/common';
import { Addon, AddonService, Plan } from '../shared/models';
import { Store } from '../shared/store.port';
import { AddonAccess } from '../addons/addon-access';
import { RedisHost, RedisInstance } from './redis.models';

/** A first-party Redis add-on with everything its operations need. */
export interface RedisAddon {
  addon: Addon;
  service: AddonService;
  plan: Plan;
  instance: RedisInstance;
  host: RedisHost;
}

/** Finds Redis add-ons for operations, checking the caller's access. */
@Injectable()
export class RedisAddons {
  constructor(
    private readonly store: Store,
    private readonly access: AddonAccess,
  ) {}

  /** For reads: members of any app the add-on is attached to. */
  async viewable(accountId: string, idOrName: string): Promise<RedisAddon> {
    return this.load(await this.access.viewable(accountId, idOrName), this.store);
  }

  /** For changes: members of the add-on's billing app. */
  async manageable(accountId: string, idOrName: string): Promise<RedisAddon> {
    return this.load(await this.access.manageable(accountId, idOrName), this.store);
  }

  /** Inside a transaction, with the add-on and its instance locked; null unless it is provisioned. */
  async locked(tx: Store, addonId: string): Promise<RedisAddon | null> {
    const addon = await tx.addons.findByIdForUpdate(addonId);
    if (!addon || addon.state !== 'provisioned') return null;
    await tx.redis.instances.findByAddonForUpdate(addonId);
    return this.load(addon, tx);
  }

  private async load(addon: Addon, store: Store): Promise<RedisAddon> {
    const found = await store.addons.findWithCatalog(addon.id);
    if (!found || found.service.provider !== 'redis') throw new NotFoundError('add_on', `${addon.name} is not a Redis add-on.`);
    const instance = await store.redis.instances.findByAddon(addon.id);
    if (addon.state !== 'provisioned' || !instance || instance.state !== 'active') {
      throw new InvalidInputError(`${addon.name} is ${addon.state === 'provisioned' ? 'not available' : addon.state}; try again once it is provisioned.`, 'addon_not_ready');
    }
    return { ...found, instance, host: (await store.redis.hosts.findById(instance.hostId))! };
  }
}
