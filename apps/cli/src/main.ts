import 'reflect-metadata';
import { Command } from 'commander';
import { vendorCommands } from './commands/vendor.command';

const program = new Command('attache')
  .description('Attache administration: accounts, keys, the catalog and the database')
  .showHelpAfterError();

/**
 * The vendor toolkit runs on a vendor's machine with no Attache database: a `vendor:*` command
 * loads only its own module, not the persistence, queue and provisioner code the others boot
 * (seconds of start-up per run). Any other command, or `--help`, loads them all.
 */
async function registerCommands(command: string | undefined): Promise<void> {
  if (command?.startsWith('vendor:')) {
    vendorCommands(program);
    return;
  }
  const [accounts, passwords, services, db, postgres, postgresHosts, redis, kafka, billing, secrets] = await Promise.all([
    import('./commands/accounts.command'),
    import('./commands/passwords.command'),
    import('./commands/services.command'),
    import('./commands/db.command'),
    import('./commands/postgres.command'),
    import('./commands/postgres-hosts.command'),
    import('./commands/redis.command'),
    import('./commands/kafka.command'),
    import('./commands/billing.command'),
    import('./commands/secrets.command'),
  ]);
  accounts.accountCommands(program);
  passwords.passwordCommands(program);
  services.serviceCommands(program);
  vendorCommands(program);
  db.dbCommands(program);
  postgres.postgresCommands(program);
  postgresHosts.postgresHostCommands(program);
  redis.redisCommands(program);
  kafka.kafkaCommands(program);
  billing.billingCommands(program);
  secrets.secretCommands(program);
}

// ConfigError, DomainError and the rest all carry a message meant for the operator: one line.
registerCommands(process.argv[2])
  .then(() => program.parseAsync(process.argv))
  .catch((error: unknown) => {
    process.stderr.write(`attache: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
