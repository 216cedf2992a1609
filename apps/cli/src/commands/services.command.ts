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
}
