import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { localKafkaCluster } from '@app/config';
import { KafkaClusters } from '@app/domain';
import { withContext } from '../context';

const integer = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('Not a whole number.');
  return parsed;
};

export function kafkaCommands(program: Command): void {
  program
    .command('kafka:clusters:add')
    .description('Register a Kafka cluster tenants are placed on, or update the one of that name')
    .requiredOption('--name <name>', 'a name for the cluster (e.g. kafka-1)')
    .requiredOption('--bootstrap-servers <host:port,...>', 'how clients and Attache reach it')
    .requiredOption('--admin-user <user>', "Attache's super user on it (SCRAM-SHA-512)")
    .requiredOption('--admin-password-file <file>', "a file holding that user's password")
    .option('--capacity <tenants>', 'how many tenants it may hold', integer, 500)
    .option('--draining', 'place no new tenants on it', false)
    .action(async (options: { name: string; bootstrapServers: string; adminUser: string; adminPasswordFile: string; capacity: number; draining: boolean }) => {
      const adminPassword = readFileSync(options.adminPasswordFile, 'utf8').trim();
      const cluster = await withContext((ctx) =>
        ctx.get(KafkaClusters).register({
          name: options.name,
          bootstrapServers: options.bootstrapServers,
          adminUser: options.adminUser,
          adminPassword,
          capacity: options.capacity,
          state: options.draining ? 'draining' : 'active',
        }),
      );
      process.stdout.write(`Kafka cluster ${cluster.name} at ${cluster.bootstrapServers} (capacity ${cluster.capacity}, ${cluster.state}).\n`);
    });

  program
    .command('kafka:clusters:add-local')
    .description('Register the broker scripts/kafka.sh runs (ATTACHE_KAFKA_HOME, ATTACHE_KAFKA_PORT) as the cluster `local-1`; idempotent')
    .option('--capacity <tenants>', 'how many tenants it may hold', integer, 500)
    .action(async (options: { capacity: number }) => {
      const local = localKafkaCluster();
      const cluster = await withContext((ctx) =>
        ctx.get(KafkaClusters).register({ name: 'local-1', ...local, capacity: options.capacity }),
      );
      process.stdout.write(`Kafka cluster ${cluster.name} at ${cluster.bootstrapServers} (capacity ${cluster.capacity}).\n`);
    });

  program
    .command('kafka:clusters')
    .description('List the registered Kafka clusters and their load')
    .action(async () => {
      const rows = await withContext((ctx) => ctx.get(KafkaClusters).listWithLoad());
      if (rows.length === 0) process.stdout.write('No Kafka clusters are registered.\n');
      for (const { cluster, tenants } of rows) {
        process.stdout.write(`${cluster.name}\t${cluster.bootstrapServers}\t${tenants}/${cluster.capacity} tenants\t${cluster.state}\n`);
      }
    });
}
