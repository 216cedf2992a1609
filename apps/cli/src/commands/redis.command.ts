import { Command, InvalidArgumentError } from 'commander';
import { RedisHosts } from '@app/domain';
import { withContext } from '../context';
import { ephemeralOverlapWarning } from './ephemeral-ports';

const integer = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('Not a whole number.');
  return parsed;
};

export function redisCommands(program: Command): void {
  program
    .command('redis:hosts:add')
    .description('Register a host Redis instances run on (local driver), or update the one of that name')
    .requiredOption('--name <name>', 'a name for the host (e.g. local)')
    .option('--address <address>', 'the address apps connect to', '127.0.0.1')
    .requiredOption('--ports <min-max>', 'the port range instances may use, e.g. 17000-17999')
    .requiredOption('--data-dir <dir>', 'where instances keep their files')
    .option('--capacity <instances>', 'how many instances it may run', integer, 200)
    .option('--draining', 'place no new instances on it', false)
    .action(async (options: { name: string; address: string; ports: string; dataDir: string; capacity: number; draining: boolean }) => {
      const [portMin, portMax] = options.ports.split('-').map(Number);
      const host = await withContext((ctx) =>
        ctx.get(RedisHosts).register({
          name: options.name,
          address: options.address,
          portMin,
          portMax,
          dataDir: options.dataDir,
          capacity: options.capacity,
          state: options.draining ? 'draining' : 'active',
        }),
      );
      process.stdout.write(`Redis host ${host.name} at ${host.address}, ports ${host.portMin}-${host.portMax}, data in ${host.dataDir} (capacity ${host.capacity}).\n`);
      process.stderr.write(ephemeralOverlapWarning(host.portMin, host.portMax) ?? '');
    });

  program
    .command('redis:hosts:add-local')
    .description('Register this machine as the Redis host `local` (ATTACHE_REDIS_DATA_DIR, ATTACHE_REDIS_PORTS); idempotent')
    .option('--capacity <instances>', 'how many instances it may run', integer, 200)
    .action(async (options: { capacity: number }) => {
      const host = await withContext((ctx, config) =>
        ctx.get(RedisHosts).register({
          name: 'local',
          address: '127.0.0.1',
          portMin: config.redisInstances.portMin,
          portMax: config.redisInstances.portMax,
          dataDir: config.redisInstances.dataDir,
          capacity: options.capacity,
        }),
      );
      process.stdout.write(`Redis host ${host.name}: ports ${host.portMin}-${host.portMax}, data in ${host.dataDir} (capacity ${host.capacity}).\n`);
      process.stderr.write(ephemeralOverlapWarning(host.portMin, host.portMax) ?? '');
    });

  program
    .command('redis:hosts')
    .description('List the registered Redis hosts, their load and their spare nodes (which count against capacity)')
    .action(async () => {
      const rows = await withContext((ctx) => ctx.get(RedisHosts).listWithLoad());
      if (rows.length === 0) process.stdout.write('No Redis hosts are registered.\n');
      for (const { host, instances, spares } of rows) {
        const pool = `${spares.ready} spare${spares.ready === 1 ? '' : 's'} ready${spares.starting > 0 ? `, ${spares.starting} starting` : ''}`;
        process.stdout.write(`${host.name}\t${host.address}:${host.portMin}-${host.portMax}\t${instances}/${host.capacity} instances\t${pool}\t${host.state}\t${host.dataDir}\n`);
      }
    });
}
