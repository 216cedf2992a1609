import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock, DomainError, ForbiddenError, NotFoundError, SecretBox } from '@app/common';
import { AddonAccess } from '../addons/addon-access';
import { Store } from '../shared/store.port';

/** What a browser POSTs to the vendor's SSO URL (Heroku add-on SSO, reference §4). */
export interface SsoForm {
  method: 'post';
  action: string;
  params: { resource_id: string; resource_token: string; timestamp: string; email: string; user_id: string; app: string; context_app: string };
}

/** `hex(sha1("uuid:sso_salt:timestamp"))`, as vendors check it. */
export const ssoResourceToken = (addonId: string, salt: string, timestamp: string): string =>
  createHash('sha1').update(`${addonId}:${salt}:${timestamp}`).digest('hex');

/**
 * Signs the single sign-on form that takes a developer to an add-on's vendor dashboard. Only
 * members (owners, collaborators, team members) of an app the add-on is attached to get one;
 * for anyone else nothing is signed.
 */
@Injectable()
export class SsoForms {
  constructor(
    private readonly store: Store,
    private readonly access: AddonAccess,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  /** `contextApp`: the app the developer came from (one the add-on is attached to); the owning app otherwise. */
  async formFor(accountId: string, addonRef: string, contextApp?: string): Promise<SsoForm> {
    const addon = await this.access.viewable(accountId, addonRef);
    const owning = await this.store.apps.findById(addon.appId);
    let context = owning;
    if (contextApp !== undefined) {
      const found = await this.store.apps.findLiveWithAccess(contextApp, accountId);
      if (!found) throw new NotFoundError('app');
      if (!found.member) throw new ForbiddenError(`You do not have access to the app ${found.app.name}.`);
      const attached = (await this.store.attachments.listForAddon(addon.id)).some((a) => a.appId === found.app.id);
      if (!attached) throw new NotFoundError('add_on', `${addon.name} is not attached to ${found.app.name}.`);
      context = found.app;
    } else if (!owning || !(await this.store.apps.hasAccess(owning.id, accountId))) {
      // Reached through an attachment only: the form names an app the developer uses.
      const apps = await this.store.apps.findByIds((await this.store.attachments.listForAddon(addon.id)).map((a) => a.appId));
      for (const app of apps) if (await this.store.apps.hasAccess(app.id, accountId)) context = app;
    }
    const service = (await this.store.services.findById(addon.serviceId))!;
    if (!service.ssoUrl || !service.ssoSaltSealed) {
      throw new DomainError('invalid', 'sso_unavailable', `${service.slug} has no single sign-on dashboard.`);
    }
    if (addon.state !== 'provisioned') throw new DomainError('invalid', 'addon_not_ready', `${addon.name} is ${addon.state}; its dashboard opens once it is provisioned.`);
    const account = (await this.store.accounts.findById(accountId))!;
    const timestamp = String(Math.floor(this.clock.now().getTime() / 1000));
    return {
      method: 'post',
      action: service.ssoUrl,
      params: {
        resource_id: addon.id,
        resource_token: ssoResourceToken(addon.id, this.box.open(service.ssoSaltSealed), timestamp),
        timestamp,
        email: account.email,
        user_id: account.id,
        app: owning?.name ?? '',
        context_app: context?.name ?? '',
      },
    };
  }
}
