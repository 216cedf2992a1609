import { Column, Entity, PrimaryColumn } from 'typeorm';
import { AddonService, ProviderKind, ServiceState } from '@app/domain';

@Entity('addon_services')
export class AddonServiceEntity implements AddonService {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') slug!: string;
  @Column('text', { name: 'human_name' }) humanName!: string;
  @Column('uuid', { name: 'owner_account_id', nullable: true }) ownerAccountId!: string | null;
  @Column('text') provider!: ProviderKind;
  @Column('text') state!: ServiceState;
  @Column('boolean') published!: boolean;
  @Column('text', { name: 'config_vars_prefix' }) configVarsPrefix!: string;
  @Column('text', { name: 'default_alias' }) defaultAlias!: string;
  @Column('jsonb', { name: 'config_vars' }) configVars!: string[];
  @Column('jsonb') requires!: string[];
  @Column('jsonb') regions!: string[];
  @Column('text', { name: 'base_url', nullable: true }) baseUrl!: string | null;
  @Column('text', { name: 'sso_url', nullable: true }) ssoUrl!: string | null;
  @Column('text', { name: 'password_sealed', nullable: true }) passwordSealed!: string | null;
  @Column('text', { name: 'sso_salt_sealed', nullable: true }) ssoSaltSealed!: string | null;
  @Column('integer', { name: 'timeout_ms', nullable: true }) timeoutMs!: number | null;
  @Column('text', { name: 'client_secret_hash', nullable: true }) clientSecretHash!: string | null;
  @Column('uuid', { name: 'current_manifest_id', nullable: true }) currentManifestId!: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}
