import { Module, OnModuleInit } from '@nestjs/common';
import { DomainModule } from '@app/domain';
import { OpsModule } from '@app/observability';
import { DomainOptionsModule, PersistenceModule } from '@app/persistence';
import { ProvisionersModule } from '@app/provisioners';
import { QUEUES, QueuesModule } from '@app/queues';
import { HeartbeatService } from './heartbeat.service';
import { DeprovisionProcessor } from './processors/deprovision.processor';
import { MaintenanceProcessor } from './processors/maintenance.processor';
import { PlanChangeProcessor } from './processors/plan-change.processor';
import { PostgresProcessor } from './processors/postgres.processor';
import { ProvisionProcessor } from './processors/provision.processor';
import { QueueProcessor } from './processors/queue-processor';
import { WebhookDeliveryProcessor } from './processors/webhook-delivery.processor';
import { WebhooksModule } from '@app/domain';
import { WebhooksPersistenceModule } from '@app/persistence';
import { WebhookSenderModule } from '@app/provisioners';
import { WebhookQueuesModule } from '@app/queues';
import { PgDedicatedModule, PgMoveLeftovers } from '@app/domain';
import { PgDedicatedPersistenceModule } from '@app/persistence';
import { PgDedicatedProcessor } from './processors/pg-dedicated.processor';

@Module({
  imports: [PersistenceModule, QueuesModule, ProvisionersModule, DomainOptionsModule, DomainModule, WebhooksPersistenceModule, WebhookQueuesModule, WebhookSenderModule, WebhooksModule, PgDedicatedPersistenceModule, PgDedicatedModule, OpsModule.forRoot()],
  providers: [ProvisionProcessor, PlanChangeProcessor, DeprovisionProcessor, MaintenanceProcessor, PostgresProcessor, WebhookDeliveryProcessor, PgDedicatedProcessor, PgMoveLeftovers, HeartbeatService],
})
export class WorkerModule implements OnModuleInit {
  constructor(
    private readonly provision: ProvisionProcessor,
    private readonly planChange: PlanChangeProcessor,
    private readonly deprovision: DeprovisionProcessor,
    private readonly maintenance: MaintenanceProcessor,
    private readonly postgres: PostgresProcessor,
    private readonly webhooks: WebhookDeliveryProcessor,
    private readonly pgDedicated: PgDedicatedProcessor,
  ) {}

  /** Refuse to start when a queue has no processor: its jobs would wait forever. */
  onModuleInit(): void {
    const processors: QueueProcessor<unknown>[] = [this.provision, this.planChange, this.deprovision, this.maintenance, this.postgres, this.webhooks, this.pgDedicated] as QueueProcessor<unknown>[];
    const handled = new Set(processors.map((p) => p.queue));
    const missing = Object.values(QUEUES).filter((queue) => !handled.has(queue));
    if (missing.length > 0) throw new Error(`No processor for queue(s): ${missing.join(', ')}`);
  }
}
