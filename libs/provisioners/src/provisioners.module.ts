import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { ProvisionerRegistry } from '@app/domain';
import { HttpVendorOptions, HttpVendorProvisioner } from './http-vendor/http-vendor.provisioner';
import { PostgresAdapterModule } from './postgres/postgres-adapter.module';
import { PostgresProvisioner } from './postgres/postgres.provisioner';
import { PgDedicatedAdapterModule } from './postgres/pg-dedicated-adapter.module';
import { DedicatedPostgresProvisioner } from './postgres/dedicated-postgres.provisioner';
import { PostgresPlanRouter } from './postgres/postgres-plan-router.provisioner';
import { PgSharedReadOnly } from './postgres/pg-shared-read-only';
import { RedisAdapterModule } from './redis/redis-adapter.module';
import { RedisProvisioner } from './redis/redis.provisioner';
import { KafkaAdapterModule } from './kafka/kafka-adapter.module';
import { KafkaProvisioner } from './kafka/kafka.provisioner';
import { ProviderCallMetrics } from './provider-call-metrics';
import { DefaultProvisionerRegistry } from './provisioner.registry';

@Global()
@Module({
  imports: [PostgresAdapterModule, PgDedicatedAdapterModule, RedisAdapterModule, KafkaAdapterModule],
  providers: [
    ProviderCallMetrics,
    HttpVendorProvisioner,
    { provide: HttpVendorOptions, inject: [APP_CONFIG], useFactory: (config: AppConfig) => ({ timeoutMs: config.provider.timeoutMs }) },
    PostgresProvisioner,
    DedicatedPostgresProvisioner,
    PostgresPlanRouter,
    PgSharedReadOnly,
    RedisProvisioner,
    KafkaProvisioner,
    DefaultProvisionerRegistry,
    { provide: ProvisionerRegistry, useExisting: DefaultProvisionerRegistry },
  ],
  exports: [ProvisionerRegistry, ProviderCallMetrics],
})
export class ProvisionersModule {}
