import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from './column-transformers';

/** For paged reads; invoices are written with SQL (see the invoice repository). */
@Entity('invoices')
export class InvoiceEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') number!: string;
  @Column('text', { name: 'entity_kind' }) entityKind!: 'account' | 'team';
  @Column('uuid', { name: 'entity_id' }) entityId!: string;
  @Column('text') month!: string;
  @Column('timestamptz', { name: 'usage_cutoff' }) usageCutoff!: Date;
  @Column('bigint', { name: 'total_cents', transformer: bigintAsNumber }) totalCents!: number;
  @Column('timestamptz', { name: 'finalized_at' }) finalizedAt!: Date;
}
