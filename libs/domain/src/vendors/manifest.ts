/** Regions a manifest may list (kensa's allow-list); `*` means every region. */
export const KNOWN_REGIONS = ['us', 'eu', 'frankfurt', 'oregon', 'tokyo', 'virginia', '*'] as const;
export type KnownRegion = (typeof KNOWN_REGIONS)[number];

export const MANIFEST_REQUIREMENTS = ['attachable', 'many_per_app', 'log_input', 'syslog_drain'] as const;
export type ManifestRequirement = (typeof MANIFEST_REQUIREMENTS)[number];

export const PLAN_STATES = ['public', 'beta', 'private', 'deprecated'] as const;
export type ManifestPlanState = (typeof PLAN_STATES)[number];

export interface ManifestEndpoints {
  base_url: string;
  sso_url: string;
}

export interface ManifestMeter {
  dimension: string;
  unit: string;
  cents_per_unit: number;
  included: number;
}

export interface ManifestPlan {
  /** Plan slug without the service prefix. */
  name: string;
  human_name: string;
  description?: string;
  price: { cents: number; unit: 'month' };
  default?: boolean;
  state?: ManifestPlanState;
  meters?: ManifestMeter[];
}

export interface ManifestApi {
  config_vars_prefix?: string;
  config_vars?: string[];
  password: string;
  sso_salt: string;
  regions: KnownRegion[];
  requires?: ManifestRequirement[];
  production: ManifestEndpoints;
  test?: ManifestEndpoints;
  version: '3';
  timeout_ms?: number;
}

/** A vendor's add-on manifest as pushed (DESIGN §4.4). */
export interface AddonManifest {
  id: string;
  name: string;
  cli_plugin_name?: string;
  api: ManifestApi;
  plans: ManifestPlan[];
}

export interface NormalizedManifestPlan extends ManifestPlan {
  default: boolean;
  state: ManifestPlanState;
  meters: ManifestMeter[];
}

export interface NormalizedManifestApi extends ManifestApi {
  config_vars_prefix: string;
  config_vars: string[];
  requires: ManifestRequirement[];
}

/** A validated manifest with every default filled in. */
export interface NormalizedManifest extends AddonManifest {
  api: NormalizedManifestApi;
  plans: NormalizedManifestPlan[];
}
