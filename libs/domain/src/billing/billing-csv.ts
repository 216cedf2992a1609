import { Invoice, InvoiceLine } from './invoices';
import { PayoutReport } from './payouts.service';

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function field(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = value instanceof Date ? value.toISOString() : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const row = (values: unknown[]) => `${values.map(field).join(',')}\r\n`;

export const INVOICE_CSV_HEADER = row([
  'invoice', 'entity_kind', 'entity_id', 'month', 'position', 'kind', 'app', 'addon', 'plan', 'usage_month',
  'period_start', 'period_end', 'seconds', 'dimension', 'quantity', 'unit_price_cents', 'cents',
]);

/** An invoice's lines as CSV rows (no header), one per line, in order. */
export function invoiceCsvRows(invoice: Invoice, lines: InvoiceLine[]): string {
  return lines
    .map((l) =>
      row([
        invoice.number, invoice.entity.kind, invoice.entity.id, invoice.month, l.position, l.kind, l.appName, l.addonName, l.planName, l.usageMonth,
        l.periodStart, l.periodEnd, l.seconds, l.dimension, l.quantity, l.unitPriceCents, l.cents,
      ]),
    )
    .join('');
}

export function payoutCsv(report: PayoutReport): string {
  return (
    row(['month', 'service', 'plan', 'gross_cents', 'platform_share_cents', 'net_cents']) +
    report.lines.map((l) => row([report.month, l.service.slug, l.plan.name, l.grossCents, l.platformShareCents, l.netCents])).join('') +
    row([report.month, 'total', '', report.grossCents, report.platformShareCents, report.netCents])
  );
}
