import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Clock, SecretBox, SystemClock } from '@app/common';
import { Store } from '@app/domain';
import { createDataSource } from './data-source';
import { TypeOrmStore } from './repositories/typeorm-store';

/** Provides the Store port, the DataSource, the SecretBox for secrets at rest and the Clock. */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig) => createDataSource(config).initialize(),
    },
    { provide: Store, inject: [DataSource], useFactory: (dataSource: DataSource) => new TypeOrmStore(dataSource.manager) },
    {
      provide: SecretBox,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new SecretBox(config.encryption.currentKey, config.encryption.previousKeys),
    },
    { provide: Clock, useClass: SystemClock },
  ],
  exports: [DataSource, Store, SecretBox, Clock],
})
export class PersistenceModule implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
