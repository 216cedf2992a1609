import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { localPostgresClusters } from '@app/config';
import { FirstPartyCatalogService, PostgresBackends } from '@app/domain';
import { withContext } from '../context';

const integer = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('Not a whole number.');
  return parsed;
};

export function postgresCommands(program: Command): void {
  program
    .command('catalog:seed')
    .description('Create or update the first-party services (postgresql…) and their plans')
    .action(async () => {
      const slugs = await withContext((ctx) => ctx.get(FirstPartyCatalogService).seed());
      process.stdout.write(`First-party catalog: ${slugs.join(', ')}.\n`);
    });

  program
    .command('postgres:backends:add')
    .description('Register a shared PostgreSQL cluster for essential databases, or update the one of that name')
    .requiredOption('--name <name>', 'a name for the cluster (e.g. shared-1)')
    .option('--host <host>', 'its host', '127.0.0.1')
    .requiredOption('--port <port>', 'its port', integer)
    .option('--user <user>', 'a superuser Attache administers it as', 'postgres')
    .requiredOption('--password-file <file>', "a file holding that superuser's password")
    .option('--capacity <databases>', 'how many tenant databases it may hold', integer, 500)
    .option('--draining', 'place no new databases on it', false)
    .action(async (options: { name: string; host: string; port: number; user: string; passwordFile: string; capacity: number; draining: boolean }) => {
      const adminPassword = readFileSync(options.passwordFile, 'utf8').trim();
      const backend = await withContext((ctx) =>
        ctx.get(PostgresBackends).register({
          name: options.name,
          host: options.host,
          port: options.port,
          adminUser: options.user,
          adminPassword,
          capacity: options.capacity,
          state: options.draining ? 'draining' : 'active',
        }),
      );
      process.stdout.write(`PostgreSQL backend ${backend.name} at ${backend.host}:${backend.port} (capacity ${backend.capacity}, ${backend.state}).\n`);
    });

  program
    .command('postgres:backends:add-local')
    .description('Register the shared clusters scripts/postgres-clusters.sh runs on this machine (idempotent)')
    .option('--capacity <databases>', 'how many tenant databases each may hold', integer, 500)
    .action(async (options: { capacity: number }) => {
      const clusters = localPostgresClusters();
      await withContext(async (ctx) => {
        for (const cluster of clusters) {
          const backend = await ctx.get(PostgresBackends).register({
            name: cluster.name,
            host: cluster.host,
            port: cluster.port,
            adminUser: cluster.user,
            adminPassword: cluster.password,
            capacity: options.capacity,
          });
          process.stdout.write(`PostgreSQL backend ${backend.name} at ${backend.host}:${backend.port} (capacity ${backend.capacity}).\n`);
        }
      });
    });

  program
    .command('postgres:backends')
    .description('List the registered PostgreSQL clusters and their load')
    .action(async () => {
      const rows = await withContext((ctx) => ctx.get(PostgresBackends).listWithLoad());
      if (rows.length === 0) process.stdout.write('No PostgreSQL backends are registered.\n');
      for (const { backend, databases } of rows) {
        process.stdout.write(`${backend.name}\t${backend.host}:${backend.port}\t${databases}/${backend.capacity} databases\t${backend.state}\n`);
      }
    });
}
