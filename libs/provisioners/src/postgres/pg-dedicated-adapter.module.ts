import { Global, Module } from '@nestjs/common';
import { PgClusterDriver, PgPremiumDriver } from '@app/domain';
import { LocalPgClusterDriver } from './local-pg-cluster.driver';
import { LocalPgPremiumDriver } from './local-pg-premium.driver';

/** The dedicated PostgreSQL cluster driver port. Only the local driver exists so far. */
@Global()
@Module({
  providers: [LocalPgClusterDriver, { provide: PgClusterDriver, useExisting: LocalPgClusterDriver }, LocalPgPremiumDriver, { provide: PgPremiumDriver, useExisting: LocalPgPremiumDriver }],
  exports: [PgClusterDriver, PgPremiumDriver],
})
export class PgDedicatedAdapterModule {}
