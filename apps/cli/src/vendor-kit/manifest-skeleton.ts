import { randomBytes } from 'node:crypto';
import { AddonManifest, defaultConfigVarsPrefix } from '@app/domain';

/** 32 characters from 24 random bytes, as Heroku's generator makes them. */
export function newManifestSecret(): string {
  return randomBytes(24).toString('base64url');
}

function humanName(slug: string): string {
  return slug
    .split('-')
    .filter((word) => word !== '')
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join(' ');
}

/**
 * What `attache vendor:init` writes (DESIGN §4.4): a manifest that validates as it stands, with
 * fresh secrets, example URLs to replace and one free default plan.
 */
export function manifestSkeleton(slug: string, secret: () => string = newManifestSecret): AddonManifest & { api: { test: { base_url: string; sso_url: string } } } {
  const prefix = defaultConfigVarsPrefix(slug);
  return {
    id: slug,
    name: humanName(slug),
    api: {
      config_vars_prefix: prefix,
      config_vars: [`${prefix}_URL`],
      password: secret(),
      sso_salt: secret(),
      regions: ['us', 'eu'],
      requires: [],
      production: { base_url: `https://${slug}.example.com/heroku/resources`, sso_url: `https://${slug}.example.com/sso/login` },
      test: { base_url: 'http://localhost:4567/heroku/resources', sso_url: 'http://localhost:4567/sso/login' },
      version: '3',
    },
    plans: [
      {
        name: 'test',
        human_name: 'Test',
        description: 'A free plan for trying the add-on out.',
        price: { cents: 0, unit: 'month' },
        default: true,
        state: 'public',
      },
    ],
  };
}
