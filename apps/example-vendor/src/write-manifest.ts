import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleVendorManifest } from './example-vendor.manifest';

/**
 * `write-manifest DIR [BASE_URL]`: what a vendor does before its first push. Generates the
 * vendor's secrets once (DIR/secrets.json, kept across runs) and writes DIR/manifest.json.
 */
function main(): void {
  const [dir, baseUrl = 'http://127.0.0.1:5100'] = process.argv.slice(2);
  if (!dir) {
    process.stderr.write('usage: write-manifest DIR [BASE_URL]\n');
    process.exit(2);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secretsFile = join(dir, 'secrets.json');
  const secrets = existsSync(secretsFile)
    ? (JSON.parse(readFileSync(secretsFile, 'utf8')) as { password: string; ssoSalt: string })
    : { password: randomBytes(24).toString('base64url'), ssoSalt: randomBytes(24).toString('base64url') };
  writeFileSync(secretsFile, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  const manifest = exampleVendorManifest({
    baseUrl: `${baseUrl}/heroku/resources`,
    ssoUrl: `${baseUrl}/sso/login`,
    password: secrets.password,
    ssoSalt: secrets.ssoSalt,
  });
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  process.stdout.write(`${join(dir, 'manifest.json')}\n`);
}

main();
