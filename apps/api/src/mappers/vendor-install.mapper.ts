import { AddonService, VendorInstall } from '@app/domain';

/** One install of a vendor's add-on: the attachment, its app and the app's owner, the add-on and its plan. */
export const toVendorInstallResponse = (install: VendorInstall, service: Pick<AddonService, 'slug'>) => ({
  id: install.attachment.id,
  name: install.attachment.name,
  attached_at: install.attachment.createdAt.toISOString(),
  app: { id: install.app.id, name: install.app.name },
  addon: {
    id: install.addon.id,
    name: install.addon.name,
    state: install.addon.state,
    provider_id: install.addon.providerId,
    plan: { id: install.plan.id, name: `${service.slug}:${install.plan.name}` },
  },
  owner_email: install.ownerEmail,
});
