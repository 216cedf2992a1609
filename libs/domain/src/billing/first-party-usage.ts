import { Injectable, Logger } from '@nestjs/common';
import { Store } from '../shared/store.port';
import { PlanMeter } from '../shared/models';

/** What first-party services meter of their own (DESIGN §6): reported on bills, not charged (0 ¢ per unit). */
export const FIRST_PARTY_METERS: Record<'postgres' | 'redis' | 'kafka', PlanMeter[]> = {
  postgres: [{ dimension: 'storage_mb_hours', unit: 'MB-hour', cents_per_unit: 0, included: 0 }],
  redis: [{ dimension: 'memory_mb_hours', unit: 'MB-hour', cents_per_unit: 0, included: 0 }],
  kafka: [{ dimension: 'produced_kb', unit: 'KB', cents_per_unit: 0, included: 0 }],
};

/** How long one first-party usage record covers: an hour (tests shorten it). */
export abstract class FirstPartyUsageOptions {
  abstract readonly periodMs: number;
}

const MIB = 1024 * 1024;

/**
 * Records first-party usage as usage records of the add-on's own service, one per add-on,
 * dimension and period (the record id names them), so samplers may run as often as they like
 * and after a restart: the first measurement of a period is the one kept.
 */
@Injectable()
export class FirstPartyUsage {
  private readonly logger = new Logger(FirstPartyUsage.name);

  constructor(
    private readonly store: Store,
    private readonly options: FirstPartyUsageOptions,
  ) {}

  /** The period `at` falls in, as the start of it. */
  periodOf(at: Date): Date {
    return new Date(Math.floor(at.getTime() / this.options.periodMs) * this.options.periodMs);
  }

  /** A size held during the period (storage, memory), in whole MiB, rounded up: a period's MB-hours. */
  async recordSize(serviceId: string, addonId: string, dimension: string, bytes: number, at: Date): Promise<void> {
    await this.record(serviceId, addonId, dimension, Math.ceil(Math.max(0, bytes) / MIB), this.periodOf(at));
  }

  /** An amount accrued over the period (bytes produced), in KiB, rounded up. */
  async recordAmount(serviceId: string, addonId: string, dimension: string, bytes: number, period: Date): Promise<void> {
    await this.record(serviceId, addonId, dimension, Math.ceil(Math.max(0, bytes) / 1024), period);
  }

  private async record(serviceId: string, addonId: string, dimension: string, quantity: number, period: Date): Promise<void> {
    try {
      await this.store.usage.addBatch([
        { serviceId, recordId: `${dimension}:${addonId}:${period.toISOString()}`, addonId, dimension, quantity, occurredAt: period },
      ]);
    } catch (error) {
      // A sampler's own work (measuring, restricting) must not fail for the meter's sake.
      this.logger.warn({ addonId, dimension, err: (error as Error).message }, 'could not record first-party usage; the next sample will');
    }
  }
}
