import { Invoice, InvoiceLine, PayoutReport, monthBounds } from '@app/domain';

export const toInvoiceResponse = (invoice: Invoice, lines?: InvoiceLine[]) => ({
  id: invoice.id,
  number: invoice.number,
  owner: invoice.entity,
  month: invoice.month,
  period: monthBounds(invoice.month),
  usage_cutoff: invoice.usageCutoff,
  state: 'finalized',
  total_cents: invoice.totalCents,
  finalized_at: invoice.finalizedAt,
  ...(lines
    ? {
        lines: lines.map((l) => ({
          position: l.position,
          kind: l.kind,
          app: { id: l.appId, name: l.appName },
          addon: { id: l.addonId, name: l.addonName },
          plan: { id: l.planId, name: l.planName },
          usage_month: l.usageMonth,
          period: { start: l.periodStart, end: l.periodEnd },
          seconds: l.seconds,
          dimension: l.dimension,
          quantity: l.quantity === null ? null : Number(l.quantity),
          unit_price_cents: l.unitPriceCents,
          cents: l.cents,
        })),
      }
    : {}),
});

export const toPayoutResponse = (report: PayoutReport) => ({
  month: report.month,
  complete: report.complete,
  platform_share_percent: report.platformSharePercent,
  lines: report.lines.map((l) => ({
    service: l.service,
    plan: l.plan,
    gross_cents: l.grossCents,
    platform_share_cents: l.platformShareCents,
    net_cents: l.netCents,
  })),
  gross_cents: report.grossCents,
  platform_share_cents: report.platformShareCents,
  net_cents: report.netCents,
});
