/** Plain records the domain works with; persistence maps its rows onto these shapes. */

export interface Account {
  id: string;
  email: string;
  name: string | null;
  isOperator: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface Region {
  id: string;
  name: string;
  description: string;
  country: string;
  locale: string;
  providerRegion: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface App {
  id: string;
  name: string;
  ownerAccountId: string;
  /** Set for a team's app: the team is its billing entity and its members its users. */
  ownerTeamId: string | null;
  regionId: string;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export interface Release {
  id: string;
  appId: string;
  version: number;
  description: string;
  createdAt: Date;
}

export type ServiceState = 'alpha' | 'beta' | 'ga' | 'shutdown';
/** Which provider implementation creates the resources: a vendor over HTTP or in-process code. */
export type ProviderKind = 'http' | 'postgres' | 'redis' | 'kafka';

export interface AddonService {
  id: string;
  slug: string;
  humanName: string;
  ownerAccountId: string | null;
  provider: ProviderKind;
  state: ServiceState;
  published: boolean;
  configVarsPrefix: string;
  defaultAlias: string;
  configVars: string[];
  requires: string[];
  regions: string[];
  baseUrl: string | null;
  ssoUrl: string | null;
  /** Sealed (encrypted) vendor secrets; opened only by the provisioner and SSO code. */
  passwordSealed: string | null;
  ssoSaltSealed: string | null;
  timeoutMs: number | null;
  clientSecretHash: string | null;
  currentManifestId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type PlanState = 'public' | 'beta' | 'private' | 'deprecated';

export interface PlanMeter {
  dimension: string;
  unit: string;
  cents_per_unit: number;
  included: number;
}

export interface Plan {
  id: string;
  serviceId: string;
  name: string;
  humanName: string;
  description: string;
  priceCents: number;
  priceUnit: string;
  isDefault: boolean;
  state: PlanState;
  meters: PlanMeter[];
  createdAt: Date;
  updatedAt: Date;
}

export type AddonState = 'provisioning' | 'provisioned' | 'deprovisioning' | 'deprovisioned';

export interface Addon {
  id: string;
  name: string;
  serviceId: string;
  planId: string;
  appId: string;
  regionId: string;
  state: AddonState;
  billedPriceCents: number;
  billedPriceUnit: string;
  pendingPlanId: string | null;
  planChangeSeq: number;
  providerId: string | null;
  /** Sealed JSON object of the provider's config vars (provider names, unprefixed by alias). */
  configSealed: string | null;
  /**
   * Sealed JSON map from attachment namespace (`credential:analyst`) to the config an attachment
   * in that namespace gets instead of `configSealed`.
   */
  namespaceConfigSealed: string | null;
  options: Record<string, string>;
  provisionMessage: string | null;
  failureReason: string | null;
  planChangeError: string | null;
  asyncDeadlineAt: Date | null;
  /** Set when a failed provision may have left a resource at the provider that must be deleted. */
  cleanupPending: boolean;
  createdAt: Date;
  updatedAt: Date;
  provisionedAt: Date | null;
  deprovisionRequestedAt: Date | null;
  deprovisionedAt: Date | null;
}

export interface Attachment {
  id: string;
  addonId: string;
  appId: string;
  name: string;
  namespace: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ConfigVar {
  appId: string;
  name: string;
  valueSealed: string;
  attachmentId: string | null;
}

export interface Manifest {
  id: string;
  serviceId: string;
  contentsSealed: string;
  pushedBy: string | null;
  createdAt: Date;
}

export type LifecycleEventType =
  | 'addon.provision_requested'
  | 'addon.provisioned'
  | 'addon.provision_failed'
  | 'addon.plan_change_requested'
  | 'addon.plan_changed'
  | 'addon.plan_change_failed'
  | 'addon.config_changed'
  | 'addon.renamed'
  | 'addon.restricted'
  | 'addon.restriction_lifted'
  | 'addon.credentials_rotated'
  | 'addon.failover'
  | 'addon.deprovision_requested'
  | 'addon.deprovisioned'
  | 'attachment.created'
  | 'attachment.removed'
  | 'app.created'
  | 'app.renamed'
  | 'app.transferred'
  | 'app.deleted'
  | 'config_vars.changed';

export interface LifecycleEvent {
  type: LifecycleEventType;
  addonId?: string | null;
  appId?: string | null;
  occurredAt: Date;
  data: Record<string, unknown>;
}
