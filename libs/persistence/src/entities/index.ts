import { AccountEntity } from './account.entity';
import { AddonServiceEntity } from './addon-service.entity';
import { AddonEntity } from './addon.entity';
import { ApiKeyEntity } from './api-key.entity';
import { AppEntity } from './app.entity';
import { AttachmentEntity } from './attachment.entity';
import { CollaboratorEntity } from './collaborator.entity';
import { ConfigVarEntity } from './config-var.entity';
import { InvoiceEntity } from './invoice.entity';
import { KafkaClusterEntity } from './kafka-cluster.entity';
import { KafkaTenantEntity } from './kafka-tenant.entity';
import { KafkaTopicSampleEntity } from './kafka-topic-sample.entity';
import { LifecycleEventEntity } from './lifecycle-event.entity';
import { ManifestEntity } from './manifest.entity';
import { OAuthGrantEntity, OAuthTokenEntity } from './oauth.entity';
import { PlanEntity } from './plan.entity';
import { PostgresBackendEntity } from './postgres-backend.entity';
import { PostgresBackupEntity } from './postgres-backup.entity';
import { PostgresCredentialEntity } from './postgres-credential.entity';
import { PostgresDatabaseEntity } from './postgres-database.entity';
import { PostgresRestoreEntity } from './postgres-restore.entity';
import { RedisHostEntity } from './redis-host.entity';
import { RedisInstanceEntity } from './redis-instance.entity';
import { RedisPortEntity } from './redis-port.entity';
import { RedisSpareEntity } from './redis-spare.entity';
import { RegionEntity } from './region.entity';
import { TeamEntity, TeamMemberEntity } from './team.entity';
import { ReleaseEntity } from './release.entity';
import { UsageRecordEntity } from './usage-record.entity';

export const ENTITIES = [
  AccountEntity,
  AddonServiceEntity,
  AddonEntity,
  ApiKeyEntity,
  AppEntity,
  AttachmentEntity,
  CollaboratorEntity,
  ConfigVarEntity,
  InvoiceEntity,
  KafkaClusterEntity,
  KafkaTenantEntity,
  KafkaTopicSampleEntity,
  LifecycleEventEntity,
  ManifestEntity,
  OAuthGrantEntity,
  OAuthTokenEntity,
  PlanEntity,
  PostgresBackendEntity,
  PostgresBackupEntity,
  PostgresCredentialEntity,
  PostgresDatabaseEntity,
  PostgresRestoreEntity,
  RedisHostEntity,
  RedisInstanceEntity,
  RedisPortEntity,
  RedisSpareEntity,
  TeamEntity,
  TeamMemberEntity,
  RegionEntity,
  ReleaseEntity,
  UsageRecordEntity,
];

export {
  AccountEntity,
  AddonServiceEntity,
  AddonEntity,
  ApiKeyEntity,
  AppEntity,
  AttachmentEntity,
  CollaboratorEntity,
  ConfigVarEntity,
  InvoiceEntity,
  KafkaClusterEntity,
  KafkaTenantEntity,
  KafkaTopicSampleEntity,
  LifecycleEventEntity,
  ManifestEntity,
  OAuthGrantEntity,
  OAuthTokenEntity,
  PlanEntity,
  PostgresBackendEntity,
  PostgresBackupEntity,
  PostgresCredentialEntity,
  PostgresDatabaseEntity,
  PostgresRestoreEntity,
  RedisHostEntity,
  RedisInstanceEntity,
  RedisPortEntity,
  RedisSpareEntity,
  TeamEntity,
  TeamMemberEntity,
  RegionEntity,
  ReleaseEntity,
  UsageRecordEntity,
};
