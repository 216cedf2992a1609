import { Column, Entity, PrimaryColumn } from 'typeorm';
import { KafkaTenant, KafkaTenantState } from '@app/domain';

@Entity('kafka_tenants')
export class KafkaTenantEntity implements KafkaTenant {
  @PrimaryColumn('uuid', { name: 'addon_id' }) addonId!: string;
  @Column('uuid', { name: 'cluster_id' }) clusterId!: string;
  @Column('text') state!: KafkaTenantState;
  @Column('text') prefix!: string;
  @Column('text') username!: string;
  @Column('text', { name: 'password_sealed' }) passwordSealed!: string;
  @Column('text', { name: 'pending_password_sealed', nullable: true }) pendingPasswordSealed!: string | null;
  @Column('timestamptz', { name: 'pending_since', nullable: true }) pendingSince!: Date | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'destroyed_at', nullable: true }) destroyedAt!: Date | null;
}
