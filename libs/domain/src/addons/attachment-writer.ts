import { Injectable } from '@nestjs/common';
import { Clock, newId } from '@app/common';
import { Addon, AddonService, App, Attachment } from '../shared/models';
import { Store } from '../shared/store.port';
import { AddonConfigProjector } from './addon-config.projector';
import { AliasChoice } from './alias.chooser';
import { colouredAlias, colouredAliasBase } from './naming.rules';

/** Creates and removes attachments with their config vars and lifecycle events. */
@Injectable()
export class AttachmentWriter {
  constructor(
    private readonly projector: AddonConfigProjector,
    private readonly clock: Clock,
  ) {}

  async attach(tx: Store, addon: Addon, service: AddonService, app: App, choice: AliasChoice, namespace: string | null): Promise<Attachment> {
    const now = this.clock.now();
    if (choice.displaced) await this.giveUpAlias(tx, choice.displaced, app, now);
    // Plain vars the add-on takes over (confirmed) are overwritten when its config is written,
    // in the same transaction as that release; until then, and if provisioning fails, they stay.
    const attachment = await tx.attachments.create({
      id: newId(),
      addonId: addon.id,
      appId: app.id,
      name: choice.alias,
      namespace,
      createdAt: now,
      updatedAt: now,
    });
    if (addon.state === 'provisioned') {
      await this.projector.projectOne(tx, attachment, service, this.projector.configFor(addon, attachment));
    }
    await tx.events.append({
      type: 'attachment.created',
      addonId: addon.id,
      appId: app.id,
      occurredAt: now,
      data: { attachment_id: attachment.id, name: attachment.name, namespace },
    });
    return attachment;
  }

  /** Removes the attachment and its vars from the app; the caller cuts the release. */
  async detach(tx: Store, attachment: Attachment, at: Date): Promise<void> {
    await tx.configVars.deleteByAttachment(attachment.id);
    await tx.attachments.delete(attachment.id);
    await tx.events.append({
      type: 'attachment.removed',
      addonId: attachment.addonId,
      appId: attachment.appId,
      occurredAt: at,
      data: { attachment_id: attachment.id, name: attachment.name },
    });
  }

  /**
   * An alias taken over with `confirm`: an add-on's only attachment to its own billing app
   * moves to a coloured alias (so it stays attached); any other attachment is detached.
   */
  private async giveUpAlias(tx: Store, displaced: Attachment, app: App, at: Date): Promise<void> {
    const addon = (await tx.addons.findById(displaced.addonId))!;
    const onOwningApp = (await tx.attachments.listForAddon(addon.id)).filter((a) => a.appId === addon.appId);
    if (addon.appId === app.id && onOwningApp.length === 1) {
      const service = (await tx.services.findById(addon.serviceId))!;
      await tx.configVars.deleteByAttachment(displaced.id);
      await tx.attachments.delete(displaced.id);
      const taken = new Set(await tx.attachments.namesOnApp(app.id));
      taken.add(displaced.name);
      const moved = await tx.attachments.create({
        ...displaced,
        id: newId(),
        name: colouredAlias(colouredAliasBase(service.slug), taken),
        createdAt: at,
        updatedAt: at,
      });
      if (addon.state === 'provisioned') await this.projector.projectOne(tx, moved, service, this.projector.configFor(addon, moved));
      await tx.events.append({
        type: 'attachment.created',
        addonId: addon.id,
        appId: app.id,
        occurredAt: at,
        data: { attachment_id: moved.id, name: moved.name, replaces: displaced.name },
      });
      return;
    }
    await this.detach(tx, displaced, at);
  }
}
