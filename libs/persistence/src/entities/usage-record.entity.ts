import { Column, Entity, PrimaryColumn } from 'typeorm';
import { UsageRecord } from '@app/domain';
import { bigintAsNumber } from './column-transformers';

/** A vendor-reported usage record; the vendor's record id is unique per service. */
@Entity('usage_records')
export class UsageRecordEntity implements UsageRecord {
  @PrimaryColumn('uuid', { name: 'service_id' }) serviceId!: string;
  @PrimaryColumn('text', { name: 'record_id' }) recordId!: string;
  @Column('uuid', { name: 'addon_id' }) addonId!: string;
  @Column('text') dimension!: string;
  // One record's quantity is a safe integer (checked on the way in); sums are read as text.
  @Column('bigint', { transformer: bigintAsNumber }) quantity!: number;
  @Column('timestamptz', { name: 'occurred_at' }) occurredAt!: Date;
  /** The storing transaction's start, set by the database. */
  @Column('timestamptz', { name: 'received_at', default: () => 'now()' }) receivedAt!: Date;
}
