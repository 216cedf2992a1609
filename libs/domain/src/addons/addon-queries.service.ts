import { Injectable } from '@nestjs/common';
import { NotFoundError, Page, RangeSpec, isUuid } from '@app/common';
import { Addon, Attachment } from '../shared/models';
import { Store } from '../shared/store.port';
import { AppAccess } from '../apps/app-access';
import { AddonAccess } from './addon-access';
import { AddonView, AttachmentView, ViewLoader } from './addon-views';
import { AddonConfigProjector } from './addon-config.projector';

/** Reads of add-ons and attachments, including Heroku's resolve actions. */
@Injectable()
export class AddonQueries {
  constructor(
    private readonly store: Store,
    private readonly access: AddonAccess,
    private readonly apps: AppAccess,
    private readonly projector: AddonConfigProjector,
  ) {}

  private get views(): ViewLoader {
    return new ViewLoader(this.store);
  }

  async listVisible(accountId: string, range: RangeSpec): Promise<Page<AddonView>> {
    const page = await this.store.addons.listVisible(accountId, range);
    return { items: await this.views.addons(page.items), nextRange: page.nextRange };
  }

  async listForApp(accountId: string, appIdOrName: string, range: RangeSpec): Promise<Page<AddonView>> {
    const app = await this.apps.member(accountId, appIdOrName);
    const page = await this.store.addons.listForApp(app.id, range);
    return { items: await this.views.addons(page.items), nextRange: page.nextRange };
  }

  async get(accountId: string, idOrName: string): Promise<AddonView> {
    return this.views.addon(await this.access.viewable(accountId, idOrName));
  }

  /** The config an attachment in `namespace` would export (`[]` when there is no such namespace); billing-app members only. */
  async namespaceConfig(accountId: string, idOrName: string, namespace: string): Promise<{ name: string; value: string }[]> {
    const addon = await this.access.manageable(accountId, idOrName);
    const namespaces = this.projector.readNamespaceConfigs(addon);
    return Object.entries(Object.hasOwn(namespaces, namespace) ? namespaces[namespace] : {}).map(([name, value]) => ({ name, value }));
  }

  async getOnApp(accountId: string, appIdOrName: string, idOrName: string): Promise<AddonView> {
    const app = await this.apps.member(accountId, appIdOrName);
    const addon = await this.access.findForRead(idOrName);
    const attached = (await this.store.attachments.listForAddon(addon.id)).some((a) => a.appId === app.id);
    if (addon.appId !== app.id && !attached) throw new NotFoundError('add_on', `Couldn't find that add-on on ${app.name}.`);
    return this.views.addon(addon);
  }

  /**
   * `POST /actions/addons/resolve`: an add-on id or name; with an app, also an attachment name,
   * `app::attachment`, a service name or `service:plan` among the app's add-ons.
   */
  async resolveAddons(accountId: string, ref: string, appIdOrName: string | null, serviceFilter: string | null): Promise<AddonView[]> {
    const matches = new Map<string, Addon>();
    const add = (addon: Addon | null) => {
      if (addon && addon.state !== 'deprovisioned') matches.set(addon.id, addon);
    };
    let identifier = ref.trim();
    let appRef = appIdOrName;
    if (identifier.includes('::')) [appRef, identifier] = identifier.split('::', 2);
    const direct = await this.store.addons.findByIdOrName(identifier);
    if (direct && (await this.access.canView(accountId, direct))) add(direct);
    if (matches.size === 0 && appRef) {
      const app = await this.apps.member(accountId, appRef);
      const attachment = await this.store.attachments.findByAppAndName(app.id, identifier.toUpperCase());
      if (attachment) add(await this.store.addons.findById(attachment.addonId));
      if (matches.size === 0) {
        const onApp = await this.views.addons((await this.store.addons.listForApp(app.id, allOf('name'))).items);
        for (const view of onApp) {
          if (view.service.slug === identifier || `${view.service.slug}:${view.plan.name}` === identifier) add(view.addon);
        }
      }
    }
    let views = await this.views.addons([...matches.values()]);
    if (serviceFilter) views = views.filter((v) => v.service.slug === serviceFilter || v.service.id === serviceFilter);
    if (views.length === 0) throw new NotFoundError('add_on', "Couldn't find that add-on.");
    return views;
  }

  async listAttachmentsVisible(accountId: string, range: RangeSpec): Promise<Page<AttachmentView>> {
    const page = await this.store.attachments.listVisible(accountId, range);
    return { items: await this.views.attachments(page.items), nextRange: page.nextRange };
  }

  async listAttachmentsForApp(accountId: string, appIdOrName: string, range: RangeSpec): Promise<Page<AttachmentView>> {
    const app = await this.apps.member(accountId, appIdOrName);
    const page = await this.store.attachments.listForApp(app.id, range);
    return { items: await this.views.attachments(page.items), nextRange: page.nextRange };
  }

  async listAttachmentsForAddon(accountId: string, addonIdOrName: string): Promise<AttachmentView[]> {
    const addon = await this.access.viewable(accountId, addonIdOrName);
    return this.views.attachments(await this.store.attachments.listForAddon(addon.id));
  }

  async getAttachment(accountId: string, id: string): Promise<AttachmentView> {
    const attachment = isUuid(id) ? await this.store.attachments.findById(id) : null;
    if (!attachment) throw new NotFoundError('add_on attachment', "Couldn't find that add-on attachment.");
    await this.apps.member(accountId, attachment.appId);
    return (await this.views.attachments([attachment]))[0];
  }

  async getAttachmentOnApp(accountId: string, appIdOrName: string, idOrName: string): Promise<AttachmentView> {
    const app = await this.apps.member(accountId, appIdOrName);
    const attachment =
      (isUuid(idOrName) ? await this.store.attachments.findById(idOrName) : null) ??
      (await this.store.attachments.findByAppAndName(app.id, idOrName.toUpperCase()));
    if (!attachment || attachment.appId !== app.id) {
      throw new NotFoundError('add_on attachment', "Couldn't find that add-on attachment.");
    }
    return (await this.views.attachments([attachment]))[0];
  }

  /** `POST /actions/addon-attachments/resolve`: attachment id, `app::name`, name on the app, or an add-on's attachments. */
  async resolveAttachments(accountId: string, ref: string, appIdOrName: string | null, serviceFilter: string | null): Promise<AttachmentView[]> {
    let identifier = ref.trim();
    let appRef = appIdOrName;
    if (identifier.includes('::')) [appRef, identifier] = identifier.split('::', 2);
    const app = appRef ? await this.apps.member(accountId, appRef) : null;
    const found: Attachment[] = [];
    if (isUuid(identifier)) {
      const byId = await this.store.attachments.findById(identifier);
      if (byId && (await this.store.apps.hasAccess(byId.appId, accountId))) found.push(byId);
    }
    if (found.length === 0 && app) {
      const byName = await this.store.attachments.findByAppAndName(app.id, identifier.toUpperCase());
      if (byName) found.push(byName);
    }
    if (found.length === 0) {
      const addon = await this.store.addons.findByIdOrName(identifier);
      if (addon && addon.state !== 'deprovisioned') {
        for (const attachment of await this.store.attachments.listForAddon(addon.id)) {
          if ((!app || attachment.appId === app.id) && (await this.store.apps.hasAccess(attachment.appId, accountId))) {
            found.push(attachment);
          }
        }
      }
    }
    let views = await this.views.attachments(found);
    if (serviceFilter) views = views.filter((v) => v.service.slug === serviceFilter || v.service.id === serviceFilter);
    if (views.length === 0) throw new NotFoundError('add_on attachment', "Couldn't find that add-on attachment.");
    return views;
  }
}

const allOf = (field: string): RangeSpec => ({ field, startExclusive: false, endExclusive: false, max: 1000, order: 'asc' });
