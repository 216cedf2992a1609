import { UsageReport } from '@app/domain';

export const toUsageResponse = (report: UsageReport) => ({
  period: { start: report.period.start, end: report.period.end },
  as_of: report.asOf,
  lines: report.lines.map((line) => ({
    addon: line.addon,
    app: line.app,
    plan: line.plan,
    seconds: line.seconds,
    dimension: line.dimension,
    quantity: line.quantity,
    unit_price_cents: line.unitPriceCents,
    cents: line.cents,
  })),
  total_cents: report.totalCents,
});
