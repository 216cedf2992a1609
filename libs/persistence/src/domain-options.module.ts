import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { BillingOptions, FirstPartyUsageOptions, LifecycleOptions, ManifestServiceOptions, PostgresOptions, ReconcilerOptions, RedisSpareOptions } from '@app/domain';

/** Settings the domain needs from configuration. */
@Global()
@Module({
  providers: [
    { provide: ManifestServiceOptions, inject: [APP_CONFIG], useFactory: (c: AppConfig) => ({ production: c.env === 'production' }) },
    {
      provide: LifecycleOptions,
      inject: [APP_CONFIG],
      useFactory: (c: AppConfig) => ({ publicUrl: c.http.publicUrl, asyncDeadlineMs: c.provider.asyncDeadlineMs }),
    },
    { provide: ReconcilerOptions, inject: [APP_CONFIG], useFactory: (c: AppConfig) => ({ stuckAfterMs: c.reconciler.stuckAfterMs }) },
    { provide: PostgresOptions, inject: [APP_CONFIG], useFactory: (c: AppConfig): PostgresOptions => c.postgres },
    { provide: BillingOptions, inject: [APP_CONFIG], useFactory: (c: AppConfig): BillingOptions => c.billing },
    { provide: FirstPartyUsageOptions, inject: [APP_CONFIG], useFactory: (c: AppConfig): FirstPartyUsageOptions => ({ periodMs: c.billing.firstPartyUsagePeriodMs }) },
    { provide: RedisSpareOptions, inject: [APP_CONFIG], useFactory: (c: AppConfig): RedisSpareOptions => ({ sparesPerHost: c.redisInstances.sparesPerHost }) },
  ],
  exports: [ManifestServiceOptions, LifecycleOptions, ReconcilerOptions, PostgresOptions, BillingOptions, FirstPartyUsageOptions, RedisSpareOptions],
})
export class DomainOptionsModule {}
