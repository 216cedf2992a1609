export interface ExampleVendorManifestOptions {
  slug?: string;
  baseUrl: string;
  ssoUrl: string;
  password: string;
  ssoSalt: string;
}

export interface ExampleVendorPlan {
  name: string;
  human_name: string;
  description: string;
  price: { cents: number; unit: 'month' };
  default: boolean;
  state: 'public';
}

export interface ExampleVendorManifest {
  id: string;
  name: string;
  api: {
    config_vars_prefix: string;
    config_vars: string[];
    password: string;
    sso_salt: string;
    regions: string[];
    requires: string[];
    production: { base_url: string; sso_url: string };
    version: '3';
  };
  plans: ExampleVendorPlan[];
}

export const EXAMPLE_VENDOR_DEFAULT_SLUG = 'sudo-notes';
export const EXAMPLE_VENDOR_NAME = 'Sudo Notes';
export const EXAMPLE_VENDOR_CONFIG_VAR = 'SUDO_NOTES_URL';

function plan(name: string, humanName: string, cents: number, description: string, isDefault = false): ExampleVendorPlan {
  return { name, human_name: humanName, description, price: { cents, unit: 'month' }, default: isDefault, state: 'public' };
}

/** The plans the example vendor offers; the server refuses any other plan slug. */
export const EXAMPLE_VENDOR_PLANS: readonly ExampleVendorPlan[] = [
  plan('test', 'Test', 0, 'A free notebook for trying things out.', true),
  plan('basic', 'Basic', 500, 'A notebook for everyday notes.'),
  plan('pro', 'Pro', 2500, 'A notebook for teams; changing to it rotates the URL token.'),
  plan('async', 'Async (demo)', 0, 'Provisions asynchronously through the partner API.'),
];

/**
 * The manifest a vendor would push for the example app (DESIGN §4.4). The config var prefix stays
 * `SUDO_NOTES` whatever the slug, so tests can register the same app under unique slugs.
 */
export function exampleVendorManifest(opts: ExampleVendorManifestOptions): ExampleVendorManifest {
  return {
    id: opts.slug ?? EXAMPLE_VENDOR_DEFAULT_SLUG,
    name: EXAMPLE_VENDOR_NAME,
    api: {
      config_vars_prefix: 'SUDO_NOTES',
      config_vars: [EXAMPLE_VENDOR_CONFIG_VAR],
      password: opts.password,
      sso_salt: opts.ssoSalt,
      regions: ['us', 'eu'],
      requires: ['attachable', 'many_per_app'],
      production: { base_url: opts.baseUrl, sso_url: opts.ssoUrl },
      version: '3',
    },
    plans: EXAMPLE_VENDOR_PLANS.map((p) => ({ ...p, price: { ...p.price } })),
  };
}
