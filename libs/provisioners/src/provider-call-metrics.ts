import { Injectable } from '@nestjs/common';
import { Counter, Histogram, register } from 'prom-client';

/** Latency and errors of calls to providers, exported at /metrics. */
@Injectable()
export class ProviderCallMetrics {
  private readonly latency: Histogram<'service' | 'operation' | 'outcome'>;
  private readonly errors: Counter<'service' | 'operation' | 'outcome'>;

  constructor() {
    const registry = register;
    this.latency =
      (registry.getSingleMetric('attache_provider_call_duration_seconds') as Histogram<'service' | 'operation' | 'outcome'>) ??
      new Histogram({
        name: 'attache_provider_call_duration_seconds',
        help: 'Duration of calls to add-on providers',
        labelNames: ['service', 'operation', 'outcome'],
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers: [registry],
      });
    this.errors =
      (registry.getSingleMetric('attache_provider_call_errors_total') as Counter<'service' | 'operation' | 'outcome'>) ??
      new Counter({
        name: 'attache_provider_call_errors_total',
        help: 'Calls to add-on providers that failed (timeouts, connection errors, 4xx and 5xx)',
        labelNames: ['service', 'operation', 'outcome'],
        registers: [registry],
      });
  }

  observe(service: string, operation: string, outcome: string, seconds: number): void {
    this.latency.observe({ service, operation, outcome }, seconds);
    if (!/^2\d\d$/.test(outcome)) this.errors.inc({ service, operation, outcome });
  }
}
