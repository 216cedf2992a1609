import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ManifestInvalidError, validateManifest } from '@app/domain';
import { CheckResult, formatResult, formatSummary } from '../vendor-kit/check-result';
import type { CheckEnvironment } from '../vendor-kit/checked-manifest';
import { ConformanceSuite } from '../vendor-kit/conformance-suite';
import { manifestSkeleton } from '../vendor-kit/manifest-skeleton';
import { basicAuth, safeUrl } from '../vendor-kit/vendor-http';

const DEFAULT_API = 'http://127.0.0.1:5000';

const seconds = (value: string): number => {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0 || n > 3600) throw new InvalidArgumentError('A number of seconds from 0 to 3600.');
  return n;
};
const environment = (value: string): CheckEnvironment => {
  if (value !== 'test' && value !== 'production') throw new InvalidArgumentError('test or production.');
  return value;
};

function readManifestFile(file: string): Record<string, unknown> {
  let contents: unknown;
  try {
    contents = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`Cannot read ${file} as JSON: ${(error as Error).message}`);
  }
  if (typeof contents !== 'object' || contents === null || Array.isArray(contents)) throw new Error(`${file} does not hold a JSON object.`);
  return contents as Record<string, unknown>;
}

/**
 * The vendor toolkit, run from a vendor's own machine: it needs no database, only the manifest
 * file, Attache's HTTP API (push) and the vendor's servers (check).
 */
export function vendorCommands(program: Command): void {
  program
    .command('vendor:init')
    .description('Write a new add-on manifest with a fresh password and SSO salt')
    .option('--id <slug>', 'the add-on slug (never changes once pushed)', 'my-addon')
    .option('--out <file>', 'the file to write', 'addon-manifest.json')
    .option('--force', 'overwrite the file if it exists (its secrets change)', false)
    .action((options: { id: string; out: string; force: boolean }) => {
      const manifest = manifestSkeleton(options.id);
      const validation = validateManifest(manifest, { production: true });
      if (!validation.ok) throw new Error(`--id ${validation.errors.map((e) => e.message).join('; ')}.`);
      try {
        // "wx" refuses an existing file in the same step that creates it.
        writeFileSync(options.out, `${JSON.stringify(manifest, null, 2)}\n`, { flag: options.force ? 'w' : 'wx', mode: 0o600 });
        chmodSync(options.out, 0o600);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${options.out} already exists; pass --force to overwrite it (with new secrets).`);
        throw new Error(`Cannot write ${options.out}: ${(error as Error).message}`);
      }
      process.stdout.write(
        `Wrote ${options.out} for ${options.id}, with a new password and SSO salt (kept only in that file).\n` +
          `Set its URLs and plans, then run: attache vendor:check --manifest ${options.out}, and attache vendor:push ${options.out}\n`,
      );
    });

  program
    .command('vendor:push')
    .description("Push an add-on manifest to Attache (the first push, with your API key, creates the service; later ones may use the manifest's own credentials)")
    .argument('<file>', 'path of the manifest JSON file')
    .option('--api <url>', `Attache API URL (default: $ATTACHE_URL or ${DEFAULT_API})`)
    .addOption(new Option('--url <url>', 'the same as --api').hideHelp())
    .option('--api-key <key>', "your account's API key (default: $ATTACHE_API_KEY or $HEROKU_API_KEY; without one, HTTP Basic with the manifest's id and password)")
    .option('--timeout <seconds>', 'how long to wait for Attache', seconds, 30)
    .action(async (file: string, options: { api?: string; url?: string; apiKey?: string; timeout: number }) => {
      const api = (options.api ?? options.url ?? process.env.ATTACHE_URL ?? DEFAULT_API).replace(/\/+$/, '');
      const apiKey = options.apiKey ?? process.env.ATTACHE_API_KEY ?? process.env.HEROKU_API_KEY;
      const contents = readManifestFile(file);
      if (typeof contents.id !== 'string') throw new Error(`${file} has no "id" (the add-on slug).`);
      // The server validates the same way; checking first shows every mistake without a round trip.
      const validation = validateManifest(contents, { production: false });
      if (!validation.ok) throw new ManifestInvalidError(validation.errors);
      const slug = contents.id;
      const authorization = apiKey ? `Bearer ${apiKey}` : basicAuth(slug, validation.manifest.api.password);
      const response = await fetch(`${api}/api/v3/addons/${encodeURIComponent(slug)}/manifests`, {
        method: 'POST',
        headers: { Authorization: authorization, 'Content-Type': 'application/json', Accept: 'application/vnd.heroku+json; version=3' },
        body: JSON.stringify({ contents }),
        signal: AbortSignal.timeout(options.timeout * 1000),
      }).catch((error: Error) => {
        if (error.name === 'TimeoutError') throw new Error(`No answer from ${safeUrl(api)} within ${options.timeout} s.`);
        // fetch says only "fetch failed"; the reason (ECONNREFUSED, bad host) is in its cause.
        throw new Error(`Cannot reach ${safeUrl(api)}: ${(error.cause as Error | undefined)?.message ?? error.message}`);
      });
      // The same deadline covers the body; a body cut off or not JSON reads as no message.
      const body = (await response.json().catch(() => ({}))) as { message?: string; id?: string; client_secret?: string };
      if (!apiKey && (response.status === 401 || response.status === 404)) {
        throw new Error(`Attache does not know ${slug} by this manifest's password: the first push needs your account's API key (--api-key or ATTACHE_API_KEY).`);
      }
      if (!response.ok) throw new Error(`Push refused (HTTP ${response.status}): ${body.message ?? 'no message'}`);
      process.stdout.write(`Pushed manifest ${body.id} for ${slug}.\n`);
      if (body.client_secret) {
        process.stdout.write(`OAuth client secret (shown once; keep it with your vendor secrets):\n${body.client_secret}\n`);
      }
    });

  program
    .command('vendor:check')
    .description("Run the conformance checks against your add-on's implementation, before it goes live; exits 0 only if all pass")
    .requiredOption('--manifest <file>', 'path of the manifest JSON file')
    .option('--env <env>', 'which URLs of the manifest to check: test (api.test, else api.production) or production', environment, 'test' as CheckEnvironment)
    .option('--plan <plan>', 'the plan to provision (default: the default plan)')
    .option('--plan-change-to <plan>', 'the plan to change to (default: the first other plan)')
    .option('--async-plan <plan>', 'a plan you provision asynchronously (202), to check the partner API path')
    .option('--async-timeout <seconds>', 'how long an asynchronous provision may take', seconds, 60)
    .option('--timeout <seconds>', "per call to your servers (the manifest's timeout_ms may lower it)", seconds, 10)
    .option('--client-secret <secret>', 'the OAuth client secret your servers must present at /oauth/token (default: any; or $ATTACHE_CLIENT_SECRET)')
    .action(async (options: { manifest: string; env: CheckEnvironment; plan?: string; planChangeTo?: string; asyncPlan?: string; asyncTimeout: number; timeout: number; clientSecret?: string }) => {
      const manifest = readManifestFile(options.manifest);
      const suite = new ConformanceSuite({
        manifest,
        env: options.env,
        plan: options.plan,
        planChangeTo: options.planChangeTo,
        asyncPlan: options.asyncPlan,
        asyncTimeoutMs: options.asyncTimeout * 1000,
        timeoutMs: options.timeout * 1000,
        clientSecret: options.clientSecret ?? (process.env.ATTACHE_CLIENT_SECRET || undefined),
        onResult: (result) => process.stdout.write(`${formatResult(result)}\n`),
      });
      process.stdout.write(`Checking ${typeof manifest.id === 'string' ? manifest.id : 'the add-on'}, ${suite.describeTarget()}\n`);
      // The first Ctrl-C (or SIGTERM) still deprovisions what the checks made; a second one ends the process.
      const interrupt = () => {
        process.stderr.write('Interrupted: deprovisioning what the checks provisioned (interrupt again to stop at once).\n');
        suite.interrupt();
      };
      process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
      let results: CheckResult[];
      try {
        results = await suite.run();
      } finally {
        process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
      }
      process.stdout.write(`${formatSummary(results)}\n`);
      process.exitCode = suite.interrupted ? 130 : results.every((r) => r.ok) ? 0 : 1;
    });
}
