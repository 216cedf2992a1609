import { Command } from 'commander';
import { loadConfig } from '@app/config';
import { ensureDatabase, runMigrations } from '@app/persistence';
import { seedVendor } from '../seed';

export function dbCommands(program: Command): void {
  program
    .command('db:migrate')
    .description("Create Attache's database if missing and apply pending migrations")
    .action(async () => {
      const config = loadConfig();
      await ensureDatabase(config.database.url);
      const applied = await runMigrations(config);
      process.stdout.write(applied.length > 0 ? `Applied ${applied.join(', ')}.\n` : 'The database schema is up to date.\n');
    });

  program
    .command('catalog:seed-vendor')
    .description("Register a vendor's service from its manifest file (local setups and demos)")
    .requiredOption('--manifest <file>', 'the manifest JSON file')
    .requiredOption('--owner <email>', 'the vendor account (created if missing)')
    .option('--publish', 'publish the service for every account', false)
    .option('--client-secret-file <file>', 'write the OAuth client secret here')
    .action(async (options: { manifest: string; owner: string; publish: boolean; clientSecretFile?: string }) => {
      const result = await seedVendor({
        manifestFile: options.manifest,
        ownerEmail: options.owner,
        publish: options.publish,
        clientSecretFile: options.clientSecretFile,
      });
      process.stdout.write(`Seeded ${result.slug}.\n`);
    });
}
