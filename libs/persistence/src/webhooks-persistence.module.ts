import { Global, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { VendorInstallRepository, WebhookRepository } from '@app/domain';
import { TypeOrmVendorInstalls } from './repositories/vendor-install.typeorm-repository';
import { TypeOrmWebhooks } from './repositories/webhook.typeorm-repository';

/** The partner side's repositories: webhooks with their delivery log, and vendors' installs. Needs PersistenceModule. */
@Global()
@Module({
  providers: [
    { provide: WebhookRepository, inject: [DataSource], useFactory: (dataSource: DataSource) => new TypeOrmWebhooks(dataSource.manager) },
    { provide: VendorInstallRepository, inject: [DataSource], useFactory: (dataSource: DataSource) => new TypeOrmVendorInstalls(dataSource.manager) },
  ],
  exports: [WebhookRepository, VendorInstallRepository],
})
export class WebhooksPersistenceModule {}
