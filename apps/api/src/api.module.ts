import { Injectable, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { AuthModule, BrowserAuthModule } from '@app/auth';
import { DomainModule } from '@app/domain';
import { HttpMetricsMiddleware, JobCountsSource, OpsModule } from '@app/observability';
import { BrowserSessionPersistenceModule, DomainOptionsModule, PersistenceModule } from '@app/persistence';
import { ProvisionersModule } from '@app/provisioners';
import { BullMqJobDispatcher, QueuesModule } from '@app/queues';
import { AccountController } from './controllers/account.controller';
import { AddonsController } from './controllers/addons.controller';
import { AppsController } from './controllers/apps.controller';
import { AttachmentsController } from './controllers/attachments.controller';
import { CatalogController } from './controllers/catalog.controller';
import { ConfigVarsController } from './controllers/config-vars.controller';
import { OAuthController } from './controllers/oauth.controller';
import { PostgresController, PostgresDownloadsController } from './controllers/postgres.controller';
import { PgDedicatedController } from './controllers/pg-dedicated.controller';
import { PgDedicatedModule } from '@app/domain';
import { PgDedicatedPersistenceModule } from '@app/persistence';
import { RedisController } from './controllers/redis.controller';
import { KafkaController } from './controllers/kafka.controller';
import { UsageController } from './controllers/usage.controller';
import { TeamsController } from './controllers/teams.controller';
import { InvoicesController } from './controllers/invoices.controller';
import { SsoController } from './controllers/sso.controller';
import { BrowserAddonController } from './controllers/browser-addon.controller';
import { BrowserSessionController } from './controllers/browser-session.controller';
import { UsageRecordsController } from './controllers/usage-records.controller';
import { VendorController } from './controllers/vendor.controller';
import { AddonWebhooksController } from './controllers/addon-webhooks.controller';
import { WebhooksModule } from '@app/domain';
import { WebhooksPersistenceModule } from '@app/persistence';
import { WebhookSenderModule } from '@app/provisioners';
import { WebhookQueuesModule } from '@app/queues';
import { RateLimitGuard } from './http/rate-limit.guard';
import { RequestContextMiddleware } from './http/request-context.middleware';

@Injectable()
class QueueJobCounts extends JobCountsSource {
  constructor(private readonly dispatcher: BullMqJobDispatcher) {
    super();
  }
  async jobCounts() {
    const result: Record<string, Record<string, number>> = {};
    for (const queue of this.dispatcher.queues()) result[queue.name] = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
    return result;
  }
}


@Module({
  imports: [
    PersistenceModule,
    QueuesModule,
    ProvisionersModule,
    DomainOptionsModule,
    DomainModule,
    AuthModule,
    WebhooksPersistenceModule,
    WebhookQueuesModule,
    WebhookSenderModule,
    WebhooksModule,
    BrowserSessionPersistenceModule,
    BrowserAuthModule,
    PgDedicatedPersistenceModule,
    PgDedicatedModule,
    OpsModule.forRoot({ jobCounts: QueueJobCounts }),
  ],
  controllers: [
    AccountController,
    AppsController,
    ConfigVarsController,
    CatalogController,
    AddonsController,
    AttachmentsController,
    VendorController,
    OAuthController,
    PostgresController,
    PostgresDownloadsController,
    PgDedicatedController,
    RedisController,
    KafkaController,
    UsageController,
    TeamsController,
    InvoicesController,
    SsoController,
    BrowserSessionController,
    BrowserAddonController,
    UsageRecordsController,
    AddonWebhooksController,
  ],
  providers: [RateLimitGuard],
})
export class ApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestContextMiddleware, HttpMetricsMiddleware).forRoutes('*path');
  }
}
