import { readFileSync, writeFileSync } from 'node:fs';
import { AccountsService, ManifestService, Store } from '@app/domain';
import { withContext } from './context';

export interface SeedVendorOptions {
  manifestFile: string;
  ownerEmail: string;
  publish: boolean;
  /** Where to write the service's OAuth client secret (created on first push, regenerated if lost). */
  clientSecretFile?: string;
}

/**
 * Registers a vendor's service from its manifest file under the owner's account, as a first
 * push would, and publishes it. Idempotent: running it again pushes the manifest again.
 */
export async function seedVendor(options: SeedVendorOptions): Promise<{ slug: string }> {
  const manifest = JSON.parse(readFileSync(options.manifestFile, 'utf8')) as { id: string };
  await withContext(async (ctx) => {
    const store = ctx.get(Store);
    const manifests = ctx.get(ManifestService);
    const owner =
      (await store.accounts.findByEmail(options.ownerEmail)) ?? (await ctx.get(AccountsService).createAccount(options.ownerEmail)).account;
    const actor = { kind: 'account' as const, accountId: owner.id };
    const pushed = await manifests.push(actor, manifest.id, manifest);
    if (options.clientSecretFile) {
      let secret = pushed.clientSecret;
      if (!secret) {
        try {
          secret = readFileSync(options.clientSecretFile, 'utf8').trim() || null;
        } catch {
          secret = null;
        }
      }
      secret ??= (await manifests.regenerateClientSecret(actor, manifest.id)).clientSecret;
      writeFileSync(options.clientSecretFile, `${secret}\n`, { mode: 0o600 });
    }
    if (options.publish) await manifests.publish(manifest.id);
  });
  return { slug: manifest.id };
}
