import { Command } from 'commander';
import { AccountsService } from '@app/domain';
import { withContext } from '../context';

export function accountCommands(program: Command): void {
  program
    .command('accounts:create')
    .description('Create an account; prints its first API key alone on the last line')
    .argument('<email>', 'email address of the account')
    .option('--name <name>', 'display name')
    .action(async (email: string, options: { name?: string }) => {
      const { account, apiKey } = await withContext((ctx) => ctx.get(AccountsService).createAccount(email, options.name));
      process.stdout.write(`Created account ${account.email} (${account.id}).\n${apiKey}\n`);
    });

  program
    .command('keys:create')
    .description('Add an API key to an account; prints the key alone on the last line')
    .argument('<email>', 'email address of the account')
    .option('--label <label>', 'what the key is for', 'cli')
    .action(async (email: string, options: { label: string }) => {
      const key = await withContext((ctx) => ctx.get(AccountsService).createApiKey(email, options.label));
      process.stdout.write(`${key}\n`);
    });
}
