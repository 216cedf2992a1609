import { validateManifest } from '@app/domain';
import { manifestSkeleton } from './manifest-skeleton';

describe('manifestSkeleton', () => {
  it('validates as written, even for a production Attache, with fresh secrets each time', () => {
    const manifest = manifestSkeleton('fast-db');
    expect(validateManifest(manifest, { production: true })).toMatchObject({ ok: true });
    expect(manifest).toMatchObject({
      id: 'fast-db',
      name: 'Fast Db',
      api: { config_vars_prefix: 'FAST_DB', config_vars: ['FAST_DB_URL'], version: '3' },
      plans: [{ name: 'test', default: true, price: { cents: 0, unit: 'month' } }],
    });
    expect(manifest.api.password).toHaveLength(32);
    expect(manifest.api.sso_salt).toHaveLength(32);
    const other = manifestSkeleton('fast-db');
    expect(new Set([manifest.api.password, manifest.api.sso_salt, other.api.password, other.api.sso_salt]).size).toBe(4);
  });

  it('takes its secrets from the given source', () => {
    let n = 0;
    const manifest = manifestSkeleton('x-ray', () => `secret-number-${(n += 1)}`);
    expect(manifest.api).toMatchObject({ password: 'secret-number-1', sso_salt: 'secret-number-2' });
  });
});
