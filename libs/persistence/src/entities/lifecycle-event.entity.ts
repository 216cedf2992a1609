import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { LifecycleEventType } from '@app/domain';

/** The lifecycle event log: append-only, consumed by billing and webhooks (the outbox). */
@Entity('lifecycle_events')
export class LifecycleEventEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id!: string;
  @Column('text') type!: LifecycleEventType;
  @Column('uuid', { name: 'addon_id', nullable: true }) addonId!: string | null;
  @Column('uuid', { name: 'app_id', nullable: true }) appId!: string | null;
  @Column('timestamptz', { name: 'occurred_at' }) occurredAt!: Date;
  @Column('jsonb') data!: Record<string, unknown>;
}
