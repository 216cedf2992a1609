import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ManifestService } from '@app/domain';
import { withContext } from '../context';

export function serviceCommands(program: Command): void {
  program
    .command('services:publish')
    .description('Publish an add-on service: installable by every account from now on (operators only)')
    .argument('<slug>', 'the service slug')
    .action(async (slug: string) => {
      const service = await withContext((ctx) => ctx.get(ManifestService).publish(slug));
      process.stdout.write(`Published ${service.slug}.\n`);
    });

  program
    .command('vendor:push')
    .description('Push an add-on manifest to Attache (creates the service on the first push)')
    .argument('<file>', 'path of the manifest JSON file')
    .option('--url <url>', 'Attache API URL', process.env.ATTACHE_URL ?? 'http://127.0.0.1:5000')
    .option('--api-key <key>', 'your API key (default: $ATTACHE_API_KEY or $HEROKU_API_KEY)')
    .action(async (file: string, options: { url: string; apiKey?: string }) => {
      const apiKey = options.apiKey ?? process.env.ATTACHE_API_KEY ?? process.env.HEROKU_API_KEY;
      if (!apiKey) throw new Error('An API key is needed: pass --api-key or set ATTACHE_API_KEY.');
      let contents: { id?: unknown };
      try {
        contents = JSON.parse(readFileSync(file, 'utf8')) as { id?: unknown };
      } catch (error) {
        throw new Error(`Cannot read ${file} as JSON: ${(error as Error).message}`);
      }
      if (typeof contents.id !== 'string') throw new Error(`${file} has no "id" (the add-on slug).`);
      const url = `${options.url.replace(/\/+$/, '')}/api/v3/addons/${encodeURIComponent(contents.id)}/manifests`;
      const response = await fetch(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json', Accept: 'application/vnd.heroku+json; version=3' },
        body: JSON.stringify({ contents }),
      }).catch((error: Error) => {
        // fetch says only "fetch failed"; the reason (ECONNREFUSED, bad host) is in its cause.
        throw new Error(`Cannot reach ${options.url}: ${(error.cause as Error | undefined)?.message ?? error.message}`);
      });
      const body = (await response.json().catch(() => ({}))) as { message?: string; id?: string; client_secret?: string };
      if (!response.ok) throw new Error(`Push refused (HTTP ${response.status}): ${body.message ?? 'no message'}`);
      process.stdout.write(`Pushed manifest ${body.id} for ${contents.id}.\n`);
      if (body.client_secret) {
        process.stdout.write(`OAuth client secret (shown once; keep it with your vendor secrets):\n${body.client_secret}\n`);
      }
    });
}
