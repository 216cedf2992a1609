import { Injectable } from '@nestjs/common';
import { Clock } from '@app/common';
import { JobDispatcher } from '../shared/ports';
import { Store } from '../shared/store.port';
import { ManageAddonUseCase } from '../addons/manage-addon.use-case';
import { AttachmentWriter } from '../addons/attachment-writer';
import { AppAccess } from './app-access';
import { AppView, AppsService } from './apps.service';

/** Deleting an app destroys the add-ons it owns and detaches the ones shared with it. */
@Injectable()
export class DeleteAppUseCase {
  constructor(
    private readonly store: Store,
    private readonly access: AppAccess,
    private readonly apps: AppsService,
    private readonly addons: ManageAddonUseCase,
    private readonly attachments: AttachmentWriter,
    private readonly jobs: JobDispatcher,
    private readonly clock: Clock,
  ) {}

  async execute(accountId: string, idOrName: string): Promise<AppView> {
    const app = await this.access.owner(accountId, idOrName);
    const view = await this.apps.view(this.store, app);
    const destroyed = await this.store.transaction(async (tx) => {
      // Add-ons before apps, the order every other writer takes its locks in, so none deadlock.
      const owned = (await tx.addons.listOwnedByApp(app.id)).sort((a, b) => a.id.localeCompare(b.id));
      for (const addon of owned) await tx.addons.findByIdForUpdate(addon.id);
      await tx.apps.lock(app.id);
      if ((await tx.apps.findLiveByIdOrName(app.id)) === null) return [];
      const now = this.clock.now();
      for (const addon of owned) await this.addons.destroyInTransaction(tx, addon.id, true);
      const shared = await tx.attachments.listForApp(app.id, { field: 'id', startExclusive: false, endExclusive: false, max: 1000, order: 'asc' });
      for (const attachment of shared.items) await this.attachments.detach(tx, attachment, now);
      await tx.apps.update(app.id, { deletedAt: now, updatedAt: now });
      // The add-ons that were attached, for their vendors' webhooks: the attachments are gone by now.
      const addonIds = [...new Set([...owned.map((a) => a.id), ...shared.items.map((a) => a.addonId)])];
      await tx.events.append({ type: 'app.deleted', appId: app.id, occurredAt: now, data: { name: app.name, addon_ids: addonIds } });
      return owned.map((a) => a.id);
    });
    for (const addonId of destroyed) await this.jobs.deprovision(addonId);
    return view;
  }
}
