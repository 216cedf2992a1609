import { Module } from '@nestjs/common';
import { AccountsService } from './accounts/accounts.service';
import { AddonAccess } from './addons/addon-access';
import { AddonConfigProjector } from './addons/addon-config.projector';
import { AddonQueries } from './addons/addon-queries.service';
import { AliasChooser } from './addons/alias.chooser';
import { AttachAddonUseCase } from './addons/attach-addon.use-case';
import { AttachmentWriter } from './addons/attachment-writer';
import { CreateAddonUseCase } from './addons/create-addon.use-case';
import { ManageAddonUseCase } from './addons/manage-addon.use-case';
import { ProvisionLifecycle } from './addons/provision-lifecycle.service';
import { Reconciler } from './addons/reconciler.service';
import { AppAccess } from './apps/app-access';
import { AppsService } from './apps/apps.service';
import { ConfigVarsService } from './apps/config-vars.service';
import { DeleteAppUseCase } from './apps/delete-app.use-case';
import { ReleasesService } from './apps/releases.service';
import { CatalogService } from './catalog/catalog.service';
import { PartnerService } from './partner/partner.service';
import { ManifestService } from './vendors/manifest.service';
import { FirstPartyCatalogService } from './catalog/first-party-catalog.service';
import { PostgresAddons } from './postgres/postgres-addons';
import { PostgresBackends } from './postgres/postgres-backends.service';
import { PostgresBackupsUseCase } from './postgres/postgres-backups.use-case';
import { PostgresCredentialsUseCase } from './postgres/postgres-credentials.use-case';
import { PostgresInfoService } from './postgres/postgres-info.service';
import { PostgresMaintenance } from './postgres/postgres-maintenance.service';
import { PostgresPlacement } from './postgres/postgres-placement';
import { PostgresStorageMonitor } from './postgres/postgres-storage.monitor';
import { RedisAddons } from './redis/redis-addons';
import { RedisConfigPublisher } from './redis/redis-config';
import { RedisHosts } from './redis/redis-hosts.service';
import { RedisOperationsUseCase } from './redis/redis-operations.use-case';
import { RedisSpares } from './redis/redis-spares.service';
import { KafkaAddons } from './kafka/kafka-addons';
import { KafkaClusters } from './kafka/kafka-clusters.service';
import { KafkaConfigPublisher } from './kafka/kafka-config';
import { KafkaOperationsUseCase } from './kafka/kafka-operations.use-case';
import { UsageReports } from './billing/usage-reports.service';
import { UsageIngestion } from './billing/usage-ingestion.service';
import { TeamsService } from './teams/teams.service';
import { InvoicingService } from './billing/invoicing.service';
import { PayoutReports } from './billing/payouts.service';
import { FirstPartyUsage } from './billing/first-party-usage';
import { SsoForms } from './sso/sso-form.service';

const services = [
  AccountsService,
  AddonAccess,
  AddonConfigProjector,
  AddonQueries,
  AliasChooser,
  AttachAddonUseCase,
  AttachmentWriter,
  CreateAddonUseCase,
  ManageAddonUseCase,
  ProvisionLifecycle,
  Reconciler,
  AppAccess,
  AppsService,
  ConfigVarsService,
  DeleteAppUseCase,
  ReleasesService,
  CatalogService,
  PartnerService,
  ManifestService,
  FirstPartyCatalogService,
  PostgresAddons,
  PostgresBackends,
  PostgresBackupsUseCase,
  PostgresCredentialsUseCase,
  PostgresInfoService,
  PostgresMaintenance,
  PostgresPlacement,
  PostgresStorageMonitor,
  RedisAddons,
  RedisConfigPublisher,
  RedisHosts,
  RedisOperationsUseCase,
  RedisSpares,
  KafkaAddons,
  KafkaClusters,
  KafkaConfigPublisher,
  KafkaOperationsUseCase,
  UsageReports,
  UsageIngestion,
  TeamsService,
  InvoicingService,
  PayoutReports,
  FirstPartyUsage,
  SsoForms,
];

/**
 * The domain's services. Its ports (Store, JobDispatcher, ProvisionerRegistry, PostgresClusterAdmin,
 * BackupFiles, RedisDriver, KafkaClusterAdmin, SecretBox, Clock and the *Options classes) come from global adapter modules
 * imported by each app.
 */
@Module({ providers: services, exports: services })
export class DomainModule {}
