import { Global, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { DedicatedClusterRepository, PgDedicatedOptions } from '@app/domain';
import { TypeOrmDedicatedClusters } from './repositories/postgres-dedicated-cluster.typeorm-repository';

/** Dedicated PostgreSQL clusters' records and settings, for the apps that run them (api, worker). Needs PersistenceModule. */
@Global()
@Module({
  providers: [
    { provide: DedicatedClusterRepository, inject: [DataSource], useFactory: (dataSource: DataSource) => new TypeOrmDedicatedClusters(dataSource.manager) },
    { provide: PgDedicatedOptions, inject: [APP_CONFIG], useFactory: (c: AppConfig): PgDedicatedOptions => c.pgDedicated },
  ],
  exports: [DedicatedClusterRepository, PgDedicatedOptions],
})
export class PgDedicatedPersistenceModule {}
