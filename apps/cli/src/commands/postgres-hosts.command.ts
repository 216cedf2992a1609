import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Command, InvalidArgumentError } from 'commander';
import { AppConfig, ConfigModule, loadConfig } from '@app/config';
import { DedicatedHost, PgDedicatedHosts } from '@app/domain';
import { PersistenceModule, PgDedicatedPersistenceModule } from '@app/persistence';
import { ephemeralOverlapWarning } from './ephemeral-ports';

const integer = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('Not a whole number.');
  return parsed;
};

const portRange = (value: string): [number, number] => {
  const match = /^(\d+)-(\d+)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('A port range such as 15400-15599.');
  return [Number(match[1]), Number(match[2])];
};

/** Only what host registration needs: the database and the dedicated clusters' records. */
@Module({ imports: [PersistenceModule, PgDedicatedPersistenceModule], providers: [PgDedicatedHosts] })
class PostgresHostsCliModule {}

async function withHosts<T>(work: (hosts: PgDedicatedHosts, config: AppConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const context = await NestFactory.createApplicationContext(
    { module: PostgresHostsCliModule, imports: [ConfigModule.withConfig(config)] },
    { logger: false, abortOnError: false },
  );
  try {
    return await work(context.get(PgDedicatedHosts), config);
  } finally {
    await context.close();
  }
}

const describeHost = (host: DedicatedHost) =>
  `Dedicated PostgreSQL host ${host.name} at ${host.address}, ports ${host.portMin}-${host.portMax} (capacity ${host.capacity}, ${host.state}).\n`;

/** Prints the host, and a warning on stderr if its ports overlap the ephemeral ones. */
const reportRegistered = (host: DedicatedHost): void => {
  process.stdout.write(describeHost(host));
  const warning = ephemeralOverlapWarning(host.portMin, host.portMax);
  if (warning) process.stderr.write(warning);
};

/** `postgres:hosts:*`: the hosts dedicated-plan clusters are placed on. */
export function postgresHostCommands(program: Command): void {
  program
    .command('postgres:hosts:add')
    .description('Register a host dedicated PostgreSQL clusters run on (local driver), or update the one of that name')
    .requiredOption('--name <name>', 'a name for the host (e.g. local)')
    .option('--address <address>', 'the address apps connect to', '127.0.0.1')
    .requiredOption('--ports <min-max>', 'the port range its clusters may use, e.g. 15400-15599', portRange)
    .option('--capacity <clusters>', 'how many clusters it may run (default: as registered, else 200)', integer)
    .option('--draining', 'place no new clusters on it (default: as registered, else active)')
    .action(async (options: { name: string; address: string; ports: [number, number]; capacity?: number; draining?: boolean }) => {
      const host = await withHosts((hosts) =>
        hosts.register({
          name: options.name,
          address: options.address,
          portMin: options.ports[0],
          portMax: options.ports[1],
          capacity: options.capacity,
          state: options.draining ? 'draining' : undefined,
        }),
      );
      reportRegistered(host);
    });

  program
    .command('postgres:hosts:add-local')
    .description('Register this machine as the dedicated PostgreSQL host `local` (ATTACHE_PG_DEDICATED_PORTS); idempotent')
    .option('--capacity <clusters>', 'how many clusters it may run (default: as registered, else 200)', integer)
    .action(async (options: { capacity?: number }) => {
      const host = await withHosts((hosts, config) =>
        hosts.register({ name: 'local', address: '127.0.0.1', portMin: config.pgDedicated.portMin, portMax: config.pgDedicated.portMax, capacity: options.capacity }),
      );
      reportRegistered(host);
    });

  program
    .command('postgres:hosts:drain')
    .description('Place no new dedicated PostgreSQL clusters on a host; the ones it runs stay')
    .requiredOption('--name <name>', 'the host')
    .action(async (options: { name: string }) => {
      process.stdout.write(describeHost(await withHosts((hosts) => hosts.setState(options.name, 'draining'))));
    });

  program
    .command('postgres:hosts:activate')
    .description('Place new dedicated PostgreSQL clusters on a draining host again')
    .requiredOption('--name <name>', 'the host')
    .action(async (options: { name: string }) => {
      process.stdout.write(describeHost(await withHosts((hosts) => hosts.setState(options.name, 'active'))));
    });

  program
    .command('postgres:hosts')
    .description('List the registered dedicated PostgreSQL hosts and their load')
    .action(async () => {
      const rows = await withHosts((hosts) => hosts.listWithLoad());
      if (rows.length === 0) process.stdout.write('No dedicated PostgreSQL hosts are registered.\n');
      for (const { host, clusters } of rows) {
        process.stdout.write(`${host.name}\t${host.address}:${host.portMin}-${host.portMax}\t${clusters}/${host.capacity} clusters\t${host.state}\n`);
      }
    });
}
