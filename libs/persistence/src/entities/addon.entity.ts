import { Column, Entity, PrimaryColumn } from 'typeorm';
import { Addon, AddonState } from '@app/domain';

@Entity('addons')
export class AddonEntity implements Addon {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('uuid', { name: 'service_id' }) serviceId!: string;
  @Column('uuid', { name: 'plan_id' }) planId!: string;
  @Column('uuid', { name: 'app_id' }) appId!: string;
  @Column('uuid', { name: 'region_id' }) regionId!: string;
  @Column('text') state!: AddonState;
  @Column('integer', { name: 'billed_price_cents' }) billedPriceCents!: number;
  @Column('text', { name: 'billed_price_unit' }) billedPriceUnit!: string;
  @Column('uuid', { name: 'pending_plan_id', nullable: true }) pendingPlanId!: string | null;
  @Column('integer', { name: 'plan_change_seq' }) planChangeSeq!: number;
  @Column('text', { name: 'provider_id', nullable: true }) providerId!: string | null;
  @Column('text', { name: 'config_sealed', nullable: true }) configSealed!: string | null;
  @Column('text', { name: 'namespace_config_sealed', nullable: true }) namespaceConfigSealed!: string | null;
  @Column('jsonb') options!: Record<string, string>;
  @Column('text', { name: 'provision_message', nullable: true }) provisionMessage!: string | null;
  @Column('text', { name: 'failure_reason', nullable: true }) failureReason!: string | null;
  @Column('text', { name: 'plan_change_error', nullable: true }) planChangeError!: string | null;
  @Column('timestamptz', { name: 'async_deadline_at', nullable: true }) asyncDeadlineAt!: Date | null;
  @Column('boolean', { name: 'cleanup_pending' }) cleanupPending!: boolean;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'provisioned_at', nullable: true }) provisionedAt!: Date | null;
  @Column('timestamptz', { name: 'deprovision_requested_at', nullable: true }) deprovisionRequestedAt!: Date | null;
  @Column('timestamptz', { name: 'deprovisioned_at', nullable: true }) deprovisionedAt!: Date | null;
}
