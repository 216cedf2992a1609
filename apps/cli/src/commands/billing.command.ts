import { Command, InvalidArgumentError } from 'commander';
import { INVOICE_CSV_HEADER, InvoicingService, PayoutReports, Store, invoiceCsvRows, isBillingMonth, payoutCsv } from '@app/domain';
import { withContext } from '../context';

const month = (value: string): string => {
  if (!isBillingMonth(value)) throw new InvalidArgumentError('A month is YYYY-MM.');
  return value;
};
const format = (value: string): 'json' | 'csv' => {
  if (value !== 'json' && value !== 'csv') throw new InvalidArgumentError('json or csv.');
  return value;
};

/** Invoices fetched this many at a time, so a month of any size prints in bounded memory. */
const PAGE = 500;

const write = (text: string) => new Promise<void>((resolve) => (process.stdout.write(text) ? resolve() : process.stdout.once('drain', () => resolve())));

export function billingCommands(program: Command): void {
  program
    .command('billing:run')
    .description("Invoice a closed month now (the worker does it once the month's grace window has passed); safe to repeat")
    .requiredOption('--month <yyyy-mm>', 'the month', month)
    .option('--force', 'do not wait for the grace window (the month must have ended)', false)
    .action(async (options: { month: string; force: boolean }) => {
      const result = await withContext((ctx) => ctx.get(InvoicingService).run(options.month, options.force));
      process.stdout.write(`${result.month}: ${result.written} invoices written, ${result.skipped} entities with nothing new to invoice, ${result.entities} looked at.\n`);
    });

  program
    .command('billing:invoices')
    .description("Every invoice of a month, for finance: JSON lines (one invoice with its lines each) or CSV (one row per line)")
    .requiredOption('--month <yyyy-mm>', 'the month', month)
    .option('--format <json|csv>', 'json or csv', format, 'json')
    .action(async (options: { month: string; format: 'json' | 'csv' }) => {
      await withContext(async (ctx) => {
        const store = ctx.get(Store);
        if (options.format === 'csv') await write(INVOICE_CSV_HEADER);
        let after: string | null = null;
        for (;;) {
          const page = await store.invoices.listMonth(options.month, after, PAGE);
          if (!page.length) break;
          after = page[page.length - 1].invoice.number;
          for (const { invoice, lines } of page) {
            if (options.format === 'csv') await write(invoiceCsvRows(invoice, lines));
            else await write(`${JSON.stringify({ ...invoice, lines }, (_, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}\n`);
          }
        }
      });
    });

  program
    .command('billing:payouts')
    .description("What every vendor's add-ons earned in a month: gross, the platform's share and net, per service and plan")
    .requiredOption('--month <yyyy-mm>', 'the month', month)
    .option('--format <json|csv>', 'json or csv', format, 'json')
    .action(async (options: { month: string; format: 'json' | 'csv' }) => {
      const report = await withContext((ctx) => ctx.get(PayoutReports).all(options.month));
      await write(options.format === 'csv' ? payoutCsv(report) : `${JSON.stringify(report, null, 2)}\n`);
    });
}
