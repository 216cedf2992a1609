import 'reflect-metadata';
import { Command } from 'commander';
import { ConfigError } from '@app/config';
import { DomainError } from '@app/common';
import { accountCommands } from './commands/accounts.command';
import { passwordCommands } from './commands/passwords.command';
import { dbCommands } from './commands/db.command';
import { postgresCommands } from './commands/postgres.command';
import { redisCommands } from './commands/redis.command';
import { kafkaCommands } from './commands/kafka.command';
import { billingCommands } from './commands/billing.command';
import { serviceCommands } from './commands/services.command';
import { vendorCommands } from './commands/vendor.command';

const program = new Command('attache')
  .description('Attache administration: accounts, keys, the catalog and the database')
  .showHelpAfterError();
accountCommands(program);
passwordCommands(program);
serviceCommands(program);
vendorCommands(program);
dbCommands(program);
postgresCommands(program);
redisCommands(program);
kafkaCommands(program);
billingCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof ConfigError || error instanceof DomainError ? error.message : (error as Error).message;
  process.stderr.write(`attache: ${message}\n`);
  process.exit(1);
});
