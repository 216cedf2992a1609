import { Page, RangeSpec } from '@app/common';

/**
 * Range fields of a vendor's installs list: the attachment's id (the default, which pages through
 * everything exactly once) or when it was made (attachments made in the same millisecond may
 * straddle a page boundary).
 */
export const INSTALL_RANGE_FIELDS = ['id', 'attached_at'] as const;

/** One place a vendor's add-on is installed: an attachment of it to an app. */
export interface VendorInstall {
  attachment: { id: string; name: string; createdAt: Date };
  app: { id: string; name: string };
  addon: { id: string; name: string; state: string; providerId: string | null };
  plan: { id: string; name: string };
  ownerEmail: string;
}

/** Where a service's add-ons are installed. */
export abstract class VendorInstallRepository {
  /** Attachments of the service's live add-ons to live apps. */
  abstract listForService(serviceId: string, range: RangeSpec): Promise<Page<VendorInstall>>;
}
