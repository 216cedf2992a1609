import { Global, Module } from '@nestjs/common';
import { PgClusterDriver } from '@app/domain';
import { LocalPgClusterDriver } from './local-pg-cluster.driver';

/** The dedicated PostgreSQL cluster driver port. Only the local driver exists so far. */
@Global()
@Module({
  providers: [LocalPgClusterDriver, { provide: PgClusterDriver, useExisting: LocalPgClusterDriver }],
  exports: [PgClusterDriver],
})
export class PgDedicatedAdapterModule {}
