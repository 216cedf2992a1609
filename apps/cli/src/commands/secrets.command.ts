import { Command } from 'commander';
import { DataSource } from 'typeorm';
import { SecretBox } from '@app/common';
import { SealedColumns } from '@app/persistence';
import { withContext } from '../context';

const sealedColumns = <T>(work: (columns: SealedColumns, box: SecretBox) => Promise<T>): Promise<T> =>
  withContext((ctx) => {
    const box = ctx.get(SecretBox);
    return work(new SealedColumns(ctx.get(DataSource), box), box);
  });

/** `secrets:*`: the encryption keys values at rest are sealed with, and moving them to the current one. */
export function secretCommands(program: Command): void {
  program
    .command('secrets:keys')
    .description('How many values each encryption key has sealed, per sealed column (the current key marked *)')
    .action(async () => {
      const lines = await sealedColumns(async (columns, box) =>
        (await columns.keys()).map(({ table, column, byKey }) => {
          const counts = Object.entries(byKey).map(([id, n]) => `${id}${id === box.currentKeyId ? '*' : ''} ${n}`);
          return `${table}.${column}: ${counts.length ? counts.join(', ') : 'no values'}`;
        }),
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  program
    .command('secrets:reseal')
    .description('Re-seal every value sealed with a previous key (ATTACHE_PREVIOUS_ENCRYPTION_KEYS) under ATTACHE_ENCRYPTION_KEY; safe to run while Attache runs')
    .action(async () => {
      const { reports, current } = await sealedColumns(async (columns, box) => ({ reports: await columns.resealStale(), current: box.currentKeyId }));
      for (const { table, column, resealed, failed } of reports) {
        if (resealed > 0) process.stdout.write(`${table}.${column}: ${resealed} re-sealed\n`);
        for (const { key, error } of failed) process.stderr.write(`${table}.${column} ${JSON.stringify(key)}: ${error}\n`);
      }
      const failed = reports.reduce((n, r) => n + r.failed.length, 0);
      if (failed > 0) {
        process.stderr.write(`${failed} value(s) could not be opened with the keys given and were left as they were.\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`Every sealed value now uses key ${current}. Once every process runs with it as ATTACHE_ENCRYPTION_KEY, the previous keys can be removed.\n`);
    });
}
