import { EntityManager } from 'typeorm';
import { AccountRepository, AppRepository, AttachmentRepository, ConfigVarRepository, KafkaStore, ManifestRepository, OAuthRepository, PlanRepository, PostgresStore, RedisStore, RegionRepository, ReleaseRepository, ServiceRepository, Store, TeamRepository, InvoiceRepository } from '@app/domain';

import { TypeOrmAccounts } from './account.typeorm-repository';
import { TypeOrmRegions } from './region.typeorm-repository';
import { TypeOrmServices } from './addon-service.typeorm-repository';
import { TypeOrmPlans } from './plan.typeorm-repository';
import { TypeOrmManifests } from './manifest.typeorm-repository';
import { TypeOrmApps } from './app.typeorm-repository';
import { TypeOrmReleases } from './release.typeorm-repository';
import { TypeOrmConfigVars } from './config-var.typeorm-repository';
import { TypeOrmAddons } from './addon.typeorm-repository';
import { TypeOrmAttachments } from './attachment.typeorm-repository';
import { TypeOrmEvents } from './lifecycle-event.typeorm-repository';
import { TypeOrmOAuth } from './oauth.typeorm-repository';
import { TypeOrmPostgres } from './postgres.typeorm-repository';
import { TypeOrmRedis } from './redis.typeorm-repository';
import { TypeOrmTeams } from './team.typeorm-repository';
import { TypeOrmInvoices } from './invoice.typeorm-repository';
import { TypeOrmKafka } from './kafka.typeorm-repository';
import { TypeOrmUsageRecords } from './usage-record.typeorm-repository';
import { UnansweredWrites, pipelinedTransaction } from './pipelined-transaction';

/** The Store port on TypeORM; `transaction` rebinds every repository to the transaction's manager. */
export class TypeOrmStore extends Store {
  readonly accounts: AccountRepository;
  readonly regions: RegionRepository;
  readonly services: ServiceRepository;
  readonly plans: PlanRepository;
  readonly manifests: ManifestRepository;
  readonly apps: AppRepository;
  readonly releases: ReleaseRepository;
  readonly configVars: ConfigVarRepository;
  readonly addons: TypeOrmAddons;
  readonly attachments: AttachmentRepository;
  readonly events: TypeOrmEvents;
  readonly oauth: OAuthRepository;
  readonly postgres: PostgresStore;
  readonly redis: RedisStore;
  readonly teams: TeamRepository;
  readonly invoices: InvoiceRepository;
  readonly kafka: KafkaStore;
  readonly usage: TypeOrmUsageRecords;

  /** `writes` only inside a pipelined transaction: writes whose answers nobody waits for go there. */
  constructor(
    private readonly manager: EntityManager,
    inTransaction = false,
    private readonly writes?: UnansweredWrites,
  ) {
    super();
    this.accounts = new TypeOrmAccounts(manager);
    this.regions = new TypeOrmRegions(manager);
    this.services = new TypeOrmServices(manager);
    this.plans = new TypeOrmPlans(manager);
    this.manifests = new TypeOrmManifests(manager);
    this.apps = new TypeOrmApps(manager);
    this.releases = new TypeOrmReleases(manager, writes);
    this.configVars = new TypeOrmConfigVars(manager);
    this.addons = new TypeOrmAddons(manager);
    this.attachments = new TypeOrmAttachments(manager, writes);
    this.events = new TypeOrmEvents(manager, inTransaction);
    this.oauth = new TypeOrmOAuth(manager);
    this.postgres = new TypeOrmPostgres(manager);
    this.redis = new TypeOrmRedis(manager);
    this.teams = new TypeOrmTeams(manager);
    this.invoices = new TypeOrmInvoices(manager);
    this.kafka = new TypeOrmKafka(manager);
    this.usage = new TypeOrmUsageRecords(manager);
  }

  sendHeldWrites(): void {
    if (!this.writes) return;
    const events = this.events.takePending();
    if (events) this.writes.send(events);
  }

  transaction<T>(work: (tx: Store) => Promise<T>): Promise<T> {
    // Nested calls join the open transaction instead of starting another.
    if (this.manager.queryRunner?.isTransactionActive) return work(this);
    return pipelinedTransaction(this.manager.connection, async (manager, writes) => {
      const tx = new TypeOrmStore(manager, true, writes);
      const result = await work(tx);
      return { result, lastWrite: tx.events.takePending() };
    });
  }

  async readOnceCreated<T>(addonId: string, reads: (tx: Store) => Promise<T>): Promise<T> {
    if (this.manager.queryRunner) {
      await this.addons.awaitCreation(addonId);
      return reads(this);
    }
    // One connection, which pipelines: the wait is sent first and the reads right behind it, each
    // statement on its own, so each read's snapshot is taken after the wait has ended.
    const runner = this.manager.connection.createQueryRunner();
    try {
      const session = new TypeOrmStore(runner.manager);
      // Settled both before the connection goes back: nothing may still be in flight on it.
      const [waited, result] = await Promise.allSettled([session.addons.awaitCreation(addonId), reads(session)]);
      if (waited.status === 'rejected') throw waited.reason;
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    } finally {
      await runner.release();
    }
  }
}
