import { Injectable } from '@nestjs/common';
import { Clock, ForbiddenError, InvalidInputError, NotFoundError, isUuid } from '@app/common';
import { Store } from '../shared/store.port';
import { AppAccess } from '../apps/app-access';
import { AddonAccess } from './addon-access';
import { AttachmentView, ViewLoader } from './addon-views';
import { AliasChooser } from './alias.chooser';
import { AttachmentWriter } from './attachment-writer';
import { AddonConfigProjector } from './addon-config.projector';

export interface AttachInput {
  addon: string;
  app: string;
  name?: string | null;
  namespace?: string | null;
  confirm?: string | null;
}

/** Shares an add-on with an app (or attaches it again under another alias), and detaches it. */
@Injectable()
export class AttachAddonUseCase {
  constructor(
    private readonly store: Store,
    private readonly addons: AddonAccess,
    private readonly apps: AppAccess,
    private readonly aliases: AliasChooser,
    private readonly writer: AttachmentWriter,
    private readonly projector: AddonConfigProjector,
    private readonly clock: Clock,
  ) {}

  async attach(accountId: string, input: AttachInput): Promise<AttachmentView> {
    const found = await this.addons.manageable(accountId, input.addon);
    const app = await this.apps.member(accountId, input.app);
    const service = (await this.store.services.findById(found.serviceId))!;
    if (found.appId !== app.id && !service.requires.includes('attachable')) {
      throw new InvalidInputError(`${service.slug} add-ons cannot be shared between apps.`);
    }
    if (input.namespace && service.provider !== 'postgres') {
      // Namespaces (`credential:NAME`) only mean something to first-party services that issue credentials.
      throw new InvalidInputError(`${service.slug} does not support attachment namespaces.`);
    }
    const attachment = await this.store.transaction(async (tx) => {
      const addon = (await tx.addons.findByIdForUpdate(found.id))!;
      if (addon.state === 'deprovisioning' || addon.state === 'deprovisioned') {
        throw new InvalidInputError(`${addon.name} is being destroyed and cannot be attached.`);
      }
      if (input.namespace && !Object.hasOwn(this.projector.readNamespaceConfigs(addon), input.namespace)) {
        const credential = input.namespace.startsWith('credential:') ? input.namespace.slice('credential:'.length) : input.namespace;
        throw new NotFoundError('credential', `Could not find credential ${credential} for database ${addon.name}.`);
      }
      const choice = await this.aliases.choose(tx, app, service, input.name, input.confirm, this.projector.readConfig(addon));
      const created = await this.writer.attach(tx, addon, service, app, choice, input.namespace ?? null);
      await tx.releases.append(app.id, `Attach ${addon.name} (@ref:${created.name})`, this.clock.now());
      return created;
    });
    return (await new ViewLoader(this.store).attachments([attachment]))[0];
  }

  async detach(accountId: string, attachmentId: string, appIdOrName: string | null): Promise<AttachmentView> {
    const onApp = appIdOrName ? await this.apps.member(accountId, appIdOrName) : null;
    const byId = isUuid(attachmentId) ? await this.store.attachments.findById(attachmentId) : null;
    const attachment = onApp
      ? byId?.appId === onApp.id
        ? byId
        : await this.store.attachments.findByAppAndName(onApp.id, attachmentId.toUpperCase())
      : byId;
    if (!attachment) throw new NotFoundError('add_on attachment', "Couldn't find that add-on attachment.");
    await this.apps.member(accountId, attachment.appId);
    const view = (await new ViewLoader(this.store).attachments([attachment]))[0];
    await this.store.transaction(async (tx) => {
      const addon = (await tx.addons.findByIdForUpdate(attachment.addonId))!;
      const onBillingApp = (await tx.attachments.listForAddon(addon.id)).filter((a) => a.appId === addon.appId);
      if (attachment.appId === addon.appId && onBillingApp.length === 1 && addon.state !== 'deprovisioned') {
        throw new ForbiddenError(`${attachment.name} attaches ${addon.name} to its billing app ${view.app.name}; destroy the add-on instead.`);
      }
      await tx.apps.lock(attachment.appId);
      const now = this.clock.now();
      await this.writer.detach(tx, attachment, now);
      await tx.releases.append(attachment.appId, `Detach ${addon.name} (@ref:${attachment.name})`, now);
    });
    return view;
  }
}
