import { Injectable } from '@nestjs/common';
import { ForbiddenError, NotFoundError } from '@app/common';
import { Addon } from '../shared/models';
import { Store } from '../shared/store.port';

const FAILED_VISIBLE_MS = 7 * 24 * 3600_000;

/** An add-on is seen by members of any app it is attached to, and managed by members of its billing app. */
@Injectable()
export class AddonAccess {
  constructor(private readonly store: Store) {}

  async find(idOrName: string, store: Store = this.store): Promise<Addon> {
    const addon = await store.addons.findByIdOrName(idOrName);
    if (!addon || addon.state === 'deprovisioned') throw new NotFoundError('add_on', "Couldn't find that add-on.");
    return addon;
  }

  async canView(accountId: string, addon: Addon, store: Store = this.store): Promise<boolean> {
    if (await store.apps.hasAccess(addon.appId, accountId)) return true;
    for (const attachment of await store.attachments.listForAddon(addon.id)) {
      if (await store.apps.hasAccess(attachment.appId, accountId)) return true;
    }
    return false;
  }

  /**
   * Like `find`, but an add-on whose provisioning failed stays readable for a week, so the
   * developer can see why (a destroyed add-on answers 404 at once, as Heroku's do).
   */
  async findForRead(idOrName: string, store: Store = this.store): Promise<Addon> {
    const addon = await store.addons.findByIdOrName(idOrName);
    const failedRecently =
      addon?.state === 'deprovisioned' &&
      addon.failureReason !== null &&
      addon.deprovisionRequestedAt === null &&
      Date.now() - (addon.deprovisionedAt?.getTime() ?? 0) < FAILED_VISIBLE_MS;
    if (!addon || (addon.state === 'deprovisioned' && !failedRecently)) throw new NotFoundError('add_on', "Couldn't find that add-on.");
    return addon;
  }

  async viewable(accountId: string, idOrName: string, store: Store = this.store): Promise<Addon> {
    const addon = await this.findForRead(idOrName, store);
    if (!(await this.canView(accountId, addon, store))) throw new ForbiddenError('You do not have access to this add-on.');
    return addon;
  }

  async manageable(accountId: string, idOrName: string, store: Store = this.store): Promise<Addon> {
    const addon = await this.find(idOrName, store);
    if (!(await store.apps.hasAccess(addon.appId, accountId))) {
      throw new ForbiddenError('Only members of the add-on’s billing app can change it.');
    }
    return addon;
  }
}
